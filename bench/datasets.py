"""Dataset export benchmark: a task of 100 frames with 50 shapes each, exported through the real
cvat-sdk in every format mockcvat writes (annotations only; COCO 1.0 and CVAT for images 1.1
also with images).

Run from the repository root: ``.venv/bin/python bench/datasets.py`` (or ``make bench``). The
server runs in-process in CVAT's background mode ("thread"); the SDK polls every 50 ms. Prints
figures; never fails on timing.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from mockcvat import formats
from mockcvat.testing import MockCVATServer

FRAMES, SHAPES, REPEATS = 100, 50, 3
WITH_IMAGES = ("COCO 1.0", "CVAT for images 1.1")
FORMATS = tuple(f.name for f in formats.EXPORTERS
                if formats.exporter(f.name) is not None and f.dimension == "2d")


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp, \
            MockCVATServer(background_mode="thread") as server:
        folder = Path(tmp)
        images = []
        for i in range(FRAMES):
            path = folder / f"f{i:03d}.jpg"
            Image.new("RGB", (320, 240), (i, 100, 200)).save(path)
            images.append(str(path))
        with server.make_client() as client:
            client.config.status_check_period = 0.05
            task = client.tasks.create_from_data(
                {"name": "bench", "labels": [{"name": "car"}, {"name": "person"}]},
                resources=images)
            labels = [label.id for label in task.get_labels()]
            shapes = []
            for frame in range(FRAMES):
                for _ in range(SHAPES):
                    x, y = rng.uniform(0, 280), rng.uniform(0, 200)
                    kind = rng.choice(("rectangle", "polygon"))
                    points = ([x, y, x + 30, y + 20] if kind == "rectangle"
                              else [x, y, x + 30, y, x + 15, y + 25])
                    shapes.append({"type": kind, "frame": frame,
                                   "label_id": rng.choice(labels), "points": points})
            started = time.perf_counter()
            task.set_annotations({"shapes": shapes})
            print(f"set_annotations, {len(shapes)} shapes: "
                  f"{time.perf_counter() - started:.2f} s")
            for format_name in FORMATS:
                for include_images in (False, True)[:2 if format_name in WITH_IMAGES else 1]:
                    times = []
                    for run in range(REPEATS):
                        target = folder / f"out-{run}.zip"
                        target.unlink(missing_ok=True)
                        started = time.perf_counter()
                        task.export_dataset(format_name, str(target),
                                            include_images=include_images)
                        times.append(time.perf_counter() - started)
                    size = target.stat().st_size / 2**20
                    print(f"export {format_name:44s} images={include_images!s:5s}: median "
                          f"{statistics.median(times):.2f} s ({size:.1f} MiB, {REPEATS} runs)")


if __name__ == "__main__":
    main()
