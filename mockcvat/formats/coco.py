"""COCO 1.0 and COCO Keypoints 1.0, written and read the way CVAT 2.26 does it.

CVAT hands both formats to Datumaro (``coco_instances`` / ``coco_person_keypoints``) after
converting its annotations with ``bindings.CvatToDmAnnotationConverter``; everything below
reproduces the files that pipeline writes and the annotations its importer creates:

* archive: ``annotations/instances_<subset>.json`` (keypoints: ``person_keypoints_<subset>.json``),
  written for every subset even when it has no annotations; with images,
  ``images/<subset>/<file_name>``. Tasks and jobs have the single subset ``default``.
* JSON (compact, key order as Datumaro's converter): ``licenses``, ``info``, ``categories`` (every
  label, sub-labels included with their skeleton as ``supercategory``; id = 1 + position by label
  id), ``images`` (ids 1.. in item order, shared across the subsets of a project),
  ``annotations`` (ids 1.. per file).
* kept by COCO 1.0: rectangles (bbox only, ``segmentation: []``), polygons (polygon lists),
  masks and ellipses (uncompressed RLE, ``iscrowd: 1``); shapes with the same non-zero group
  are merged into one instance. Tags, polylines, points, cuboids and skeletons are dropped.
  Tracks become one shape per visible frame (interpolated as CVAT interpolates) with
  ``track_id`` (track index) and ``keyframe`` attributes.
* COCO Keypoints 1.0 keeps skeletons only (plus boxes/polygons/masks grouped with one).
* import: the reverse; annotations carrying ``track_id`` and ``keyframe`` are rebuilt into
  tracks (keyframes kept, ``outside`` added after gaps and at the end), labels are matched by
  name (unknown → error), images by file path without extension.

No numpy here, and pycocotools only for polygon areas (its C is faster): RLE encoding, polygon
rasterisation (pycocotools' ``rleFrPoly``), ``toBbox`` and the compressed-RLE string codec are
reimplemented in plain Python.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from mockcvat.formats.base import Dataset, Frame, ImportFailed
from mockcvat.formats.common import (
    DEFAULT_SUBSET,
    Importer,
    Labels,
    attr_values,
    colmajor,
    cvat_mask_to_rowmajor,
    decode_rle_string,
    ellipse_rowmajor,
    frame_file_name,
    from_runs,
    poly_counts,
    rowmajor,
    rowmajor_to_cvat_mask,
    runs,
    shapes_by_frame,
)

EXPORTS = ("COCO 1.0", "COCO Keypoints 1.0")
IMPORTS = ("COCO 1.0", "COCO Keypoints 1.0")

_INSTANCES = "instances"
_KEYPOINTS = "person_keypoints"


def _task_for(format_name: str) -> str:
    return _KEYPOINTS if format_name == "COCO Keypoints 1.0" else _INSTANCES


def _round2(value: float) -> float:
    """numpy.around(value, 2): scale, round half to even, scale back."""
    return round(float(value) * 100) / 100


# =============================================================================================
# RLE measures (the RLE codec and rasterisation are in ``common``)
# =============================================================================================


def _rle_area(counts: list[int]) -> int:
    return sum(counts[1::2])


def _rle_to_bbox(counts: list[int], h: int, w: int) -> list[float]:
    """pycocotools ``rleToBbox`` (including its full-height quirk for runs crossing columns)."""
    m = (len(counts) // 2) * 2
    if m == 0:
        return [0.0, 0.0, 0.0, 0.0]
    xs, ys, xe, ye, cc, xp = w, h, 0, 0, 0, 0
    for j in range(m):
        cc += counts[j]
        t = cc - j % 2
        y = t % h
        x = (t - y) // h
        if j % 2 == 0:
            xp = x
        elif xp < x:
            ys, ye = 0, h - 1
        xs, xe, ys, ye = min(xs, x), max(xe, x), min(ys, y), max(ye, y)
    return [float(xs), float(ys), float(xe - xs + 1), float(ye - ys + 1)]


def _polygons_area(polygons: list[list[float]], h: int, w: int) -> float:
    """The area of the union of the polygons' masks: pycocotools' ``frPyObjects``, ``merge``
    and ``area``, as datumaro computes it (C, where ``poly_counts`` is the same algorithm in
    Python). pycocotools reads a first list of 4 numbers or fewer as boxes: those go to the
    Python port."""
    if h <= 0 or w <= 0 or any(len(p) <= 4 for p in polygons):
        return float(_rle_area(_union_counts([poly_counts(p, h, w) for p in polygons], h, w)))
    from pycocotools import mask as mask_utils

    rles = mask_utils.frPyObjects([[float(c) for c in p] for p in polygons], h, w)
    return float(mask_utils.area(mask_utils.merge(rles)))


def _union_counts(all_counts: list[list[int]], h: int, w: int) -> list[int]:
    if len(all_counts) == 1:
        return list(all_counts[0])
    acc = 0
    for counts in all_counts:
        acc |= int.from_bytes(from_runs(counts, h * w), "big")
    return runs(acc.to_bytes(h * w, "big"))


# =============================================================================================
# Export
# =============================================================================================


class _Ann:
    """A Datumaro-like annotation for one item."""

    def __init__(
        self, kind: str, label_id: int, group: int, z_order: int, attributes: dict, **geo: Any
    ):
        self.kind = kind  # bbox | polygon | mask | skeleton
        self.label_id = label_id
        self.group = group or 0
        self.z_order = z_order or 0
        self.attributes = attributes
        self.geo = geo


def _frame_anns(labels: Labels, frame: Frame, shapes: list[dict]) -> list[_Ann]:
    h, w = frame.height, frame.width
    anns: list[_Ann] = []
    for shape in sorted(shapes, key=lambda s: s.get("z_order", 0)):
        kind = shape["type"]
        attrs = attr_values(labels.by_id[shape["label_id"]], shape.get("attributes", []))
        attrs["occluded"] = bool(shape.get("occluded", False))
        if kind == "rectangle":
            attrs["rotation"] = shape.get("rotation", 0)
        if "track_id" in shape:
            attrs["track_id"] = shape["track_id"]
            attrs["keyframe"] = shape.get("keyframe", True)
        group, z = shape.get("group") or 0, shape.get("z_order", 0)
        pts = [_round2(p) for p in shape.get("points") or []]
        if kind == "rectangle" and len(pts) >= 4:
            anns.append(_Ann("bbox", shape["label_id"], group, z, attrs, points=pts[:4]))
        elif kind == "polygon" and len(pts) >= 6:
            anns.append(_Ann("polygon", shape["label_id"], group, z, attrs, points=pts))
        elif kind in ("mask", "ellipse"):
            raw = list(shape.get("points") or [])
            if kind == "mask" and len(raw) >= 4:
                full = cvat_mask_to_rowmajor(raw, h, w)
            elif kind == "ellipse" and len(raw) >= 4:
                full = ellipse_rowmajor(raw, shape.get("rotation", 0) or 0, h, w)
            else:
                continue
            counts = runs(colmajor(full, h, w))
            anns.append(_Ann("mask", shape["label_id"], group, z, attrs, counts=counts))
        elif kind == "skeleton":
            elements = []
            for el in shape.get("elements") or []:
                el_label = labels.by_id.get(el["label_id"])
                if el_label is None:
                    continue
                el_attrs = attr_values(labels.by_id[el["label_id"]], el.get("attributes", []))
                if "track_id" in el:
                    el_attrs["track_id"] = el["track_id"]
                    el_attrs["keyframe"] = el.get("keyframe", True)
                vis = 0 if el.get("outside") else (1 if el.get("occluded") else 2)
                elements.append(
                    {
                        "label": el_label,
                        "points": [_round2(p) for p in (el.get("points") or [])[:2]],
                        "visibility": vis,
                        "attributes": el_attrs,
                    }
                )
            attrs["keyframe"] = any(e["attributes"].get("keyframe") for e in elements)
            anns.append(_Ann("skeleton", shape["label_id"], group, z, attrs, elements=elements))
        # polyline, points, cuboid: not COCO
    return anns


def _ann_bbox(ann: _Ann, h: int, w: int) -> list[float]:
    if ann.kind == "mask":
        return _rle_to_bbox(ann.geo["counts"], h, w)
    if ann.kind == "skeleton":
        xs: list[float] = []
        ys: list[float] = []
        for el in ann.geo["elements"]:
            if el["visibility"] != 0 and len(el["points"]) >= 2:
                xs.append(el["points"][0])
                ys.append(el["points"][1])
        x0, x1, y0, y1 = (
            min(xs, default=0),
            max(xs, default=0),
            min(ys, default=0),
            max(ys, default=0),
        )
        return [x0, y0, x1 - x0, y1 - y0]
    pts = ann.geo["points"]
    xs, ys = pts[0::2], pts[1::2]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _ann_area(ann: _Ann, h: int, w: int) -> float:
    if ann.kind == "bbox":
        _, _, bw, bh = _ann_bbox(ann, h, w)
        return bw * bh
    if ann.kind == "polygon":
        x, y, bw, bh = _ann_bbox(ann, h, w)
        return _polygons_area([ann.geo["points"]], int(y + bh), int(x + bw))
    if ann.kind == "mask":
        return float(_rle_area(ann.geo["counts"]))
    return 0.0


def _find_instances(anns: list[_Ann]) -> list[list[_Ann]]:
    spatial = sorted(
        (a for a in anns if a.kind in ("bbox", "polygon", "mask")), key=lambda a: a.group
    )
    groups: list[list[_Ann]] = []
    by_group: dict[int, list[_Ann]] = {}
    for a in spatial:
        if not a.group:
            groups.append([a])
        elif a.group in by_group:
            by_group[a.group].append(a)
        else:
            by_group[a.group] = [a]
            groups.append(by_group[a.group])
    return groups


def _instance_elem(group: list[_Ann], h: int, w: int) -> dict[str, Any]:
    """``_InstancesConverter.find_instance_parts`` + ``convert_instance`` (guess mode)."""
    leader = group[0] if len(group) == 1 else max(group, key=lambda a: _ann_area(a, h, w))
    boxes = [_ann_bbox(a, h, w) for a in group]
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    bbox = [x0, y0, x1 - x0, y1 - y0]
    polygons = [a.geo["points"] for a in group if a.kind == "polygon"]
    masks = [a for a in group if a.kind == "mask"]
    use_masks = (
        leader.attributes.get("is_crowd", any(m.label_id == leader.label_id for m in masks)) is True
    )
    segmentation: Any
    if use_masks:
        parts = [poly_counts(p, h, w) for p in polygons] + [m.geo["counts"] for m in masks]
        counts = _union_counts(parts, h, w) if parts else None
        if counts is not None:
            segmentation = {"counts": counts, "size": [h, w]}
            area = float(_rle_area(counts))
        else:
            segmentation, area = [], bbox[2] * bbox[3]
        is_crowd = counts is not None
    else:
        # (masks grouped with polygons of another label would be vectorised by datumaro; the
        # mock keeps only the polygons in that rare case)
        is_crowd = False
        segmentation = [[float(c) for c in p] for p in polygons]
        if segmentation:
            area = _polygons_area(polygons, h, w)
        else:
            segmentation, area = [], bbox[2] * bbox[3]
    elem = {
        "id": 0,
        "image_id": 0,
        "category_id": 0,
        "segmentation": segmentation,
        "area": float(area),
        "bbox": [_round2(n) for n in bbox],
        "iscrowd": int(is_crowd),
    }
    attrs = {k: v for k, v in leader.attributes.items() if k not in ("is_crowd", "score")}
    if "score" in leader.attributes:
        try:
            elem["score"] = float(leader.attributes["score"])
        except (TypeError, ValueError):
            pass
    if attrs:
        elem["attributes"] = attrs
    elem["_leader"] = leader
    return elem


def _keypoints_of(ann: _Ann, labels: Labels) -> dict[str, Any]:
    names, _ = labels.skeleton_layout(labels.by_id[ann.label_id])
    position = {name: i for i, name in enumerate(names)}
    elements = ann.geo["elements"]
    if elements:
        ordered: list[Any] = [None] * max(len(elements), len(names))
        spare = len(names)
        for el in elements:
            pos = position.get(el["label"].name)
            if pos is None or ordered[pos] is not None:
                pos = spare
                spare += 1
                ordered.extend([None] * max(0, spare - len(ordered)))
            ordered[pos] = el
        elements = [e for e in ordered if e is not None]
    keypoints: list[float] = []
    for el in elements:
        keypoints.extend([*el["points"], el["visibility"]])
    return {
        "keypoints": keypoints,
        "num_keypoints": sum(1 for el in elements if el["visibility"] != 0),
    }


def _item_annotations(task: str, anns: list[_Ann], labels: Labels, frame: Frame) -> list[dict]:
    h, w = frame.height, frame.width
    out: list[dict] = []

    def finish(elem: dict, leader: _Ann) -> dict:
        elem.pop("_leader", None)
        elem["category_id"] = labels.index[leader.label_id] + 1
        return elem

    if task == _INSTANCES:
        for group in _find_instances(anns):
            elem = _instance_elem(group, h, w)
            out.append(finish(elem, elem["_leader"]))
        return out

    skeletons = [a for a in anns if a.kind == "skeleton"]
    if not skeletons:
        return out
    by_group: dict[int, list[_Ann]] = {}
    for a in sorted(anns, key=lambda a: a.group):
        by_group.setdefault(a.group, []).append(a)
    for gid, members in by_group.items():
        if not gid or not any(m.kind in ("bbox", "polygon", "mask") for m in members):
            for sk in (m for m in members if m.kind == "skeleton"):
                bbox = _ann_bbox(sk, h, w)
                elem = {
                    "id": 0,
                    "image_id": 0,
                    "category_id": 0,
                    "segmentation": [],
                    "area": float(bbox[2] * bbox[3]),
                    "bbox": [_round2(n) for n in bbox],
                    "iscrowd": 0,
                }
                attrs = {k: v for k, v in sk.attributes.items() if k not in ("is_crowd", "score")}
                if attrs:
                    elem["attributes"] = attrs
                elem.update(_keypoints_of(sk, labels))
                out.append(finish(elem, sk))
    for group in _find_instances(anns):
        leader_group = group[0].group
        sk = next((a for a in skeletons if leader_group and a.group == leader_group), None)
        if sk is None:
            continue
        elem = _instance_elem(group, h, w)
        leader = elem["_leader"]
        elem.update(_keypoints_of(sk, labels))
        out.append(finish(elem, leader))
    return out


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    task = _task_for(format_name)
    labels = Labels(dataset)
    out = Path(out)
    frames = sorted(
        (f for f in dataset.frames if not f.deleted), key=lambda f: (f.task_id, f.frame)
    )
    if dataset.kind == "project":
        subset_of = {id(f): f.subset or DEFAULT_SUBSET for f in frames}
    else:
        subset_of = {id(f): DEFAULT_SUBSET for f in frames}
    subsets: dict[str, list[Frame]] = {}
    for f in frames:
        subsets.setdefault(subset_of[id(f)], []).append(f)
    if not subsets:
        subsets[DEFAULT_SUBSET] = []

    categories: list[dict[str, Any]] = []
    for idx, lb in enumerate(labels.ordered):
        if task == _INSTANCES:
            categories.append(
                {"id": idx + 1, "name": lb.name, "supercategory": labels.parent_name(lb)}
            )
        elif lb.parent_id is None:
            cat: dict[str, Any] = {
                "id": idx + 1,
                "name": lb.name,
                "supercategory": "",
                "keypoints": [],
                "skeleton": [],
            }
            if lb.type == "skeleton":
                names, joints = labels.skeleton_layout(lb)
                cat["keypoints"], cat["skeleton"] = names, joints
            categories.append(cat)

    shapes = shapes_by_frame(dataset, frames)
    image_ids: dict[str, int] = {}
    ann_dir = out / "annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    for subset, subset_frames in subsets.items():
        data: dict[str, Any] = {
            "licenses": [{"name": "", "id": 0, "url": ""}],
            "info": {
                "contributor": "",
                "date_created": "",
                "description": "",
                "url": "",
                "version": "",
                "year": "",
            },
            "categories": categories,
            "images": [],
            "annotations": [],
        }
        for frame in subset_frames:
            image_ext = None
            if save_images:
                content, image_ext = dataset.image(frame)
            file_name = frame_file_name(dataset, frame, image_ext)
            if save_images:
                target = out / "images" / subset / file_name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            item_id = os.path.splitext(file_name)[0]
            image_id = image_ids.setdefault(item_id, len(image_ids) + 1)
            data["images"].append(
                {
                    "id": image_id,
                    "width": int(frame.width),
                    "height": int(frame.height),
                    "file_name": file_name,
                    "license": 0,
                    "flickr_url": "",
                    "coco_url": "",
                    "date_captured": 0,
                }
            )
            anns = _frame_anns(labels, frame, shapes.get((frame.task_id, frame.frame), []))
            for elem in _item_annotations(task, anns, labels, frame):
                elem["image_id"] = image_id
                data["annotations"].append(elem)
        for n, elem in enumerate(data["annotations"], start=1):
            elem["id"] = n
        path = ann_dir / f"{task}_{subset}.json"
        path.write_text(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )


# =============================================================================================
# Import
# =============================================================================================


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFailed(f"Failed to parse COCO annotation file '{path.name}': {exc}") from None
    if not isinstance(data, dict):
        raise ImportFailed(
            f"'{path.name}' is not a COCO annotation file: a JSON object is expected"
        )
    return data


def _find_files(source: Path, task: str) -> list[tuple[Path, str | None]]:
    source = Path(source)
    if source.is_file():
        if zipfile.is_zipfile(source):
            raise ImportFailed("Expected an extracted archive or a JSON file, got a ZIP archive")
        stem = source.stem
        parts = stem.split(task + "_", 1)
        return [(source, parts[1] if len(parts) == 2 and parts[0] == "" else None)]
    found: list[tuple[Path, str | None]] = []
    for path in sorted(source.rglob(f"{task}_*.json")):
        rel = path.relative_to(source)
        if len(rel.parts) > 5 or path.parent.name != "annotations":
            continue
        found.append((path, path.stem[len(task) + 1 :]))
    if not found:
        fmt = "coco-keypoints" if task == _KEYPOINTS else "coco"
        raise ImportFailed(
            f"Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/format-{fmt}). "
            f"Dataset must contain a file: annotations/{task}_<subset>.json"
        )
    return found


def _field(obj: Any, key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ImportFailed(f"{where}: missing field '{key}'")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        if not (kinds is float or (isinstance(kinds, tuple) and float in kinds)) or not isinstance(
            value, int
        ):
            raise ImportFailed(f"{where}: field '{key}' has an invalid type {type(value).__name__}")
    return value


class _Importer(Importer):
    """COCO files (instances or person keypoints) into shapes and tracks."""

    def __init__(self, dataset: Dataset, task: str):
        super().__init__(dataset)
        self.task = task

    # -- annotations -------------------------------------------------------------------------
    def parse_file(self, path: Path) -> list[tuple[str, list[dict]]]:
        data = _load_json(path)
        where = path.name
        cats = sorted(
            (
                {
                    "id": _field(c, "id", int, f"{where} category"),
                    "name": _field(c, "name", str, f"{where} category"),
                    "keypoints": c.get("keypoints") if isinstance(c, dict) else None,
                }
                for c in _field(data, "categories", list, where)
            ),
            key=lambda c: c["id"],
        )
        cat_by_id = {c["id"]: c for c in cats}
        images: dict[int, dict] = {}
        order: list[int] = []
        for info in _field(data, "images", list, where):
            image_id = _field(info, "id", int, f"{where} image")
            file_name = _field(info, "file_name", str, f"{where} image {image_id}")
            images[image_id] = {"info": info, "id": os.path.splitext(file_name)[0], "anns": []}
            order.append(image_id)
        for ann in _field(data, "annotations", list, where):
            image_id = _field(ann, "image_id", int, f"{where} annotation")
            if image_id not in images:
                raise ImportFailed(
                    f"{where}: annotation #{ann.get('id')}: unknown image id '{image_id}'"
                )
            images[image_id]["anns"].extend(
                self.parse_ann(ann, images[image_id]["info"], cat_by_id, where)
            )
        return [(images[i]["id"], images[i]["anns"]) for i in order]

    def parse_ann(self, ann: dict, info: dict, cats: dict[int, dict], where: str) -> list[dict]:
        ann_id = _field(ann, "id", int, f"{where} annotation")
        where = f"{where} annotation #{ann_id}"
        attributes = dict(ann.get("attributes") or {})
        cat_id = _field(ann, "category_id", int, where)
        if cat_id and cat_id not in cats:
            raise ImportFailed(f"{where}: undeclared category id '{cat_id}'")
        category = cats.get(cat_id) if cat_id else None
        attributes["is_crowd"] = bool(_field(ann, "iscrowd", int, where))
        base = {"category": category, "group": ann_id, "attributes": attributes}
        parsed: list[dict] = []
        if self.task == _KEYPOINTS:
            kps = _field(ann, "keypoints", list, where)
            if len(kps) % 3:
                raise ImportFailed(
                    f"{where}: keypoints have invalid value count {len(kps)}, not divisible by 3"
                )
            names = (category or {}).get("keypoints") or []
            elements = []
            for i in range(0, len(kps), 3):
                x, y, v = kps[i : i + 3]
                name = names[i // 3] if i // 3 < len(names) else str(i // 3 + 1)
                elements.append(
                    {"name": name, "points": [_round2(x), _round2(y)], "visibility": int(v)}
                )
            parsed.append({**base, "kind": "skeleton", "elements": elements})
        segmentation = _field(ann, "segmentation", (list, dict), where)
        if segmentation and segmentation != [[]]:
            if isinstance(segmentation, list):
                for poly in segmentation:
                    if not isinstance(poly, list) or len(poly) % 2 or len(poly) < 6:
                        raise ImportFailed(
                            f"{where}: a polygon needs an even number (≥ 6) of coordinates"
                        )
                    parsed.append({**base, "kind": "polygon", "points": [_round2(p) for p in poly]})
            else:
                h = _field(info, "height", int, where)
                w = _field(info, "width", int, where)
                counts = segmentation.get("counts")
                if isinstance(counts, list):
                    size = segmentation.get("size")
                    if not isinstance(size, list) or len(size) != 2:
                        raise ImportFailed(f"{where}: mask size must have 2 values")
                    if list(size) != [h, w]:
                        raise ImportFailed(
                            f"{where}: mask does not match image size: {tuple(size)} vs. {(h, w)}"
                        )
                    counts = [int(c) for c in counts]
                elif isinstance(counts, str):
                    counts = decode_rle_string(counts)
                else:
                    raise ImportFailed(f"{where}: mask 'counts' must be a list or a string")
                parsed.append({**base, "kind": "mask", "counts": counts, "size": (h, w)})
        elif self.task == _INSTANCES:
            bbox = _field(ann, "bbox", list, where)
            if len(bbox) != 4:
                raise ImportFailed(f"{where}: bbox has wrong value count {len(bbox)}, expected 4")
            x, y, bw, bh = (float(v) for v in bbox)
            parsed.append(
                {
                    **base,
                    "kind": "bbox",
                    "points": [_round2(x), _round2(y), _round2(x + bw), _round2(y + bh)],
                }
            )
        return parsed

    def add_item(self, item_id: str, anns: list[dict], frame: int) -> None:
        if self.task == _KEYPOINTS:
            anns = [a for a in anns if a["kind"] != "bbox"]
        sizes: dict[int, int] = {}
        for a in anns:
            sizes[a["group"]] = sizes.get(a["group"], 0) + 1
        kept = sorted(g for g, n in sizes.items() if n > 1 and g)
        groups = {g: i + 1 for i, g in enumerate(kept)}
        for idx, a in enumerate(anns):
            try:
                self.add_ann(a, frame, groups.get(a["group"], 0))
            except ImportFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - CVAT wraps every error the same way
                raise ImportFailed(
                    f"Image {item_id}: can't import annotation #{idx} ({a['kind']}): {exc}"
                ) from None

    def add_ann(self, a: dict, frame: int, group: int) -> None:
        if a["category"] is None:
            raise ValueError("annotation has no label")
        label = self.label(a["category"]["name"])
        raw = dict(a["attributes"])
        points: list[float] = []
        kind = {"bbox": "rectangle", "polygon": "polygon", "mask": "mask", "skeleton": "skeleton"}[
            a["kind"]
        ]
        if a["kind"] == "mask":
            h, w = a["size"]
            full = rowmajor(from_runs(a["counts"], h * w), h, w)
            points = rowmajor_to_cvat_mask(full, h, w) or []
            if not points:
                raise ValueError("empty mask")
        elif a["kind"] != "skeleton":
            points = [float(p) for p in a["points"]]
        elements = []
        if a["kind"] == "skeleton":
            for el in a["elements"]:
                elements.append({
                    "label": self.label(el["name"], label.id),
                    "points": [float(p) for p in el["points"]],
                    "occluded": el["visibility"] == 1,
                    "outside": el["visibility"] == 0,
                    "source": "manual", "raw": {},
                })
        self.add_annotation(label=label, kind=kind, frame=frame, group=group, points=points,
                            raw=raw, elements=elements)


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict:
    task = _task_for(format_name)
    importer = _Importer(dataset, task)
    items: list[tuple[str, list[dict]]] = []
    for path, _subset in _find_files(Path(source), task):
        items.extend(importer.parse_file(path))
    if items:
        hint = importer.root_hint([item_id for item_id, _ in items])
        for item_id, anns in items:
            frame = importer.match(item_id, hint)
            importer.add_item(item_id, anns, frame)
    return {"tags": [], "shapes": importer.shapes, "tracks": importer.build_tracks()}
