"""Image probing and encoding with Pillow, following CVAT's chunk writers."""

from __future__ import annotations

import io
import mimetypes
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .model import MediaError

# As CVAT (media_extractors.py): images truncated in transit still load, padded with grey
ImageFile.LOAD_TRUNCATED_IMAGES = True

ORIENTATION_TAG = 274
PREVIEW_SIZE = (256, 256)
CONTEXT_IMAGE_QUALITY = 95  # CVAT encodes context images with OpenCV's default JPEG quality
# Python's mimetypes misses a few types CVAT's own mimetypes database knows
_EXTRA_MIME = {".webp": "image/webp", ".jp2": "image/jp2", ".tga": "image/x-tga",
               ".psd": "image/vnd.adobe.photoshop", ".dds": "image/x-dds", ".exr": "image/x-exr"}


def _orientation(img: Image.Image) -> int:
    return img.getexif().get(ORIENTATION_TAG, 1)


def _opened(source: Path | bytes) -> Path | io.BytesIO:
    return source if isinstance(source, Path) else io.BytesIO(source)


def probe(path: Path | bytes, name: str) -> tuple[int, int]:
    """(width, height) as displayed (EXIF rotation applied, like CVAT). Checks the file (or
    the bytes) is a readable image, raising a MediaError that names it otherwise."""
    try:
        with Image.open(_opened(path)) as img:
            img.verify()  # must come straight after open(), hence the second open
        with Image.open(_opened(path)) as img:
            width, height = img.size
            orientation = _orientation(img)
    except UnidentifiedImageError:
        raise MediaError(f"cannot identify image file '{name}'",
                         cvat_type="PIL.UnidentifiedImageError") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning is only raised where warnings are errors; Pillow fails past 2x the limit
        raise MediaError(f"The image '{name}' is too large: {exc}") from None
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, struct.error)
        raise MediaError(f"The image '{name}' is corrupted: {exc}") from None
    return (height, width) if orientation > 4 else (width, height)


def load(path: Path | bytes) -> Image.Image:
    with Image.open(_opened(path)) as img:
        img.load()
        return img


def to_jpeg(img: Image.Image, quality: int) -> bytes:
    """CVAT's IChunkWriter._compress_image(): what a compressed frame looks like."""
    if _orientation(img) != 1:
        img = ImageOps.exif_transpose(img)
    if img.mode == "I":  # 32-bit pixels: scale into 8 bits before RGB conversion clips them
        top = img.getextrema()[1] or 1
        img = img.point(lambda v: v * (2**8 / top))
    elif img.mode.startswith("I;16"):  # 16-bit greyscale: stretch to 8 bits and equalise
        low, high = img.getextrema()
        span = (high - low) or 1
        img = img.convert("I").point(lambda v: (v - low) * (255 / span)).convert("L")
        img = ImageOps.equalize(img)
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def original_bytes(path: Path | bytes) -> bytes:
    """CVAT's ZipChunkWriter: the file as uploaded, except that EXIF-rotated images are stored
    rotated (same format, top quality) and TIFFs are re-saved with LZW compression."""
    img = load(path)
    if _orientation(img) == 1 and img.format != "TIFF":
        return path if isinstance(path, bytes) else path.read_bytes()
    rotated = ImageOps.exif_transpose(img)
    buf = io.BytesIO()
    if img.format == "TIFF":
        rotated.save(buf, format="TIFF", compression="tiff_lzw")
    else:
        rotated.save(buf, format=img.format or "JPEG", quality=100, subsampling=0)
    return buf.getvalue()


def mime_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return (mimetypes.guess_type(f"x{ext}")[0] or _EXTRA_MIME.get(ext)
            or "application/octet-stream")


def preview_jpeg(img: Image.Image) -> bytes:
    """CVAT's prepare_preview_image(): a JPEG thumbnail that fits in 256x256."""
    img = ImageOps.exif_transpose(img)
    img.thumbnail(PREVIEW_SIZE)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


def context_images_zip(files: Sequence[tuple[str, Path | bytes]]) -> bytes:
    """CVAT's prepare_context_images_chunk(): JPEGs named by their path relative to the common
    path of the frame's context images, plus '.jpg' (so a single image is named '..jpg').
    ``files``: (path, the image's file or bytes)."""
    common = os.path.commonpath([name for name, _ in files])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, image in files:
            out = io.BytesIO()
            load(image).convert("RGB").save(out, format="JPEG", quality=CONTEXT_IMAGE_QUALITY)
            zf.writestr(f"{os.path.relpath(name, common)}.jpg", out.getvalue())
    return buf.getvalue()
