"""Datumaro 1.0 — CVAT's own JSON dump through datumaro's ``datumaro`` format.

CVAT 2.26 (``cvat/apps/dataset_manager/formats/datumaro.py``) builds a datumaro dataset with
``GetCVATDataExtractor`` and calls ``dataset.export(temp_dir, "datumaro", save_images=…)``
(cvat-ai/datumaro ``plugins/datumaro_format/converter.py``). What that writes:

* ``annotations/<subset>.json`` for every subset (tasks and jobs: ``default``), compact JSON
  (``dump_json_file``: no spaces, UTF-8) with the keys ``info`` (``{}``), ``categories`` and
  ``items``; with images, ``images/<subset>/<item id><ext>``.
* ``categories``: ``label`` = ``{"labels": [{name, parent, attributes: []}], "attributes":
  sorted({"occluded"} ∪ every attribute name)}`` (every label by id, skeleton points with their
  skeleton's name as ``parent``), then ``points`` = ``{"items": [{label_id, labels, joints}]}`` for
  skeleton labels (sub-label names in SVG circle order, joints in SVG line order).
* ``items`` (every frame, frame order): ``id`` (file name without extension), ``annotations``,
  ``attr`` ``{"frame": n}``, ``image`` ``{"path": "<id><ext>", "size": [h, w]}``.
* annotations (tags first, then shapes sorted by ``z_order``; tracks as their visible per-frame
  shapes with ``track_id``/``keyframe`` attributes): ``id`` 0, ``type``, ``attributes`` (the label's
  attributes typed as CVAT's converter types them, then ``occluded``, ``rotation`` for boxes,
  ``track_id``/``keyframe``), ``group``, ``label_id`` (index in ``categories.label.labels``), then
  per type: ``bbox`` ``z_order, bbox [x, y, w, h]``; ``polygon``/``polyline`` ``points, z_order``;
  ``points`` ``points, z_order, visibility [2…]``; ``mask`` (CVAT masks and ellipses)
  ``rle {counts: compressed COCO string, size: [h, w]}, z_order``; ``skeleton`` ``elements``
  (``points`` objects, visibility 0 absent / 1 hidden / 2 visible); tags are ``label``. 2D cuboids
  are not written.

Import (``Dataset.import_from(…, "datumaro")`` + ``import_dm_annotations``): labels by name,
items by image path / id / ``attr.frame``, ``track_id`` + ``keyframe`` rebuild tracks.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from mockcvat.formats.base import Dataset, Frame, ImportFailed
from mockcvat.formats.common import (
    DEFAULT_SUBSET,
    Importer,
    Labels,
    attr_values,
    cloud_item_id,
    colmajor,
    cuboid_3d,
    cuboid_points,
    cvat_mask_to_rowmajor,
    decode_rle_string,
    dm_attributes,
    ellipse_rowmajor,
    frame_file_name,
    from_runs,
    image_size,
    pop_source,
    rowmajor,
    rowmajor_to_cvat_mask,
    runs,
    shapes_by_frame,
)

DATUMARO_3D = "Datumaro 3D 1.0"
EXPORTS = ("Datumaro 1.0", DATUMARO_3D)
IMPORTS = ("Datumaro 1.0", DATUMARO_3D)
LAYOUT_FORMATS = (DATUMARO_3D,)  # image_layout: where a project import finds 3D media

_VISIBLE, _HIDDEN, _ABSENT = 2, 1, 0


# =============================================================================================
# compressed COCO RLE strings (pycocotools rleToString)
# =============================================================================================


def encode_rle_string(counts: list[int]) -> str:
    out: list[str] = []
    for i, count in enumerate(counts):
        x = int(count)
        if i > 2:
            x -= int(counts[i - 2])
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


# =============================================================================================
# Export
# =============================================================================================


def _skeleton_layout(svg: str) -> tuple[list[str], list[list[int]]]:
    """``_load_categories``: circle ``data-label-name``s and line ``data-node-from/to`` in order."""
    names: list[str] = []
    joints: list[list[int]] = []
    for tag, attrs in re.findall(r"<\s*(circle|line)\b([^>]*)>", svg or ""):
        found = dict(re.findall(r'([\w-]+)\s*=\s*"([^"]*)"', attrs))
        if tag == "circle" and "data-label-name" in found:
            names.append(found["data-label-name"])
        elif tag == "line":
            try:
                joints.append([int(found["data-node-from"]), int(found["data-node-to"])])
            except (KeyError, ValueError):
                pass
    return names, joints


def categories(dataset: Dataset) -> dict[str, Any]:
    labels = Labels(dataset)
    attr_names = {"occluded"}
    entries = []
    points = []
    for index, label in enumerate(labels.ordered):
        attr_names.update(a.name for a in label.attributes)
        entries.append({"name": label.name, "parent": labels.parent_name(label), "attributes": []})
        if label.type == "skeleton":
            names, joints = _skeleton_layout(label.svg)
            if not names:  # svg without data-label-name: the sub-labels by id
                names = [s.name for s in labels.children.get(label.id, [])]
            points.append({"label_id": index, "labels": names, "joints": joints})
    return {
        "label": {"labels": entries, "attributes": sorted(attr_names)},
        "points": {"items": points},
    }


def _base(kind: str, attributes: dict, group: int) -> dict[str, Any]:
    return {"id": 0, "type": kind, "attributes": attributes, "group": int(group or 0)}


def _shape_anns(labels: Labels, frame: Frame, shape: dict, *, three_d: bool = False
                ) -> dict[str, Any] | None:
    kind = shape["type"]
    if kind == "cuboid" and three_d:  # position, rotation, scale
        ann = _base("cuboid_3d", dm_attributes(labels, shape), shape.get("group"))
        ann["label_id"] = labels.index[shape["label_id"]]
        ann["position"], ann["rotation"], ann["scale"] = cuboid_3d(shape["points"])
        return ann
    if kind == "cuboid" or three_d:
        return None  # 2D cuboids are dropped by CvatToDmAnnotationConverter
    attrs = dm_attributes(labels, shape)
    label_index = labels.index[shape["label_id"]]
    z_order = int(shape.get("z_order", 0) or 0)
    points = [float(p) for p in shape.get("points") or []]
    ann = _base({"rectangle": "bbox", "ellipse": "mask"}.get(kind, kind), attrs, shape.get("group"))
    ann["label_id"] = label_index
    if kind == "rectangle":
        x0, y0, x1, y1 = points[:4]
        ann["z_order"] = z_order
        ann["bbox"] = [x0, y0, x1 - x0, y1 - y0]
    elif kind in ("polygon", "polyline"):
        ann["points"] = points
        ann["z_order"] = z_order
    elif kind == "points":
        ann["points"] = points
        ann["z_order"] = z_order
        ann["visibility"] = [_VISIBLE] * (len(points) // 2)
    elif kind in ("mask", "ellipse"):
        h, w = frame.height, frame.width
        if kind == "mask":
            full = cvat_mask_to_rowmajor(points, h, w)
        else:
            full = ellipse_rowmajor(points, float(shape.get("rotation", 0) or 0), h, w)
        counts = runs(colmajor(full, h, w))
        ann["rle"] = {"counts": encode_rle_string(counts), "size": [h, w]}
        ann["z_order"] = z_order
    elif kind == "skeleton":
        elements = []
        for el in shape.get("elements") or []:
            el_attrs = attr_values(labels.by_id[el["label_id"]], el.get("attributes", []))
            if "track_id" in el:
                el_attrs["track_id"] = el["track_id"]
                el_attrs["keyframe"] = bool(el.get("keyframe", True))
            vis = _ABSENT if el.get("outside") else (_HIDDEN if el.get("occluded") else _VISIBLE)
            el_ann = _base("points", el_attrs, 0)
            el_ann["label_id"] = labels.index[el["label_id"]]
            el_ann["points"] = [float(p) for p in el.get("points") or []]
            el_ann["z_order"] = 0
            el_ann["visibility"] = [vis]
            elements.append(el_ann)
        attrs["keyframe"] = any(e["attributes"].get("keyframe") for e in elements)
        ann["elements"] = elements
    else:
        return None
    return ann


def _tag_ann(labels: Labels, tag: dict) -> dict[str, Any]:
    attrs = attr_values(labels.by_id[tag["label_id"]], tag.get("attributes", []))
    ann = _base("label", attrs, tag.get("group"))
    ann["label_id"] = labels.index[tag["label_id"]]
    return ann


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"datumaro cannot write {format_name!r}")
    out = Path(out)
    labels = Labels(dataset)
    frames = sorted(
        (f for f in dataset.frames if not f.deleted), key=lambda f: (f.task_id, f.frame)
    )
    project = dataset.kind == "project"
    subsets: dict[str, list[Frame]] = {}
    for f in frames:
        subsets.setdefault(
            (f.subset or DEFAULT_SUBSET) if project else DEFAULT_SUBSET, []
        ).append(f)
    if not subsets:
        subsets[DEFAULT_SUBSET] = []
    shapes = shapes_by_frame(dataset, frames)
    task_of_frame = {f.frame: f.task_id for f in frames}
    tags: dict[tuple[int, int], list[dict]] = {}
    for tag in dataset.annotations.get("tags") or []:
        tags.setdefault((task_of_frame.get(tag["frame"], 0), tag["frame"]), []).append(tag)
    cats = categories(dataset)

    (out / "annotations").mkdir(parents=True, exist_ok=True)
    three_d = format_name == DATUMARO_3D
    for subset, subset_frames in subsets.items():
        items = []
        for frame in subset_frames:
            key = (frame.task_id, frame.frame)
            if three_d:
                items.append(_cloud_item(dataset, labels, frame, subset, out, save_images,
                                         tags.get(key, []), shapes.get(key, [])))
                continue
            image_ext = None
            content = b""
            if save_images:
                content, image_ext = dataset.image(frame)
            file_name = frame_file_name(dataset, frame, image_ext)
            item_id = os.path.splitext(file_name)[0]
            if save_images and content:
                target = out / "images" / subset / file_name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            anns = [_tag_ann(labels, t) for t in tags.get(key, [])]
            for shape in sorted(shapes.get(key, []), key=lambda s: s.get("z_order", 0)):
                ann = _shape_anns(labels, frame, shape)
                if ann is not None:
                    anns.append(ann)
            items.append(
                {
                    "id": item_id,
                    "annotations": anns,
                    "attr": {"frame": frame.frame},
                    "image": {"path": file_name, "size": [frame.height, frame.width]},
                }
            )
        data = {"info": {}, "categories": cats, "items": items}
        (out / "annotations" / f"{subset}.json").write_text(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )


def _cloud_item(dataset: Dataset, labels: Labels, frame: Frame, subset: str, out: Path,
                save_images: bool, tags: list[dict], shapes: list[dict]) -> dict[str, Any]:
    """A point-cloud item (Datumaro 3D): the PCD and its context images, cuboids."""
    item_id = cloud_item_id(frame)
    if save_images:
        data, _ext = dataset.image(frame)
        target = out / "point_clouds" / subset / f"{item_id}.pcd"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    related = []
    for name, data in dataset.related(frame):
        path = f"{item_id}/{PurePosixPath(name).name}"
        entry: dict[str, Any] = {"path": path}
        size = image_size(data)
        if size is not None:
            entry["size"] = [size[1], size[0]]
        if save_images:
            target = out / "related_images" / subset / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        related.append(entry)
    anns = [_tag_ann(labels, t) for t in tags]
    for shape in sorted(shapes, key=lambda s: s.get("z_order", 0)):
        ann = _shape_anns(labels, frame, shape, three_d=True)
        if ann is not None:
            anns.append(ann)
    return {"id": item_id, "annotations": anns, "attr": {"frame": frame.frame},
            "point_cloud": {"path": f"{item_id}.pcd"}, "related_images": related}


def image_layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """Where a project import finds the media of a Datumaro 3D export:
    ``point_clouds/<subset>/<id>.pcd`` and ``related_images/<subset>/<id>/<image>``, staged in
    Supervisely's layout (``pointcloud/<id>.pcd``, ``related_images/<id>_pcd/<image>``), which
    CVAT's task creation pairs. 2D exports: None (the images are found as for any format)."""
    if len(parts) >= 3 and parts[0] == "point_clouds":
        return parts[1], "pointcloud/" + "/".join(parts[2:])
    if len(parts) >= 4 and parts[0] == "related_images":
        return parts[1], f"related_images/{parts[2]}_pcd/" + "/".join(parts[3:])
    return None


