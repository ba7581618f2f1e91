"""Task data benchmarks: ``create_from_data`` with 10, 100 and 1,000 images and a 1,000-frame
video through the real cvat-sdk, each next to the physical floor (decoding the same media
alone: Pillow's ``load()`` of every image, PyAV's decode of every frame), and chunk download
throughput.

Run from the repository root: ``.venv/bin/python bench/tasks.py`` (or ``make bench``). The server
runs in-process in CVAT's own background mode ("thread"): the SDK polls the request as it would
poll CVAT, every 50 ms here instead of its default 5 s. Prints figures; never fails on timing.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from mockcvat.testing import MockCVATServer

SIZES = (10, 100, 1000)
REPEATS = 3
IMAGE = (640, 480)
VIDEO_FRAMES = 1000


def make_images(folder: Path, count: int) -> list[str]:
    paths = []
    for i in range(count):
        path = folder / f"frame_{i:04d}.jpg"
        Image.effect_noise(IMAGE, 40).convert("RGB").save(path, quality=85)
        paths.append(str(path))
    return paths


def make_video(folder: Path, frames: int) -> str:
    import av

    path = folder / "video.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = IMAGE[0], IMAGE[1], "yuv420p"
        noise = Image.effect_noise(IMAGE, 40).convert("RGB")
        for i in range(frames):
            frame = av.VideoFrame.from_image(noise.rotate(i % 360))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return str(path)


def decode_floor(paths: list[str]) -> float:
    """Seconds to decode the media alone (the least any server reading it must spend)."""
    import av

    started = time.perf_counter()
    for path in paths:
        if path.endswith(".mp4"):
            with av.open(path) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for _ in container.decode(stream):
                    pass
        else:
            with Image.open(path) as img:
                img.load()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            MockCVATServer(background_mode="thread") as server:
        folder = Path(tmp)
        images = make_images(folder, max(SIZES))
        kib = sum(Path(p).stat().st_size for p in images) / 1024 / len(images)
        print(f"images: {IMAGE[0]}x{IMAGE[1]} JPEG, {kib:.0f} KiB each")
        with server.make_client() as client:
            client.config.status_check_period = 0.05
            video = make_video(folder, VIDEO_FRAMES)
            cases = [(f"{count} images", images[:count]) for count in SIZES]
            cases.append((f"video of {VIDEO_FRAMES} frames", [video]))
            for label, resources in cases:
                times = []
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    made = client.tasks.create_from_data(
                        {"name": f"bench {label}", "labels": [{"name": "car"}]},
                        resources=resources)
                    times.append(time.perf_counter() - started)
                    if resources is not cases[-1][1]:
                        task = made  # the chunks below: the last task of images
                median, floor = statistics.median(times), decode_floor(resources)
                print(f"create_from_data, {label}: median {median:.2f} s; decoding alone "
                      f"{floor:.2f} s; ratio {median / floor:.2f} (target <= 2; {REPEATS} runs)")

            chunks = -(-task.size // task.data_chunk_size)
            for quality in ("original", "compressed"):
                for label in ("cold", "warm"):  # the first read builds and caches the chunk
                    started, total = time.perf_counter(), 0
                    for number in range(chunks):
                        out = io.BytesIO()
                        task.download_chunk(number, out, quality=quality)
                        total += out.tell()
                    elapsed = time.perf_counter() - started
                    print(f"chunks, {quality:10s} {label}: {chunks} x {task.data_chunk_size} "
                          f"frames, {total / 2**20:.1f} MiB in {elapsed:.2f} s = "
                          f"{total / 2**20 / elapsed:.1f} MiB/s")


if __name__ == "__main__":
    main()
