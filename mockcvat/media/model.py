"""The media layer's data types: its error and the manifest that describes a task's frames."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"
RAW_DIR = "raw"  # the media as uploaded (archives extracted), read by FrameStore
CACHE_DIR = "cache"  # derived chunks, frames and previews


class MediaError(Exception):
    """A readable, client-facing reason the data can't be used (becomes the failed request's
    message).

    ``cvat_type`` names the exception class CVAT raises in the same case, as Python's traceback
    module prints it (e.g. "ValueError", "PIL.UnidentifiedImageError", "ValidationError" for
    DRF's), for callers that render messages the way CVAT formats exceptions.
    """

    def __init__(self, message: str, *, cvat_type: str = "ValidationError") -> None:
        super().__init__(message)
        self.message = message
        self.cvat_type = cvat_type


@dataclass
class FrameInfo:
    name: str  # path relative to the upload root (archives: inside it); video: the video path
    width: int
    height: int
    related_files: int = 0  # context images of this frame


@dataclass
class Manifest:
    media_type: str  # "imageset" | "video"
    frames: list[FrameInfo]  # after sorting and start/stop/step: index = task frame number
    source_frames: list[int]  # per task frame: its number in the source (sorted images / video)
    start_frame: int
    stop_frame: int  # the last source frame included, as CVAT reports it
    frame_step: int
    chunk_size: int
    sorting_method: str = "lexicographical"
    use_zip_chunks: bool = False  # video only: compressed chunks are zips of JPEGs
    # Under data_dir/raw: the image file of each task frame, or [the video file]
    source_paths: list[str] = field(default_factory=list)
    # Video only: source frame count and (frame index, pts) of key frames, for seeking
    video_frame_count: int = 0
    keyframes: list[list[int]] = field(default_factory=list)
    # Task frame name -> context image paths under data_dir/raw
    related_images: dict[str, list[str]] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)  # not media, ignored as CVAT does
    dimension: str = "2d"  # "3d": the frames are point clouds (PCD files)
    # Video only: the container's chapters in source frame numbers (``video.chapters_in_frames``)
    chapters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.frames)

    @property
    def compressed_chunk_type(self) -> str:
        return "video" if self.media_type == "video" and not self.use_zip_chunks else "imageset"

    @property
    def original_chunk_type(self) -> str:
        return "video" if self.media_type == "video" else "imageset"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if self.media_type == "video":  # every frame of a video is alike: store one
            d["frames"] = d["frames"][:1]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Manifest:
        d = dict(d)
        frames = d["frames"]
        if d["media_type"] == "video":
            frames = frames * len(d["source_frames"])
        d["frames"] = [FrameInfo(**f) for f in frames]
        return cls(**d)

    def save(self, data_dir: Path) -> None:
        write_atomically(data_dir / MANIFEST_FILE, json.dumps(self.to_json()).encode())

    @classmethod
    def load(cls, data_dir: Path) -> Manifest:
        return cls.from_bytes((data_dir / MANIFEST_FILE).read_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        return cls.from_json(json.loads(data))


def write_atomically(path: Path, data: bytes) -> None:
    """Readers never see a half-written file: write a sibling temp file, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
