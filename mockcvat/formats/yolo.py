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

The other Ultralytics formats (CVAT 2.26 ``formats/yolo.py`` → cvat-ai/datumaro
``yolo_ultralytics_*``) share the Detection layout and differ in their lines (values "%.6f",
normalised by the image size)::

    Detection Track 1.0       "<class> <cx> <cy> <w> <h> <track id>" (track boxes only keep the id)
    Oriented Bounding Boxes   "<class> x1 y1 x2 y2 x3 y3 x4 y4": a box's corners, rotated
    Segmentation              "<class> x1 y1 … xn yn": polygons (rectangles and masks are dropped)
    Pose                      "<class> <cx> <cy> <w> <h> x1 y1 v1 …": skeletons, classes over the
                              skeleton labels only, points in the skeleton's order (v: 0 absent,
                              1 hidden, 2 visible), padded to ``kpt_shape: [max points, 3]``
                              in data.yaml; the box is that of the non-absent points

Ultralytics YOLO Classification 1.0 is a folder per label: ``train/<label>/<image>`` (images
only with save_images) and ``train/labels.json`` (CVAT's extension: ``{item id: {"labels":
[names]}}``), tags only. Every Ultralytics import reads an optional trailing integer on a line
as a track id: such lines become keyframes of that track (CVAT's
``SetKeyframeForEveryTrackShape``).

The task subset is datumaro's "default", which the YOLO writers rename to ``train``. Class numbers
count the top-level labels only (Pose: the skeleton labels). Detection drops rotated boxes
(rotation % 360 > 1e-5); every format drops the shapes it does not name, tags (except
Classification) and attributes; tracks are written as their per-frame shapes.

