"""Dataset export benchmark: a task of 100 frames with 50 shapes each, exported through the real
cvat-sdk in every format mockcvat writes (annotations only; COCO 1.0 and CVAT for images 1.1
also with images). MOTS PNG writes tracks only, so it is measured on a task of 50 box tracks over
the 100 frames; the 3D formats on a task of 100 point clouds (1,000 points each) with 50 cuboids
each.

Run from the repository root: ``.venv/bin/python bench/datasets.py [format name ...]`` (or
``make bench``; names limit the run to those formats). The server runs in-process in CVAT's
background mode ("thread"); the SDK polls every 50 ms. Prints figures; never fails on timing.
"""

from __future__ import annotations

import random
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cvat_sdk.core.exceptions import BackgroundRequestException
from PIL import Image

from mockcvat import formats
from mockcvat.testing import MockCVATServer

FRAMES, SHAPES, REPEATS = 100, 50, 3
WITH_IMAGES = ("COCO 1.0", "CVAT for images 1.1")
FORMATS = tuple(f.name for f in formats.EXPORTERS
                if formats.exporter(f.name) is not None and f.dimension == "2d"
                and f.name != "MOTS PNG 1.0")
FORMATS_3D = tuple(f.name for f in formats.EXPORTERS
                   if formats.exporter(f.name) is not None and f.dimension == "3d")


def measure(task: Any, folder: Path, names: tuple[str, ...], chosen: list[str]) -> None:
    for format_name in names:
        if chosen and format_name not in chosen:
            continue
        for include_images in (False, True)[:2 if format_name in WITH_IMAGES else 1]:
            times = []
            try:
                for run in range(REPEATS):
                    target = folder / f"out-{run}.zip"
                    target.unlink(missing_ok=True)
                    started = time.perf_counter()
                    task.export_dataset(format_name, str(target),
                                        include_images=include_images)
                    times.append(time.perf_counter() - started)
            except BackgroundRequestException as exc:  # VGGFace2: one box a frame, as CVAT
                print(f"export {format_name:44s} refused: {str(exc).strip()}")
                continue
            size = target.stat().st_size / 2**20
            print(f"export {format_name:44s} images={include_images!s:5s}: median "
                  f"{statistics.median(times):.2f} s ({size:.1f} MiB, {REPEATS} runs)")


def token_client(server: MockCVATServer) -> httpx.Client:
    username, password = server.admin_credentials
    key = httpx.post(f"{server.url}/api/auth/login",
                     json={"username": username, "password": password}).json()["key"]
    return httpx.Client(base_url=server.url, timeout=120,
                        headers={"Authorization": f"Token {key}"})


def main() -> None:
    chosen = sys.argv[1:]
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
            sdk, raw = [], []
            with token_client(server) as http:
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    task.set_annotations({"shapes": shapes})
                    sdk.append(time.perf_counter() - started)
                    started = time.perf_counter()  # the server alone: the same PUT, raw
                    http.put(f"/api/tasks/{task.id}/annotations/", json={"shapes": shapes}
                             ).raise_for_status()
                    raw.append(time.perf_counter() - started)
            print(f"set_annotations, {len(shapes)} shapes (target <= 0.5 s): median "
                  f"{statistics.median(sdk):.2f} s through cvat-sdk, "
                  f"{statistics.median(raw):.2f} s as one raw PUT (the server's part)")
            measure(task, folder, FORMATS, chosen)

            if not chosen or "MOTS PNG 1.0" in chosen:
                tracked = client.tasks.create_from_data(
                    {"name": "bench tracks", "labels": [{"name": "car"}]}, resources=images)
                label = tracked.get_labels()[0].id
                tracks = []
                for _ in range(SHAPES):
                    x, y = rng.uniform(0, 280), rng.uniform(0, 200)
                    tracks.append({"frame": 0, "label_id": label, "shapes": [
                        {"type": "rectangle", "frame": 0, "points": [x, y, x + 30, y + 20]},
                        {"type": "rectangle", "frame": FRAMES - 1,
                         "points": [x + 10, y + 10, x + 40, y + 30]}]})
                tracked.set_annotations({"tracks": tracks})
                measure(tracked, folder, ("MOTS PNG 1.0",), chosen)

            if chosen and not set(chosen) & set(FORMATS_3D):
                return
            clouds = []
            for i in range(FRAMES):
                path = folder / f"c{i:03d}.bin"
                path.write_bytes(b"".join(struct.pack("<4f", rng.random(), rng.random(),
                                                      rng.random(), 1.0) for _ in range(1000)))
                clouds.append(str(path))
            lidar = client.tasks.create_from_data(
                {"name": "bench 3d", "labels": [{"name": "car", "type": "cuboid"}]},
                resources=clouds)
            label = lidar.get_labels()[0].id
            cuboids = [{"type": "cuboid", "frame": frame, "label_id": label,
                        "points": [rng.uniform(-50, 50) for _ in range(6)] + [2.0, 4.0, 1.5]
                        + [0.0] * 7} for frame in range(FRAMES) for _ in range(SHAPES)]
            lidar.set_annotations({"shapes": cuboids})
            measure(lidar, folder, FORMATS_3D, chosen)


if __name__ == "__main__":
    main()
