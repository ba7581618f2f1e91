"""Open Images V6 1.0 — image labels, boxes and instance masks in Open Images' CSV files, as
CVAT 2.26 writes them through datumaro's ``open_images`` (``cvat/apps/dataset_manager/formats/
openimages.py``: rotated boxes become polygons, polygons are rasterised, segments of a group
merged)::

    annotations/class-descriptions.csv               "name,name" a label (no header)
    annotations/bbox_labels_600_hierarchy.json       skeleton points under their skeleton
    annotations/<subset>-images-with-rotation.csv    ImageID,Subset,… a frame
    annotations/<subset>-annotations-human-imagelabels.csv   ImageID,Source,LabelName,
                                                     Confidence a tag (``score`` attribute, else 1)
    annotations/<subset>-annotations-bbox.csv        a box, coordinates relative to the image,
                                                     IsOccluded 0/1, IsTruncated, IsGroupOf,
                                                     IsDepiction, IsInside from attributes of
                                                     those names (-1 without)
    annotations/<subset>-annotations-object-segmentation.csv  MaskPath,ImageID,LabelName,BoxID,
                                                     BoxXMin,BoxXMax,BoxYMin,BoxYMax,
                                                     PredictedIoU,Clicks a mask
    masks/<subset>/<MaskPath>                        the mask, a 0/1 PNG of the image's size,
                                                     named "<item>_<label>_<box id>.png"
                                                     (slugified, box ids 00000000, 1, … a frame)
    annotations/images.meta                          "<item id> <height> <width>" lines
    images/<subset>/<item id><ext>                   with save_images

Import: tags, boxes (their flags back as attributes, ``occluded`` onto the shape) and masks;
frame sizes from ``images.meta`` or the task. Lost: points, polylines, skeletons, cuboids,
tracks (per-frame shapes), z_order, groups, attributes but those named above.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import unicodedata
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from .base import Dataset, ImportFailed
from .common import (
    Importer,
    Labels,
    attr_values,
    dm_attributes,
    frame_items,
    group_by_subset,
    instances,
    read_text,
    rowmajor_to_cvat_mask,
    write_image,
)

EXPORTS = ("Open Images V6 1.0",)
IMPORTS = ("Open Images V6 1.0",)

ANNOTATIONS_DIR, IMAGES_DIR, MASKS_DIR = "annotations", "images", "masks"
CLASSES_FILE, HIERARCHY_FILE, META_FILE = (
    "class-descriptions.csv", "bbox_labels_600_hierarchy.json", "images.meta")
IMAGE_FIELDS = ("ImageID", "Subset", "OriginalURL", "OriginalLandingURL", "License",
                "AuthorProfileURL", "Author", "Title", "OriginalSize", "OriginalMD5",
                "Thumbnail300KURL", "Rotation")
LABEL_FIELDS = ("ImageID", "Source", "LabelName", "Confidence")
BOX_FIELDS = ("ImageID", "Source", "LabelName", "Confidence", "XMin", "XMax", "YMin", "YMax",
              "IsOccluded", "IsTruncated", "IsGroupOf", "IsDepiction", "IsInside")
MASK_FIELDS = ("MaskPath", "ImageID", "LabelName", "BoxID", "BoxXMin", "BoxXMax", "BoxYMin",
               "BoxYMax", "PredictedIoU", "Clicks")
FLAGS = (("occluded", "IsOccluded"), ("truncated", "IsTruncated"), ("is_group_of", "IsGroupOf"),
         ("is_depiction", "IsDepiction"), ("is_inside", "IsInside"))


def _csv(path: Path, fields: tuple[str, ...] | None, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields or list(rows[0]))
    if fields:
        writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _file_name(text: str) -> str:
    """datumaro's ``make_file_name`` (Django's slugify): ASCII, lower case, no punctuation."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _flag(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"openimages cannot write {format_name!r}")
    out = Path(out)
    notes = out / ANNOTATIONS_DIR
    notes.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    _csv(notes / CLASSES_FILE, None,
         [{"LabelName": lb.name, "DisplayName": lb.name} for lb in labels.ordered])
    nodes: dict[str, dict] = {}
    orphans = []
    for lb in labels.ordered:
        node = nodes.setdefault(lb.name, {"LabelName": lb.name})
        if lb.parent_id is not None:
            parent = nodes.setdefault(labels.parent_name(lb), {"LabelName": labels.parent_name(lb)})
            parent.setdefault("Subcategory", []).append(node)
        else:
            orphans.append(node)
    names = {lb.name for lb in labels.ordered}
    root = next(f"/m/{i}" for i in range(len(names) + 1) if f"/m/{i}" not in names)
    (notes / HIERARCHY_FILE).write_text(json.dumps(
        {"LabelName": root, "Subcategory": [n for n in orphans if "Subcategory" in n]},
        indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    meta: dict[str, list[int]] = {}
    for subset, items in group_by_subset(frame_items(dataset)).items():
        images, tags, boxes, masks = [], [], [], []
        for item in items:
            images.append({"ImageID": item.id, "Subset": subset})
            if save_images:
                _data, ext = dataset.image(item.frame)
                write_image(dataset, item.frame,
                            out / IMAGES_DIR / subset / f"{item.id}{item.ext(ext or '.jpg')}")
            for tag in item.tags:
                attrs = attr_values(labels.by_id[tag["label_id"]], tag.get("attributes", []))
                tags.append({"ImageID": item.id, "LabelName": labels.name(tag["label_id"]),
                             "Confidence": str(attrs.get("score", 1))})
            h, w = item.frame.height, item.frame.width
            rotated = [s for s in item.shapes if s["type"] == "rectangle"
                       and float(s.get("rotation") or 0) % 360]
            for box in (s for s in item.shapes if s["type"] == "rectangle" and s not in rotated):
                meta[item.id] = [h, w]
                attrs = dm_attributes(labels, box)
                x0, y0, x1, y1 = (float(p) for p in box["points"][:4])
                boxes.append({"ImageID": item.id, "LabelName": labels.name(box["label_id"]),
                              "Confidence": str(attrs.get("score", 1)),
                              "XMin": x0 / w, "YMin": y0 / h, "XMax": x1 / w, "YMax": y1 / h,
                              **{oid: _flag(attrs.get(name, -1)) for name, oid in FLAGS}})
            segments = [s for s in item.shapes if s["type"] in ("polygon", "mask", "ellipse")]
            for number, inst in enumerate(instances(labels, sorted(
                    rotated + segments, key=lambda s: s.get("z_order", 0)), h, w)):
                meta[item.id] = [h, w]
                name = labels.name(inst["label_id"])
                box_id = f"{number:08x}"
                mask_path = f"{_file_name(item.id)}_{_file_name(name)}_{box_id}.png"
                target = out / MASKS_DIR / subset / mask_path
                target.parent.mkdir(parents=True, exist_ok=True)
                Image.frombytes("L", (w, h), bytes(inst["bits"])).save(target)  # 0/1
                # no box coordinates: a CVAT mask has no box of its instance (group)
                masks.append({"MaskPath": mask_path, "ImageID": item.id, "LabelName": name,
                              "BoxID": box_id, "PredictedIoU": ""})
        _csv(notes / f"{subset}-images-with-rotation.csv", IMAGE_FIELDS, images)
        for suffix, fields, rows in (("annotations-human-imagelabels", LABEL_FIELDS, tags),
                                     ("annotations-bbox", BOX_FIELDS, boxes),
                                     ("annotations-object-segmentation", MASK_FIELDS, masks)):
            if rows:  # written only when there is a row, as datumaro's lazy writers do
                _csv(notes / f"{subset}-{suffix}.csv", fields, rows)
    if meta:  # datumaro's image meta file: "<name> <height> <width>" lines, shell-quoted
        (notes / META_FILE).write_text(
            "# <image name> <height> <width>\n\n" + "".join(
                f"{shlex.quote(name)} {h} {w}\n" for name, (h, w) in meta.items()),
            encoding="utf-8")


def image_layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """Where a project import finds the images: ``images/<subset>/<item id><ext>``."""
    if len(parts) >= 3 and parts[0] == IMAGES_DIR:
        return parts[1], "/".join(parts[2:])
    return None


# --- import ------------------------------------------------------------------------------------

def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(read_text(path), newline="")))