Per-frame annotations (CVAT's ``group_by_frame``), item ids, frame matching and image writing
come from ``common`` (shared with ``voc`` and ``imagenet``).
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
from pathlib import Path
from typing import Any

import yaml

from .base import Dataset, Frame, ImportFailed, LabelSpec
from .common import (
    DEFAULT_SUBSET,
    FrameMatcher,
    Importer,
    Item,
    Labels,
    frame_items,
    group_by_subset,
    label_by_name,
    read_text,
    write_image,
)
from .common import (
    IMAGE_EXTS as _IMAGE_EXTS,
)

_YOLO = "YOLO 1.1"
_ULTRALYTICS = "Ultralytics YOLO Detection 1.0"
_TRACK = "Ultralytics YOLO Detection Track 1.0"
_OBB = "Ultralytics YOLO Oriented Bounding Boxes 1.0"
_SEGMENTATION = "Ultralytics YOLO Segmentation 1.0"
_POSE = "Ultralytics YOLO Pose 1.0"
_CLASSIFICATION = "Ultralytics YOLO Classification 1.0"
_LAYOUT = (_ULTRALYTICS, _TRACK, _OBB, _SEGMENTATION, _POSE)  # data.yaml + images/ + labels/

EXPORTS = (_YOLO, *_LAYOUT, _CLASSIFICATION)
IMPORTS = (_YOLO, _ULTRALYTICS, _SEGMENTATION, _OBB, _POSE, _CLASSIFICATION)

_DEFAULT_SUBSET = "train"
_RESERVED_ULTRALYTICS = ("backup", "classes", "names", "path", "kpt_shape", "flip_idx")
_RESERVED = {_YOLO: ("backup", "classes", "names"),
             **dict.fromkeys((*_LAYOUT, _CLASSIFICATION), _RESERVED_ULTRALYTICS)}
_PREFIX = "data"
_VISIBLE, _HIDDEN, _ABSENT = 2, 1, 0


# --- export ------------------------------------------------------------------------------------

def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"yolo cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if format_name == _CLASSIFICATION:
        _export_classification(dataset, out, save_images)
        return
    ultralytics = format_name != _YOLO
    labels = Labels(dataset)
    saved = [lb for lb in labels.ordered if lb.type == "skeleton"] if format_name == _POSE \
        else [lb for lb in labels.ordered if lb.parent_id is None]
    classes = {label.id: index for index, label in enumerate(saved)}
    points = max((len(labels.skeleton_layout(lb)[0]) for lb in saved), default=0) \
        if format_name == _POSE else 0

    subset_lists: dict[str, str] = {}
    for subset, items in group_by_subset(frame_items(dataset)).items():
        name = _subset_name(subset, format_name)
        image_dir = f"images/{name}" if ultralytics else f"obj_{name}_data"
        label_dir = f"labels/{name}" if ultralytics else f"obj_{name}_data"
        paths = []
        for item in items:
            image_name = item.id + item.ext(".jpg")
            paths.append(posixpath.join(_PREFIX, image_dir, image_name))
            if save_images:
                write_image(dataset, item.frame, out / image_dir / image_name)
            text = "".join(_line(format_name, item, shape, classes, labels, points)
                           for shape in item.shapes)
            if text or not ultralytics:
                target = out / label_dir / f"{item.id}.txt"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        (out / f"{name}.txt").write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
        subset_lists[name] = f"{name}.txt"

    if ultralytics:
        names = {index: dataset.label(label_id).name for label_id, index in classes.items()}
        config = dict(path=".", names=names, **subset_lists)
        if format_name == _POSE:
            config["kpt_shape"] = [points, 3]
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


def _subset_name(subset: str, format_name: str) -> str:
    name = _DEFAULT_SUBSET if subset == DEFAULT_SUBSET else subset
    if name in _RESERVED[format_name]:
        raise ValueError(f"Can't export '{name}' subset in YOLO format, this word is reserved.")
    return name


def _numbers(values: list[float]) -> str:
    return " ".join(f"{v:.6f}" for v in values)


def _normalised(points: list[float], width: int, height: int) -> list[float]:
    return [v / (width if i % 2 == 0 else height) for i, v in enumerate(points)]


def _center_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int
                ) -> list[float]:
    """datumaro's ``_make_yolo_bbox``: centre and size relative to the image."""
    return [(x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width,
            (y1 - y0) / height]


def box_corners(points: list[float], rotation: float) -> list[float]:
    """``_bbox_annotation_as_polygon``: a box's corners (x0,y0 x1,y0 x1,y1 x0,y1) turned by
    ``rotation`` degrees around its centre."""
    x0, y0, x1, y1 = points[:4]
    corners = [x0, y0, x1, y0, x1, y1, x0, y1]
    angle = math.radians(rotation)
    if not angle:
        return corners
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    out: list[float] = []
    for x, y in zip(corners[::2], corners[1::2], strict=True):
        out += [cx + cos_a * (x - cx) - sin_a * (y - cy), cy + sin_a * (x - cx) + cos_a * (y - cy)]
    return out


def _line(format_name: str, item: Item, shape: dict[str, Any], classes: dict[int, int],
          labels: Labels, points: int) -> str:
    """One shape as a line of the format, or "" when the format does not keep it."""
    if shape["label_id"] not in classes:
        return ""
    kind, width, height = shape["type"], item.frame.width, item.frame.height
    values = [float(v) for v in shape.get("points") or []]
    rotation = float(shape.get("rotation") or 0)
    if format_name in (_YOLO, _ULTRALYTICS, _TRACK):
        if kind != "rectangle" or rotation % 360.0 > 0.00001:
            return ""
        # datumaro: Bbox(x0, y0, x1 - x0, y1 - y0).points, then _make_yolo_bbox
        x0, y0, x1, y1 = values[:4]
        numbers = _center_box(x0, y0, x0 + (x1 - x0), y0 + (y1 - y0), width, height)
        text = _numbers(numbers)
        if format_name == _TRACK and "track_id" in shape:
            text += f" {shape['track_id']}"
    elif format_name == _OBB:
        if kind != "rectangle":
            return ""
        text = _numbers(_normalised(box_corners(values, rotation), width, height))
    elif format_name == _SEGMENTATION:
        if kind != "polygon":
            return ""
        text = _numbers(_normalised(values, width, height))
    else:  # pose
        if kind != "skeleton":
            return ""
        names, _joints = labels.skeleton_layout(labels.by_id[shape["label_id"]])
        slots = [f"0.0 0.0 {_ABSENT}"] * points
        seen: list[float] = []
        for element in shape.get("elements") or []:
            name = labels.name(element["label_id"])
            if name not in names:
                continue
            x, y = (float(v) for v in element["points"][:2])
            visibility = _ABSENT if element.get("outside") else (
                _HIDDEN if element.get("occluded") else _VISIBLE)
            if visibility != _ABSENT:
                seen += [x, y]
            slots[names.index(name)] = f"{x / width:.6f} {y / height:.6f} {visibility}"
        xs, ys = seen[0::2] or [0.0], seen[1::2] or [0.0]
        box = _center_box(min(xs), min(ys), max(xs), max(ys), width, height)
        text = f"{_numbers(box)} {' '.join(slots)}"
    return f"{classes[shape['label_id']]} {text}\n"


def _export_classification(dataset: Dataset, out: Path, save_images: bool) -> None:
    for subset, items in group_by_subset(frame_items(dataset)).items():
        folder = out / _subset_name(subset, _CLASSIFICATION)
        folder.mkdir(parents=True, exist_ok=True)
        listing: dict[str, dict[str, list[str]]] = {}
        for item in items:
            names = sorted({dataset.label(t["label_id"]).name for t in item.tags})
            listing[item.id] = {"labels": names}
            if save_images:
                image_name = posixpath.basename(item.id) + item.ext(".jpg")
                for name in names or [_NO_LABEL]:
                    write_image(dataset, item.frame, folder / name / image_name)
        (folder / "labels.json").write_text(json.dumps(listing, ensure_ascii=False),
                                            encoding="utf-8")


# --- import ------------------------------------------------------------------------------------

def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"yolo cannot read {format_name!r}")
    source = Path(source)
    if not source.is_dir():
        raise ImportFailed("Failed to import the annotations: a ZIP archive is expected")
    if format_name == _CLASSIFICATION:
        return _import_classification(dataset, source)
    ultralytics = format_name != _YOLO
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
    importer = Importer(dataset)
    pose_points = _pose_points(config) if format_name == _POSE else 0
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
            _read_lines(importer, format_name, label_path, frame, names, item_id,
                        pose_points)
    return {"tags": [], "shapes": importer.shapes, "tracks": importer.build_tracks()}


