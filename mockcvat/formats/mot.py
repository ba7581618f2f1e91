"""MOT 1.1 — boxes and box tracks, written as datumaro's ``mot_seq_gt`` converter does.

CVAT 2.26 (``cvat/apps/dataset_manager/formats/mot.py``) exports with
``dataset.export(temp_dir, "mot_seq_gt", save_images=…)`` and imports with
``Dataset.import_from(tmp_dir, "mot_seq")`` plus its own ``_import_to_task``
(cvat-ai/datumaro ``plugins/mot_format.py``). Layout::

    gt/gt.txt       csv.DictWriter rows (so "\\r\\n" line ends):
                    frame_id,track_id,x,y,w,h,not_ignored,class_id,visibility
    gt/labels.txt   every label name (by label id, skeleton points included), "\\n"-joined,
                    no trailing newline
    img1/<item id><ext>   with save_images

* ``frame_id`` = ``int(item id)`` when the frame's file name (without extension) is a number,
  else 1 + the item's position (frames in order) — MOT frames are 1-based.
* only rectangles (shapes and the visible per-frame boxes of tracks; rotation is dropped);
  ``track_id`` = -1 for plain boxes, tracks numbered 1, 2… in order of first appearance;
  ``x,y,w,h`` as ``str(float)``; ``not_ignored`` = 0 only when a label attribute ``ignored`` is
  true; ``class_id`` = 1 + label position; ``visibility`` = a label attribute ``visibility`` if
  there is one, else ``1.0`` (``0.0`` when occluded).

Import: every csv row with ``track_id`` > 0 becomes a keyframe of a track (gaps and the end get an
``outside`` keyframe, as CVAT's ``_import_to_task`` adds), others plain rectangles;
frame = ``frame_id`` - 1 (+ the first frame of a job); ``occluded`` = visibility ≤ 0.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from mockcvat.formats.base import Dataset, ImportFailed
from mockcvat.formats.common import (
    Importer,
    Labels,
    attr_values,
    frame_file_name,
    read_text,
    shapes_by_frame,
)
from mockcvat.formats.tracks import validate_track_shapes

EXPORTS = ("MOT 1.1",)
IMPORTS = ("MOT 1.1",)

FIELDS = ["frame_id", "track_id", "x", "y", "w", "h", "confidence", "class_id", "visibility"]
_MOT_LABELS = [
    "pedestrian",
    "person on vehicle",
    "car",
    "bicycle",
    "motorbike",
    "non motorized vehicle",
    "static person",
    "distractor",
    "occluder",
    "occluder on the ground",
    "occluder full",
    "reflection",
]


def _cast_int(value: str, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"mot cannot write {format_name!r}")
    out = Path(out)
    labels = Labels(dataset)
    frames = sorted(
        (f for f in dataset.frames if not f.deleted), key=lambda f: (f.task_id, f.frame)
    )
    shapes = shapes_by_frame(dataset, frames)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)  # default "\r\n" line terminator
    track_ids: dict[int, int] = {-1: -1}
    for idx, frame in enumerate(frames):
        content, image_ext = dataset.image(frame) if save_images else (b"", None)
        file_name = frame_file_name(dataset, frame, image_ext)
        item_id = os.path.splitext(file_name)[0]
        frame_id = _cast_int(item_id, 1 + idx)
        boxes = sorted(
            (s for s in shapes.get((frame.task_id, frame.frame), []) if s["type"] == "rectangle"),
            key=lambda s: s.get("z_order", 0),
        )
        for shape in boxes:
            attrs = attr_values(labels.by_id[shape["label_id"]], shape.get("attributes", []))
            attrs["occluded"] = bool(shape.get("occluded", False))
            track_id = int(shape.get("track_id", -1))
            if track_id not in track_ids:
                track_ids[track_id] = len(track_ids)
            x0, y0, x1, y1 = (float(p) for p in shape["points"][:4])
            visibility = attrs.get("visibility", 1 - float(attrs["occluded"]))
            writer.writerow(
                {
                    "frame_id": frame_id,
                    "track_id": track_ids[track_id],
                    "x": x0,
                    "y": y0,
                    "w": x1 - x0,
                    "h": y1 - y0,
                    "confidence": int(attrs.get("ignored") is not True),
                    "class_id": 1 + labels.index[shape["label_id"]],
                    "visibility": float(visibility),
                }
            )
        if save_images and content:
            target = out / "img1" / (item_id + os.path.splitext(file_name)[1])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    with open(out / "gt" / "gt.txt", "w", encoding="utf-8", newline="") as f:
        f.write(buffer.getvalue())
    (out / "gt" / "labels.txt").write_text(
        "\n".join(label.name for label in labels.ordered), encoding="utf-8"
    )


# =============================================================================================
# Import
# =============================================================================================


def _find_gt(source: Path) -> Path:
    if source.is_dir():
        found = sorted(
            (p for p in source.rglob("gt.txt") if p.parent.name == "gt"),
            key=lambda p: (len(p.parts), str(p)),
        )
        if found:
            return found[0]
    raise ImportFailed(
        "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/format-mot). "
        "Dataset must contain a file: gt/gt.txt"
    )


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"mot cannot read {format_name!r}")
    gt = _find_gt(Path(source))
    labels_path = gt.parent / "labels.txt"
    if labels_path.is_file():
        names = [s.strip() for s in read_text(labels_path).splitlines()]
    else:
        names = list(_MOT_LABELS)
    # items: the images in img1/ (ids = file names without extension), then the csv frames
    items: dict[str, list[dict]] = {}
    image_dir = gt.parent.parent / "img1"
    if image_dir.is_dir():
        for p in sorted(image_dir.rglob("*")):
            if p.is_file():
                items[p.relative_to(image_dir).with_suffix("").as_posix()] = []
    rows = csv.DictReader(io.StringIO(read_text(gt), newline=""), fieldnames=FIELDS)
    for line_no, row in enumerate(rows, start=1):
        where = f"gt.txt line {line_no}"
        frame_key = row["frame_id"]
        if frame_key not in items:
            alt = f"{_cast_int(frame_key, -1):06d}" if _cast_int(frame_key, -1) >= 0 else None
            if alt is not None and alt in items:
                frame_key = alt
        try:
            x, y, w, h = (float(row[k]) for k in ("x", "y", "w", "h"))
            track_id = int(row["track_id"])
            class_id = row.get("class_id")
            label_index = int(class_id) - 1 if class_id and class_id != "-1" else None
            confidence = float(row["confidence"]) if row.get("confidence") else 1.0
            visibility = float(row["visibility"]) if row.get("visibility") else 1.0
        except (TypeError, ValueError):
            text = ",".join(str(v) for v in row.values())
            raise ImportFailed(f"{where}: can't parse the box '{text}'") from None
        if label_index is not None and not 0 <= label_index < len(names):
            raise ImportFailed(f"{where}: undeclared class id '{class_id}'")
        items.setdefault(frame_key, []).append(
            {
                "points": [x, y, x + w, y + h],
                "label": names[label_index] if label_index is not None else None,
                "track_id": track_id if track_id > 0 else None,
                "occluded": visibility <= 0,
                "attributes": {"visibility": visibility, "ignored": confidence == 0},
            }
        )

    importer = Importer(dataset)
    start = min((f.frame for f in dataset.frames), default=0)
    shapes: list[dict] = []
    tracks: dict[int, dict] = {}
    for item_id, boxes in items.items():
        try:
            frame = int(item_id) - 1 + start
        except ValueError:
            raise ImportFailed(
                f"Item '{item_id}': MOT frame ids must be numbers (invalid literal for int())"
            ) from None
        if frame not in importer.frames:
            raise ImportFailed(f"Unknown internal frame id {frame}")
        for idx, box in enumerate(boxes):
            try:
                if box["label"] is None:
                    raise ValueError("annotation has no label")
                label = importer.label(box["label"])
            except ValueError as exc:
                raise ImportFailed(
                    f"Image {item_id}: can't import annotation #{idx} (bbox): {exc}"
                ) from None
            mutable = None if box["track_id"] is None else True
            shape = {
                "type": "rectangle",
                "frame": frame,
                "occluded": box["occluded"],
                "z_order": 0,
                "rotation": 0.0,
                "points": box["points"],
                "attributes": importer.attributes(label, box["attributes"], mutable=mutable),
            }
            if box["track_id"] is None:
                shapes.append(
                    {
                        **shape,
                        "label_id": label.id,
                        "group": 0,
                        "source": "manual",
                        "outside": False,
                        "elements": [],
                    }
                )
                continue
            track = tracks.setdefault(
                box["track_id"],
                {
                    "frame": frame,
                    "label_id": label.id,
                    "group": 0,
                    "source": "manual",
                    "shapes": [],
                    "attributes": [],
                    "elements": [],
                },
            )
            track["shapes"].append({**shape, "outside": False})

    stop_frame = max(importer.frames, default=0)
    result = []
    for track in tracks.values():
        # every row is a visible keyframe: gaps and the end get an outside keyframe
        keyframes = [dict(s, keyframe=True) for s in track["shapes"]]
        closed = [{k: v for k, v in s.items() if k != "keyframe"}
                  for s in validate_track_shapes(keyframes, stop_frame)]
        track["shapes"] = closed
        track["frame"] = closed[0]["frame"]
        result.append(track)
    return {"tags": [], "shapes": shapes, "tracks": result}
