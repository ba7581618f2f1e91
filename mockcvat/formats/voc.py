"""PASCAL VOC 1.1 — boxes and tags, written as datumaro's ``VocConverter`` does.

CVAT 2.26 (``formats/pascal_voc.py``) calls ``dataset.export(temp_dir, "voc",
save_images=…, label_map="source")``: every VOC task, labels taken from the task. Per item (frame)
of subset ``default`` (cvat-ai/datumaro ``plugins/voc_format/converter.py``):

* ``Annotations/<item id>.xml`` — always, lxml ``pretty_print`` (2 spaces, no XML declaration):
  ``folder`` (the id up to its first "_", else empty), ``filename`` (id + image extension,
  ".jpg" when the name has none), ``source`` (Unknown ×3), ``size`` (width, height, empty depth),
  ``segmented``, then one ``object`` per box: ``name``, [``pose``], ``truncated``, ``occluded``,
  ``difficult`` (0/1 from the attributes of those names / the shape's occluded flag), ``bndbox``
  (``str(float)`` of x, y, x + w, y + h) and ``attributes/attribute{name,value}`` with every
  other attribute — the label's attributes (defaults filled, numbers as floats, checkboxes as
  ``True``/``False``), ``rotation`` and, for track boxes, ``track_id`` and ``keyframe``.
* ``ImageSets/Main/default.txt`` — every item id.
* ``ImageSets/Main/<label>_default.txt`` — for every label (``background`` first), when some
  frame has a tag: ``"<id>  1"`` / ``"<id> -1"`` for each frame that has tags.
* ``ImageSets/{Action,Layout,Segmentation}/default.txt`` — the ids of frames with no
  annotation at all (datumaro marks them ``None`` in every list and still writes the keys).
* ``labelmap.txt`` — ``# label:color_rgb:parts:actions`` then ``name:r,g,b::`` with the VOC
  colormap by position, ``background`` (0,0,0) first.
* ``JPEGImages/<id><ext>`` with save_images.

Import reads boxes back (with ``occluded``, the label's attributes by name, and tracks rebuilt
from ``track_id``/``keyframe`` as CVAT's ``import_dm_annotations`` does for "voc") and tags from
the per-label lists. Not written: ``SegmentationClass``/``SegmentationObject`` masks for
mask/ellipse shapes (CVAT paints them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from .base import Dataset, Frame, ImportFailed, LabelSpec
from .common import (
    FrameMatcher,
    Item,
    attr_values,
    frame_items,
    group_by_subset,
    label_by_name,
    new_shape,
    parse_xml,
    read_text,
    write_image,
)
from .common import voc_colormap as colormap
from .tracks import validate_track_shapes

EXPORTS = ("PASCAL VOC 1.1",)
IMPORTS = ("PASCAL VOC 1.1",)

BACKGROUND = "background"
_BUILTIN = {"difficult", "pose", "truncated", "occluded"}
# shape types that reach datumaro as annotations (a 2D cuboid is dropped by CVAT's bindings)
_DM_TYPES = {"rectangle", "polygon", "polyline", "points", "ellipse", "mask", "skeleton"}


def label_map(dataset: Dataset) -> list[str]:
    names: dict[str, None] = {}
    for label in dataset.labels:
        names.setdefault(label.name)
    ordered = list(names)
    if BACKGROUND not in names:
        ordered.insert(0, BACKGROUND)
    return ordered


# --- export ------------------------------------------------------------------------------------

def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"voc cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = label_map(dataset)
    for subset, items in group_by_subset(frame_items(dataset)).items():
        tagged: dict[str, set[str]] = {}
        empty: list[str] = []
        for item in items:
            image_name = item.id + item.ext(".jpg")
            if save_images:
                write_image(dataset, item.frame, out / "JPEGImages" / image_name)
            target = out / "Annotations" / f"{item.id}.xml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_annotation_xml(dataset, item, image_name), encoding="utf-8")
            for tag in item.tags:
                tagged.setdefault(item.id, set()).add(dataset.label(tag["label_id"]).name)
            if not item.tags and not any(s["type"] in _DM_TYPES for s in item.shapes):
                empty.append(item.id)
        _write_list(out / "ImageSets" / "Main" / f"{subset}.txt", [i.id for i in items])
        if tagged:
            for label in labels:
                _write_list(out / "ImageSets" / "Main" / f"{label}_{subset}.txt",
                            [f"{item_id} {1 if label in names else -1:2d}"
                             for item_id, names in tagged.items()])
        if empty:
            _write_list(out / "ImageSets" / "Action" / f"{subset}.txt", empty)
            _write_list(out / "ImageSets" / "Layout" / f"{subset}.txt",
                        [f'"{i}"' if len(i.split()) > 1 else i for i in empty])
            _write_list(out / "ImageSets" / "Segmentation" / f"{subset}.txt", empty)
    colors = colormap(len(labels))
    lines = ["# label:color_rgb:parts:actions\n"]
    lines += [f"{name}:{','.join(map(str, color))}::\n"
              for name, color in zip(labels, colors, strict=True)]
    (out / "labelmap.txt").write_text("".join(lines), encoding="utf-8")


def _write_list(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _annotation_xml(dataset: Dataset, item: Item, image_name: str) -> str:
    folder = item.id[: item.id.find("_")] if "_" in item.id else ""
    lines = ["<annotation>", _leaf(1, "folder", folder), _leaf(1, "filename", image_name),
             "  <source>", _leaf(2, "database", "Unknown"), _leaf(2, "annotation", "Unknown"),
             _leaf(2, "image", "Unknown"), "  </source>",
             "  <size>", _leaf(2, "width", str(item.frame.width)),
             _leaf(2, "height", str(item.frame.height)), _leaf(2, "depth", ""), "  </size>",
             _leaf(1, "segmented", "0")]
    for shape in item.shapes:
        if shape["type"] != "rectangle":
            continue
        attrs = attr_values(dataset.label(shape["label_id"]), shape.get("attributes", []),
                            strict=True)
        attrs["occluded"] = bool(shape.get("occluded"))
        attrs["rotation"] = float(shape.get("rotation") or 0.0)
        if "track_id" in shape:
            attrs["track_id"] = shape["track_id"]
            attrs["keyframe"] = bool(shape.get("keyframe"))
        lines.append("  <object>")
        lines.append(_leaf(2, "name", dataset.label(shape["label_id"]).name))
        if "pose" in attrs:
            lines.append(_leaf(2, "pose", str(attrs["pose"])))
        for key in ("truncated", "occluded", "difficult"):
            lines.append(_leaf(2, key, str(_as_int(attrs.get(key, 0)))))
        x0, y0, x1, y1 = (float(v) for v in shape["points"][:4])
        w, h = x1 - x0, y1 - y0
        lines += ["    <bndbox>", _leaf(3, "xmin", str(x0)), _leaf(3, "ymin", str(y0)),
                  _leaf(3, "xmax", str(x0 + w)), _leaf(3, "ymax", str(y0 + h)), "    </bndbox>"]
        extra = [(k, v) for k, v in attrs.items() if k not in _BUILTIN]
        if extra:
            lines.append("    <attributes>")
            for key, value in extra:
                lines += ["      <attribute>", _leaf(4, "name", str(key)),
                          _leaf(4, "value", str(value)), "      </attribute>"]
            lines.append("    </attributes>")
        lines.append("  </object>")
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def _leaf(depth: int, tag: str, text: str) -> str:
    return f"{'  ' * depth}<{tag}>{escape(text)}</{tag}>"


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0  # datumaro logs "Failed to convert attribute" and writes the default


# --- import ------------------------------------------------------------------------------------

def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"voc cannot read {format_name!r}")
    source = Path(source)
    if not source.is_dir():
        raise ImportFailed("Failed to import the annotations: a ZIP archive is expected")
    root = _dataset_root(source)
    labels = _read_label_map(root / "labelmap.txt") if (root / "labelmap.txt").is_file() \
        else [label.name for label in dataset.labels]
    if BACKGROUND not in labels:
        labels.insert(0, BACKGROUND)

    subsets = _subset_lists(root)
    if not subsets:
        raise ImportFailed("Dataset must contain a file: ImageSets/Main/<subset>.txt "
                           "or Annotations/*.xml")
    matcher = FrameMatcher(dataset)
    stop_frame = max((f.frame for f in dataset.frames), default=0)
    tags: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    tracks: dict[str, dict[str, Any]] = {}
    for subset, item_ids, xml_files in subsets:
        present = _class_lists(root, subset, labels)
        for item_id in item_ids:
            frame = matcher.match(item_id)
            for name in present.get(item_id, []):
                label = label_by_name(dataset, name)
                tags.append({"frame": frame.frame, "label_id": label.id, "group": 0,
                             "source": "manual", "attributes": []})
            xml_path = xml_files.get(item_id)
            if xml_path is None or not xml_path.is_file():
                continue
            for box in _read_boxes(xml_path, labels, item_id):
                _add_box(dataset, frame, box, shapes, tracks)
    return {"tags": tags, "shapes": shapes,
            "tracks": [t for t in (_finish_track(t, stop_frame) for t in tracks.values()) if t]}


def _dataset_root(source: Path) -> Path:
    candidates = [p.parent for p in source.rglob("Annotations") if p.is_dir()]
    candidates += [p.parent for p in source.rglob("ImageSets") if p.is_dir()]
    return min(candidates, key=lambda p: (len(p.parts), str(p)), default=source)


def _read_label_map(path: Path) -> list[str]:
    names: list[str] = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) != 4:
            raise ImportFailed(f"labelmap.txt:{number}: Label description has wrong number of "
                               f"fields '{len(fields)}'. Expected 4 ':'-separated fields.")
        if fields[0] in names:
            raise ImportFailed(f"Label '{fields[0]}' is already defined in the label map")
        names.append(fields[0])
    return names


def _subset_lists(root: Path) -> list[tuple[str, list[str], dict[str, Path]]]:
    annotations = root / "Annotations"
    main = root / "ImageSets" / "Main"
    if not annotations.is_dir():
        # CVAT accepts a flat archive: every *.xml anywhere, as subset "train"
        files = sorted(root.rglob("*.xml"))
        by_id = {f.stem: f for f in files}
        return [("train", list(by_id), by_id)] if files else []
    result = []
    lists = sorted(p for p in main.glob("*.txt") if "_" not in p.name) if main.is_dir() else []
    for list_path in lists:
        ids = []
        for line in read_text(list_path).splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                ids.append(line)
        result.append((list_path.stem, ids, {i: annotations / f"{i}.xml" for i in ids}))
    return result


def _class_lists(root: Path, subset: str, labels: list[str]) -> dict[str, list[str]]:
    present: dict[str, list[str]] = {}
    for label in labels:
        path = root / "ImageSets" / "Main" / f"{label}_{subset}.txt"
        if not path.is_file():
            continue
        for number, line in enumerate(read_text(path).splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2:
                raise ImportFailed(f"{path.name}:{number}: invalid number of fields in line, "
                                   "expected 2")
            item_id, flag = parts
            if flag not in ("-1", "0", "1"):
                raise ImportFailed(f"{path.name}:{number}: unexpected class existence value "
                                   f"'{flag}', expected -1, 0 or 1")
            if flag == "1" and label != BACKGROUND:
                present.setdefault(item_id, []).append(label)
    return present


def _parse(path: Path) -> ET.Element:
    return parse_xml(path.read_bytes(), path.name)


def _read_boxes(path: Path, labels: list[str], item_id: str) -> list[dict[str, Any]]:
    root = _parse(path)
    if root.tag != "annotation":
        raise ImportFailed(f"Image {item_id}: missing field 'annotation'")
    boxes = []
    for index, obj in enumerate(root.iterfind("object")):
        where = f"Image {item_id}: can't import annotation #{index} (bbox)"
        name = _text(obj, "name", where)
        if name not in labels:
            raise ImportFailed(f"{where}: undeclared label '{name}'")
        bndbox = obj.find("bndbox")
        if bndbox is None or not len(bndbox):
            raise ImportFailed(f"{where}: missing field 'bndbox'")
        try:
            xmin, xmax, ymin, ymax = (float(_text(bndbox, k, where))
                                      for k in ("xmin", "xmax", "ymin", "ymax"))
        except ValueError:
            raise ImportFailed(f"{where}: invalid bndbox coordinates") from None
        attrs: dict[str, Any] = {}
        for key in ("difficult", "truncated", "occluded"):
            elem = obj.find(key)
            if elem is not None:
                if elem.text not in ("0", "1"):
                    raise ImportFailed(f"{where}: invalid field '{key}'")
                attrs[key] = elem.text == "1"
            else:
                attrs[key] = False
        pose = obj.find("pose")
        if pose is not None:
            attrs["pose"] = pose.text
        attributes = obj.find("attributes")
        if attributes is not None:
            for attr in attributes.iter("attribute"):
                attrs[_text(attr, "name", where)] = _text(attr, "value", where)
        w, h = xmax - xmin, ymax - ymin
        boxes.append({"label": name, "points": [xmin, ymin, xmin + w, ymin + h],
                      "attributes": attrs})
    return boxes


def _text(elem: ET.Element, key: str, where: str) -> Any:
    child = elem.find(key)
    if child is None:
        raise ImportFailed(f"{where}: missing field '{key}'")
    return child.text


def _to_bool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true")


def _add_box(dataset: Dataset, frame: Frame, box: dict[str, Any], shapes: list[dict[str, Any]],
             tracks: dict[str, dict[str, Any]]) -> None:
    """``import_dm_annotations`` for one bbox of a "voc" dataset."""
    label = label_by_name(dataset, box["label"])
    attrs = dict(box["attributes"])
    try:
        rotation = float(attrs.pop("rotation", 0.0))
    except ValueError:
        raise ImportFailed(f"Image {frame.name}: invalid rotation") from None
    occluded = _to_bool(attrs.pop("occluded", False))
    outside = _to_bool(attrs.pop("outside", False))
    track_id = attrs.pop("track_id", None)
    keyframe = _to_bool(attrs.get("keyframe", False))
    source = str(attrs.pop("source", "manual")).lower()
    if source not in ("auto", "semi-auto", "manual", "file"):
        source = "manual"
    values = _attribute_values(label, attrs)
    if track_id is None or "keyframe" not in attrs:
        shape = new_shape(frame.frame, label.id, "rectangle", box["points"], occluded=occluded,
                          attributes=[{"spec_id": s, "value": v} for s, v, _m in values],
                          rotation=rotation)
        shape["source"] = source
        shapes.append(shape)
        return
    track = tracks.setdefault(str(track_id), {"label": label, "source": source, "shapes": []})
    track["shapes"].append({"frame": frame.frame, "points": box["points"], "occluded": occluded,
                            "outside": outside, "keyframe": keyframe, "rotation": rotation,
                            "values": values})


def _attribute_values(label: LabelSpec, attrs: dict[str, Any]) -> list[tuple[int, str, bool]]:
    """The label's attributes among ``attrs`` (others are dropped, as CVAT does), as
    (spec id, value, mutable); checkbox values lower-cased."""
    result = []
    for spec in label.attributes:
        if spec.name not in attrs:
            continue
        value = str(attrs[spec.name])
        if spec.input_type == "checkbox" and value != spec.default_value:
            value = value.lower()
            if value not in ("true", "false"):
                raise ImportFailed(f"Failed to import attribute '{spec.name}': "
                                   f"'{attrs[spec.name]}' is not a checkbox value")
        result.append((spec.id, value, spec.mutable))
    return result


def _finish_track(track: dict[str, Any], stop_frame: int) -> dict[str, Any] | None:
    """``_validate_track_shapes`` (``tracks.validate_track_shapes``), then the API track."""
    kept = validate_track_shapes(track["shapes"], stop_frame)
    if not kept:
        return None
    immutable = [(s, v) for s, v, mutable in kept[-1]["values"] if not mutable]
    return {
        "frame": kept[0]["frame"], "label_id": track["label"].id, "group": 0,
        "source": track["source"],
        "attributes": [{"spec_id": s, "value": v} for s, v in immutable],
        "shapes": [{"type": "rectangle", "frame": s["frame"], "occluded": s["occluded"],
                    "outside": s["outside"], "z_order": 0, "rotation": s["rotation"],
                    "points": s["points"],
                    "attributes": [{"spec_id": i, "value": v} for i, v, m in s["values"] if m]}
                   for s in kept],
        "elements": [],
    }
