"""ICDAR Recognition / Localization / Segmentation 1.0 — text in images, as CVAT 2.26 writes
them through datumaro's ``icdar_*`` formats (``cvat/apps/dataset_manager/formats/icdar.py``).
Imports label everything ``icdar`` (the task needs that label; ``text`` and, for segmentation,
``index``, ``color``, ``center`` are its attributes, as CVAT's format docs set it up).

Recognition (``LabelToCaption``: every tag or shape whose label has a ``text`` attribute
becomes a caption)::

    <subset>/gt.txt              '<item id><ext>, "caption1""caption2"' a line, every frame
    <subset>/images/<item id><ext>   with save_images

Localization::

    <subset>/gt_<item id>.txt    per frame, a line per annotation: a box "x0 y0 x1 y1", a polygon
                                 "x1,y1,…"; then ' "text"' / ',"text"' when it has one; an empty
                                 line for anything else
    <subset>/images/<item id><ext>

Segmentation (boxes, polygons, masks, ellipses rasterised, groups merged)::

    <subset>/<item id>_GT.txt    "r g b cx cy x0 y0 x1 y1 \\"text\\"" per instance (by its
                                 ``index`` attribute), a blank line between groups
    <subset>/<item id>_GT.bmp    white background, each instance painted in its colour (its
                                 ``color`` attribute, else the next free VOC colour)

Import reads captions back as ``icdar`` tags with ``text``; boxes and 4-point polygons (a line
of 8+ numbers) as ``icdar`` shapes; colours as ``icdar`` masks with their attributes. Lost:
labels (everything becomes ``icdar``), attributes but those named above, polygons beyond
their first 4 points (Localization), occluded, z_order, groups (Localization), tracks.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from PIL import Image

from .base import Dataset, ImportFailed
from .common import (
    Importer,
    Labels,
    attr_values,
    bits_box,
    frame_items,
    group_by_subset,
    images_under_subset,
    instances,
    read_color_png,
    read_text,
    rowmajor_to_cvat_mask,
    value_masks,
    voc_colormap,
    write_image,
)

RECOGNITION, LOCALIZATION, SEGMENTATION = (
    "ICDAR Recognition 1.0", "ICDAR Localization 1.0", "ICDAR Segmentation 1.0")
EXPORTS = (RECOGNITION, LOCALIZATION, SEGMENTATION)
IMPORTS = EXPORTS

LABEL, IMAGES_DIR = "icdar", "images"
_WHITE = (255, 255, 255)


def _attrs(labels: Labels, ann: dict) -> dict[str, Any]:
    return attr_values(labels.by_id[ann["label_id"]], ann.get("attributes", []))


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"icdar cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    for subset, items in group_by_subset(frame_items(dataset)).items():
        gt: list[str] = []
        for item in items:
            _data, ext = dataset.image(item.frame) if save_images else (b"", "")
            file_name = f"{item.id}{item.ext(ext or '.png')}"
            if save_images:
                write_image(dataset, item.frame, out / subset / IMAGES_DIR / file_name)
            if format_name == RECOGNITION:
                found = (_attrs(labels, ann) for ann in item.tags + item.shapes)
                texts = [str(a["text"]) for a in found if "text" in a]
                gt.append(f"{file_name}, " + "".join(f'"{t}"' for t in texts) + "\n")
            elif format_name == LOCALIZATION:
                _localization(labels, item, out / subset)
            else:
                _segmentation(labels, item, out / subset)
        if format_name == RECOGNITION and gt:
            (out / subset).mkdir(parents=True, exist_ok=True)
            (out / subset / "gt.txt").write_text("".join(gt), encoding="utf-8")


def _localization(labels: Labels, item: Any, folder: Path) -> None:
    lines = []
    for ann in item.tags + item.shapes:
        kind = ann.get("type")
        attrs = _attrs(labels, ann)
        line = ""
        if kind == "rectangle":
            line = " ".join(str(float(p)) for p in ann["points"][:4])
            if "text" in attrs:
                line += f' "{attrs["text"]}"'
        elif kind == "polygon":
            line = ",".join(str(float(p)) for p in ann["points"])
            if "text" in attrs:
                line += f',"{attrs["text"]}"'
        lines.append(line + "\n")
    parent, _, base = item.id.rpartition("/")
    target = folder / parent / f"gt_{base}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(lines), encoding="utf-8")


def _segmentation(labels: Labels, item: Any, folder: Path) -> None:
    h, w = item.frame.height, item.frame.width
    found = instances(labels, item.shapes, h, w)
    found.sort(key=lambda inst: _index(_attrs(labels, inst["shape"])))
    bank = iter(voc_colormap(len(found) + 256)[1:])
    colors: list[tuple[int, int, int]] = [_WHITE]
    lines: list[str] = []
    group = found[0]["group"] if found else 0
    for number, inst in enumerate(found):
        attrs = _attrs(labels, inst["shape"])
        given = str(attrs.get("color", "")).split()
        if given:
            if len(given) != 3:
                raise Exception(
                    f"Item {item.id}: mask #{number} has invalid color")
            color = tuple(int(c) for c in given)
        else:
            color = next(bank)
            while color in colors:
                color = next(bank)
        colors.append(color)  # type: ignore[arg-type]
        x0, y0, x1, y1 = bits_box(inst["bits"], h, w)
        text = str(attrs.get("text", ""))
        if inst["group"] != group or (not inst["group"] and found[0]["group"] != 0):
            lines.append("\n")
        line = "#" if text == " " else ""
        line += " ".join(str(c) for c in color)
        line += f" {attrs.get('center') or '- -'} {float(x0)} {float(y0)} {float(x1)} {float(y1)}"
        lines.append(f'{line} "{text}"\n')
        group = inst["group"]
    if found:
        pixels = bytearray(_WHITE * (h * w))
        for number, inst in enumerate(found, start=1):  # painted by index, later on top
            color = bytes(colors[number])
            pos = inst["bits"].find(1)
            while pos >= 0:
                pixels[pos * 3:pos * 3 + 3] = color
                pos = inst["bits"].find(1, pos + 1)
        target = folder / f"{item.id}_GT.bmp"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.frombytes("RGB", (w, h), bytes(pixels)).save(target)
    target = folder / f"{item.id}_GT.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(lines), encoding="utf-8")


def _index(attrs: dict[str, Any]) -> int:
    try:
        return int(float(attrs.get("index", 0)))
    except (TypeError, ValueError):
        return 0


image_layout = images_under_subset(IMAGES_DIR)  # where a project import finds the images


# --- import ------------------------------------------------------------------------------------

def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == '"' and text[-1] == '"' else text


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"icdar cannot read {format_name!r}")
    source = Path(source)
    if not source.is_dir():
        raise ImportFailed("Failed to import the annotations: a ZIP archive is expected")
    importer = Importer(dataset)
    if format_name == RECOGNITION:
        items = _recognition_items(source)
    elif format_name == LOCALIZATION:
        items = _localization_items(source)
    else:
        items = _segmentation_items(source)
    hint = importer.root_hint([item_id for item_id, _ in items])
    for item_id, anns in items:
        frame = importer.match(item_id, hint)
        for index, (kind, value, raw) in enumerate(anns):
            with importer.annotation(item_id, index, kind):
                label = importer.label(LABEL)
                if kind == "label":
                    importer.add_tag(label=label, frame=frame, raw=raw)
                elif kind == "mask":
                    bits, h, w, group = value
                    points = rowmajor_to_cvat_mask(bits, h, w)
                    if points:
                        importer.add_annotation(label=label, kind="mask", frame=frame,
                                                group=group, points=points, raw=raw)
                else:
                    importer.add_annotation(label=label, kind=kind, frame=frame, group=0,
                                            points=value, raw=raw)
    return importer.result()


def _subset_dirs(source: Path, pattern: str, what: str) -> list[Path]:
    """The subset directories: those under the root holding the annotation files (at any
    depth below them: items may be in sub-directories)."""
    found = sorted({source / p.relative_to(source).parts[0] for p in source.rglob(pattern)
                    if len(p.relative_to(source).parts) > 1 and IMAGES_DIR not in p.parts})
    if not found:
        raise ImportFailed(f"Dataset must contain a file: {what}")
    return found


def _recognition_items(source: Path) -> list[tuple[str, list]]:
    items: dict[str, list] = {}
    for folder in _subset_dirs(source, "gt.txt", "<subset>/gt.txt"):
        for number, line in enumerate(read_text(folder / "gt.txt").splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            objects = line.split(", ", 1)
            if len(objects) == 2:
                image, rest = objects
                parts = rest.split('"')
                if len(parts) > 1:
                    if not len(parts) % 2:
                        raise ImportFailed(
                            f"gt.txt:{number}: unexpected number of quotes in the captions")
                    captions = [parts[2 * i + 1] for i in range(len(parts) // 2)]
                else:
                    captions = rest.split()
            else:
                image, captions = objects[0].rstrip(","), []
            item_id = image.rsplit(".", 1)[0] if "." in image else image
            items.setdefault(item_id, []).extend(("label", None, {"text": c}) for c in captions)
    return list(items.items())


def _numbers(values: list[str], where: str) -> list[float]:
    try:
        return [float(v) for v in values]
    except ValueError:
        raise ImportFailed(f"{where}: can't parse the coordinates") from None


def _localization_items(source: Path) -> list[tuple[str, list]]:
    items = []
    for folder in _subset_dirs(source, "gt_*.txt", "<subset>/gt_<image>.txt"):
        for path in sorted(folder.rglob("gt_*.txt")):
            parent = path.parent.relative_to(folder).as_posix()
            item_id = "/".join(p for p in (parent, path.stem[3:]) if p != ".")
            anns = []
            for number, line in enumerate(read_text(path).splitlines(), 1):
                line = line.strip()
                objects = line.split()
                if len(objects) == 1:
                    objects = line.split(",")
                raw: dict[str, Any] = {}
                where = f"{path.name}:{number}"
                if len(objects) >= 8:
                    if len(objects) == 9:
                        raw["text"] = _unquote(objects[8])
                    anns.append(("polygon", _numbers(objects[:8], where), raw))
                elif len(objects) >= 4:
                    if len(objects) == 5:
                        raw["text"] = _unquote(objects[4])
                    anns.append(("rectangle", _numbers(objects[:4], where), raw))
            items.append((item_id, anns))
    return items


def _segmentation_items(source: Path) -> list[tuple[str, list]]:
    items = []
    for folder in _subset_dirs(source, "*_GT.txt", "<subset>/<image>_GT.txt"):
        for path in sorted(folder.rglob("*_GT.txt")):
            item_id = path.relative_to(folder).as_posix()[:-len("_GT.txt")]
            colors, texts, centers, groups = [_WHITE], [""], ["0"], [0]
            group, in_group = 1, 0
            for line in read_text(path).splitlines():
                line = line.strip()
                if not line:
                    if in_group == 1:
                        groups[-1] = 0
                    else:
                        group += 1
                    in_group = 0
                    continue
                blank_text = line.startswith("#")
                try:
                    objects = shlex.split(line[1:] if blank_text else line)
                except ValueError:
                    objects = line.split()
                if blank_text:
                    objects = objects[:9] + [" "]
                if len(objects) != 10:
                    continue
                try:
                    colors.append((int(objects[0]), int(objects[1]), int(objects[2])))
                except ValueError:
                    raise ImportFailed(f"{path.name}: can't parse the colour in '{line}'") \
                        from None
                centers.append(f"{objects[3]} {objects[4]}")
                texts.append(objects[9])
                groups.append(group)
                in_group += 1
            if in_group == 1:
                groups[-1] = 0
            anns: list = []
            mask = path.with_name(path.name[:-len(".txt")] + ".bmp")
            if mask.is_file():
                inverse = {c: i for i, c in enumerate(colors)}
                values, w, h = read_color_png(mask, inverse, "text")
                for index, bits in sorted(value_masks(values).items()):
                    if index == 0:
                        continue
                    raw = {"index": index - 1, "color": " ".join(map(str, colors[index])),
                           "text": texts[index], "center": centers[index]}
                    anns.append(("mask", (bits, h, w, groups[index]), raw))
            items.append((item_id, anns))
    return items
