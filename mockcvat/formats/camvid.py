"""CamVid 1.0 and Cityscapes 1.0 — class-colour PNGs, as CVAT 2.26 writes and reads them.

Both exports (``cvat/apps/dataset_manager/formats/camvid.py`` and ``cityscapes.py``) run
datumaro's ``RotatedBoxesToPolygons``, ``polygons_to_masks``, ``boxes_to_masks`` and
``merge_instance_segments`` (``common.instances``), then the converter with ``apply_colormap`` and
``label_map = make_colormap(task)`` (``common.color_label_map``: every label by name with its
colour, plus ``background`` (0,0,0) when the task has no label of that name).

CamVid (cvat-ai/datumaro ``camvid_format``)::

    label_colors.txt          "r g b name" a line: the label map sorted by name with the black
                              label moved first; "background" left out when the task has none
    default.txt               "/default/<image> defaultannot/<id>.png" (no mask: nothing after)
    defaultannot/<id>.png     RGB, each pixel its class colour (black where nothing is drawn)
    default/<image>           with save_images

Cityscapes (``cityscapes_format``)::

    label_colors.txt                                "r g b name", sorted by name, background kept
    gtFine/default/<id>_gtFine_color.png             RGB class colours
    gtFine/default/<id>_gtFine_labelIds.png          8-bit class index (into label_colors.txt)
    gtFine/default/<id>_gtFine_instanceIds.png       16-bit: class × 1000 + instance
    leftImg8bit/default/<id>_leftImg8bit<ext>       with save_images (".png" without extension)

Mask files are written only for frames with a rectangle, polygon, mask or ellipse (a Cityscapes
archive without any is refused on import, as CVAT's importer finds no dataset in it); class indices
follow the label map (for Cityscapes, unpainted pixels are index 0, the first label by name, as
CVAT's ``background_label_id=0`` does). Import: CamVid reads each class colour present (black
excluded) as one mask; Cityscapes each instance id (0 excluded) as one mask of class ``id //
1000`` (``id`` itself below 1000). Masks stay masks (CVAT turns them into polygons unless the
request says ``conv_mask_to_poly=false``). Everything but the pixels of rectangles, polygons,
masks and ellipses is lost, and so are instances in CamVid.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from .base import Dataset, ImportFailed
from .common import (
    BACKGROUND,
    Importer,
    Labels,
    color_label_map,
    instances,
    new_shape,
    paint,
    read_color_png,
    read_text,
    rgb_png,
    rowmajor_to_cvat_mask,
    shapes_by_frame,
    write_image,
)

CAMVID, CITYSCAPES = "CamVid 1.0", "Cityscapes 1.0"
EXPORTS = (CAMVID, CITYSCAPES)
IMPORTS = (CAMVID, CITYSCAPES)

LABELMAP_FILE = "label_colors.txt"
_SUBSET = "default"


def _label_map(dataset: Dataset, format_name: str) -> list[tuple[str, tuple[int, int, int]]]:
    entries = color_label_map(dataset)
    if format_name == CAMVID:  # make_camvid_categories: the black label first
        black = next((e for e in entries if e[1] == (0, 0, 0)), None)
        if black is not None:
            entries = [black] + [e for e in entries if e is not black]
    return entries


def _write_label_map(path: Path, entries: list[tuple[str, tuple[int, int, int]]]) -> None:
    path.write_text("".join(f"{r} {g} {b} {name}\n" for name, (r, g, b) in entries),
                    encoding="utf-8")


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"camvid cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    entries = _label_map(dataset, format_name)
    index_of = {name: i for i, (name, _c) in enumerate(entries)}
    palette = [color for _n, color in entries]
    frames = sorted((f for f in dataset.frames if not f.deleted),
                    key=lambda f: (f.task_id, f.frame))
    shapes = shapes_by_frame(dataset, frames)
    listing: list[str] = []
    for frame in frames:
        _data, ext = dataset.image(frame) if save_images else (b"", "")
        stem, own_ext = os.path.splitext(frame.name)
        image_ext = own_ext or ext or (".jpg" if format_name == CAMVID else ".png")
        if format_name == CAMVID:
            image = f"{_SUBSET}/{stem}{image_ext}"
        else:
            image = f"leftImg8bit/{_SUBSET}/{stem}_leftImg8bit{image_ext}"
        if save_images:
            write_image(dataset, frame, out / image)
        h, w = frame.height, frame.width
        frame_shapes = sorted(shapes.get((frame.task_id, frame.frame), []),
                              key=lambda s: s.get("z_order", 0))
        found = instances(labels, frame_shapes, h, w)
        mask = ""
        if found:
            class_map, inst_map = paint(found, lambda label_id: index_of[labels.name(label_id)],
                                        h, w)
            colors = rgb_png(bytearray(b"".join(bytes(palette[c]) for c in class_map)), w, h)
            if format_name == CAMVID:
                mask = f"{_SUBSET}annot/{stem}.png"
                _save(out / mask, colors)
            else:
                base = out / "gtFine" / _SUBSET / f"{stem}_gtFine"
                _save(base.with_name(base.name + "_color.png"), colors)
                _save_gray(base.with_name(base.name + "_labelIds.png"), class_map, w, h, "L")
                ids = [0 if not n else class_map[i] * 1000 + n for i, n in enumerate(inst_map)]
                _save_gray(base.with_name(base.name + "_instanceIds.png"), ids, w, h, "I;16")
        listing.append(_list_line(f"/{image}", mask))
    if format_name == CAMVID:
        (out / f"{_SUBSET}.txt").write_text("".join(listing), encoding="utf-8")
        if BACKGROUND not in {lb.name for lb in dataset.labels}:
            entries = [e for e in entries if e[0] != BACKGROUND]
    _write_label_map(out / LABELMAP_FILE, entries)


def _list_line(image: str, mask: str) -> str:
    if len(image.split()) > 1 or len(mask.split()) > 1:
        image, mask = f'"{image}"', f'"{mask}"'
    return f"{image} {mask}\n"


def _save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _save_gray(path: Path, values: list[int], w: int, h: int, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "L":
        Image.frombytes("L", (w, h), bytes(values)).save(path)
    else:
        raw = b"".join(v.to_bytes(2, "little") for v in values)
        Image.frombytes("I;16", (w, h), raw).save(path)


# --- import ------------------------------------------------------------------------------------

def _read_label_map(path: Path) -> list[tuple[str, tuple[int, int, int] | None]]:
    entries: list[tuple[str, tuple[int, int, int] | None]] = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        try:
            if len(fields) == 4:
                name, color = fields[3], (int(fields[0]), int(fields[1]), int(fields[2]))
            elif len(fields) == 1:
                name, color = fields[0], None
            else:
                raise ValueError
        except ValueError:
            raise ImportFailed(f"{path.name}:{number}: expected 'r g b name'") from None
        if any(name == n for n, _c in entries):
            raise ImportFailed(f"Label '{name}' is already defined")
        entries.append((name, color))
    return entries


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"camvid cannot read {format_name!r}")
    source = Path(source)
    if not source.is_dir():
        raise ImportFailed("Failed to import the annotations: a ZIP archive is expected")
    label_file = source / LABELMAP_FILE
    if label_file.is_file():
        entries = _read_label_map(label_file)
    else:  # CVAT writes the task's own colour map when the archive has none
        entries = list(_label_map(dataset, format_name))
    if format_name == CAMVID and not any(c == (0, 0, 0) for _n, c in entries):
        entries.insert(0, (BACKGROUND, (0, 0, 0)))  # make_camvid_categories
    importer = Importer(dataset)
    shapes = []
    items = _camvid_items(source) if format_name == CAMVID else _cityscapes_items(source)
    hint = importer.root_hint([item_id for item_id, _ in items])
    for item_id, masks in items:
        frame = importer.match(item_id, hint)
        for idx, (label_index, bits, h, w) in enumerate(masks(entries)):
            where = f"Image {item_id}: can't import annotation #{idx} (mask)"
            if not 0 <= label_index < len(entries):
                raise ImportFailed(f"{where}: undeclared label '{label_index}'")
            try:
                label = importer.label(entries[label_index][0])
            except ValueError as exc:
                raise ImportFailed(f"{where}: {exc}") from None
            points = rowmajor_to_cvat_mask(bits, h, w)
            if points:
                shapes.append(new_shape(frame, label.id, "mask", points))
    return {"tags": [], "shapes": shapes, "tracks": []}


def _camvid_items(source: Path) -> list[tuple[str, Any]]:
    lists = sorted((p for p in source.glob("*.txt") if p.name != LABELMAP_FILE),
                   key=lambda p: p.name)
    if not lists:
        raise ImportFailed("Dataset must contain a file: <subset>.txt (CamVid)")
    items = []
    for list_file in lists:
        for number, line in enumerate(read_text(list_file).splitlines(), 1):
            if not line.strip():
                continue
            try:
                parts = shlex.split(line)
            except ValueError:
                raise ImportFailed(f"{list_file.name}:{number}: unbalanced quotes") from None
            image = parts[0].lstrip("/")
            item_id = os.path.splitext(image.split("/", 1)[1] if "/" in image else image)[0]
            mask = parts[1] if len(parts) > 1 else ""
            items.append((item_id, _camvid_masks(source, mask)))
    return items


def _camvid_masks(source: Path, mask: str) -> Any:
    def read(entries: list) -> list[tuple[int, bytearray, int, int]]:
        if not mask:
            return []
        path = (source / mask.lstrip("/")).resolve()
        if not path.is_relative_to(source.resolve()) or not path.is_file():
            raise ImportFailed(f"Can't find the mask '{mask}'")
        inverse = {c: i for i, (_n, c) in enumerate(entries) if c is not None}
        values, w, h = read_color_png(path, inverse, "class")
        black = inverse.get((0, 0, 0))
        return [(cls, bytearray(1 if v == cls else 0 for v in values), h, w)
                for cls in sorted(set(values)) if cls != black]

    return read


def _cityscapes_items(source: Path) -> list[tuple[str, Any]]:
    found = sorted(source.rglob("*_gtFine_instanceIds.png"))
    if not found:
        raise ImportFailed("Dataset must contain a file: gtFine/<subset>/*_gtFine_instanceIds.png")
    items = []
    for path in found:
        rel = path.relative_to(source).as_posix()
        parts = rel.split("/")
        if len(parts) < 3 or parts[-3] != "gtFine":
            raise ImportFailed(f"'{rel}' is not under gtFine/<subset>/")
        item_id = "/".join(parts[parts.index("gtFine") + 2:])[:-len("_gtFine_instanceIds.png")]
        items.append((item_id, _cityscapes_masks(path)))
    return items


def _cityscapes_masks(path: Path) -> Any:
    def read(entries: list) -> list[tuple[int, bytearray, int, int]]:
        try:
            with Image.open(path) as image:
                image = image.convert("I")
                w, h = image.size
                values = list(image.tobytes("raw", "I"))
                values = [int.from_bytes(bytes(values[i:i + 4]), "little", signed=True)
                          for i in range(0, len(values), 4)]
        except (UnidentifiedImageError, OSError) as exc:
            raise ImportFailed(f"Can't read the instance mask '{path.name}': {exc}") from None
        return [(v if v < 1000 else v // 1000, bytearray(1 if x == v else 0 for x in values), h, w)
                for v in sorted(set(values)) if v]

    return read
