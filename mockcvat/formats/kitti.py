"""KITTI 1.0 — detection boxes and instance segmentation, as CVAT 2.26 writes them through
datumaro's ``kitti`` (``cvat/apps/dataset_manager/formats/kitti.py``: rotated boxes become
polygons, polygons are rasterised, segments of a group merged; label map = the task's colours,
sorted by name, the black / ``background`` label moved first)::

    label_colors.txt                  "r g b name" a line
    <subset>/label_2/<item id>.txt    per frame with boxes: "name truncated occluded -1 x0 y0 x1
                                      y1 -1 -1 -1 -1 -1 -1 -1 score" a box (``truncated`` and
                                      ``score`` from attributes of those names, 0.0 / 1.0
                                      without; ``occluded`` 0 / 1)
    <subset>/semantic_rgb/<item id>.png   per frame with polygons, masks or ellipses: colours
    <subset>/semantic/<item id>.png       class index (16-bit)
    <subset>/instance/<item id>.png       16-bit: class index << 8 (| the annotation id, which is
                                          0 for every CVAT annotation: one instance per class)
    <subset>/image_2/<item id><ext>       with save_images

Import (the task's colour map is used when the archive has no ``label_colors.txt``): boxes with
their ``occluded`` and ``truncated`` flags, each value of ``instance/`` as a mask (so one mask
per class; the ``background`` class dropped unless the task has that label). Lost: everything
but boxes and the pixels of polygons, masks, ellipses and rotated boxes (instances of a class
merged); attributes other than ``truncated``/``score``, z_order of boxes, groups, tracks
(per-frame shapes). An archive without any box or segment file is refused, as CVAT's importer
finds no dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import Dataset, ImportFailed
from .common import (
    BACKGROUND,
    Importer,
    Labels,
    color_label_map,
    dm_attributes,
    frame_items,
    group_by_subset,
    images_under_subset,
    instances,
    paint,
    read_instance_mask,
    read_text,
    rgb_png,
    rowmajor_to_cvat_mask,
    save_gray_png,
    value_masks,
    write_image,
)

EXPORTS = ("KITTI 1.0",)
IMPORTS = ("KITTI 1.0",)

LABELMAP_FILE = "label_colors.txt"
IMAGES_DIR, LABELS_DIR, SEMANTIC_RGB_DIR, SEMANTIC_DIR, INSTANCES_DIR = (
    "image_2", "label_2", "semantic_rgb", "semantic", "instance")


def _label_map(dataset: Dataset) -> list[tuple[str, tuple[int, int, int]]]:
    entries = color_label_map(dataset)  # sorted by name, with "background" when missing
    black = next((e for e in entries if e[1] == (0, 0, 0)), None) \
        or next(e for e in entries if e[0] == BACKGROUND)
    return [black] + [e for e in entries if e is not black]


def _cast(value: Any, kind: type, default: Any) -> Any:
    try:
        return kind(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"kitti cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    entries = _label_map(dataset)
    index_of = {name: i for i, (name, _c) in enumerate(entries)}
    palette = [color for _n, color in entries]
    for subset, items in group_by_subset(frame_items(dataset)).items():
        (out / subset / INSTANCES_DIR).mkdir(parents=True, exist_ok=True)
        for item in items:
            if save_images:
                _data, ext = dataset.image(item.frame)
                write_image(dataset, item.frame,
                            out / subset / IMAGES_DIR / f"{item.id}{item.ext(ext or '.png')}")
            h, w = item.frame.height, item.frame.width
            rotated = [s for s in item.shapes if s["type"] == "rectangle"
                       and float(s.get("rotation") or 0) % 360]
            segments = [s for s in item.shapes if s["type"] in ("polygon", "mask", "ellipse")]
            found = instances(labels, sorted(rotated + segments,
                                             key=lambda s: s.get("z_order", 0)), h, w)
            if found:
                class_map, _numbers = paint(
                    found, lambda label_id: index_of[labels.name(label_id)], h, w)
                _save(out / subset / SEMANTIC_RGB_DIR / f"{item.id}.png",
                      rgb_png(bytearray(b"".join(bytes(palette[c]) for c in class_map)), w, h))
                # 16-bit both, as datumaro saves KITTI's int32 maps; the instance map is
                # class << 8 | annotation id, and CVAT's 2D annotations all have id 0
                save_gray_png(out / subset / SEMANTIC_DIR / f"{item.id}.png", class_map, w, h)
                save_gray_png(out / subset / INSTANCES_DIR / f"{item.id}.png",
                              [c << 8 for c in class_map], w, h)
            boxes = [s for s in item.shapes if s["type"] == "rectangle" and s not in rotated]
            if boxes:
                lines = []
                for box in boxes:
                    attrs = dm_attributes(labels, box)
                    x0, y0, x1, y1 = (float(p) for p in box["points"][:4])
                    fields: list[Any] = [-1] * 16
                    fields[0] = labels.name(box["label_id"])
                    fields[1] = _cast(attrs.get("truncated"), float, 0.0)
                    fields[2] = _cast(attrs.get("occluded"), int, 0)
                    fields[4:8] = x0, y0, x1, y1
                    fields[15] = _cast(attrs.get("score"), float, 1.0)
                    lines.append(" ".join(str(v) for v in fields) + "\n")
                _save(out / subset / LABELS_DIR / f"{item.id}.txt", "".join(lines).encode())
    (out / LABELMAP_FILE).write_text(
        "".join(f"{r} {g} {b} {name}\n" for name, (r, g, b) in entries), encoding="utf-8")


def _save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


image_layout = images_under_subset(IMAGES_DIR)  # where a project import finds the images


# --- import ------------------------------------------------------------------------------------

def _read_label_map(path: Path) -> list[str]:
    names: list[str] = []
    for line in read_text(path).splitlines():
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        name = fields[3] if len(fields) > 2 else fields[0]
        if len(fields) > 2 and len(fields) != 4:
            raise ImportFailed(f"{LABELMAP_FILE}: expected 'r g b name' in '{line.strip()}'")
        if name in names:
            raise ImportFailed(f"Label '{name}' is already defined")
        names.append(name)
    return names


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"kitti cannot read {format_name!r}")
    source = Path(source)
    subsets = sorted({p.parent for p in source.rglob(f"{LABELS_DIR}/*.txt")}
                     | {p.parent for p in source.rglob(f"{INSTANCES_DIR}/*.png")}) \
        if source.is_dir() else []
    if not subsets:
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/format-kitti)."
            " Dataset must contain a file: <subset>/label_2/*.txt or <subset>/instance/*.png")
    label_file = source / LABELMAP_FILE
    names = _read_label_map(label_file) if label_file.is_file() \
        else [n for n, _c in _label_map(dataset)]
    keep_background = any(lb.name == BACKGROUND for lb in dataset.labels)
    importer = Importer(dataset)
    items: dict[str, list] = {}
    for folder in subsets:
        subset = folder.parent
        if folder.name == INSTANCES_DIR:
            for path in sorted(folder.rglob("*.png")):
                item_id = path.relative_to(folder).with_suffix("").as_posix()
                items.setdefault(item_id, []).append(("mask", path))
        else:
            for path in sorted(folder.rglob("*.txt")):
                item_id = path.relative_to(folder).with_suffix("").as_posix()
                items.setdefault(item_id, []).append(("bbox", path))
        del subset
    hint = importer.root_hint(list(items))
    for item_id, sources in items.items():
        frame = importer.match(item_id, hint)
        index = 0
        for kind, path in sorted(sources, key=lambda s: s[0] != "mask"):
            if kind == "mask":
                values, w, h = read_instance_mask(path)
                for value, bits in sorted(value_masks(values).items()):
                    class_index = value >> 8
                    name = names[class_index] if 0 <= class_index < len(names) else None
                    if name == BACKGROUND and not keep_background:
                        continue
                    with importer.annotation(item_id, index, "mask"):
                        if name is None:
                            raise ValueError(f"undeclared label '{class_index}'")
                        points = rowmajor_to_cvat_mask(bits, h, w)
                        if points:
                            importer.add_annotation(label=importer.label(name), kind="mask",
                                                    frame=frame, group=0, points=points, raw={})
                    index += 1
                continue
            for line in read_text(path).splitlines():
                fields = line.split()
                if not fields:
                    continue
                with importer.annotation(item_id, index, "bbox"):
                    if len(fields) not in (15, 16):
                        raise ValueError(f"expected 15 or 16 values, got {len(fields)}")
                    if fields[0] not in names:
                        raise ValueError(f"unknown label '{fields[0]}'")
                    x0, y0, x1, y1 = (float(v) for v in fields[4:8])
                    raw: dict[str, Any] = {"truncated": float(fields[1]) != 0,
                                           "occluded": int(fields[2]) != 0}
                    if len(fields) == 16:
                        raw["score"] = float(fields[15])
                    importer.add_annotation(label=importer.label(fields[0]), kind="rectangle",
                                            frame=frame, group=0, points=[x0, y0, x1, y1],
                                            raw=raw)
                index += 1
    return importer.result()
