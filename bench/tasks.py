"""Task data benchmarks: ``create_from_data`` with 10 and 100 small images through the real
cvat-sdk, and chunk download throughput.

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

SIZES = (10, 100)
REPEATS = 3
IMAGE = (640, 480)


def make_images(folder: Path, count: int) -> list[str]:
    paths = []
    for i in range(count):
        path = folder / f"frame_{i:04d}.jpg"
        Image.effect_noise(IMAGE, 40).convert("RGB").save(path, quality=85)
        paths.append(str(path))
    return paths


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            MockCVATServer(background_mode="thread") as server:
        folder = Path(tmp)
        images = make_images(folder, max(SIZES))
        kib = sum(Path(p).stat().st_size for p in images) / 1024 / len(images)
        print(f"images: {IMAGE[0]}x{IMAGE[1]} JPEG, {kib:.0f} KiB each")
        with server.make_client() as client:
            client.config.status_check_period = 0.05
            for count in SIZES:
                times = []
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    task = client.tasks.create_from_data(
                        {"name": f"bench {count}", "labels": [{"name": "car"}]},
                        resources=images[:count])
                    times.append(time.perf_counter() - started)
                median = statistics.median(times)
                print(f"create_from_data, {count:3d} images: median {median:.2f} s "
                      f"({count / median:.0f} images/s; {REPEATS} runs)")

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
