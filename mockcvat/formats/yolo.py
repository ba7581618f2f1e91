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

The helpers in the second half (per-frame annotations as CVAT's ``group_by_frame`` builds them,
item ids, frame matching) are shared with the ``voc`` and ``imagenet`` modules.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .base import Dataset, Frame, ImportFailed, LabelSpec

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


# =================================================================================================
# Shared with voc.py and imagenet.py: frames and their annotations as CVAT hands them to datumaro
# =================================================================================================

DEFAULT_SUBSET = "default"  # datumaro's DEFAULT_SUBSET_NAME
VIDEO_FRAME_EXT = ".PNG"  # FrameProvider.VIDEO_FRAME_EXT: video frames are named frame_XXXXXX


@dataclass
class Item:
    """One dataset item (a frame), as ``CvatTaskOrJobDataExtractor`` builds it."""

    frame: Frame
    id: str  # the frame's file name without its extension
    media_ext: str  # "" when the name has none
    subset: str
    shapes: list[dict[str, Any]]  # tracks already cut into per-frame shapes, z_order-sorted
    tags: list[dict[str, Any]]

    def ext(self, default: str) -> str:
        return self.media_ext or default


def frame_items(dataset: Dataset) -> list[Item]:
    """Every non-deleted frame in frame order with its shapes and tags (``group_by_frame``)."""
    frames = sorted((f for f in dataset.frames if not f.deleted),
                    key=lambda f: (f.task_id, f.frame))
    by_frame: dict[int, Item] = {}
    items = []
    video = dataset.mode == "interpolation"
    for frame in frames:
        name = frame.name + (VIDEO_FRAME_EXT if video else "")
        stem, ext = posixpath.splitext(name)
        item = Item(frame, stem, ext, frame.subset or DEFAULT_SUBSET, [], [])
        items.append(item)
        by_frame.setdefault(frame.frame, item)

    annotations = dataset.annotations
    end_frame = max((f.frame for f in dataset.frames), default=-1) + 1
    shapes = [dict(s) for s in annotations.get("shapes", [])]
    for index, track in enumerate(annotations.get("tracks", [])):
        shapes += [s for s in track_shapes(track, index, end_frame) if not s["outside"]]
    for shape in sorted(shapes, key=lambda s: s.get("z_order", 0)):
        if shape["frame"] in by_frame:
            by_frame[shape["frame"]].shapes.append(shape)
    for tag in annotations.get("tags", []):
        if tag["frame"] in by_frame:
            by_frame[tag["frame"]].tags.append(tag)
    return items


def group_by_subset(items: Iterable[Item]) -> dict[str, list[Item]]:
    subsets: dict[str, list[Item]] = {}
    for item in items:
        subsets.setdefault(item.subset, []).append(item)
    return subsets


def track_shapes(track: dict[str, Any], track_id: int, end_frame: int) -> list[dict[str, Any]]:
    """A track's shapes on every frame it covers (``TrackManager.get_interpolated_shapes``).

    Rectangles, ellipses, cuboids (and 2-coordinate points) move linearly between keyframes,
    rotation along the shorter arc; other types keep the previous keyframe's geometry (CVAT
    interpolates polygons/polylines point-matched — not reproduced). After the last keyframe a
    visible track continues to ``end_frame``. Outside keyframes are kept (marked ``outside``);
    the caller drops them as CVAT's exporters do.
    """
    keyframes = sorted((dict(s) for s in track.get("shapes", [])), key=lambda s: s["frame"])
    result: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    for shape in keyframes:
        shape["attributes"] = [dict(a) for a in shape.get("attributes", [])]
        if prev is not None:
            if end_frame <= shape["frame"]:
                result += [s for s in _between(prev, shape) if s["frame"] < end_frame]
                prev = None
                break
            have = {a["spec_id"] for a in shape["attributes"]}
            shape["attributes"] += [dict(a) for a in prev["attributes"] if a["spec_id"] not in have]
            if not prev.get("outside"):
                result += _between(prev, shape)
        shape["keyframe"] = True
        result.append(shape)
        prev = shape
    if prev is not None and not prev.get("outside"):
        result += [_copy(prev, f) for f in range(prev["frame"] + 1, end_frame)]

    start = track.get("frame", keyframes[0]["frame"] if keyframes else 0)
    out = []
    for shape in result:
        if not (start <= shape["frame"] < end_frame):
            continue
        if not shape["keyframe"] and shape.get("outside"):
            continue
        shape.update(label_id=track["label_id"], group=track.get("group"),
                     source=track.get("source", "manual"), track_id=track_id, elements=[])
        shape["attributes"] = shape["attributes"] + [dict(a) for a in track.get("attributes", [])]
        shape.setdefault("occluded", False)
        shape.setdefault("outside", False)
        shape.setdefault("z_order", 0)
        shape.setdefault("rotation", 0.0)
        out.append(shape)
    return out


def _copy(source: dict[str, Any], frame: int, points: list[float] | None = None,
          rotation: float | None = None) -> dict[str, Any]:
    copied = dict(source)
    copied["attributes"] = [dict(a) for a in source["attributes"]]
    copied["keyframe"] = False
    copied["frame"] = frame
    if rotation is not None:
        copied["rotation"] = rotation
    copied["points"] = list(points if points is not None else source.get("points", []))
    return copied