_NO_LABEL = "no_label"
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


_FIELDS = {_YOLO: "5 fields (label, xc, yc, w, h)",
           _ULTRALYTICS: "5 fields (label, xc, yc, w, h)",
           _OBB: "9 fields (label, x1, y1, x2, y2, x3, y3, x4, y4)",
           _SEGMENTATION: "an odd number of fields (label, x1, y1, x2, y2, ...)",
           _POSE: "5 + 3 × kpt_shape[0] fields (label, xc, yc, w, h, x1, y1, v1, ...)"}


def _pose_points(config: dict[str, Any]) -> int:
    shape = config.get("kpt_shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) for v in shape)
            and shape[0] >= 0 and shape[1] == 3):
        raise ImportFailed("Failed to parse 'kpt_shape' from config: expected [points, 3]")
    return shape[0]


def _read_lines(importer: Importer, format_name: str, path: Path, frame: Frame,
                names: dict[int, str], item_id: str, pose_points: int) -> None:
    """The annotations of one label file into ``importer`` (shapes, or track keyframes when a
    line ends with a track id)."""
    if not path.is_file():
        raise ImportFailed(f"Can't find the annotation file for '{item_id}'")
    width, height = frame.width, frame.height
    for line in read_text(path).splitlines():
        parts = line.split()
        if not parts:
            continue
        where = f"Image {item_id}: can't import annotation"
        try:
            class_id = int(parts[0])
        except ValueError:
            raise ImportFailed(f"{where}: can't parse label id from '{parts[0]}'") from None
        try:
            values = [float(v) for v in parts[1:]]
        except ValueError:
            raise ImportFailed(f"{where}: can't parse the values of '{line.strip()}'") from None
        values, track_id = _track_id(format_name, values, pose_points, where)
        if values is None:
            raise ImportFailed(f"{where}: unexpected field count {len(parts)} in the "
                               f"description. Expected {_FIELDS[format_name]}.")
        if class_id not in names:
            raise ImportFailed(f"{where}: undeclared label '{class_id}'")
        label = label_by_name(importer.dataset, names[class_id])
        raw: dict[str, Any] = {} if track_id is None else {"track_id": track_id, "keyframe": True}
        elements: list[dict[str, Any]] = []
        rotation = 0.0
        if format_name in (_YOLO, _ULTRALYTICS):
            xc, yc, w, h = values
            x, y = (xc - w * 0.5) * width, (yc - h * 0.5) * height
            kind, points = "rectangle", [x, y, x + w * width, y + h * height]
        elif format_name == _OBB:
            kind, (points, rotation) = "rectangle", _rotated_box(values, width, height)
        elif format_name == _SEGMENTATION:
            kind = "polygon"
            points = [v * (width if i % 2 == 0 else height) for i, v in enumerate(values)]
        else:
            kind, points = "skeleton", []
            elements = _skeleton_elements(importer, label, values[4:], width, height, where)
        raw["rotation"] = rotation
        importer.add_annotation(label=label, kind=kind, frame=frame.frame, group=0,
                                points=points, raw=raw, elements=elements)


