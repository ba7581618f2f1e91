"""Media made in the tests: images of given sizes and small videos whose frames can be told
apart after decoding (frame i has red = 12 * i)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

VIDEO_FRAMES = 20


def make_image(path: Path, size: tuple[int, int], color=(10, 120, 200), fmt: str | None = None,
               **save_args) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt, **save_args)
    return path


def make_video(path: Path, frames: int = VIDEO_FRAMES, size=(64, 48),
               chapters: list[tuple[int, int, str]] = ()) -> Path:
    """Frame i is a solid colour with red = 12 * i, so decoded frames can be identified.
    ``chapters``: (first frame, frame after the last, title) each, stored in the container."""
    with av.open(str(path), "w") as out:
        if chapters:
            out.set_chapters([{"id": i, "start": start, "end": end,
                               "time_base": Fraction(1, 25), "metadata": {"title": title}}
                              for i, (start, end, title) in enumerate(chapters)])
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.options = {"g": "6"}  # several key frames, so decoding has to seek
        for i in range(frames):
            out.mux(stream.encode(av.VideoFrame.from_image(Image.new("RGB", size, (12 * i, 0, 0)))))
        out.mux(stream.encode())
    return path


def make_point_cloud(path: Path, points: int = 5, kind: str = "pcd") -> Path:
    """A small point cloud: an ASCII PCD (``kind`` "pcd") or a KITTI ``.bin`` scan of x, y, z,
    intensity float32 values."""
    import struct

    path.parent.mkdir(parents=True, exist_ok=True)
    values = [(i * 1.5, -i * 0.5, i * 0.25, i / 10) for i in range(points)]
    if kind == "bin":
        path.write_bytes(b"".join(struct.pack("<4f", *v) for v in values))
        return path
    header = ("VERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
              f"WIDTH {points}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {points}\nDATA ascii\n")
    path.write_text(header + "".join(" ".join(str(c) for c in v) + "\n" for v in values))
    return path
