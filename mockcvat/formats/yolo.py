"""YOLO 1.1 and Ultralytics YOLO Detection 1.0 — rectangles only, written as datumaro does.

CVAT 2.26 exports both through datumaro (``cvat/apps/dataset_manager/formats/yolo.py`` →
``dataset.export(temp_dir, "yolo" | "yolo_ultralytics_detection", save_images=…)``) with the
converters' defaults (``add_path_prefix=True``). Layouts (cvat-ai/datumaro
``plugins/yolo_format/converter.py``):

YOLO 1.1::

    obj.names               one label name a line (every label, skeleton points included)
    obj.data                classes = N / <subset> = data/<subset>.txt / names = data/obj.names
                            / backup = backup/
    train.txt               data/obj_train_data/<item id><image ext>, one a line, every frame
    obj_train_data/<item id>.txt   "<class> <cx> <cy> <w> <h>" ("%.6f", normalised), written for
                            every frame (empty when it has no box); images beside them

Ultralytics YOLO Detection 1.0::

    data.yaml               yaml.dump({path: ".", names: {0: …}, train: "train.txt"}) (sorted keys)
    train.txt               data/images/train/<item id><image ext>
    labels/train/<item id>.txt   only for frames that have a box
    images/train/<item id><image ext>   with save_images

The task subset is datumaro's "default", which the YOLO writers rename to ``train``. Class numbers
count the top-level labels only. Rotated boxes (rotation % 360 > 1e-5), every other shape type and
tags are dropped; tracks are written as their per-frame boxes.

Per-frame annotations (CVAT's ``group_by_frame``), item ids, frame matching and image writing
come from ``common`` (shared with ``voc`` and ``imagenet``).
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Any

import yaml

from .base import Dataset, Frame, ImportFailed
from .common import (
    DEFAULT_SUBSET,
    FrameMatcher,
    Item,
    frame_items,
    group_by_subset,
    label_by_name,
    new_shape,
    read_text,
    write_image,
)

EXPORTS = ("YOLO 1.1", "Ultralytics YOLO Detection 1.0")
IMPORTS = ("YOLO 1.1", "Ultralytics YOLO Detection 1.0")

_YOLO = "YOLO 1.1"
_ULTRALYTICS = "Ultralytics YOLO Detection 1.0"
_DEFAULT_SUBSET = "train"
_RESERVED = {_YOLO: ("backup", "classes", "names"),
             _ULTRALYTICS: ("backup", "classes", "names", "path", "kpt_shape", "flip_idx")}
_PREFIX = "data"


# --- export ------------------------------------------------------------------------------------

def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"yolo cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ultralytics = format_name == _ULTRALYTICS
    classes = {label.id: index for index, label in enumerate(dataset.top_labels())}

    subset_lists: dict[str, str] = {}
    for subset, items in group_by_subset(frame_items(dataset)).items():
        name = _DEFAULT_SUBSET if subset == DEFAULT_SUBSET else subset
        if name in _RESERVED[format_name]:
            raise ValueError(f"Can't export '{name}' subset in YOLO format, this word is reserved.")
        image_dir = f"images/{name}" if ultralytics else f"obj_{name}_data"
        label_dir = f"labels/{name}" if ultralytics else f"obj_{name}_data"
        paths = []
        for item in items:
            image_name = item.id + item.ext(".jpg")
            paths.append(posixpath.join(_PREFIX, image_dir, image_name))
            if save_images:
                write_image(dataset, item.frame, out / image_dir / image_name)
            text = "".join(_box_line(item, shape, classes) for shape in item.shapes)
            if text or not ultralytics:
                target = out / label_dir / f"{item.id}.txt"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        (out / f"{name}.txt").write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
        subset_lists[name] = f"{name}.txt"

    if ultralytics:
        names = {index: dataset.label(label_id).name for label_id, index in classes.items()}
        config = dict(path=".", names=names, **subset_lists)
        (out / "data.yaml").write_text(yaml.dump(config), encoding="utf-8")
    else:
        positions: dict[str, int] = {}
        for index, label in enumerate(dataset.labels):
            positions[label.name] = index  # datumaro: {name: idx} — a repeated name keeps its last
        names = sorted(positions, key=positions.__getitem__)
        (out / "obj.names").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
        lines = [f"classes = {len(positions)}\n"]
        lines += [f"{s} = {_PREFIX}/{f}\n" for s, f in subset_lists.items()]
        lines += [f"names = {_PREFIX}/obj.names\n", "backup = backup/\n"]
        (out / "obj.data").write_text("".join(lines), encoding="utf-8")


def _box_line(item: Item, shape: dict[str, Any], classes: dict[int, int]) -> str:
    if shape["type"] != "rectangle" or shape["label_id"] not in classes:
        return ""
    if float(shape.get("rotation") or 0) % 360.0 > 0.00001:
        return ""
    x0, y0, x1, y1 = (float(v) for v in shape["points"][:4])
    width, height = item.frame.width, item.frame.height
    # datumaro: Bbox(x0, y0, x1 - x0, y1 - y0).points, then _make_yolo_bbox
    x1, y1 = x0 + (x1 - x0), y0 + (y1 - y0)
    values = ((x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width,
              (y1 - y0) / height)
    return f"{classes[shape['label_id']]} {' '.join(f'{v:.6f}' for v in values)}\n"


# --- import ------------------------------------------------------------------------------------

def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"yolo cannot read {format_name!r}")
    source = Path(source)
    if not source.is_dir():
        raise ImportFailed("Failed to import the annotations: a ZIP archive is expected")
    ultralytics = format_name == _ULTRALYTICS
    config_name = "data.yaml" if ultralytics else "obj.data"
    config_path = find_file(source, config_name)
    if config_path is None:
        raise ImportFailed(f"Dataset must contain a file: {config_name}")
    root = config_path.parent
    if ultralytics:
        config, names = _ultralytics_config(config_path)
    else:
        config, names = _darknet_config(root, config_path)
    reserved = _RESERVED[format_name]
    matcher = FrameMatcher(dataset)
    shapes: list[dict[str, Any]] = []
    for subset in (k for k in config if k not in reserved):
        for image_path in _subset_images(root, config[subset], subset, ultralytics):
            item_id = _name_from_path(image_path, 2 if ultralytics else 1)
            frame = matcher.match(item_id)
            if ultralytics:
                rel = posixpath.relpath(image_path, "images")
                label_path = _inside(root, f"labels/{posixpath.splitext(rel)[0]}.txt")
                if not label_path.is_file():
                    continue
            else:
                label_path = _inside(root, posixpath.splitext(image_path)[0] + ".txt")
            shapes += _read_boxes(dataset, label_path, frame, names, item_id)
    return {"tags": [], "shapes": shapes, "tracks": []}


def _darknet_config(root: Path, path: Path) -> tuple[dict[str, Any], dict[int, str]]:
    config: dict[str, Any] = {}
    for line in read_text(path).splitlines():
        match = re.match(r"^\s*(\w+)\s*=\s*(.+)$", line)
        if match:
            config[match.group(1)] = match.group(2)
    if not config.get("names"):
        raise ImportFailed("Failed to parse names file path from config")
    names_path = _inside(root, _localize(config["names"]))
    if not names_path.is_file():
        raise ImportFailed(f"Can't find the label names file '{_localize(config['names'])}'")
    labels = [s.strip() for s in read_text(names_path).splitlines() if s.strip()]
    return config, dict(enumerate(labels))


def _ultralytics_config(path: Path) -> tuple[dict[str, Any], dict[int, str]]:
    try:
        config = yaml.safe_load(read_text(path))
    except yaml.YAMLError:
        raise ImportFailed("Failed to parse config file") from None
    if not isinstance(config, dict) or "names" not in config:
        raise ImportFailed("Failed to parse names from config")
    raw = config["names"]
    if isinstance(raw, list):
        names = {i: str(n) for i, n in enumerate(raw)}
    elif isinstance(raw, dict) and all(isinstance(k, int) for k in raw):
        names = {k: str(v) for k, v in raw.items()}
    else:
        raise ImportFailed("Failed to parse names from config")
    return {str(k): v for k, v in config.items()}, names


def _subset_images(root: Path, value: Any, subset: str, ultralytics: bool) -> list[str]:
    if ultralytics and isinstance(value, list):
        return [_localize(str(v)) for v in value]
    value = str(value)
    if ultralytics and not value.endswith(".txt"):
        folder = _inside(root, _localize(value))
        if not folder.is_dir():
            raise ImportFailed(f"Can't find '{subset}' subset image folder")
        return sorted(p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file())
    list_path = _inside(root, _localize(value))
    if not list_path.is_file():
        raise ImportFailed(f"Can't find '{subset}' subset list file")
    return [_localize(line) for line in read_text(list_path).splitlines() if line.strip()]


def _read_boxes(dataset: Dataset, path: Path, frame: Frame, names: dict[int, str],
                item_id: str) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ImportFailed(f"Can't find the annotation file for '{item_id}'")
    shapes = []
    for line in read_text(path).splitlines():
        parts = line.split()
        if not parts:
            continue
        where = f"Image {item_id}: can't import annotation"
        if len(parts) != 5:
            raise ImportFailed(f"{where}: unexpected field count {len(parts)} in the bbox "
                               "description. Expected 5 fields (label, xc, yc, w, h).")
        try:
            class_id = int(parts[0])
        except ValueError:
            raise ImportFailed(f"{where}: can't parse label id from '{parts[0]}'") from None
        if class_id not in names:
            raise ImportFailed(f"{where}: undeclared label '{class_id}'")
        try:
            xc, yc, w, h = (float(v) for v in parts[1:])
        except ValueError:
            raise ImportFailed(f"{where}: can't parse the bbox from '{line.strip()}'") from None
        label = label_by_name(dataset, names[class_id])
        x, y = (xc - w * 0.5) * frame.width, (yc - h * 0.5) * frame.height
        w, h = w * frame.width, h * frame.height
        shapes.append(new_shape(frame.frame, label.id, "rectangle", [x, y, x + w, y + h]))
    return shapes


def _localize(path: str) -> str:
    """datumaro's ``localize_path``: normalised, "/"-separated, without the "data/" prefix."""
    path = posixpath.normpath(path.strip().replace("\\", "/"))
    return path[len("data/"):] if path.startswith("data/") else path


def _name_from_path(path: str, skip: int) -> str:
    parts = [p for p in _localize(path).split("/") if p]
    if skip < len(parts):
        parts = parts[skip:]
    return posixpath.splitext("/".join(parts))[0]


def _inside(root: Path, rel: str) -> Path:
    target = (root / rel).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ImportFailed(f"Path '{rel}' points outside the dataset")
    return target


def find_file(root: Path, name: str) -> Path | None:
    """The shallowest file called ``name`` under ``root``."""
    found = [Path(d) / name for d, _dirs, files in os.walk(root) if name in files]
    return min(found, key=lambda p: (len(p.parts), str(p)), default=None)


