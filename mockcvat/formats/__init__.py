"""Dataset formats: CVAT's registry of importers and exporters.

``EXPORTERS`` and ``IMPORTERS`` list every format CVAT 2.26 registers, in the order
``GET /api/server/annotation/formats`` returns them (registration order in CVAT's
``cvat/apps/dataset_manager/formats/registry.py``). Each format that mockcvat can really
read or write gets a module here (added by the annotations issue); the others are listed,
as CVAT lists them, and refused with a clear error when used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DatasetFormat:
    name: str  # display name: "<NAME> <VERSION>"
    ext: str
    version: str
    dimension: str = "2d"
    enabled: bool = True


def _fmt(name: str, ext: str = "ZIP", dimension: str = "2d") -> DatasetFormat:
    return DatasetFormat(name=name, ext=ext, version=name.rsplit(" ", 1)[1], dimension=dimension)


EXPORTERS: tuple[DatasetFormat, ...] = (
    _fmt("COCO 1.0"),
    _fmt("COCO Keypoints 1.0"),
    _fmt("CVAT for video 1.1"),
    _fmt("CVAT for images 1.1"),
    _fmt("Datumaro 1.0"),
    _fmt("Datumaro 3D 1.0", dimension="3d"),
    _fmt("LabelMe 3.0"),
    _fmt("Segmentation mask 1.1"),
    _fmt("MOT 1.1"),
    _fmt("MOTS PNG 1.0"),
    _fmt("PASCAL VOC 1.1"),
    _fmt("YOLO 1.1"),
    _fmt("Ultralytics YOLO Detection 1.0"),
    _fmt("Ultralytics YOLO Detection Track 1.0"),
    _fmt("Ultralytics YOLO Oriented Bounding Boxes 1.0"),
    _fmt("Ultralytics YOLO Segmentation 1.0"),
    _fmt("Ultralytics YOLO Pose 1.0"),
    _fmt("Ultralytics YOLO Classification 1.0"),
    _fmt("ImageNet 1.0"),
    _fmt("CamVid 1.0"),
    _fmt("WiderFace 1.0"),
    _fmt("VGGFace2 1.0"),
    _fmt("Market-1501 1.0"),
    _fmt("ICDAR Recognition 1.0"),
    _fmt("ICDAR Localization 1.0"),
    _fmt("ICDAR Segmentation 1.0"),
    _fmt("Kitti Raw Format 1.0", dimension="3d"),
    _fmt("Sly Point Cloud Format 1.0", dimension="3d"),
    _fmt("KITTI 1.0"),
    _fmt("LFW 1.0"),
    _fmt("Cityscapes 1.0"),
    _fmt("Open Images V6 1.0"),
)

IMPORTERS: tuple[DatasetFormat, ...] = (
    _fmt("COCO 1.0", "JSON, ZIP"),
    _fmt("COCO Keypoints 1.0", "JSON, ZIP"),
    _fmt("CVAT 1.1", "XML, ZIP"),
    _fmt("Datumaro 1.0", "JSON, ZIP"),
    _fmt("Datumaro 3D 1.0", "JSON, ZIP", dimension="3d"),
    _fmt("LabelMe 3.0"),
    _fmt("Segmentation mask 1.1"),
    _fmt("MOT 1.1"),
    _fmt("MOTS PNG 1.0"),
    _fmt("PASCAL VOC 1.1"),
    _fmt("YOLO 1.1"),
    _fmt("Ultralytics YOLO Detection 1.0"),
    _fmt("Ultralytics YOLO Segmentation 1.0"),
    _fmt("Ultralytics YOLO Oriented Bounding Boxes 1.0"),
    _fmt("Ultralytics YOLO Pose 1.0"),
    _fmt("Ultralytics YOLO Classification 1.0"),
    _fmt("ImageNet 1.0"),
    _fmt("CamVid 1.0"),
    _fmt("WiderFace 1.0"),
    _fmt("VGGFace2 1.0"),
    _fmt("Market-1501 1.0"),
    _fmt("ICDAR Recognition 1.0"),
    _fmt("ICDAR Localization 1.0"),
    _fmt("ICDAR Segmentation 1.0"),
    _fmt("Kitti Raw Format 1.0", dimension="3d"),
    _fmt("Sly Point Cloud Format 1.0", dimension="3d"),
    _fmt("KITTI 1.0"),
    _fmt("LFW 1.0"),
    _fmt("Cityscapes 1.0"),
    _fmt("Open Images V6 1.0"),
)


# --- the formats mockcvat really reads and writes -------------------------------------------------
# one module each under mockcvat/formats/, exposing EXPORTS, IMPORTS, export() and import_()
# (see mockcvat/formats/base.py)
MODULES = ("cvat", "coco", "yolo", "voc", "imagenet", "datumaro", "mask", "mot", "labelme",
           "camvid")


def _modules() -> list[Any]:
    import importlib

    found = []
    for name in MODULES:
        try:
            found.append(importlib.import_module(f"mockcvat.formats.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"mockcvat.formats.{name}":
                raise
    return found


def exporter(name: str) -> Any | None:
    """The module that writes format ``name``, or None if mockcvat cannot (yet)."""
    return next((m for m in _modules() if name in m.EXPORTS), None)


def importer(name: str) -> Any | None:
    return next((m for m in _modules() if name in m.IMPORTS), None)
