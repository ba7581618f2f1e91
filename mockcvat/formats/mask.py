"""Segmentation mask 1.1 — VOC-style class/instance PNGs, as CVAT 2.26 writes and reads them.

Export (``cvat/apps/dataset_manager/formats/mask.py``): the CVAT dataset goes through datumaro's
``RotatedBoxesToPolygons``, ``polygons_to_masks``, ``boxes_to_masks`` and
``merge_instance_segments`` transforms, then ``voc_segmentation`` with ``apply_colormap=True``
and ``label_map=make_colormap(instance)`` (cvat-ai/datumaro ``plugins/voc_format``). Result:

* ``labelmap.txt`` — ``# label:color_rgb:parts:actions`` then ``name:r,g,b::`` for every label
  (sub-labels too) plus ``background`` (0,0,0) when there is no label of that name, **sorted by
  name** (``VocLabelMap(sorted(label_map.items()))``); colours are the labels' own colours.
* ``SegmentationClass/<item id>.png`` — RGB, each pixel the colour of its class (background
  label's colour where nothing is drawn); ``SegmentationObject/<item id>.png`` — RGB, instance *i*
  (1-based) painted with VOC colormap colour *i*. Written only for frames with at least one
  rectangle, polygon, mask or ellipse.
* ``ImageSets/Segmentation/default.txt`` — ids of frames that got PNGs and of frames with no
  annotation at all, in frame order.
* ``JPEGImages/<item id><ext>`` with save_images.

Rasterisation: rectangles (rotated ones as their rotated corner polygon) and polygons with
pycocotools' polygon fill, CVAT masks as stored, ellipses filled; shapes of one non-zero group
are merged into one instance (label and z_order of the largest); instances are painted in
``z_order`` order (stable), later ones on top. Tags, polylines, points, skeletons and cuboids are
not drawn.

Import (``Dataset.import_from(…, "voc")``): ``labelmap.txt`` (or the default VOC label map)
gives the colours; every id in ``ImageSets/Segmentation/<subset>.txt`` is read; with an instance
PNG, one mask per instance (its class from the class PNG), else one mask per class present
(background included, as datumaro does). Masks are not converted to polygons here (CVAT does so
only when the request asks for ``conv_mask_to_poly``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mockcvat.formats.base import Dataset, Frame, ImportFailed, LabelSpec
from mockcvat.formats.common import (
    Importer,
    Labels,
    background_index,
    color_label_map,
    frame_file_name,
    instances,
    new_shape,
    paint,
    read_color_png,
    rgb_png,
    rowmajor_to_cvat_mask,
    shapes_by_frame,
    voc_colormap,
)

EXPORTS = ("Segmentation mask 1.1",)
IMPORTS = ("Segmentation mask 1.1",)

_SUBSET = "default"
_VOC_LABELS = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
]  # fmt: skip


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"mask cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    entries = color_label_map(dataset)
    index_of = {name: i for i, (name, _c) in enumerate(entries)}
    bg_index = background_index(entries)
    inst_colors = voc_colormap(256)
    frames = sorted(
        (f for f in dataset.frames if not f.deleted), key=lambda f: (f.task_id, f.frame)
    )
    shapes = shapes_by_frame(dataset, frames)
    task_of_frame = {f.frame: f.task_id for f in frames}
    tagged = {
        (task_of_frame.get(t["frame"], 0), t["frame"])
        for t in dataset.annotations.get("tags") or []
    }
    listed: list[str] = []
    for frame in frames:
        key = (frame.task_id, frame.frame)
        content, image_ext = dataset.image(frame) if save_images else (b"", None)
        file_name = frame_file_name(dataset, frame, image_ext)
        item_id = os.path.splitext(file_name)[0]
        if save_images and content:
            target = out / "JPEGImages" / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        frame_shapes = sorted(shapes.get(key, []), key=lambda s: s.get("z_order", 0))
        found = instances(labels, frame_shapes, frame.height, frame.width)
        if found:
            _write_masks(
                out, item_id, frame, found, labels, entries, index_of, bg_index, inst_colors
            )
            listed.append(item_id)
        elif key not in tagged and not any(s["type"] != "cuboid" for s in frame_shapes):
            listed.append(item_id)  # no annotation at all: datumaro lists it with None
    if listed:
        target = out / "ImageSets" / "Segmentation" / f"{_SUBSET}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{i}\n" for i in listed), encoding="utf-8")
    lines = ["# label:color_rgb:parts:actions\n"]
    lines += [f"{name}:{','.join(map(str, color))}::\n" for name, color in entries]
    (out / "labelmap.txt").write_text("".join(lines), encoding="utf-8")


def _write_masks(
    out: Path,
    item_id: str,
    frame: Frame,
    instances: list[dict],
    labels: Labels,
    entries: list,
    index_of: dict[str, int],
    bg_index: int,
    inst_colors: list,
) -> None:
    h, w = frame.height, frame.width
    class_map, inst_map = paint(
        instances, lambda label_id: index_of.get(labels.name(label_id), bg_index), h, w, bg_index)
    palette = [c for _n, c in entries]
    class_px = bytearray(b"".join(bytes(palette[c]) for c in class_map))
    inst_px = bytearray(b"".join(bytes(inst_colors[i % 256]) for i in inst_map))
    for folder, pixels in (("SegmentationClass", class_px), ("SegmentationObject", inst_px)):
        target = out / folder / f"{item_id}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(rgb_png(pixels, w, h))


# =============================================================================================
# Import
# =============================================================================================


def _parse_labelmap(path: Path) -> list[tuple[str, tuple[int, int, int] | None]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImportFailed("'labelmap.txt' is not a UTF-8 text file") from None
    entries: list[tuple[str, tuple[int, int, int] | None]] = []
    seen: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] == "#":
            continue
        desc = line.split(":")
        if len(desc) != 4:
            raise ImportFailed(
                f"Label description has wrong number of fields '{len(desc)}'. "
                "Expected 4 ':'-separated fields."
            )
        name = desc[0]
        if name in seen:
            raise ImportFailed(f"Label '{name}' is already defined in the label map")
        seen.add(name)
        color = None
        if desc[1]:
            parts = desc[1].split(",")
            if len(parts) != 3:
                raise ImportFailed(
                    f"Label '{name}' has wrong color '{parts}'. Expected an 'r,g,b' triplet."
                )
            try:
                color = (int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                raise ImportFailed(f"Label '{name}' has wrong color '{desc[1]}'") from None
        entries.append((name, color))
    return entries


def _colormap(entries: list[tuple[str, tuple[int, int, int] | None]]) -> dict[tuple, int]:
    """``make_voc_categories``: defined colours, or the VOC palette when none is given."""
    if any(c is not None for _n, c in entries):
        return {c: i for i, (_n, c) in enumerate(entries) if c is not None}
    palette = voc_colormap(len(entries))
    return {palette[i]: i for i in range(len(entries))}


def _find_root(source: Path) -> Path:
    if source.is_dir():
        found = sorted(
            (
                p
                for p in source.rglob("*.txt")
                if p.parent.name == "Segmentation" and p.parent.parent.name == "ImageSets"
            ),
            key=lambda p: (len(p.parts), str(p)),
        )
        if found:
            return found[0].parent.parent.parent
    raise ImportFailed(
        "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/"
        "format-segmentation-mask). Dataset must contain a file: "
        "ImageSets/Segmentation/<subset>.txt"
    )


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"mask cannot read {format_name!r}")
    root = _find_root(Path(source))
    labelmap = root / "labelmap.txt"
    if labelmap.is_file():
        entries = _parse_labelmap(labelmap)
    else:
        palette = voc_colormap(256)
        entries = [(name, palette[i]) for i, name in enumerate(_VOC_LABELS)]
        entries.append(("ignored", palette[255]))
    names = [n for n, _c in entries]
    class_inverse = _colormap(entries)
    inst_inverse = {c: i for i, c in enumerate(voc_colormap(256))}

    importer = Importer(dataset)
    items: list[str] = []
    for list_file in sorted((root / "ImageSets" / "Segmentation").glob("*.txt")):
        try:
            text = list_file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ImportFailed(f"'{list_file.name}' is not a UTF-8 text file") from None
        for line in text.splitlines():
            line = line.strip()
            if line:
                items.append(line.split()[0].strip('"'))
    hint = importer.root_hint(items)
    shapes: list[dict] = []
    for item_id in items:
        frame = importer.match(item_id, hint)
        for idx, (label_index, bits, h, w) in enumerate(
            _item_masks(root, item_id, class_inverse, inst_inverse)
        ):
            try:
                if label_index is None:
                    raise ValueError("annotation has no label")
                if label_index >= len(names):
                    raise ValueError(f"undeclared label '{label_index}'")
                label: LabelSpec = importer.label(names[label_index])
            except ValueError as exc:
                raise ImportFailed(
                    f"Image {item_id}: can't import annotation #{idx} (mask): {exc}"
                ) from None
            points = rowmajor_to_cvat_mask(bits, h, w)
            if not points:
                continue
            shapes.append(new_shape(frame, label.id, "mask", points))
    return {"tags": [], "shapes": shapes, "tracks": []}


def _item_masks(root: Path, item_id: str, class_inverse: dict, inst_inverse: dict):
    """(class index or None, row-major bits, h, w) per instance, or per class without one."""
    class_path = root / "SegmentationClass" / f"{item_id}.png"
    inst_path = root / "SegmentationObject" / f"{item_id}.png"
    class_map = None
    if class_path.is_file():
        class_map, w, h = read_color_png(class_path, class_inverse, "class")
    if inst_path.is_file():
        inst_map, w, h = read_color_png(inst_path, inst_inverse, "instance")
        if class_map is not None and len(class_map) != len(inst_map):
            raise ImportFailed(f"Item {item_id}: class and instance masks differ in size")
        labels: dict[int, int | None] = {}
        for pos, inst in enumerate(inst_map):
            if inst:
                cls = class_map[pos] if class_map is not None else None
                if cls is not None and (labels.get(inst) is None or cls > labels[inst]):
                    labels[inst] = cls  # get_instance_labels: the highest (class, inst) key wins
                labels.setdefault(inst, cls)
        for inst in sorted(labels):
            bits = bytearray(1 if v == inst else 0 for v in inst_map)
            yield labels[inst], bits, h, w
    elif class_map is not None:
        for cls in sorted(set(class_map)):
            yield cls, bytearray(1 if v == cls else 0 for v in class_map), h, w
