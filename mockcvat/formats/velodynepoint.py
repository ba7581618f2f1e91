"""Kitti Raw Format 1.0 — 3D cuboids as KITTI raw tracklets, as CVAT 2.26 writes them through
datumaro's ``kitti_raw`` (``cvat/apps/dataset_manager/formats/velodynepoint.py``: track ids
removed, ``reindex=True``, so every cuboid of every frame is its own one-pose tracklet)::

    tracklet_labels.xml              boost_serialization XML: ``tracklets`` → ``item`` per
                                     tracklet (objectType, h, w, l, first_frame, poses,
                                     finished) → ``poses`` → ``item`` (tx ty tz rx ry rz state
                                     occlusion occlusion_kf truncation amt_*); tracklets in
                                     ascending (negative) id order, so the last cuboid first
    frame_list.txt                   "<index> <item id>" a frame (index = position in the task)
    velodyne_points/data/<id>.pcd    with save_images
    image_NN/data/<id><ext>          with save_images: the frame's context images, in name order

Sizes go to ``w`` (x), ``h`` (y), ``l`` (z); ``occlusion`` is 1 (partly) for an occluded cuboid,
else 0. Import reads every pose back as a cuboid (a tracklet of several poses as a track, its
``occlusion_kf`` poses keyframes), ``occluded`` when ``occlusion`` is 1 or 2. Lost: attributes,
groups, z_order, tracks (per-frame cuboids), tags.
"""

from __future__ import annotations

import io
import os
from pathlib import Path, PurePosixPath
from typing import Any
from xml.sax.saxutils import XMLGenerator

from .base import Dataset, ImportFailed
from .common import (
    Importer,
    Labels,
    cloud_item_id,
    cuboid_3d,
    cuboid_points,
    frame_items,
    parse_xml,
    read_text,
)
from .tracks import validate_track_shapes

EXPORTS = ("Kitti Raw Format 1.0",)
IMPORTS = ("Kitti Raw Format 1.0",)

ANNO_FILE, NAME_MAPPING_FILE, PCD_DIR = "tracklet_labels.xml", "frame_list.txt", \
    "velodyne_points/data"
VISIBLE, PARTLY = 0, 1
IN_IMAGE, LABELED = 0, 1
_POSE_FIELDS = ("tx", "ty", "tz", "rx", "ry", "rz", "state", "occlusion", "occlusion_kf",
                "truncation", "amt_occlusion", "amt_border_l", "amt_border_r",
                "amt_occlusion_kf", "amt_border_kf")


class _Writer:
    """The boost_serialization XML datumaro's ``_XmlAnnotationWriter`` produces."""

    def __init__(self, out: io.StringIO) -> None:
        self.out = out
        self.xml = XMLGenerator(out, encoding="utf-8")
        self.level = 0
        self.headers = {"tracklet": True, "poses": True, "pose": True}

    def indent(self) -> None:
        self.xml.ignorableWhitespace("\n" + "  " * self.level)

    def value(self, name: str, text: Any) -> None:
        self.indent()
        self.xml.startElement(name, {})
        self.xml.characters(str(text))
        self.xml.endElement(name)

    def open(self, name: str, header: str | None, version: int, class_id: int) -> None:
        self.indent()
        attrs = {}
        if header is None or self.headers[header]:
            attrs = {"version": str(version), "tracking_level": "0", "class_id": str(class_id)}
            if header is not None:
                self.headers[header] = False
        self.xml.startElement(name, attrs)
        self.level += 1

    def close(self, name: str) -> None:
        self.level -= 1
        self.indent()
        self.xml.endElement(name)

    def write(self, tracklets: list[dict]) -> None:
        self.out.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
        self.xml.ignorableWhitespace("\n")
        self.out.write("<!DOCTYPE boost_serialization>")
        self.indent()
        self.xml.startElement("boost_serialization",
                              {"version": "9", "signature": "serialization::archive"})
        self.open("tracklets", None, 0, 0)
        self.value("count", len(tracklets))
        self.value("item_version", 1)
        for tracklet in tracklets:
            self.open("item", "tracklet", 1, 1)
            for key in ("objectType", "h", "w", "l", "first_frame"):
                self.value(key, tracklet[key])
            self.open("poses", "poses", 0, 2)
            self.value("count", len(tracklet["poses"]))
            self.value("item_version", 0)
            for pose in tracklet["poses"]:
                self.open("item", "pose", 1, 3)
                for key in _POSE_FIELDS:
                    self.value(key, pose[key])
                self.close("item")
            self.close("poses")
            self.value("finished", 1)
            self.close("item")
        self.close("tracklets")
        self.indent()
        self.xml.endElement("boost_serialization")


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"velodynepoint cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    tracklets: dict[int, dict] = {}
    names = []
    for index, item in enumerate(frame_items(dataset)):
        item_id = cloud_item_id(item.frame)
        names.append(f"{index} {item_id}\n")
        if save_images:
            data, _ext = dataset.image(item.frame)
            _save(out / PCD_DIR / f"{item_id}.pcd", data)
            for number, (name, image) in enumerate(sorted(dataset.related(item.frame))):
                _save(out / f"image_{number:02d}" / "data"
                      / f"{item_id}{PurePosixPath(name).suffix}", image)
        for shape in item.shapes:
            if shape["type"] != "cuboid":
                continue
            position, rotation, scale = cuboid_3d(shape["points"])
            track_id = -(len(tracklets) + 1)  # reindex: every cuboid its own tracklet
            tracklets[track_id] = {
                "objectType": labels.name(shape["label_id"]), "h": scale[1], "w": scale[0],
                "l": scale[2], "first_frame": index,
                "poses": [{
                    "tx": position[0], "ty": position[1], "tz": position[2],
                    "rx": rotation[0], "ry": rotation[1], "rz": rotation[2],
                    "state": LABELED, "occlusion": PARTLY if shape.get("occluded") else VISIBLE,
                    "occlusion_kf": 0, "truncation": IN_IMAGE, "amt_occlusion": -1,
                    "amt_border_l": -1, "amt_border_r": -1, "amt_occlusion_kf": -1,
                    "amt_border_kf": -1}]}
    (out / NAME_MAPPING_FILE).write_text("".join(names), encoding="utf-8")
    text = io.StringIO()
    _Writer(text).write([t for _k, t in sorted(tracklets.items())])
    (out / ANNO_FILE).write_text(text.getvalue(), encoding="utf-8")


