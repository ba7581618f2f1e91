"""Dataset formats: CVAT's registry of importers and exporters.

``EXPORTERS`` and ``IMPORTERS`` list every format CVAT 2.26 registers, in the order
``GET /api/server/annotation/formats`` returns them (registration order in CVAT's
``cvat/apps/dataset_manager/formats/registry.py``). Every one of them has a module here that
really reads and writes it (``MODULES``, named as CVAT's ``dataset_manager/formats/`` modules);
a format without one would be listed, as CVAT lists it, and refused with a clear error.
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
           "camvid", "mots", "widerface", "vggface2", "market1501", "lfw", "icdar", "kitti",
           "openimages", "velodynepoint", "pointcloud")


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


# CVAT's importers that end with ``MaskToPolygonTransformation.convert_dataset``: unless the
# request says ``conv_mask_to_poly=false``, the masks they read become polygons
CONVERTS_MASKS = frozenset({"PASCAL VOC 1.1", "Segmentation mask 1.1", "LabelMe 3.0",
                            "CamVid 1.0", "Cityscapes 1.0", "ICDAR Segmentation 1.0",
                            "KITTI 1.0", "Open Images V6 1.0"})


def masks_as_polygons(annotations: dict[str, list[dict[str, Any]]],
                      sizes: dict[int, tuple[int, int]]) -> dict[str, list[dict[str, Any]]]:
    """datumaro's ``masks_to_polygons`` on imported annotations: each mask shape becomes a
    polygon per region of its pixels (outlines traced along pixel edges; CVAT's come from
    OpenCV), same label, attributes, group and z_order; a tracked mask keeps its first region.
    ``sizes``: frame → (height, width)."""
    from .common import cvat_mask_to_rowmajor, mask_to_polygons

    def outlines(shape: dict[str, Any]) -> list[list[float]]:
        h, w = sizes[shape["frame"]]
        return mask_to_polygons(cvat_mask_to_rowmajor(shape["points"], h, w), h, w)

    shapes = []
    for shape in annotations.get("shapes", []):
        if shape["type"] != "mask" or shape["frame"] not in sizes:
            shapes.append(shape)
            continue
        shapes += [dict(shape, type="polygon", points=points) for points in outlines(shape)]
    tracks = []
    for track in annotations.get("tracks", []):
        kept = []
        for shape in track["shapes"]:
            if shape["type"] == "mask" and shape["frame"] in sizes:
                found = outlines(shape)
                if not found:
                    continue
                shape = dict(shape, type="polygon", points=found[0])
            kept.append(shape)
        if kept:
            tracks.append(dict(track, shapes=kept))
    return {**annotations, "shapes": shapes, "tracks": tracks}


def exporter(name: str) -> Any | None:
    """The module that writes format ``name``, or None if mockcvat cannot (yet)."""
    return next((m for m in _modules() if name in m.EXPORTS), None)


def importer(name: str) -> Any | None:
    return next((m for m in _modules() if name in m.IMPORTS), None)