def _number(row: dict[str, str], key: str, where: str) -> float:
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError):
        raise ImportFailed(f"{where}: can't read '{key}' ({row.get(key)!r})") from None


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"openimages cannot read {format_name!r}")
    source = Path(source)
    notes = source / ANNOTATIONS_DIR
    described = sorted(notes.glob("*-images-with-rotation.csv")) + \
        sorted(notes.glob("*-images-with-labels-with-rotation.csv")) if notes.is_dir() else []
    if (notes / "image_ids_and_rotation.csv").is_file():
        described = [notes / "image_ids_and_rotation.csv"]
    if not described:
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/"
            "format-openimages). Dataset must contain a file: "
            "annotations/*-images-with-rotation.csv")
    classes = sorted(notes.glob("oidv*-class-descriptions.csv")) or [notes / CLASSES_FILE]
    if not classes[0].is_file():
        raise ImportFailed(f"Dataset must contain a file: {ANNOTATIONS_DIR}/{CLASSES_FILE}")
    known = {line.split(",", 1)[0] for line in read_text(classes[0]).splitlines() if line}
    meta: dict[str, Any] = {}
    if (notes / META_FILE).is_file():
        for number, line in enumerate(read_text(notes / META_FILE).splitlines(), 1):
            try:
                fields = shlex.split(line, comments=True)
                if fields:
                    meta[fields[0]] = [int(fields[1]), int(fields[2])]
            except (ValueError, IndexError):
                raise ImportFailed(f"{META_FILE}:{number}: expected '<image> <height> <width>'"
                                   ) from None
    importer = Importer(dataset)
    items: dict[str, list] = {}
    subsets: dict[str, str] = {}
    for path in described:
        for row in _rows(path):
            image_id = row.get("ImageID", "")
            if image_id in items:
                raise ImportFailed(f"Item {image_id} is repeated in the source sequence")
            items[image_id], subsets[image_id] = [], row.get("Subset", "")
    for kind, pattern in (("label", "*-annotations-human-imagelabels.csv"),
                          ("bbox", "*-annotations-bbox.csv"),
                          ("mask", "*-annotations-object-segmentation.csv")):
        for path in sorted(notes.glob(pattern)):
            for row in _rows(path):
                image_id = row.get("ImageID", "")
                if image_id not in items:
                    raise ImportFailed(f"{path.name}: unknown image '{image_id}'")
                if row.get("LabelName") not in known:
                    raise ImportFailed(f"Item {image_id}: undefined label "
                                       f"'{row.get('LabelName')}'")
                items[image_id].append((kind, row, path.name))
    hint = importer.root_hint(list(items))
    for image_id, anns in items.items():
        frame = importer.match(image_id, hint)
        size = meta.get(image_id)
        h, w = (int(size[0]), int(size[1])) if isinstance(size, list) and len(size) == 2 \
            else (importer.frames[frame].height, importer.frames[frame].width)
        for index, (kind, row, where) in enumerate(anns):
            with importer.annotation(image_id, index, kind):
                label = importer.label(row["LabelName"])
                score = _number(row, "Confidence", where) if row.get("Confidence") else None
                raw: dict[str, Any] = {} if score is None else {"score": score}
                if kind == "label":
                    importer.add_tag(label=label, frame=frame, raw=raw)
                elif kind == "bbox":
                    for name, oid in FLAGS:
                        flag = int(_number(row, oid, where)) if row.get(oid) else -1
                        if flag >= 0:
                            raw[name] = bool(flag)
                    x0, x1 = (_number(row, k, where) * w for k in ("XMin", "XMax"))
                    y0, y1 = (_number(row, k, where) * h for k in ("YMin", "YMax"))
                    importer.add_annotation(label=label, kind="rectangle", frame=frame, group=0,
                                            points=[x0, y0, x1, y1], raw=raw)
                else:
                    bits = _read_mask(source / MASKS_DIR / subsets[image_id]
                                      / row.get("MaskPath", ""), source, h, w)
                    points = rowmajor_to_cvat_mask(bits, h, w)
                    if points:
                        importer.add_annotation(label=label, kind="mask", frame=frame,
                                                group=0, points=points, raw={})
    return importer.result()


def _read_mask(path: Path, root: Path, h: int, w: int) -> bytearray:
    path = path.resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise ValueError(f"can't find the mask '{path.name}'")
    try:
        with Image.open(path) as image:
            image = image.convert("L")
            if image.size != (w, h):  # datumaro scales masks to the image
                image = image.resize((w, h), Image.Resampling.NEAREST)
            return bytearray(1 if v else 0 for v in image.tobytes())
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"can't read the mask '{path.name}': {exc}") from None