def _save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def image_layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """Where a project import finds the media: KITTI raw's own layout, which CVAT's task
    creation pairs (``velodyne_points/data/<id>.pcd``, ``image_NN/data/<id><ext>``)."""
    if len(parts) == 3 and (parts[0] == "velodyne_points" or parts[0].startswith("image_")) \
            and parts[1] == "data":
        return "default", "/".join(parts)
    return None


# --- import ------------------------------------------------------------------------------------

def _number(node: Any, name: str, where: str) -> float:
    try:
        return float(node.findtext(name))
    except (TypeError, ValueError):
        raise ImportFailed(f"{where}: can't read '{name}'") from None


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"velodynepoint cannot read {format_name!r}")
    source = Path(source)
    found = sorted(source.rglob(ANNO_FILE), key=lambda p: len(p.parts)) \
        if source.is_dir() else [source]
    if not found or not found[0].is_file():
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/"
            "format-kitti-raw). Dataset must contain a file: tracklet_labels.xml")
    root_dir = found[0].parent
    frame_names: dict[int, str] = {}
    mapping = root_dir / NAME_MAPPING_FILE
    if mapping.is_file():
        for line in read_text(mapping).splitlines():
            index, _, name = line.strip().partition(" ")
            if index.isdigit() and name:
                frame_names[int(index)] = name
    else:  # the velodyne files in order
        clouds = sorted((root_dir / PCD_DIR).glob("*.pcd")) if (root_dir / PCD_DIR).is_dir() \
            else []
        frame_names = {i: os.path.splitext(p.name)[0] for i, p in enumerate(clouds)}
    root = parse_xml(found[0].read_bytes(), ANNO_FILE, allow_doctype=True)
    importer = Importer(dataset)
    hint = importer.root_hint(list(frame_names.values()))
    tracks = []
    for tracklet in root.iter("tracklets"):
        for t_index, node in enumerate(tracklet.findall("item")):
            where = f"{ANNO_FILE}: tracklet #{t_index}"
            name = node.findtext("objectType") or ""
            w, h, length = (_number(node, k, where) for k in ("w", "h", "l"))
            first = int(_number(node, "first_frame", where))
            poses = node.findall("poses/item")
            shapes = []
            for p_index, pose in enumerate(poses):
                index = first + p_index
                if index not in frame_names:
                    raise ImportFailed(f"{where}: frame {index} is not in {NAME_MAPPING_FILE}")
                frame = importer.match(frame_names[index], hint)
                values = [_number(pose, k, where) for k in ("tx", "ty", "tz", "rx", "ry", "rz")]
                occlusion = int(_number(pose, "occlusion", where))
                shapes.append({"frame": frame, "points": cuboid_points(
                    values[:3], values[3:], [w, h, length]), "occluded": occlusion in (1, 2),
                    "keyframe": p_index == 0 or int(_number(pose, "occlusion_kf", where)) == 1})
            with importer.annotation(frame_names.get(first, str(first)), t_index, "cuboid_3d"):
                label = importer.label(name)
            if len(shapes) == 1:
                importer.shapes.append({
                    "type": "cuboid", "frame": shapes[0]["frame"], "label_id": label.id,
                    "group": 0, "source": "manual", "occluded": shapes[0]["occluded"],
                    "outside": False, "z_order": 0, "rotation": 0.0,
                    "points": shapes[0]["points"], "attributes": [], "elements": []})
            elif shapes:
                kept = validate_track_shapes([
                    {"type": "cuboid", "frame": s["frame"], "occluded": s["occluded"],
                     "outside": False, "keyframe": s["keyframe"], "z_order": 0,
                     "rotation": 0.0, "points": s["points"], "attributes": []}
                    for s in shapes if s["keyframe"]], importer.stop_frame)
                tracks.append({"frame": kept[0]["frame"], "label_id": label.id, "group": 0,
                               "source": "manual", "attributes": [], "elements": [],
                               "shapes": [{k: v for k, v in s.items() if k != "keyframe"}
                                          for s in kept]})
    return {"tags": [], "shapes": importer.shapes, "tracks": tracks}
