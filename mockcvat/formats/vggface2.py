"""VGGFace2 1.0 — one face box and one set of 5 landmarks per image, as CVAT 2.26 writes them
through datumaro's ``vgg_face2``.

Layout (``cvat/apps/dataset_manager/formats/vggface2.py``, the task as it is)::

    labels.txt                            "<name>[ <parent>]" a line, every label by id
    bb_landmark/loose_landmark_<subset>.csv   NAME_ID,P1X,P1Y,…,P5Y: a frame's points shape (the
                                          coordinates only when it has exactly 5 points), one
                                          row per tag, and a "no_label/<item id>" row for a
                                          frame with none of these
    bb_landmark/loose_bb_<subset>.csv     NAME_ID,X,Y,W,H of a frame's box (when any frame has
                                          one)
    <subset>/<label name>/<item id><ext>  with save_images ("no_label" without a label)

``NAME_ID`` is "<label name>/<item id>". Two boxes or two points shapes on one frame fail the
export, as in CVAT ("an image can have only one bbox"). Import (with CVAT's rename of task item
ids, dropping the label directory): a full landmark row is a points shape, a row without
coordinates is a tag of its label, box rows are rectangles. Lost: everything but one unrotated
box, one 5-point points shape and tags per frame; attributes, occluded, z_order, groups.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from .base import Dataset, ImportFailed
from .common import Importer, Labels, frame_items, group_by_subset, read_text, write_image

EXPORTS = ("VGGFace2 1.0",)
IMPORTS = ("VGGFace2 1.0",)

ANNOTATION_DIR, LABELS_FILE, NO_LABEL = "bb_landmark", "labels.txt", "no_label"
LANDMARK_FIELDS = ["NAME_ID", "P1X", "P1Y", "P2X", "P2Y", "P3X", "P3Y", "P4X", "P4Y", "P5X",
                   "P5Y"]
BOX_FIELDS = ["NAME_ID", "X", "Y", "W", "H"]


def _name_id(parts: list[str], label: str) -> str:
    return "/".join([label, *(parts[1:] if len(parts) > 1 and parts[0] == label else parts)])


def _csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"vggface2 cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    (out / LABELS_FILE).write_text("".join(
        lb.name + (f" {labels.parent_name(lb)}" if lb.parent_id is not None else "") + "\n"
        for lb in labels.ordered), encoding="utf-8")
    for subset, items in group_by_subset(frame_items(dataset)).items():
        marks: list[dict] = []
        boxes: list[dict] = []
        for item in items:
            parts = item.id.split("/")
            points = [s for s in item.shapes if s["type"] == "points"]
            rects = [s for s in item.shapes if s["type"] == "rectangle"]
            for kind, found in (("set of landmarks", points), ("bbox", rects)):
                if len(found) > 1:
                    raise Exception(
                        f"Item ({item.id}, {subset}): an image can have only one {kind}")
            if save_images:
                used = {s["label_id"] for s in item.shapes + item.tags}
                _data, ext = dataset.image(item.frame)
                for folder in sorted(labels.name(u) for u in used) or [NO_LABEL]:
                    folder = "" if len(parts) > 1 and parts[0] == folder else folder
                    write_image(dataset, item.frame,
                                out / subset / folder / f"{item.id}{item.ext(ext or '.jpg')}")
            if points:
                row = {"NAME_ID": _name_id(parts, labels.name(points[0]["label_id"]))}
                coords = [float(p) for p in points[0]["points"]]
                if len(coords) == 10:
                    row.update(zip(LANDMARK_FIELDS[1:], coords, strict=True))
                marks.append(row)
            if rects:
                x0, y0, x1, y1 = (float(p) for p in rects[0]["points"][:4])
                boxes.append({"NAME_ID": _name_id(parts, labels.name(rects[0]["label_id"])),
                              "X": x0, "Y": y0, "W": x1 - x0, "H": y1 - y0})
            for _tag in item.tags:  # datumaro names every tag row by the first tag's label
                marks.append({"NAME_ID": _name_id(parts, labels.name(item.tags[0]["label_id"]))})
            if not points and not rects and not item.tags:
                marks.append({"NAME_ID": _name_id(parts, NO_LABEL)})
        _csv(out / ANNOTATION_DIR / f"loose_landmark_{subset}.csv", LANDMARK_FIELDS, marks)
        if boxes:
            _csv(out / ANNOTATION_DIR / f"loose_bb_{subset}.csv", BOX_FIELDS, boxes)


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    rows = list(csv.DictReader(io.StringIO(read_text(path), newline="")))
    if rows and "NAME_ID" not in rows[0]:
        raise ImportFailed(f"{path.name}: the NAME_ID column is missing")
    return rows


def image_layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """Where a project import finds the images: ``<subset>/<label>/<item id><ext>`` (an image
    saved under several labels is taken once)."""
    if len(parts) >= 3 and parts[0] != ANNOTATION_DIR:
        return parts[0], "/".join(parts[2:])
    return None


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"vggface2 cannot read {format_name!r}")
    source = Path(source)
    found = sorted(source.rglob(ANNOTATION_DIR)) if source.is_dir() else []
    csvs = [p for d in found for p in sorted(d.glob("loose_*.csv"))]
    if not csvs:
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/"
            "format-vggface2). Dataset must contain a file: bb_landmark/loose_landmark_*.csv")
    root = found[0].parent
    known: set[str] = set()
    if (root / LABELS_FILE).is_file():
        known = {line.split()[0] for line in read_text(root / LABELS_FILE).splitlines()
                 if line.split()}
    subsets = sorted({p.stem.split("_", 2)[2] for p in csvs if p.stem.count("_") >= 2})
    importer = Importer(dataset)
    entries: list[tuple[str, str | None, str, Any]] = []  # item id, label, kind, value
    for subset in subsets:
        for kind, path in (("points", root / ANNOTATION_DIR / f"loose_landmark_{subset}.csv"),
                           ("bbox", root / ANNOTATION_DIR / f"loose_bb_{subset}.csv")):
            seen: set[str] = set()
            for row in _rows(path):
                name_id = row.get("NAME_ID") or ""
                label = None
                if "/" in name_id:
                    first, name_id = name_id.split("/", 1)  # CVAT renames task items so
                    label = None if first == NO_LABEL else first
                    if label is not None and known and label not in known:
                        label = None
                complete = all(row.get(k) not in (None, "") for k in row) and \
                    len(row) == (11 if kind == "points" else 5)
                if complete and name_id in seen:
                    which = "set of landmarks" if kind == "points" else "bbox"
                    raise ImportFailed(f"Item {name_id}: an image can have only one {which}")
                if complete:
                    seen.add(name_id)
                    entries.append((name_id, label, kind, row))
                elif kind == "points" and label is not None:
                    entries.append((name_id, label, "label", row))
                else:
                    entries.append((name_id, None, "item", row))
    hint = importer.root_hint([e[0] for e in entries])
    counters: dict[str, int] = {}
    for item_id, label, kind, row in entries:
        frame = importer.match(item_id, hint)
        if kind == "item":
            continue
        index = counters.get(item_id, 0)
        counters[item_id] = index + 1
        with importer.annotation(item_id, index, kind):
            if label is None:
                raise ValueError("annotation has no label")
            spec = importer.label(label)
            if kind == "label":
                importer.add_tag(label=spec, frame=frame, raw={})
            elif kind == "points":
                coords = [float(row[k]) for k in LANDMARK_FIELDS[1:]]
                importer.add_annotation(label=spec, kind="points", frame=frame, group=0,
                                        points=coords, raw={})
            else:
                x, y, w, h = (float(row[k]) for k in ("X", "Y", "W", "H"))
                importer.add_annotation(label=spec, kind="rectangle", frame=frame, group=0,
                                        points=[x, y, x + w, y + h], raw={})
    return importer.result()
