"""LabelMe 3.0 — one XML file per image, as datumaro's ``label_me`` converter writes it.

CVAT 2.26 (``cvat/apps/dataset_manager/formats/labelme.py``) exports with
``dataset.export(temp_dir, "label_me", save_images=…)`` and imports with
``Dataset.import_from(…, "label_me")`` + ``import_dm_annotations``. Layout, per subset
(``default`` for a task)::

    default/<item id>.xml           lxml pretty_print: filename (base name), folder (its
                                    directory), source, imagesize (nrows, ncols), then an
                                    <object> per box / polygon / mask
    default/<image file>            with save_images
    default/Masks/<id>_mask_<n>.png RGBA: (255, 203, 0, 153) inside, transparent outside

An object: ``name``, ``deleted`` 0, ``verified`` 0, ``occluded`` yes/no, ``date``, ``id`` (its
number in the file), ``parts`` (``hasparts``/``ispartof``: the first object of a group lists the
others, which point back to it), then ``type`` ``bounding_box`` + ``polygon`` (the 4 corners),
a ``polygon`` of ``pt`` (x, y as "%.2f"), or ``segm`` (mask file and box), and ``attributes``:
"name=value, …" — the label's attributes (defaults filled, numbers as floats, checkboxes as
True/False), ``rotation`` for boxes, ``track_id``/``keyframe`` for track shapes; "\\", "=", '"'
and "," escaped with a backslash, a string that reads as a number quoted.

What LabelMe loses: tags, polylines, points, skeletons, cuboids; ellipses become masks; a box's
rotation is kept as an attribute only (its corners are the unrotated box); coordinates to 2
decimals; ``z_order``; ``source``. Tracks come back as keyframes (``track_id``/``keyframe``).
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from PIL import Image, UnidentifiedImageError

from .base import Dataset, ImportFailed
from .common import (
    FrameMatcher,
    Importer,
    attr_values,
    cvat_mask_to_rowmajor,
    ellipse_rowmajor,
    frame_items,
    group_by_subset,
    parse_xml,
    rowmajor_to_cvat_mask,
    write_image,
)

EXPORTS = ("LabelMe 3.0",)
IMPORTS = ("LabelMe 3.0",)

MASKS_DIR = "Masks"
_ESCAPES = (("\\", "\\\\"), ("=", "\\="), ('"', '\\"'), (",", "\\,"))
_KEPT = {"rectangle", "polygon", "mask", "ellipse"}


def _escape(text: str) -> str:
    for plain, escaped in _ESCAPES:
        text = text.replace(plain, escaped)
    return text


def _is_number(text: str) -> bool:
    for kind in (int, float):
        try:
            if str(kind(text)) == text:
                return True
        except ValueError:
            pass
    return False


def _attribute_text(attrs: dict[str, Any]) -> str:
    out = []
    for key, value in attrs.items():
        if isinstance(value, str):
            value = f'"{value}"' if _is_number(value) else _escape(value)
        out.append(f"{_escape(key)}={value}")
    return ", ".join(out)


def _leaf(depth: int, tag: str, text: str) -> str:
    pad = "  " * depth
    return f"{pad}<{tag}>{xml_escape(text)}</{tag}>" if text else f"{pad}<{tag}/>"


# --- export ------------------------------------------------------------------------------------

def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"labelme cannot write {format_name!r}")
    out = Path(out)
    for subset, items in group_by_subset(frame_items(dataset)).items():
        folder = out / subset
        folder.mkdir(parents=True, exist_ok=True)
        for item in items:
            image_name = item.id + item.ext(".jpg")
            if save_images:
                write_image(dataset, item.frame, folder / image_name)
            lines = ["<annotation>", _leaf(1, "filename", posixpath.basename(image_name)),
                     _leaf(1, "folder", posixpath.dirname(image_name)), "  <source>",
                     _leaf(2, "sourceImage", ""), _leaf(2, "sourceAnnotation", "Datumaro"),
                     "  </source>", "  <imagesize>",
                     _leaf(2, "nrows", str(item.frame.height)),
                     _leaf(2, "ncols", str(item.frame.width)), "  </imagesize>"]
            shapes = [s for s in item.shapes if s["type"] in _KEPT]
            groups: dict[int, list[int]] = {}
            for number, shape in enumerate(shapes):
                if shape.get("group"):
                    groups.setdefault(int(shape["group"]), []).append(number)
            parts: dict[int, tuple[str, str]] = {}
            for members in groups.values():
                parts[members[0]] = (",".join(map(str, members[1:])), "")
                for member in members[1:]:
                    parts[member] = ("", str(members[0]))
            for number, shape in enumerate(shapes):
                lines += _object(dataset, item, shape, number, parts.get(number, ("", "")),
                                 folder)
            lines.append("</annotation>")
            target = folder / f"{item.id}.xml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _object(dataset: Dataset, item: Any, shape: dict[str, Any], number: int,
            parts: tuple[str, str], folder: Path) -> list[str]:
    kind = shape["type"]
    attrs = attr_values(dataset.label(shape["label_id"]), shape.get("attributes", []))
    if kind == "rectangle":
        attrs["rotation"] = float(shape.get("rotation") or 0.0)
    if "track_id" in shape:
        attrs["track_id"] = shape["track_id"]
        attrs["keyframe"] = bool(shape.get("keyframe"))
    lines = ["  <object>", _leaf(2, "name", dataset.label(shape["label_id"]).name),
             _leaf(2, "deleted", "0"), _leaf(2, "verified", "0"),
             _leaf(2, "occluded", "yes" if shape.get("occluded") else "no"), _leaf(2, "date", ""),
             _leaf(2, "id", str(number)), "    <parts>", _leaf(3, "hasparts", parts[0]),
             _leaf(3, "ispartof", parts[1]), "    </parts>"]
    points = [float(p) for p in shape.get("points") or []]
    if kind in ("rectangle", "polygon"):
        if kind == "rectangle":
            lines.append(_leaf(2, "type", "bounding_box"))
            x0, y0, x1, y1 = points[:4]
            points = [x0, y0, x1, y0, x1, y1, x0, y1]
        lines.append("    <polygon>")
        for x, y in zip(points[::2], points[1::2], strict=True):
            lines += ["      <pt>", _leaf(4, "x", f"{x:.2f}"), _leaf(4, "y", f"{y:.2f}"),
                      "      </pt>"]
        lines += [_leaf(3, "username", ""), "    </polygon>"]
    else:
        h, w = item.frame.height, item.frame.width
        bits = cvat_mask_to_rowmajor(points, h, w) if kind == "mask" else \
            ellipse_rowmajor(points, float(shape.get("rotation") or 0), h, w)
        name = f"{item.id.replace('/', '_')}_mask_{number}.png"
        pixels = b"".join(b"\xff\xcb\x00\x99" if bit else b"\x00\x00\x00\x00" for bit in bits)
        target = folder / MASKS_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.frombytes("RGBA", (w, h), pixels).save(target)
        box = rowmajor_to_cvat_mask(bits, h, w)
        left, top, right, bottom = box[-4:] if box else (0.0, 0.0, -1.0, -1.0)
        lines += ["    <segm>", _leaf(3, "mask", name), "      <box>",
                  _leaf(4, "xmin", f"{left:.2f}"), _leaf(4, "ymin", f"{top:.2f}"),
                  _leaf(4, "xmax", f"{right + 1:.2f}"), _leaf(4, "ymax", f"{bottom + 1:.2f}"),
                  "      </box>", _leaf(3, "username", ""), "    </segm>"]
    lines += [_leaf(2, "attributes", _attribute_text(attrs)), "  </object>"]
    return lines


# --- import ------------------------------------------------------------------------------------

def _parse_attributes(text: str) -> dict[str, Any]:
    """datumaro's ``_parse_attributes``: "a=1, b=\\"2\\", c" → {a: 1, b: "2", c: True}."""
    marks = (("\\=", "\x01"), ('\\"', "\x02"), ("\\,", "\x03"), ("\\\\", "\x04"))
    for escaped, mark in marks:
        text = text.replace(escaped, mark)

    def unescape(value: str) -> str:
        for (_escaped, mark), plain in zip(marks, ("=", '"', ",", "\\"), strict=True):
            value = value.replace(mark, plain)
        return value

    parsed: dict[str, Any] = {}
    for attr in (a.strip() for a in text.split(",")):
        if not attr:
            continue
        if "=" not in attr:
            parsed[unescape(attr)] = True
            continue
        name, value = attr.split("=", 1)
        result: Any = value
        if value.lower() in ("true", "false"):
            result = value.lower() == "true"
        elif len(value) > 1 and value[0] == value[-1] == '"':
            result = value[1:-1]
        else:
            for kind in (int, float):
                try:
                    if str(kind(value)) == value:
                        result = kind(value)
                        break
                except ValueError:
                    pass
        parsed[unescape(name)] = unescape(result) if isinstance(result, str) else result
    return parsed


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"labelme cannot read {format_name!r}")
    source = Path(source)
    files = sorted(p for p in source.rglob("*.xml")) if source.is_dir() else []
    files = [p for p in files if MASKS_DIR not in p.relative_to(source).parts]
    if not files:
        raise ImportFailed("Dataset must contain a file: <subset>/<item>.xml (LabelMe)")
    matcher = FrameMatcher(dataset)
    importer = Importer(dataset)
    for path in files:
        rel = path.relative_to(source)
        root = parse_xml(path.read_bytes(), path.name)
        if root.tag != "annotation":
            raise ImportFailed(f"{rel.as_posix()}: not a LabelMe annotation file")
        item_id = posixpath.splitext(Path(*rel.parts[1:]).as_posix() if len(rel.parts) > 1
                                     else rel.as_posix())[0]
        frame = matcher.match(item_id)
        _read_objects(importer, root, frame.frame, path.parent, item_id)
    return {"tags": [], "shapes": importer.shapes, "tracks": importer.build_tracks()}