# =============================================================================================
# Import
# =============================================================================================


def _find_files(source: Path) -> list[Path]:
    if source.is_file():
        if zipfile.is_zipfile(source):
            raise ImportFailed("Expected an extracted archive or a JSON file, got a ZIP archive")
        return [source]
    found = [
        p
        for p in sorted(source.rglob("*.json"))
        if p.parent.name == "annotations" and len(p.relative_to(source).parts) <= 5
    ]
    if not found:
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/"
            "format-datumaro). Dataset must contain a file: annotations/<subset>.json"
        )
    return found


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFailed(
            f"Failed to parse Datumaro annotation file '{path.name}': {exc}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
        raise ImportFailed(f"'{path.name}' is not a Datumaro annotation file")
    return data


def _num_list(value: Any, where: str, field: str) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value
    ):
        raise ImportFailed(f"{where}: '{field}' must be a list of numbers")
    return [float(v) for v in value]


class _DmImporter(Importer):
    """The shared importer (labels, attributes, track rebuilding), fed datumaro objects."""

    def __init__(self, dataset: Dataset):
        super().__init__(dataset)


    def match_item(self, item: dict, hint: str | None) -> int:
        item_id = item["id"]
        try:
            return self.match(item_id, hint)
        except ImportFailed:
            pass
        frame = (item.get("attr") or {}).get("frame", item_id)
        try:
            frame = int(frame)
        except (TypeError, ValueError):
            frame = None
        if frame is None and self.dataset.mode == "interpolation":
            try:
                frame = int(os.path.basename(item_id)[len("frame_") :])
            except ValueError:
                frame = None
        if frame not in self.frames:
            raise ImportFailed(f"Could not match item id: '{item_id}' with any task frame")
        return frame

    def add_dm_item(self, item: dict, frame: int, label_names: list[tuple[str, str]]) -> None:
        anns = item.get("annotations") or []
        shape_types = {"bbox", "polygon", "polyline", "points", "mask", "skeleton"}
        sizes: dict[int, int] = {}
        for a in anns:
            if isinstance(a, dict) and a.get("type") in shape_types:
                g = int(a.get("group") or 0)
                sizes[g] = sizes.get(g, 0) + 1
        groups = {
            g: i + 1 for i, g in enumerate(sorted(g for g, n in sizes.items() if n > 1 and g))
        }
        h, w = self.frames[frame].height, self.frames[frame].width
        size = (item.get("image") or {}).get("size")
        if isinstance(size, list) and len(size) == 2:
            h, w = int(size[0]), int(size[1])
        for idx, a in enumerate(anns):
            kind = a.get("type") if isinstance(a, dict) else None
            try:
                self.add_dm_ann(
                    a, frame, groups.get(int(a.get("group") or 0), 0), label_names, h, w
                )
            except ImportFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - CVAT wraps every error the same way
                raise ImportFailed(
                    f"Image {item['id']}: can't import annotation #{idx} ({kind}): {exc}"
                ) from None

    def _label_of(self, a: dict, label_names: list[tuple[str, str]], parent_id: int | None = None):
        label_id = a.get("label_id")
        if label_id is None:
            raise ValueError("annotation has no label")
        if not isinstance(label_id, int) or not 0 <= label_id < len(label_names):
            raise ValueError(f"undeclared label id '{label_id}'")
        return self.label(label_names[label_id][0], parent_id)

    def add_dm_ann(self, a: dict, frame: int, group: int, label_names, h: int, w: int) -> None:
        if not isinstance(a, dict):
            raise ValueError("an annotation must be an object")
        kind = a.get("type")
        raw = dict(a.get("attributes") or {})
        if kind == "label":
            label = self._label_of(a, label_names)
            self.tags.append(
                {
                    "frame": frame,
                    "label_id": label.id,
                    "group": group,
                    "source": "manual",
                    "attributes": self.attributes(label, raw),
                }
            )
            return
        if kind == "cuboid_3d" and self.dataset.dimension == "3d":
            label = self._label_of(a, label_names)
            points = cuboid_points(*(_num_list(a.get(k), "cuboid_3d", k)[:3]
                                     for k in ("position", "rotation", "scale")))
            self.add_annotation(label=label, kind="cuboid", frame=frame, group=group,
                                points=points, raw=raw)
            return
        if kind not in {"bbox", "polygon", "polyline", "points", "mask", "skeleton"} \
                or self.dataset.dimension == "3d":
            return  # captions, 3D cuboids...: nothing CVAT imports from a 2D task
        label = self._label_of(a, label_names)
        where = f"{kind}"
        points: list[float] = []
        if kind == "bbox":
            x, y, bw, bh = _num_list(a.get("bbox"), where, "bbox")[:4]
            points = [x, y, x + bw, y + bh]
            cvat_type = "rectangle"
        elif kind == "mask":
            rle = a.get("rle")
            if not isinstance(rle, dict):
                raise ValueError("mask has no 'rle'")
            size = rle.get("size")
            if isinstance(size, list) and len(size) == 2:
                h, w = int(size[0]), int(size[1])
            counts = rle.get("counts")
            if isinstance(counts, str):
                counts = decode_rle_string(counts)
            elif isinstance(counts, list):
                counts = [int(c) for c in counts]
            else:
                raise ValueError("mask 'counts' must be a string or a list")
            full = rowmajor(from_runs(counts, h * w), h, w)
            points = rowmajor_to_cvat_mask(full, h, w) or []
            if not points:
                raise ValueError("empty mask")
            cvat_type = "mask"
        elif kind == "skeleton":
            cvat_type = "skeleton"
        else:
            points = _num_list(a.get("points"), where, "points")
            cvat_type = kind
        z_order = int(a.get("z_order", 0) or 0)
        elements = []
        for el in (a.get("elements") or []) if kind == "skeleton" else []:
            vis = (el.get("visibility") or [_VISIBLE])[0]
            el_raw = dict(el.get("attributes") or {})
            elements.append({
                "label": self._label_of(el, label_names, label.id),
                "points": _num_list(el.get("points"), "skeleton element", "points"),
                "occluded": vis == _HIDDEN,
                "outside": vis == _ABSENT,
                "source": pop_source(el_raw),
                "raw": el_raw,
            })
        self.add_annotation(label=label, kind=cvat_type, frame=frame, group=group,
                            points=points, raw=raw, z_order=z_order, elements=elements)


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict:
    if format_name not in IMPORTS:
        raise ImportFailed(f"datumaro cannot read {format_name!r}")
    importer = _DmImporter(dataset)
    parsed: list[tuple[dict, list[tuple[str, str]]]] = []
    for path in _find_files(Path(source)):
        data = _load(path)
        cats = data.get("categories") or {}
        label_cat = cats.get("label") if isinstance(cats, dict) else None
        entries = (label_cat or {}).get("labels") if isinstance(label_cat, dict) else None
        if entries is None:
            entries = []
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
        ):
            raise ImportFailed(f"{path.name}: 'categories.label.labels' must list named labels")
        names = [(e["name"], str(e.get("parent") or "")) for e in entries]
        for item in data.get("items") or []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), (str, int)):
                raise ImportFailed(f"{path.name}: every item needs an 'id'")
            if not isinstance(item.get("annotations", []), list):
                raise ImportFailed(f"{path.name}: item '{item['id']}': 'annotations' is not a list")
            item = dict(item, id=str(item["id"]))
            parsed.append((item, names))
    if parsed:
        hint = importer.root_hint([item["id"] for item, _ in parsed])
        for item, names in parsed:
            frame = importer.match_item(item, hint)
            importer.add_dm_item(item, frame, names)
    return {"tags": importer.tags, "shapes": importer.shapes, "tracks": importer.build_tracks()}