def _track_id(format_name: str, values: list[float], pose_points: int, where: str
              ) -> tuple[list[float] | None, int | None]:
    """The line's values without a trailing track id, and the id (Ultralytics formats only)."""
    if format_name == _YOLO:
        expected: Any = (4,)
    elif format_name == _ULTRALYTICS:
        expected = (4, 5)
    elif format_name == _OBB:
        expected = (8, 9)
    elif format_name == _POSE:
        expected = (4 + 3 * pose_points, 5 + 3 * pose_points)
    else:
        expected = None
    if expected is not None and len(values) not in expected:
        return None, None
    has_track = (len(values) == expected[-1] and len(expected) == 2) if expected else \
        len(values) % 2 == 1
    if expected is None and len(values) - int(has_track) < 6:
        return None, None
    if not has_track:
        return values, None
    track = values[-1]
    if not track.is_integer():
        raise ImportFailed(f"{where}: the track id '{track}' is not an integer")
    return values[:-1], int(track)


def _rotated_box(values: list[float], width: int, height: int) -> tuple[list[float], float]:
    """Four corners back into a box and its rotation (the inverse of ``box_corners``)."""
    xs = [v * width for v in values[0::2]]
    ys = [v * height for v in values[1::2]]
    cx, cy = sum(xs) / 4, sum(ys) / 4
    w = math.hypot(xs[1] - xs[0], ys[1] - ys[0])
    h = math.hypot(xs[2] - xs[1], ys[2] - ys[1])
    rotation = math.degrees(math.atan2(ys[1] - ys[0], xs[1] - xs[0])) % 360.0
    if rotation > 359.99999:
        rotation = 0.0
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], rotation


def _skeleton_elements(importer: Importer, label: LabelSpec, values: list[float], width: int,
                       height: int, where: str) -> list[dict[str, Any]]:
    names, _joints = importer.labels.skeleton_layout(label)
    elements = []
    for index in range(len(values) // 3):
        x, y, visibility = values[3 * index: 3 * index + 3]
        if index >= len(names):
            if visibility != _ABSENT:
                raise ImportFailed(f"{where}: skeleton '{label.name}' has {len(names)} points, "
                                   f"the line has a visible point #{index + 1}")
            continue
        if visibility not in (_ABSENT, _HIDDEN, _VISIBLE):
            raise ImportFailed(f"{where}: unexpected point visibility '{visibility}'")
        sub = importer.dataset.label_named(names[index], label.id)
        if sub is None:
            raise ImportFailed(f"{where}: '{names[index]}' is not a point of '{label.name}'")
        elements.append({"label": sub, "points": [x * width, y * height],
                         "occluded": visibility == _HIDDEN,
                         "outside": visibility == _ABSENT, "source": "manual", "raw": {}})
    return elements


def _import_classification(dataset: Dataset, source: Path) -> dict[str, Any]:
    """``train/labels.json`` when there is one, else the ``<subset>/<label>/<image>`` folders."""
    matcher = FrameMatcher(dataset)
    found: list[tuple[str, list[str]]] = []
    listings = sorted(source.rglob("labels.json"), key=lambda p: (len(p.parts), str(p)))
    for listing in listings:
        try:
            data = json.loads(read_text(listing))
        except ValueError as exc:
            raise ImportFailed(f"Failed to parse '{listing.name}': {exc}") from None
        if not isinstance(data, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("labels", []), list)
                for v in data.values()):
            raise ImportFailed(f"'{listing.name}' must map item ids to {{\"labels\": [...]}}")
        found += [(str(k), [str(n) for n in v.get("labels", [])]) for k, v in data.items()]
    if not listings:
        images = sorted(p for p in source.rglob("*")
                        if p.is_file() and p.suffix.lower() in _IMAGE_EXTS)
        if not images:
            raise ImportFailed("Dataset must contain <subset>/<label>/<image> folders or "
                               "<subset>/labels.json")
        by_item: dict[str, list[str]] = {}
        for image in images:
            names = by_item.setdefault(image.stem, [])
            if image.parent.name != _NO_LABEL:
                names.append(image.parent.name)
        found = list(by_item.items())
    tags = []
    for item_id, names in found:
        frame = matcher.match(item_id)
        for name in names:
            label = label_by_name(dataset, name)
            tags.append({"frame": frame.frame, "label_id": label.id, "group": 0,
                         "source": "manual", "attributes": []})
    return {"tags": tags, "shapes": [], "tracks": []}


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


