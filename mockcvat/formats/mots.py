"""MOTS PNG 1.0 — tracks as 16-bit instance PNGs, as CVAT 2.26 writes and reads them.

Export (``cvat/apps/dataset_manager/formats/mots.py``): only the per-frame shapes of tracks
(``KeepTracks``), rotated boxes as polygons, boxes and polygons rasterised, segments of one
group merged (``common.instances``), then datumaro's ``mots_png`` converter::

    <subset>/instances/<item id>.png   uint16: 1000 × (1 + label index) + track id, painted in
                                       z_order (only for frames with a tracked box, polygon,
                                       mask or ellipse)
    <subset>/instances/labels.txt      every label name by id, "\\n"-joined
    <subset>/images/<item id><ext>     with save_images

Import (``mots`` extractor + CVAT's ``_import_to_task``): each PNG value other than class 0 is a
mask (class 10 is ``ignored`` when ``labels.txt`` has fewer than 10 labels), converted to
polygons as CVAT's ``MaskToPolygonTransformation`` does (``common.mask_to_polygons``: outer
outlines, holes filled), each polygon a keyframe of the track its instance id names (a second
polygon of one id on one frame starts its own track); gaps and the end get an ``outside``
keyframe. Everything but the pixels of tracked shapes is lost: standalone shapes, tags,
attributes, and the shape type (boxes come back as polygons).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import Dataset, ImportFailed
from .common import (
    Importer,
    Labels,
    frame_items,
    group_by_subset,
    images_under_subset,
    instances,
    mask_to_polygons,
    read_instance_mask,
    read_text,
    save_gray_png,
    value_masks,
    write_image,
)
from .tracks import validate_track_shapes

EXPORTS = ("MOTS PNG 1.0",)
IMPORTS = ("MOTS PNG 1.0",)

MASKS_DIR, IMAGES_DIR, LABELS_FILE = "instances", "images", "labels.txt"
MAX_INSTANCES = 1000
DEFAULT_LABELS = ("background", "car", "pedestrian", "ignored")  # MotsLabels
_IGNORED_CLASS = 10


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"mots cannot write {format_name!r}")
    out = Path(out)
    labels = Labels(dataset)
    for subset, items in group_by_subset(frame_items(dataset)).items():
        masks_dir = out / subset / MASKS_DIR
        masks_dir.mkdir(parents=True, exist_ok=True)
        for item in items:
            if save_images:
                _data, ext = dataset.image(item.frame)
                write_image(dataset, item.frame,
                            out / subset / IMAGES_DIR / f"{item.id}{item.ext(ext or '.jpg')}")
            h, w = item.frame.height, item.frame.width
            found = instances(labels, [s for s in item.shapes if "track_id" in s], h, w)
            if not found:
                continue
            values = [0] * (h * w)  # merge_masks: later z_order on top
            for inst in sorted(found, key=lambda s: s["z_order"]):
                value = MAX_INSTANCES * (1 + labels.index[inst["label_id"]]) \
                    + int(inst["shape"]["track_id"])
                pos = inst["bits"].find(1)
                while pos >= 0:
                    values[pos] = value
                    pos = inst["bits"].find(1, pos + 1)
            save_gray_png(masks_dir / f"{item.id}.png", values, w, h)
        (masks_dir / LABELS_FILE).write_text("\n".join(lb.name for lb in labels.ordered),
                                             encoding="utf-8")


def _mask_dirs(source: Path) -> list[Path]:
    if (source / MASKS_DIR).is_dir():
        return [source / MASKS_DIR]
    found = sorted(p / MASKS_DIR for p in source.iterdir() if (p / MASKS_DIR).is_dir()) \
        if source.is_dir() else []
    if not found:
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/format-mots). "
            "Dataset must contain a directory: instances")
    return found


image_layout = images_under_subset(IMAGES_DIR)  # where a project import finds the images


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"mots cannot read {format_name!r}")
    importer = Importer(dataset)
    items: list[tuple[str, Path, list[str]]] = []
    for masks_dir in _mask_dirs(Path(source)):
        names_file = masks_dir / LABELS_FILE
        names = [n.strip() for n in read_text(names_file).splitlines() if n.strip()] \
            if names_file.is_file() else list(DEFAULT_LABELS)
        for path in sorted(masks_dir.rglob("*.png")):
            items.append((path.relative_to(masks_dir).with_suffix("").as_posix(), path, names))
    hint = importer.root_hint([item_id for item_id, _p, _n in items])
    tracks: dict[int, dict] = {}
    shift = 0
    for item_id, path, names in items:
        frame = importer.match(item_id, hint)
        values, w, h = read_instance_mask(path)
        seen: set[int] = set()
        index = 0
        for value, bits in sorted(value_masks(values).items()):
            class_id, instance_id = divmod(value, MAX_INSTANCES)
            if class_id <= 0:
                continue  # background
            z_order = 0
            if class_id == _IGNORED_CLASS and len(names) < _IGNORED_CLASS:
                z_order, name = 1, "ignored"
            elif class_id - 1 < len(names):
                name = names[class_id - 1]
            else:
                name = None
            for points in mask_to_polygons(bits, h, w):
                with importer.annotation(item_id, index, "polygon"):
                    if name is None:
                        raise ValueError(f"undeclared label '{class_id - 1}'")
                    label = importer.label(name)
                index += 1
                track_id = instance_id
                if track_id in seen:  # CVAT: the same id twice on a frame starts a new track
                    shift -= 1
                    track_id = shift
                seen.add(track_id)
                track = tracks.setdefault(track_id, {
                    "frame": frame, "label_id": label.id, "group": 0, "source": "manual",
                    "shapes": [], "attributes": [], "elements": []})
                track["shapes"].append({
                    "type": "polygon", "frame": frame, "occluded": False, "outside": False,
                    "keyframe": True, "z_order": z_order, "rotation": 0.0, "points": points,
                    "attributes": []})
    result = []
    for track in tracks.values():
        closed = validate_track_shapes(sorted(track["shapes"], key=lambda s: s["frame"]),
                                       importer.stop_frame)
        track["shapes"] = [{k: v for k, v in s.items() if k != "keyframe"} for s in closed]
        track["frame"] = track["shapes"][0]["frame"]
        result.append(track)
    return {"tags": [], "shapes": [], "tracks": result}
