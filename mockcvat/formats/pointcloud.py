"""Sly Point Cloud Format 1.0 — Supervisely's point-cloud project, as CVAT 2.26 writes it
through datumaro's ``sly_pointcloud`` (``cvat/apps/dataset_manager/formats/pointcloud.py``,
``allow_undeclared_attrs=True``)::

    meta.json                  {"classes": [{id, title, color "", shape "cuboid_3d",
                               geometry_config {}}], "tags": [...], "projectType":
                               "point_clouds"}: a tag per attribute name (``occluded`` first)
    key_id_map.json            {"tags", "objects", "figures", "videos"}: uuid keys → numbers
    ds0/ann/<item id>.pcd.json per frame: {description, key, tags, objects, figures}; an object
                               per cuboid (per track on a frame), its attributes as tags, a
                               ``cuboid_3d`` figure with position / rotation / dimensions;
                               ``keyframe`` on the figures of tracks
    ds0/pointcloud/<item id>.pcd               with save_images
    ds0/related_images/<item id>_pcd/<image>   with save_images, and <image>.json (sensor data
                                               zeros)

Keys are random uuids, as in CVAT. Every frame carries CVAT's frame-level tags ``name`` (the
task owner's username) and ``labels`` (the label list); objects and figures the task's dates.
Import: every figure a cuboid of its object's class with its tags as attributes (``occluded``
onto the shape); figures with ``keyframe`` rebuild the tracks of their object. Lost: tags
(frame labels), groups, z_order.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .base import Dataset, ImportFailed
from .common import (
    Importer,
    Labels,
    cloud_item_id,
    cuboid_3d,
    cuboid_points,
    dm_attributes,
    frame_items,
    read_text,
)

EXPORTS = ("Sly Point Cloud Format 1.0",)
IMPORTS = ("Sly Point Cloud Format 1.0",)

META_FILE, KEY_ID_FILE, BASE_DIR = "meta.json", "key_id_map.json", "ds0"
ANN_DIR, PCD_DIR, RELATED_DIR = "ann", "pointcloud", "related_images"
SPECIAL_ATTRS = {"description", "track_id", "labelerLogin", "createdAt", "updatedAt", "frame"}


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4, ensure_ascii=False), encoding="utf-8")


def _encode(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else value


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"pointcloud cannot write {format_name!r}")
    out = Path(out)
    base = out / BASE_DIR
    for folder in (ANN_DIR, PCD_DIR, RELATED_DIR):
        (base / folder).mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    # CVAT's extractor gives every item the task's owner and dates (``_load_user_info``) and
    # its label list: item tags "name" and "labels"; figures and objects take the dates
    meta = dataset.meta
    stamp = str(datetime.now())
    created = str(meta["created_date"]) if meta.get("created_date") else stamp
    updated = str(meta["updated_date"]) if meta.get("updated_date") else stamp
    user = {"labelerLogin": "", "createdAt": created, "updatedAt": updated}
    owner = (meta.get("owner") or {}).get("username", "")
    label_list = [{"label_id": i, "name": lb.name, "color": lb.color, "type": lb.type}
                  for i, lb in enumerate(labels.ordered)]
    tags: dict[str, dict] = {}

    def register(name: str, applicable: str) -> dict:
        return tags.setdefault(name, {"name": name, "value_type": None, "color": "",
                                      "id": len(tags) + 1, "hotkey": "",
                                      "applicable_type": applicable, "classes": []})

    register("occluded", "objectsOnly")
    for label in labels.ordered:
        for spec in label.attributes:
            tag = register(spec.name, "objectsOnly")
            if label.name not in tag["classes"]:
                tag["classes"].append(label.name)
    key_ids: dict[str, dict] = {"tags": {}, "objects": {}, "figures": {}, "videos": {}}
    objects: dict[Any, str] = {}
    for item in frame_items(dataset):
        item_id = cloud_item_id(item.frame)
        if save_images:
            data, _ext = dataset.image(item.frame)
            (base / PCD_DIR / f"{item_id}.pcd").write_bytes(data)
            for name, image in dataset.related(item.frame):
                target = base / RELATED_DIR / f"{item_id}_pcd" / PurePosixPath(name).name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(image)
                _dump(target.with_name(target.name + ".json"), {
                    "name": target.name, "meta": {"sensorsData": {
                        "extrinsicMatrix": [0] * 12, "intrinsicMatrix": [0] * 9}}})
        item_key = str(uuid.uuid4())
        key_ids["videos"][item_key] = item.frame.frame
        ann = {"description": "", "key": item_key, "tags": [], "objects": [], "figures": []}
        for name, value in (("name", owner), ("labels", label_list)):  # frame-level tags
            tag = register(name, "imagesOnly")
            if tag["applicable_type"] != "imagesOnly":
                tag["applicable_type"] = "all"
            tag["value_type"] = tag["value_type"] or "any_string"
            tag_key = str(uuid.uuid4())
            ann["tags"].append({"key": tag_key, "name": name, "value": value, **user})
            key_ids["tags"][tag_key] = len(key_ids["tags"]) + 1
        seen: set[Any] = set()
        for shape in item.shapes:
            if shape["type"] != "cuboid":
                continue
            attrs = dm_attributes(labels, shape)
            obj_id = shape.get("track_id", shape.get("id"))
            obj_id = ("track", obj_id) if "track_id" in shape else ("shape", obj_id) \
                if obj_id is not None else ("new", len(objects))
            object_key = objects.setdefault(obj_id, str(uuid.uuid4()))
            title = labels.name(shape["label_id"])
            if obj_id not in seen:
                seen.add(obj_id)
                obj_tags = []
                for name, value in attrs.items():
                    if name in SPECIAL_ATTRS:
                        continue
                    value = _encode(value)
                    tag = register(name, "objectsOnly")
                    tag["value_type"] = tag["value_type"] or (
                        "any_number" if isinstance(value, (int, float)) else "any_string")
                    obj_tags.append({"key": str(uuid.uuid4()), "name": name, "value": value,
                                     **user})
                ann["objects"].append({"key": object_key, "classTitle": title,
                                       "tags": obj_tags, "objects": [], "figures": [], **user})
            position, rotation, scale = cuboid_3d(shape["points"])
            figure = {"key": str(uuid.uuid4()), "objectKey": object_key,
                      "geometryType": "cuboid_3d", "geometry": {
                          "position": dict(zip("xyz", position, strict=True)),
                          "rotation": dict(zip("xyz", rotation, strict=True)),
                          "dimensions": dict(zip("xyz", scale, strict=True))}, **user}
            if "keyframe" in attrs:
                figure["keyframe"] = attrs["keyframe"]
            ann["figures"].append(figure)
            key_ids["figures"][figure["key"]] = len(key_ids["figures"]) + 1
        _dump(base / ANN_DIR / f"{item_id}.pcd.json", ann)
    key_ids["objects"] = {key: i for i, key in enumerate(objects.values(), start=1)}
    for tag in tags.values():
        tag["value_type"] = tag["value_type"] or "any_string"
    classes = [{"id": i, "title": lb.name, "color": "", "shape": "cuboid_3d",
                "geometry_config": {}} for i, lb in enumerate(labels.ordered)]
    _dump(out / META_FILE, {"classes": classes, "tags": list(tags.values()),
                            "projectType": "point_clouds"})
    _dump(out / KEY_ID_FILE, key_ids)


def image_layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """Where a project import finds the media: Supervisely's own layout, which CVAT's task
    creation pairs (``ds0/pointcloud/<id>.pcd``, ``ds0/related_images/<id>_pcd/<image>``)."""
    if len(parts) >= 3 and parts[1] in (PCD_DIR, RELATED_DIR):
        return "default", "/".join(parts[1:])
    return None


# --- import ------------------------------------------------------------------------------------

def _json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except ValueError as exc:
        raise ImportFailed(f"'{path.name}' is not valid JSON: {exc}") from None


def _xyz(geometry: dict, key: str, where: str) -> list[float]:
    try:
        part = geometry[key]
        return [float(part[c]) for c in "xyz"]
    except (KeyError, TypeError, ValueError):
        raise ImportFailed(f"{where}: the figure's '{key}' needs numbers x, y, z") from None


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"pointcloud cannot read {format_name!r}")
    source = Path(source)
    metas = sorted(source.rglob(META_FILE), key=lambda p: len(p.parts)) if source.is_dir() \
        else []
    if not metas:
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/"
            "format-sly-pointcloud). Dataset must contain a file: meta.json")
    root = metas[0].parent
    key_ids = _json(root / KEY_ID_FILE) if (root / KEY_ID_FILE).is_file() else {}
    object_ids = key_ids.get("objects", {}) if isinstance(key_ids, dict) else {}
    files = sorted(root.glob(f"*/{ANN_DIR}/*.pcd.json"))
    importer = Importer(dataset)
    ids = [p.name[:-len(".pcd.json")] for p in files]
    hint = importer.root_hint(ids)
    for item_id, path in zip(ids, files, strict=True):
        frame = importer.match(item_id, hint)
        data = _json(path)
        if not isinstance(data, dict):
            raise ImportFailed(f"'{path.name}' is not a Supervisely annotation")
        objects = {o.get("key"): o for o in data.get("objects") or [] if isinstance(o, dict)}
        for index, figure in enumerate(data.get("figures") or []):
            where = f"{path.name}: figure #{index}"
            with importer.annotation(item_id, index, "cuboid_3d"):
                if not isinstance(figure, dict) or figure.get("objectKey") not in objects:
                    raise ValueError("the figure's object is missing")
                obj = objects[figure["objectKey"]]
                label = importer.label(str(obj.get("classTitle")))
                raw = {t["name"]: t.get("value") for t in obj.get("tags") or []
                       if isinstance(t, dict) and "name" in t}
                for special in SPECIAL_ATTRS:
                    raw.pop(special, None)
                raw.pop("keyframe", None)
                if "keyframe" in figure:
                    raw["keyframe"] = figure["keyframe"]
                    raw["track_id"] = object_ids.get(figure["objectKey"], figure["objectKey"])
                geometry = figure.get("geometry") or {}
                points = cuboid_points(_xyz(geometry, "position", where),
                                       _xyz(geometry, "rotation", where),
                                       _xyz(geometry, "dimensions", where))
                importer.add_annotation(label=label, kind="cuboid", frame=frame, group=0,
                                        points=points, raw=raw)
    return importer.result()
