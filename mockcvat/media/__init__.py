"""The pure media layer: turns a task's uploaded files into CVAT's frames, data meta, chunks,
single frames and previews (Pillow for images, PyAV for video). No HTTP, no database."""

from .chunks import FrameStore
from .model import FrameInfo, Manifest, MediaError
from .prepare import default_chunk_size, prepare, prepare_remote

__all__ = ["FrameInfo", "FrameStore", "Manifest", "MediaError", "default_chunk_size", "prepare",
           "prepare_remote"]
