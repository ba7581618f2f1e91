"""FrameStore: chunks, single frames, previews and context images of a prepared task, built
on demand like CVAT's media cache and kept in the task's media under cache/."""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from pathlib import Path

import av
from PIL import Image

from mockcvat.storage.base import ByteStore, ObjectNotFound, StoreError
from mockcvat.storage.local import LocalStore

from . import images, pointclouds, video
from .model import CACHE_DIR, MANIFEST_FILE, RAW_DIR, Manifest, MediaError

QUALITIES = ("compressed", "original")
ZIP_MIME = "application/zip"
MP4_MIME = "video/mp4"


class FrameStore:
    """The media ``prepare`` wrote (``manifest.json``, ``raw/``), under ``prefix`` of a byte
    store (the server's media: a data dir or a bucket; a directory is taken as a local
    store), and what is derived from them, cached under ``cache/`` of the same prefix.

    ``source``: where the frames' files are, when not under raw/ (the images of a task whose
    data stays in a cloud storage); read on demand, as CVAT's media cache does.
    ``local_file``: a key as a file of this machine, for the video decoder (default: the
    store's own file, for a local store)."""

    def __init__(self, files: ByteStore | Path, prefix: str = "",
                 source: ByteStore | None = None, *,
                 local_file: Callable[[str], Path] | None = None) -> None:
        self.files = LocalStore(files) if isinstance(files, Path) else files
        self.prefix = prefix
        try:
            self.manifest = Manifest.from_bytes(self.files.get(prefix + MANIFEST_FILE))
        except ObjectNotFound:
            raise MediaError("The task's media are missing") from None
        self._raw = f"{prefix}{RAW_DIR}/"
        self._cache = f"{prefix}{CACHE_DIR}/"
        self.source = source
        self._local_file = local_file

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
        if self.manifest.dimension == "3d":
            return pointclouds.placeholder_preview()

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
        return self._cached(f"context-{number}", lambda: images.context_images_zip(
            self.related_files(number)))

    def related_files(self, number: int) -> list[tuple[str, bytes]]:
        """The frame's context images as uploaded: (path, bytes), in CVAT's order."""
        related = self.manifest.related_images.get(self.manifest.frames[number].name) or []
        return [(p, self._raw_bytes(p)) for p in related]

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
        if self.manifest.dimension == "3d":  # the PCD file in either quality, as CVAT
            return (lambda: self._file_bytes(number)), pointclouds.PCD_MIME
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
        """A frame's image: the file of a local store, else its bytes (the store's, or the
        source's)."""
        name = self.manifest.source_paths[number]
        if self.source is None:
            return self.files.local_path(self._raw + name) or self._raw_bytes(name)
        try:
            return self.source.get(name)
        except StoreError as exc:
            raise MediaError(exc.message) from None

    def _raw_bytes(self, name: str) -> bytes:
        try:
            return self.files.get(self._raw + name)
        except StoreError as exc:
            raise MediaError(exc.message) from None

    def _file_bytes(self, number: int) -> bytes:
        image = self._image(number)
        return image if isinstance(image, bytes) else image.read_bytes()

    def _video_file(self) -> Path:
        key = self._raw + self.manifest.source_paths[0]
        try:
            local = self._local_file(key) if self._local_file else self.files.local_path(key)
        except StoreError as exc:
            raise MediaError(exc.message) from None
        if local is None:
            raise MediaError("The video cannot be read here: no local copy of it")
        return local

    def _video_frames(self, start: int, stop: int) -> Generator[av.VideoFrame, None, None]:
        m = self.manifest
        return video.iter_frames(self._video_file(), m.source_frames[start:stop], m.keyframes)

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
            if self.manifest.dimension == "3d":
                yield "pcd", self._file_bytes(number)
            elif quality == "original":
                suffix = Path(self.manifest.source_paths[number]).suffix
                yield suffix.lstrip("."), images.original_bytes(image)
            else:
                yield "jpeg", images.to_jpeg(images.load(image), image_quality)

    def _cached(self, key: str, build: Callable[[], bytes]) -> bytes:
        # No locks: two threads (or processes) may build the same item, but a store's put
        # replaces an object whole, so readers only ever see a complete one, and items nest
        # (preview -> frame -> chunk) deadlock-free
        try:
            return self.files.get(self._cache + key)
        except ObjectNotFound:
            data = build()
            self.files.put(self._cache + key, data)
            return data