def _angle_diff(right: float, left: float) -> float:
    diff = ((right - left + 180) % 360) - 180
    if abs(diff) >= 180:  # CVAT's expression, kept as written
        diff = 360 - abs(diff) * -1 if diff > 0 else 1
    return diff


def _between(shape0: dict[str, Any], shape1: dict[str, Any]) -> list[dict[str, Any]]:
    kind = shape0.get("type")
    p0 = [float(v) for v in shape0.get("points", [])]
    p1 = [float(v) for v in shape1.get("points", [])]
    linear = kind in ("rectangle", "ellipse", "cuboid", "skeleton") or (
        kind == "points" and len(p0) == 2 and len(p1) == 2)
    distance = shape1["frame"] - shape0["frame"]
    shapes = []
    for frame in range(shape0["frame"] + 1, shape1["frame"]):
        if linear and len(p0) == len(p1):
            offset = (frame - shape0["frame"]) / distance
            r0, r1 = float(shape0.get("rotation") or 0), float(shape1.get("rotation") or 0)
            rotation = (r0 + _angle_diff(r1, r0) * offset + 360) % 360
            points = [a + (b - a) * offset for a, b in zip(p0, p1, strict=True)]
            shapes.append(_copy(shape0, frame, points, rotation))
        else:
            shapes.append(_copy(shape0, frame))
    return shapes


def dm_attributes(dataset: Dataset, label_id: int, given: list[dict[str, Any]]) -> dict[str, Any]:
    """``CvatToDmAnnotationConverter._convert_attrs``: every attribute of the label, in spec
    order, the given value or the default, numbers as floats and checkboxes as bools."""
    values = {a["spec_id"]: a["value"] for a in given}
    result: dict[str, Any] = {}
    for spec in dataset.label(label_id).attributes:
        value = values.get(spec.id, spec.default_value)
        if spec.input_type == "number":
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"Failed to convert attribute '{spec.name}'='{value}'") from None
        elif spec.input_type == "checkbox":
            value = str(value).lower() == "true"
        result[spec.name] = value
    return result


_SAME_EXT = {".jpeg": ".jpg", ".jpe": ".jpg", ".tif": ".tiff"}


def write_image(dataset: Dataset, frame: Frame, target: Path) -> None:
    """The frame's original bytes under ``target``; re-encoded (Pillow, by the target's
    extension) when the media is of another type, as datumaro's ``_save_image`` does."""
    data, ext = dataset.image(frame)
    if not data:
        return  # datumaro: "Item '…' has no image" — nothing written
    target.parent.mkdir(parents=True, exist_ok=True)
    source_ext, target_ext = (_SAME_EXT.get(e.lower(), e.lower()) for e in (ext, target.suffix))
    if ext and source_ext != target_ext:
        from io import BytesIO

        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(BytesIO(data)) as image:
                if target_ext == ".jpg" and image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                image.save(target)
            return
        except (UnidentifiedImageError, OSError, ValueError, KeyError):
            pass  # not decodable or no writer for the extension: keep the original bytes
    target.write_bytes(data)


class FrameMatcher:
    """``match_dm_item``: an item id (a path without extension) → the task frame."""

    def __init__(self, dataset: Dataset) -> None:
        self._frames: dict[str, Frame] = {}
        for frame in sorted(dataset.frames, key=lambda f: f.frame):
            self._frames.setdefault(posixpath.splitext(frame.name)[0], frame)

    def match(self, item_id: str) -> Frame:
        item_id = item_id.replace("\\", "/").lstrip("/")
        frame = self._frames.get(item_id)
        if frame is None:  # the archive may hold fewer leading directories than the frame names
            parts = item_id.split("/")
            found = [f for name, f in self._frames.items()
                     if name.split("/")[-len(parts):] == parts]
            frame = found[0] if found else None
        if frame is None:
            raise ImportFailed(f"Could not match item id: '{item_id}' with any task frame")
        return frame


def label_by_name(dataset: Dataset, name: str) -> LabelSpec:
    label = dataset.label_named(name)
    if label is None:
        raise ImportFailed(f"Label '{name}' is not registered for this task")
    return label


def new_shape(frame: int, label_id: int, kind: str, points: list[float], *,
              occluded: bool = False, attributes: list[dict[str, Any]] | None = None,
              rotation: float = 0.0) -> dict[str, Any]:
    return {"type": kind, "frame": frame, "label_id": label_id, "group": 0, "source": "manual",
            "occluded": occluded, "outside": False, "z_order": 0, "rotation": rotation,
            "points": points, "attributes": attributes or [], "elements": []}


def find_file(root: Path, name: str) -> Path | None:
    """The shallowest file called ``name`` under ``root``."""
    found = [Path(d) / name for d, _dirs, files in os.walk(root) if name in files]
    return min(found, key=lambda p: (len(p.parts), str(p)), default=None)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImportFailed(f"'{path.name}' is not a UTF-8 text file") from None
