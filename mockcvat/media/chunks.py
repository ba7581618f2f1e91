"""FrameStore: chunks, single frames, previews and context images of a prepared task, built
on demand like CVAT's media cache and kept on disk under data_dir/cache."""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from pathlib import Path

import av
from PIL import Image

from mockcvat.storage.base import ByteStore, StoreError

from . import images, video
from .model import CACHE_DIR, RAW_DIR, Manifest, MediaError, write_atomically

QUALITIES = ("compressed", "original")
ZIP_MIME = "application/zip"
MP4_MIME = "video/mp4"


class FrameStore:
    """``source``: where the frames' files are, when not under data_dir/raw (the images of a
    task whose data stays in a cloud storage); read on demand, as CVAT's media cache does."""

    def __init__(self, data_dir: Path, source: ByteStore | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.manifest = Manifest.load(self.data_dir)
        self._raw = self.data_dir / RAW_DIR
        self._cache = self.data_dir / CACHE_DIR
        self.source = source

    # ---- public API ----------------------------------------------------------------------

    def chunk(self, start: int, stop: int, quality: str, image_quality: int = 70, *,
              as_zip: bool | None = None) -> tuple[bytes, str]:
        """Frames [start, stop) as one chunk: a zip of images, or an mp4 for video tasks
        (compressed chunks are zips of JPEGs when as_zip, CVAT's use_zip_chunks; original
        video chunks are mp4 either way, as in CVAT)."""
        if not 0 <= start < stop <= self.manifest.size:
            raise MediaError(f"Invalid chunk frame range [{start}, {stop}): the task has "
                             f"{self.manifest.size} frames")
        zipped = self._zipped(quality, as_zip)
        key = f"chunk-{start}-{stop}-{quality}{self._variant(quality, image_quality, zipped)}"
        if zipped:
            body = self._cached(key, lambda: self._zip_chunk(start, stop, quality, image_quality))
            return body, ZIP_MIME
        body = self._cached(key, lambda: video.encode_mp4(
            self._video_frames(start, stop), 100 if quality == "original" else image_quality,
            compressed=quality == "compressed"))
        return body, MP4_MIME

    def chunk_number(self, number: int, quality: str, image_quality: int = 70, *,
                     as_zip: bool | None = None) -> tuple[bytes, str]:
        """Task chunk `number` of manifest.chunk_size frames, validated as CVAT does."""
        size, chunk_size = self.manifest.size, self.manifest.chunk_size
        last = math.ceil(size / chunk_size) - 1
        if not 0 <= number <= last:
            raise MediaError(f"Invalid chunk number '{number}'. "
                             f"The chunk number should be in the [0, {last}] range")
        return self.chunk(number * chunk_size, min((number + 1) * chunk_size, size), quality,
                          image_quality, as_zip=as_zip)

    def frame(self, number: int, quality: str, image_quality: int = 70, *,
              as_zip: bool | None = None) -> tuple[bytes, str]:
        """One frame as an image. Images: the original file (its own type) or a JPEG. Video:
        a PNG decoded from the source (original) or from the compressed chunk, as CVAT does;
        a JPEG when compressed chunks are zips."""
        if number not in range(self.manifest.size):
            raise MediaError(f"Invalid frame '{number}'. "
                             f"The frame number should be in the [0, {self.manifest.size}] range")
        zipped = self._zipped(quality, as_zip)
        key = f"frame-{number}-{quality}{self._variant(quality, image_quality, zipped)}"
        build, mime = self._frame_builder(number, quality, image_quality, zipped)
        return self._cached(key, build), mime

    def preview(self, image_quality: int = 70, *, as_zip: bool | None = None) -> bytes:
        """CVAT's task preview: the compressed first frame as a JPEG within 256x256."""
        def build() -> bytes:
            body, _ = self.frame(0, "compressed", image_quality, as_zip=as_zip)
            with Image.open(io.BytesIO(body)) as img:
                return images.preview_jpeg(img)

        zipped = self._zipped("compressed", as_zip)
        return self._cached(f"preview{self._variant('compressed', image_quality, zipped)}", build)

    def context_images(self, number: int) -> bytes | None:
        """A zip of the frame's context images as JPEGs, None if it has none."""
        if number not in range(self.manifest.size):
            raise MediaError(f"Invalid frame '{number}'. "
                             f"The frame number should be in the [0, {self.manifest.size}] range")
        related = self.manifest.related_images.get(self.manifest.frames[number].name)
        if not related:
            return None
        paths = [self._raw / p for p in related]
        return self._cached(f"context-{number}", lambda: images.context_images_zip(paths))

    # ---- helpers -------------------------------------------------------------------------

    def _zipped(self, quality: str, as_zip: bool | None) -> bool:
        if quality not in QUALITIES:
            raise MediaError(f"Unknown quality '{quality}': expected one of {', '.join(QUALITIES)}")
        if self.manifest.media_type != "video":
            return True
        use_zip = self.manifest.use_zip_chunks if as_zip is None else as_zip
        return quality == "compressed" and use_zip

    @staticmethod
    def _variant(quality: str, image_quality: int, zipped: bool) -> str:
        if not 1 <= image_quality <= 100:
            raise MediaError("image_quality must be in the [1, 100] range")
        return (f"-q{image_quality}" if quality == "compressed" else "") + \
            ("-zip" if zipped else "-mp4")

    def _frame_builder(self, number: int, quality: str, image_quality: int,
                       zipped: bool) -> tuple[Callable[[], bytes], str]:
        if self.manifest.media_type != "video":
            name = self.manifest.source_paths[number]
            if quality == "original":
                return (lambda: images.original_bytes(self._image(number))), \
                    images.mime_type(name)
            return (lambda: images.to_jpeg(images.load(self._image(number)), image_quality)), \
                "image/jpeg"
        if quality == "original":
            return (lambda: video.to_png(self._one_video_frame(number))), "image/png"
        if zipped:
            return (lambda: images.to_jpeg(self._one_video_frame(number).to_image(),
                                           image_quality)), "image/jpeg"
        return (lambda: self._frame_from_chunk(number, image_quality)), "image/png"

    def _image(self, number: int) -> Path | bytes:
        """A frame's image file, or its bytes read from the source."""
        name = self.manifest.source_paths[number]
        if self.source is None:
            return self._raw / name
        try:
            return self.source.get(name)
        except StoreError as exc:
            raise MediaError(exc.message) from None

    def _video_frames(self, start: int, stop: int) -> Generator[av.VideoFrame, None, None]:
        m = self.manifest
        return video.iter_frames(self._raw / m.source_paths[0], m.source_frames[start:stop],
                                 m.keyframes)

    def _one_video_frame(self, number: int) -> av.VideoFrame:
        with closing(self._video_frames(number, number + 1)) as frames:
            return next(frames)

    def _frame_from_chunk(self, number: int, image_quality: int) -> bytes:
        chunk_size = self.manifest.chunk_size
        first = number - number % chunk_size
        body, _ = self.chunk(first, min(first + chunk_size, self.manifest.size), "compressed",
                             image_quality, as_zip=False)
        for offset, frame in enumerate(video.decode_mp4(body)):
            if offset == number - first:
                return video.to_png(frame)
        raise MediaError(f"Frame {number} is missing from its chunk")

    def _zip_chunk(self, start: int, stop: int, quality: str, image_quality: int) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            for idx, (ext, data) in enumerate(self._zip_members(start, stop, quality,
                                                                image_quality)):
                zf.writestr(f"{idx:06d}.{ext}", data)
        return buf.getvalue()

    def _zip_members(self, start: int, stop: int, quality: str,
                     image_quality: int) -> Iterator[tuple[str, bytes]]:
        # Member names as CVAT's chunk writers: the original's extension, or "jpeg"
        if self.manifest.media_type == "video":
            for frame in self._video_frames(start, stop):
                yield "jpeg", images.to_jpeg(frame.to_image(), image_quality)
            return
        for number in range(start, stop):
            image = self._image(number)
            if quality == "original":
                suffix = Path(self.manifest.source_paths[number]).suffix
                yield suffix.lstrip("."), images.original_bytes(image)
            else:
                yield "jpeg", images.to_jpeg(images.load(image), image_quality)

    def _cached(self, key: str, build: Callable[[], bytes]) -> bytes:
        # No locks: two threads may build the same item, but the atomic rename means readers
        # only ever see a complete file, and items nest (preview -> frame -> chunk) deadlock-free
        path = self._cache / key
        try:
            return path.read_bytes()
        except FileNotFoundError:
            data = build()
            write_atomically(path, data)
            return data
