"""Video probing, decoding and chunk encoding with PyAV, following CVAT's VideoReader and
Mpeg4ChunkWriter."""

from __future__ import annotations

import bisect
import io
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from pathlib import Path
from typing import Any

import av
import av.codec

from .model import MediaError

OUTPUT_FPS = 25
MAX_PIXELS = 36864 << 8  # libopenh264's macroblock limit, enforced by CVAT for every codec
_HIGH_RES_MESSAGE = ("The video codec being used does not support such high video resolution, "
                     "refer https://github.com/cvat-ai/cvat/issues/7425")


@dataclass
class VideoInfo:
    frame_count: int
    width: int
    height: int
    keyframes: list[list[int]]  # [frame index, pts] of each key frame
    # the container's chapters in video frame numbers: {id, start, stop, metadata: {title}}
    chapters: list[dict[str, Any]]


def chapters_in_frames(chapters: Sequence[dict[str, Any]],
                       times: Sequence[float]) -> list[dict[str, Any]]:
    """Container chapters (times in their own time base) as frame ranges: from the first frame
    shown at or after the start to the last one shown before the end. Chapters no frame falls
    in are left out."""
    out = []
    for chapter in chapters:
        base = chapter.get("time_base") or Fraction(1, 1)
        start = bisect.bisect_left(times, float(chapter["start"] * base))
        stop = bisect.bisect_left(times, float(chapter["end"] * base)) - 1
        if start <= stop:
            title = (chapter.get("metadata") or {}).get("title")
            out.append({"id": int(chapter["id"]), "start": start, "stop": stop,
                        "metadata": {"title": title} if title is not None else {}})
    return out


def _open(path: Path, name: str) -> av.container.InputContainer:
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError(f"Could not read the video '{name}': {exc}") from None
    if not container.streams.video:
        container.close()
        raise MediaError(f"No video stream found in '{name}'")
    return container


def upright(frame: av.VideoFrame) -> av.VideoFrame:
    """Applies the display rotation the way CVAT does (counter-clockwise, canvas expanded)."""
    if not frame.rotation:
        return frame
    rotated = av.VideoFrame.from_image(frame.to_image().rotate(frame.rotation, expand=True))
    rotated.pts = frame.pts
    return rotated


def probe(path: Path, name: str, progress: Callable[[float], None] | None = None) -> VideoInfo:
    """Counts frames by decoding them all: container frame counts can be wrong (CVAT does the
    same), and the decode also finds the key frames used later for seeking."""
    count, size, keyframes, times = 0, (0, 0), [], []
    with _open(path, name) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        expected = stream.frames or 0
        chapters = container.chapters()
        try:
            for frame in container.decode(stream):
                if count == 0:
                    swap = frame.rotation % 180 == 90
                    size = (frame.height, frame.width) if swap else (frame.width, frame.height)
                if frame.key_frame and frame.pts is not None:
                    keyframes.append([count, frame.pts])
                times.append(frame.time if frame.time is not None else
                             times[-1] if times else 0.0)
                count += 1
                if progress and expected and count % 25 == 0:
                    progress(min(count / expected, 1.0))
        except av.FFmpegError as exc:
            raise MediaError(f"The video '{name}' is corrupted: {exc}") from None
    if count == 0:
        raise MediaError(f"No frames found in the video '{name}'")
    return VideoInfo(count, size[0], size[1], keyframes, chapters_in_frames(chapters, times))


class _SeekMissed(Exception):
    pass


def _decode_from(path: Path, start: int,
                 start_pts: int | None) -> Iterator[tuple[int, av.VideoFrame]]:
    with _open(path, path.name) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if start_pts is not None:
            container.seek(start_pts, stream=stream)
        index = None
        for frame in container.decode(stream):
            if start_pts is not None and frame.pts is not None and frame.pts < start_pts:
                continue  # leading frames of an open GOP, as CVAT skips them
            if index is None:
                if start_pts is not None and frame.pts != start_pts:
                    raise _SeekMissed
                index = start
            else:
                index += 1
            yield index, frame


def iter_frames(path: Path, wanted: Sequence[int],
                keyframes: Sequence[Sequence[int]] = ()) -> Generator[av.VideoFrame, None, None]:
    """The source frames numbered `wanted` (ascending), upright, decoding from the nearest key
    frame before the first one."""
    if not wanted:
        return
    pos = bisect.bisect_right([k[0] for k in keyframes], wanted[0]) - 1
    start, start_pts = (keyframes[pos][0], keyframes[pos][1]) if pos > 0 else (0, None)
    try:
        yield from _pick(_decode_from(path, start, start_pts), wanted)
    except _SeekMissed:  # the container couldn't seek exactly: decode from the beginning
        yield from _pick(_decode_from(path, 0, None), wanted)


def _pick(decoded: Iterator[tuple[int, av.VideoFrame]],
          wanted: Sequence[int]) -> Iterator[av.VideoFrame]:
    targets = iter(wanted)
    target = next(targets)
    for index, frame in decoded:
        if index == target:
            yield upright(frame)
            target = next(targets, None)
            if target is None:
                return
    raise MediaError(f"The video has no frame {target}")


def _codec(crf: int, compressed: bool) -> tuple[str, dict[str, str]]:
    """CVAT prefers libopenh264 and falls back to libx264; mpeg4 is a last resort here."""
    for name in ("libopenh264", "libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
        except av.codec.codec.UnknownCodecError:
            continue
        if name == "libopenh264":
            return name, {"profile": "constrained_baseline", "qmin": str(crf),
                          "qmax": str(crf), "rc_mode": "buffer"}
        if name == "libx264" and compressed:
            return name, {"profile": "baseline", "coder": "0", "crf": str(crf),
                          "wpredp": "0", "flags": "-loop"}
        if name == "libx264":
            return name, {"crf": str(crf), "preset": "ultrafast"}
        return name, {"qmin": str(max(crf, 2) // 2), "qmax": str(max(crf, 2) // 2)}
    raise MediaError("No video encoder is available on this server")


def encode_mp4(frames: Iterable[av.VideoFrame], quality: int, *, compressed: bool) -> bytes:
    """CVAT's Mpeg4ChunkWriter / Mpeg4CompressedChunkWriter: H.264 at 25 fps, quality 1..100
    mapped to a constant rate factor 51..0; compressed chunks halve the size until it is below
    1080 lines."""
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise MediaError("no images to save")
    width, height = first.width, first.height
    if compressed:
        factor = 1
        while height / factor >= 1080:
            factor *= 2
        width, height = width // factor, height // factor
    width, height = width + width % 2, height + height % 2  # yuv420p needs even sizes
    if width * height > MAX_PIXELS:
        raise MediaError(_HIGH_RES_MESSAGE)
    codec, options = _codec(round(51 * (100 - quality) / 99), compressed)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream(codec, rate=OUTPUT_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if "profile" in options:
            stream.profile = options.pop("profile")
        if "qmin" in options:
            stream.codec_context.qmin = int(options.pop("qmin"))
            stream.codec_context.qmax = int(options.pop("qmax"))
        stream.options = options
        for i, frame in enumerate(chain([first], frames)):
            frame.pts, frame.time_base = i, Fraction(1, OUTPUT_FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buf.getvalue()


def to_png(frame: av.VideoFrame) -> bytes:
    """CVAT serves single video frames as PNG (OpenCV's default, fast compression)."""
    buf = io.BytesIO()
    frame.to_image().save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_mp4(data: bytes) -> Iterator[av.VideoFrame]:
    """The frames of a chunk this module encoded."""
    with av.open(io.BytesIO(data)) as container:
        yield from container.decode(video=0)