def _read_objects(importer: Importer, root: Any, frame: int, folder: Path, item_id: str) -> None:
    parsed: list[tuple[int, dict[str, Any]]] = []
    children: dict[int, list[int]] = {}
    parents: set[int] = set()
    for index, obj in enumerate(root.iter("object")):
        where = f"Image {item_id}: can't import annotation #{index}"
        try:
            obj_id = int(obj.findtext("id", str(index)))
        except ValueError:
            raise ImportFailed(f"{where}: invalid object id") from None
        if obj.findtext("deleted", "0").strip() not in ("", "0"):
            continue
        name = obj.findtext("name") or ""
        try:
            label = importer.label(name)
        except ValueError as exc:
            raise ImportFailed(f"{where}: {exc}") from None
        raw = _parse_attributes(obj.findtext("attributes") or "")
        raw["occluded"] = obj.findtext("occluded") == "yes"
        polygon, segm = obj.find("polygon"), obj.find("segm")
        if polygon is not None:
            try:
                points = [float(pt.findtext(axis) or "") for pt in polygon.iter("pt")
                          for axis in ("x", "y")]
            except ValueError:
                raise ImportFailed(f"{where}: invalid polygon point") from None
            if obj.findtext("type") == "bounding_box":
                xs, ys = points[0::2] or [0.0], points[1::2] or [0.0]
                kind, points = "rectangle", [min(xs), min(ys), max(xs), max(ys)]
            else:
                kind = "polygon"
        elif segm is not None:
            kind, points = "mask", _read_mask(folder, segm.findtext("mask") or "", where,
                                              importer.frames[frame])
        else:
            continue
        parsed.append((obj_id, {"label": label, "kind": kind, "points": points, "raw": raw}))
        parts = obj.find("parts")
        if parts is not None:
            try:
                has = [int(v) for v in (parts.findtext("hasparts") or "").split(",") if v]
                part_of = [int(v) for v in (parts.findtext("ispartof") or "").split(",") if v]
            except ValueError:
                raise ImportFailed(f"{where}: invalid parts") from None
            if has and not part_of:
                children[obj_id] = has
            parents.update(has)
    groups: dict[int, int] = {}
    for number, (leader, members) in enumerate(children.items(), start=1):
        for obj_id in (leader, *members):
            groups.setdefault(obj_id, number)
    for obj_id, found in parsed:
        importer.add_annotation(label=found["label"], kind=found["kind"], frame=frame,
                                group=groups.get(obj_id, 0), points=found["points"],
                                raw=found["raw"])


def _read_mask(folder: Path, name: str, where: str, frame: Any) -> list[float]:
    path = (folder / MASKS_DIR / name).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise ImportFailed(f"{where}: can't find mask '{name}'")
    try:
        with Image.open(path) as image:
            image = image.convert("RGBA")
            w, h = image.size
            data = image.tobytes()
    except (UnidentifiedImageError, OSError) as exc:
        raise ImportFailed(f"{where}: can't read mask '{name}': {exc}") from None
    bits = bytearray(1 if any(data[i:i + 4]) else 0 for i in range(0, len(data), 4))
    points = rowmajor_to_cvat_mask(bits, h, w)
    if not points:
        raise ImportFailed(f"{where}: mask '{name}' is empty")
    return points
