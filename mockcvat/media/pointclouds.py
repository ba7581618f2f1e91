"""Point clouds (3D tasks), as CVAT's task creation takes them (``ValidateDimension`` in
``cvat/apps/engine/media_extractors.py`` and ``_detect_related_images_3D`` in
``utils/dataset_manifest/utils.py``).

* ``.bin`` files (KITTI velodyne scans: float32 x, y, z, intensity) are converted to binary PCD
  beside them, with CVAT's header, and the ``.bin`` removed;
* every ``.pcd`` is read with pypcd4 (ASCII, binary and binary_compressed), so a damaged file
  fails the creation; a frame's width and height are the header's ``WIDTH`` and ``HEIGHT``;
* images are the frames' context images when they follow one of the four layouts CVAT knows
  (``context_of``); any other image fails the request (2D and 3D data do not mix).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path, PurePosixPath

from .model import MediaError

POINT_CLOUD_EXTS = frozenset({".pcd", ".bin"})
PCD_MIME = "application/octet-stream"


def is_point_cloud(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in POINT_CLOUD_EXTS


def bin_to_pcd(path: Path) -> Path:
    """CVAT's ``convert_bin_to_pcd``: a binary PCD of the scan's x, y, z, intensity points."""
    import numpy as np

    data = path.read_bytes()
    if len(data) % 16:
        raise MediaError(f"'{path.name}' is not a point cloud: its size is not a multiple of "
                         "16 bytes (x, y, z, intensity as float32)", cvat_type="ValueError")
    points = np.frombuffer(data, dtype="<f4").reshape(-1, 4)
    width = points.shape[0]
    header = "".join(f"{line}\n" for line in (
        "VERSION 0.7", "FIELDS x y z intensity", "SIZE 4 4 4 4", "TYPE F F F F",
        "COUNT 1 1 1 1", f"WIDTH {width}", "HEIGHT 1", "VIEWPOINT 0 0 0 1 0 0 0",
        f"POINTS {width}", "DATA binary"))
    target = path.with_suffix(".pcd")
    target.write_bytes(header.encode() + points.astype("<f4").tobytes())
    path.unlink()
    return target


def probe(data: bytes | Path, name: str) -> tuple[int, int]:
    """(width, height) of a PCD from its header, after reading the whole cloud."""
    from pypcd4 import PointCloud

    raw = data.read_bytes() if isinstance(data, Path) else data
    try:
        cloud = PointCloud.from_fileobj(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - pypcd4 raises whatever its parsing meets
        raise MediaError(f"Can't read the point cloud '{name}': {exc}",
                         cvat_type="ValueError") from None
    return int(cloud.metadata.width), int(cloud.metadata.height)


def context_of(names: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The point clouds (in the given order) and each one's context images, by CVAT's four
    layouts: ``data/<scene>.pcd`` + ``data/<scene>.<ext>``; ``data/<scene>/<scene>.pcd`` + any
    image beside it; Supervisely's ``pointcloud/<scene>.pcd`` + ``related_images/<scene>_pcd/*``;
    KITTI raw's ``velodyne_points/data/<scene>.pcd`` + ``image_NN/data/<scene>.<ext>``."""
    clouds = [n for n in names if n.lower().endswith(".pcd")]
    scenes = {os.path.splitext(n)[0]: n for n in clouds}
    related: dict[str, list[str]] = {}
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() == ".pcd":
            continue
        path = PurePosixPath(name)
        parent = path.parent
        candidates = [stem, str(parent / parent.name)]
        if parent.parent.name == "related_images":
            candidates.append(str(parent.parent.parent / "pointcloud"
                                  / parent.name.rsplit("_", 1)[0]))
        if parent.name == "data" and re.fullmatch(r"image_\d+", parent.parent.name, re.I):
            candidates.append(str(parent.parent.parent / "velodyne_points" / "data" / path.stem))
        scene = next((scenes[c] for c in candidates if c in scenes), None)
        if scene is not None:
            related.setdefault(scene, []).append(name)
    return clouds, {scene: sorted(found) for scene, found in related.items()}


_PLACEHOLDER: bytes | None = None


def placeholder_preview() -> bytes:
    """CVAT shows a fixed picture as the preview of a 3D task: a grey 256x256 JPEG here."""
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), (96, 96, 96)).save(buffer, format="JPEG")
        _PLACEHOLDER = buffer.getvalue()
    return _PLACEHOLDER
