"""WiderFace 1.0 — face boxes, as CVAT 2.26 writes them through datumaro's ``wider_face``.

CVAT (``cvat/apps/dataset_manager/formats/widerface.py``) exports the task as it is::

    labels.txt                                   every label name by id, "\\n"-joined
    wider_face_split/wider_face_<subset>_bbx_gt.txt
        <dir>/<item id><ext>       <dir> = "<label index>--<label name>" of the frame's first
                                   tag, else "no_label"
        <number of boxes>          (only when there are some)
        x y w h blur expression illumination occluded pose invalid [label]
                                   each value "%s" of the box's attribute of that name, "-"
                                   when the label has none (``occluded`` always: "True" /
                                   "False"); the label name unless it is "face"
    WIDER_<subset>/images/<dir>/<item id><ext>   with save_images

Import: every path line starts an item (its directory names the tag, unless ``no_label``),
boxes follow with their attributes (``occluded`` back onto the shape, "True"/"False" as
booleans) and label (``face`` when the line has none). Lost: everything but unrotated boxes
(tracks as their per-frame boxes) and the first tag of a frame; rotation, z_order, groups,
attributes other than the six; label names with spaces.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .base import Dataset, ImportFailed
from .common import (
    Importer,
    Labels,
    dm_attributes,
    frame_items,
    group_by_subset,
    read_text,
    to_bool,
    write_image,
)

EXPORTS = ("WiderFace 1.0",)
IMPORTS = ("WiderFace 1.0",)

ANNOTATIONS_DIR, LABELS_FILE, NO_LABEL, DEFAULT_LABEL = (
    "wider_face_split", "labels.txt", "no_label", "face")
BOX_ATTRIBUTES = ("blur", "expression", "illumination", "occluded", "pose", "invalid")


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"widerface cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    (out / LABELS_FILE).write_text("\n".join(lb.name for lb in labels.ordered), encoding="utf-8")
    for subset, items in group_by_subset(frame_items(dataset)).items():
        text = []
        for item in items:
            if item.tags:
                first = item.tags[0]["label_id"]
                folder = f"{labels.index[first]}--{labels.name(first)}"
            else:
                folder = NO_LABEL
            _data, ext = dataset.image(item.frame) if save_images else (b"", "")
            image = f"{folder}/{item.id}{item.ext(ext or '.jpg')}"
            text.append(image + "\n")
            if save_images:
                write_image(dataset, item.frame, out / f"WIDER_{subset}" / "images" / image)
            boxes = [s for s in item.shapes if s["type"] == "rectangle"]
            if boxes:  # a frame without boxes has no count line
                text.append(f"{len(boxes)}\n")
            for box in boxes:
                x0, y0, x1, y1 = (float(p) for p in box["points"][:4])
                line = f"{x0} {y0} {x1 - x0} {y1 - y0} "
                attrs = dm_attributes(labels, box)
                line += "".join(f"{attrs[a]} " if a in attrs else "- " for a in BOX_ATTRIBUTES)
                name = labels.name(box["label_id"])
                if name != DEFAULT_LABEL:
                    line += name
                text.append(line + "\n")
        target = out / ANNOTATIONS_DIR / f"wider_face_{subset}_bbx_gt.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(text), encoding="utf-8")


def image_layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """Where a project import finds the images: ``WIDER_<subset>/images/<dir>/<item id><ext>``
    (the frame is named without the label directory, as the annotation names its item)."""
    if len(parts) >= 4 and parts[0].startswith("WIDER_") and parts[1] == "images":
        return parts[0][len("WIDER_"):], "/".join(parts[3:])
    return None


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"widerface cannot read {format_name!r}")
    source = Path(source)
    files = sorted(source.rglob(f"{ANNOTATIONS_DIR}/*.txt")) if source.is_dir() else []
    if not files:
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/"
            "format-widerface). Dataset must contain a file: wider_face_split/*.txt")
    importer = Importer(dataset)
    items: list[tuple[str, str | None, list[list[str]]]] = []
    for path in files:
        root = path.parent.parent
        names_file = root / LABELS_FILE
        known = [n.strip() for n in read_text(names_file).splitlines()] \
            if names_file.is_file() else [DEFAULT_LABEL]
        lines = read_text(path).splitlines()
        starts = [i for i, line in enumerate(lines)
                  if ("/" in line or "\\" in line) and "." in line]  # datumaro's heuristic
        for i in starts:
            item_id = os.path.splitext(lines[i].strip())[0].replace("\\", "/")
            tag = None
            if "/" in item_id:
                folder, item_id = item_id.split("/", 1)
                name = folder.split("--", 1)[1] if "--" in folder else folder
                tag = name if name != NO_LABEL and name in known else None
            try:
                count = int(lines[i + 1])
            except (IndexError, ValueError):
                count = 0
            boxes = [line.split() for line in lines[i + 2:i + 2 + count]]
            items.append((item_id, tag, [b for b in boxes if len(b) >= 4]))
    hint = importer.root_hint([item_id for item_id, _t, _b in items])
    for item_id, tag, boxes in items:
        frame = importer.match(item_id, hint)
        index = 0
        if tag is not None:
            with importer.annotation(item_id, index, "label"):
                importer.add_tag(label=importer.label(tag), frame=frame, raw={})
            index += 1
        for fields in boxes:
            with importer.annotation(item_id, index, "bbox"):
                name = fields[-1] if len(fields) in (5, 11) else DEFAULT_LABEL
                raw: dict[str, Any] = {}
                if len(fields) >= 10:
                    for attr, value in zip(BOX_ATTRIBUTES, fields[4:10], strict=True):
                        if value != "-":
                            raw[attr] = to_bool(value) if value in ("True", "False") else value
                x, y, w, h = (float(v) for v in fields[:4])
                importer.add_annotation(label=importer.label(name), kind="rectangle",
                                        frame=frame, group=0, points=[x, y, x + w, y + h],
                                        raw=raw)
            index += 1
    return importer.result()
