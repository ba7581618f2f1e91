"""Property-based round trips through every dataset format mockcvat writes and reads back.

Hypothesis generates valid annotations for a small ``Dataset`` (3 labels whose attributes cover
the select / checkbox / number / text / radio input types, 3–5 frames of random sizes): tags,
rectangles, polygons, polylines, points and tracks (rectangles, points, polygons) with
keyframes and ``outside`` keyframes; a fixed ``RICH_CASE`` (interpolated box, point and polygon
tracks, every attribute type) runs too. Each case is exported with a format, imported back with
its importer, and compared — as a multiset, floats within the format's precision — with a
projection of the generated annotations onto what the format keeps (``project_*`` below).

What each format loses (ids everywhere; what the projections drop or rewrite):

* CVAT for images 1.1 (→ CVAT 1.1): ``source`` (→ "file"), ``group: None`` (→ 0), coordinates
  and rotation to 2 decimals; tracks come back as plain shapes, one per visible frame (frames
  between keyframes interpolated as CVAT does), track attributes merged into the shapes'.
* CVAT for video 1.1 (→ CVAT 1.1): tags; ``source`` (→ "file"), 2 decimals; a plain shape comes
  back as a track (keyframe + an ``outside`` copy one frame later when that frame is before the
  last frame; immutable attributes on the track, mutable ones on its shapes); tracks keep their
  keyframes only, each with the mutable attributes carried over from earlier keyframes.
* COCO 1.0: tags, polylines, points (and point tracks); ``source`` (→ "manual"), ``z_order``;
  coordinates to 2 decimals; attributes come back for every label attribute (defaults filled,
  numbers as floats "5" → "5.0"); tracks keep their keyframes but the geometry and attributes of
  an ``outside`` keyframe are those of the frame before it. Groups merge shapes into one COCO
  instance, so none are generated for it.
* COCO Keypoints 1.0: everything but skeletons (none are generated: nothing comes back).
* Datumaro 1.0: ``source`` (→ "manual"); attributes as COCO (defaults filled, typed numbers);
  tracks as COCO; groups are renumbered per frame, so none are generated for it.
* YOLO 1.1 / Ultralytics YOLO Detection 1.0: everything but unrotated rectangles (tracks as
  their per-frame boxes, interpolated); attributes, occluded, z_order, group, source; boxes to
  6 decimals of the image size.
* PASCAL VOC 1.1: polygons, polylines, points, z_order, group, source (→ "manual"), tag
  attributes and repeated tags of a label on a frame; box attributes as COCO, except that an
  empty text value comes back as "None" (as in CVAT: ``<value></value>`` is read as None, then
  ``str()``-ed); rectangle tracks come back as COCO's do.
* MOT 1.1: everything but rectangles, rotation, attributes, z_order, group, source; a track comes
  back with a keyframe on every frame it is visible (``outside`` after gaps and at its end).
* ImageNet 1.0: everything but tags (label and frame, once per frame); with images, also the
  tags of frames in sub-directories (their images are written two levels down, where the
  importer does not look — datumaro's ``find_images(max_depth=1)``).
"""

from __future__ import annotations

import importlib
import importlib.util
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from mockcvat.formats import cvat as cvat_format
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, LabelSpec

Obj = dict[str, Any]

# --- the fixed part of the dataset ----------------------------------------------------------

COLOR = AttributeSpec(11, "color", False, "select", "red", ("red", "green", "blue"))
PARKED = AttributeSpec(12, "parked", True, "checkbox", "false", ("false", "true"))
SPEED = AttributeSpec(13, "speed", True, "number", "0", ("0", "100", "1"))
NAME = AttributeSpec(21, "name", False, "text", "", ())
MOOD = AttributeSpec(22, "mood", True, "radio", "calm", ("calm", "angry", "sad"))
LABELS = [
    LabelSpec(1, "car", "#ff0000", "any", (COLOR, PARKED, SPEED)),
    LabelSpec(2, "person", "#00ff00", "any", (NAME, MOOD)),
    LabelSpec(3, "day", "#0000ff", "any"),
]
SPECS = {label.id: label.attributes for label in LABELS}
FRAME_NAMES = ("a.jpg", "sub/b_1.png", "c.jpeg", "sub/deep/d.jpg", "e.png")
ROTATIONS = (0.0, 0.0, 0.0, 15.0, 90.0, 300.5)  # no two 180° apart (CVAT's interpolation quirk)
TEXT = st.text(alphabet=st.sampled_from("ab Z9&<>\"'_-.é日"), max_size=6)


# --- generation -----------------------------------------------------------------------------

def attr_value(spec: AttributeSpec) -> st.SearchStrategy[str]:
    if spec.input_type in ("select", "radio"):
        return st.sampled_from(spec.values)
    if spec.input_type == "checkbox":
        return st.sampled_from(("false", "true"))
    if spec.input_type == "number":
        low, high, _step = (int(v) for v in spec.values)
        return st.integers(low, high).map(str)
    return TEXT


def attributes(draw: Any, label_id: int, mutable: bool | None = None) -> list[Obj]:
    """A random subset of the label's attributes (of the given mutability) with valid values."""
    out = []
    for spec in SPECS[label_id]:
        if mutable is not None and spec.mutable != mutable:
            continue
        if draw(st.booleans()):
            out.append({"spec_id": spec.id, "value": draw(attr_value(spec))})
    return out


def coord(limit: float) -> st.SearchStrategy[float]:
    return st.floats(0, limit, allow_nan=False, allow_infinity=False)


def geometry(draw: Any, kind: str, width: int, height: int) -> list[float]:
    if kind == "rectangle":
        x0, y0 = draw(coord(width - 1)), draw(coord(height - 1))
        x1 = draw(st.floats(x0 + 1, width, allow_nan=False))
        y1 = draw(st.floats(y0 + 1, height, allow_nan=False))
        return [x0, y0, x1, y1]
    count = draw(st.integers(*{"polygon": (3, 5), "polyline": (2, 4), "points": (1, 3)}[kind]))
    points: list[float] = []
    for _ in range(count):
        points += [draw(coord(width)), draw(coord(height))]
    return points


def shape_fields(draw: Any, kind: str, frame: int, width: int, height: int) -> Obj:
    return {"type": kind, "frame": frame, "occluded": draw(st.booleans()), "outside": False,
            "z_order": draw(st.integers(0, 2)),
            "rotation": draw(st.sampled_from(ROTATIONS)) if kind == "rectangle" else 0.0,
            "points": geometry(draw, kind, width, height)}


@st.composite
def cases(draw: Any) -> tuple[list[Frame], Obj]:
    count = draw(st.integers(3, 5))
    frames = [Frame(i, FRAME_NAMES[i], draw(st.integers(16, 1200)), draw(st.integers(16, 1200)))
              for i in range(count)]
    label_ids = st.sampled_from([label.id for label in LABELS])
    groups = st.sampled_from((None, 0, 1, 2))
    sources = st.sampled_from(("manual", "auto", "semi-auto"))

    tags = []
    for _ in range(draw(st.integers(0, 4))):
        label_id = draw(label_ids)
        tags.append({"id": len(tags) + 1, "frame": draw(st.integers(0, count - 1)),
                     "label_id": label_id, "group": draw(groups), "source": draw(sources),
                     "attributes": attributes(draw, label_id)})

    shapes = []
    for _ in range(draw(st.integers(0, 6))):
        frame = draw(st.sampled_from(frames))
        label_id = draw(label_ids)
        kind = draw(st.sampled_from(("rectangle", "rectangle", "polygon", "polyline", "points")))
        shapes.append({"id": len(shapes) + 1, "label_id": label_id, "group": draw(groups),
                       "source": draw(sources),
                       **shape_fields(draw, kind, frame.frame, frame.width, frame.height),
                       "attributes": attributes(draw, label_id), "elements": []})

    # track geometry fits every frame, so interpolated shapes stay inside the images too
    width, height = min(f.width for f in frames), min(f.height for f in frames)
    tracks = []
    for _ in range(draw(st.integers(0, 3))):
        label_id = draw(label_ids)
        kind = draw(st.sampled_from(("rectangle", "rectangle", "points", "polygon", "polygon")))
        keyframes = sorted(draw(st.sets(st.integers(0, count - 1), min_size=1, max_size=3)))
        tracked = []
        for index, frame in enumerate(keyframes):
            # valid and canonical: starts visible, never two outside keyframes in a row
            outside = index > 0 and not tracked[-1]["outside"] and draw(st.booleans())
            tracked.append({"id": len(tracked) + 1,
                            **shape_fields(draw, kind, frame, width, height),
                            "outside": outside,
                            "attributes": attributes(draw, label_id, mutable=True)})
        tracks.append({"id": len(tracks) + 1, "label_id": label_id, "frame": keyframes[0],
                       "group": draw(groups), "source": draw(sources), "shapes": tracked,
                       "attributes": attributes(draw, label_id, mutable=False), "elements": []})
    return frames, {"tags": tags, "shapes": shapes, "tracks": tracks}


def _rich_case() -> tuple[list[Frame], Obj]:
    """A fixed case run for every format besides the generated ones: interpolated rectangle,
    point and polygon tracks, outside keyframes, a rotated box, every attribute type."""
    frames = [Frame(0, FRAME_NAMES[0], 640, 480), Frame(1, FRAME_NAMES[1], 320, 200),
              Frame(2, FRAME_NAMES[2], 800, 600), Frame(3, FRAME_NAMES[3], 100, 90),
              Frame(4, FRAME_NAMES[4], 1024, 768)]

    def tracked(frame: int, kind: str, points: list[float], outside: bool = False,
                attrs: list[Obj] | None = None, rotation: float = 0.0) -> Obj:
        return {"type": kind, "frame": frame, "occluded": frame == 2, "outside": outside,
                "z_order": frame % 2, "rotation": rotation, "points": points,
                "attributes": attrs or []}

    def shape(frame: int, label_id: int, kind: str, points: list[float], **extra: Any) -> Obj:
        return {"label_id": label_id, "group": extra.pop("group", None), "source": "manual",
                **tracked(frame, kind, points), "attributes": [], "elements": [], **extra}

    ann = {
        "tags": [{"frame": 1, "label_id": 3, "group": 1, "source": "auto", "attributes": []},
                 {"frame": 1, "label_id": 3, "group": None, "source": "manual",
                  "attributes": []},
                 {"frame": 4, "label_id": 2, "group": None, "source": "manual",
                  "attributes": [{"spec_id": 21, "value": "Ann & <Bob>"}]}],
        "shapes": [
            shape(0, 1, "rectangle", [10.123, 20.456, 300.789, 400.001], rotation=15.0,
                  attributes=[{"spec_id": 11, "value": "blue"}, {"spec_id": 13, "value": "7"}]),
            shape(1, 2, "polygon", [1.5, 2.5, 100.25, 3.0, 50.0, 150.75], group=2,
                  attributes=[{"spec_id": 21, "value": ""}, {"spec_id": 22, "value": "sad"}]),
            shape(2, 3, "polyline", [5.0, 5.0, 60.0, 70.0]),
            shape(3, 3, "points", [1.0, 2.0, 3.0, 4.0]),
        ],
        "tracks": [
            {"label_id": 1, "frame": 0, "group": 1, "source": "semi-auto",
             "attributes": [{"spec_id": 11, "value": "green"}], "elements": [],
             "shapes": [tracked(0, "rectangle", [0.0, 0.0, 10.0, 10.0],
                                attrs=[{"spec_id": 12, "value": "true"}]),
                        tracked(3, "rectangle", [30.0, 15.0, 60.0, 45.0],
                                attrs=[{"spec_id": 13, "value": "99"}]),
                        tracked(4, "rectangle", [30.0, 15.0, 60.0, 45.0], outside=True)]},
            {"label_id": 2, "frame": 0, "group": None, "source": "manual",
             "attributes": [{"spec_id": 21, "value": "x"}], "elements": [],
             "shapes": [tracked(0, "polygon", [10.0, 10.0, 50.0, 10.0, 50.0, 50.0, 10.0, 50.0]),
                        tracked(2, "polygon", [20.0, 20.0, 60.0, 25.0, 40.0, 70.0],
                                outside=True),
                        tracked(3, "polygon", [0.0, 0.0, 80.0, 0.0, 40.0, 80.0])]},
            {"label_id": 3, "frame": 1, "group": 0, "source": "auto", "attributes": [],
             "elements": [],
             "shapes": [tracked(1, "points", [5.0, 5.0]), tracked(4, "points", [50.0, 65.0])]},
        ],
    }
    return frames, ann


RICH_CASE = _rich_case()


def make_dataset(frames: list[Frame], annotations: Obj) -> Dataset:
    return Dataset(kind="task", id=1, name="round trip", mode="annotation", labels=LABELS,
                   frames=frames, annotations=annotations,
                   image=lambda f: (f"image {f.name}".encode(), Path(f.name).suffix),
                   meta={"created": "2025-01-01 00:00:00+00:00", "dumped": "x"})


# --- what the formats keep: helpers ---------------------------------------------------------

def spec_of(spec_id: int) -> AttributeSpec:
    return next(s for specs in SPECS.values() for s in specs if s.id == spec_id)


def filled(label_id: int, given: list[Obj], mutable: bool | None = None) -> list[Obj]:
    """Every attribute of the label (of the given mutability) as datumaro-based formats write
    them: the given value or the default, numbers as floats, checkboxes lower-cased."""
    values = {a["spec_id"]: a["value"] for a in given}
    out = []
    for spec in SPECS[label_id]:
        if mutable is not None and spec.mutable != mutable:
            continue
        value = values.get(spec.id, spec.default_value)
        if spec.input_type == "number":
            value = str(float(value))
        elif spec.input_type == "checkbox":
            value = value.lower()
        out.append({"spec_id": spec.id, "value": value})
    return out


def split(attrs: list[Obj], mutable: bool) -> list[Obj]:
    return [a for a in attrs if spec_of(a["spec_id"]).mutable == mutable]


def carried(track: Obj) -> list[Obj]:
    """The track's keyframes in frame order, each with the attributes carried over from the
    keyframes before it (its own values win), as CVAT's interpolation does."""
    values: dict[int, str] = {}
    out = []
    for shape in sorted(track["shapes"], key=lambda s: s["frame"]):
        values.update((a["spec_id"], a["value"]) for a in shape["attributes"])
        out.append(dict(shape, attributes=[{"spec_id": k, "value": v}
                                           for k, v in values.items()]))
    return out


def _angle_diff(right: float, left: float) -> float:
    return ((right - left + 180) % 360) - 180


def per_frame(track: Obj, end: int) -> list[Obj]:
    """A track's visible shapes on every frame up to ``end`` (CVAT's
    ``get_interpolated_shapes``), with the track's attributes, group and source. Rectangles and
    single points move linearly (rotation along the shorter arc), other points hold;
    polygons follow CVAT's point matching (taken from the cvat module)."""
    keyframes = carried(track)
    polygons = {}
    if track["shapes"][0]["type"] == "polygon":
        polygons = {s["frame"]: s["points"] for s in cvat_format.interpolated_shapes(track, end)}
    out = []
    for index, shape in enumerate(keyframes):
        if shape["outside"]:
            continue
        following = keyframes[index + 1] if index + 1 < len(keyframes) else None
        out.append(shape)
        for frame in range(shape["frame"] + 1, following["frame"] if following else end):
            copy = dict(shape, frame=frame)
            if following is not None:
                offset = (frame - shape["frame"]) / (following["frame"] - shape["frame"])
                p0, p1 = shape["points"], following["points"]
                if shape["type"] == "rectangle" or (shape["type"] == "points"
                                                    and len(p0) == len(p1) == 2):
                    copy["points"] = [a + (b - a) * offset for a, b in zip(p0, p1, strict=True)]
                    r0, r1 = shape["rotation"], following["rotation"]
                    copy["rotation"] = (r0 + _angle_diff(r1, r0) * offset + 360) % 360
                elif shape["type"] == "polygon":
                    copy["points"] = polygons[frame]
            out.append(copy)
    return [dict(s, label_id=track["label_id"], group=track["group"], source=track["source"],
                 attributes=s["attributes"] + track["attributes"]) for s in out]


def plain(shape: Obj, **changes: Any) -> Obj:
    keys = ("type", "frame", "label_id", "group", "source", "occluded", "z_order", "rotation",
            "points", "attributes")
    return {**{k: shape.get(k) for k in keys}, **changes}


def rebuilt_track(track: Obj, *, group: int = 0, z_order: bool = False) -> Obj:
    """A track as importers rebuild it from per-frame shapes marked ``track_id``/``keyframe``
    (COCO, Datumaro, VOC): the keyframes, every attribute filled in; an ``outside`` keyframe
    is a copy of the frame before it, so only its frame is compared."""
    shapes = []
    for shape in carried(track):
        if shape["outside"]:
            shapes.append({"frame": shape["frame"], "outside": True})
            continue
        shapes.append({**plain(shape, z_order=shape["z_order"] if z_order else 0),
                       "outside": False,
                       "attributes": filled(track["label_id"], shape["attributes"], True)})
    return {"label_id": track["label_id"], "group": group, "source": "manual",
            "attributes": filled(track["label_id"], track["attributes"], False),
            "shapes": shapes}


# --- what the formats keep: one projection per format family --------------------------------

def project_cvat_images(frames: list[Frame], ann: Obj) -> Obj:
    shapes = [plain(s, source="file", group=s["group"] or 0) for s in ann["shapes"]]
    for track in ann["tracks"]:
        shapes += [plain(s, source="file", group=s["group"] or 0)
                   for s in per_frame(track, len(frames))]
    tags = [{"frame": t["frame"], "label_id": t["label_id"], "group": t["group"] or 0,
             "source": "file", "attributes": t["attributes"]} for t in ann["tags"]]
    return {"tags": tags, "shapes": shapes, "tracks": []}


def project_cvat_video(frames: list[Frame], ann: Obj) -> Obj:
    tracks = []
    for track in ann["tracks"]:
        tracks.append({"label_id": track["label_id"], "group": track["group"] or 0,
                       "source": "file", "attributes": track["attributes"],
                       "shapes": [{**plain(s, group=0, source="file", label_id=0),
                                   "outside": s["outside"]} for s in carried(track)]})
    last = len(frames) - 1
    for shape in ann["shapes"]:
        keyframe = {**plain(shape, group=0, source="file", label_id=0,
                            attributes=split(shape["attributes"], True)), "outside": False}
        closing = [dict(keyframe, frame=shape["frame"] + 1, outside=True)]
        tracks.append({"label_id": shape["label_id"], "group": shape["group"] or 0,
                       "source": "file", "attributes": split(shape["attributes"], False),
                       "shapes": [keyframe] + (closing if shape["frame"] + 1 < last else [])})
    return {"tags": [], "shapes": [], "tracks": tracks}


def project_coco(frames: list[Frame], ann: Obj) -> Obj:
    kinds = ("rectangle", "polygon")
    shapes = [{**plain(s, group=0, source="manual", z_order=0,
                       attributes=filled(s["label_id"], s["attributes"])), "outside": False}
              for s in ann["shapes"] if s["type"] in kinds]
    tracks = [rebuilt_track(t) for t in ann["tracks"] if t["shapes"][0]["type"] in kinds]
    return {"tags": [], "shapes": shapes, "tracks": tracks}


def project_coco_keypoints(frames: list[Frame], ann: Obj) -> Obj:
    return {"tags": [], "shapes": [], "tracks": []}


def project_datumaro(frames: list[Frame], ann: Obj) -> Obj:
    tags = [{"frame": t["frame"], "label_id": t["label_id"], "group": 0, "source": "manual",
             "attributes": filled(t["label_id"], t["attributes"])} for t in ann["tags"]]
    shapes = [{**plain(s, group=0, source="manual",
                       attributes=filled(s["label_id"], s["attributes"])), "outside": False}
              for s in ann["shapes"]]
    tracks = [rebuilt_track(t, z_order=True) for t in ann["tracks"]]
    return {"tags": tags, "shapes": shapes, "tracks": tracks}


def _unrotated_boxes(frames: list[Frame], ann: Obj) -> list[Obj]:
    shapes = list(ann["shapes"])
    for track in ann["tracks"]:
        shapes += per_frame(track, len(frames))
    return [s for s in shapes
            if s["type"] == "rectangle" and float(s["rotation"]) % 360 <= 0.00001]


def project_yolo(frames: list[Frame], ann: Obj) -> Obj:
    shapes = [{**plain(s, group=0, source="manual", occluded=False, z_order=0, rotation=0.0,
                       attributes=[]), "outside": False} for s in _unrotated_boxes(frames, ann)]
    return {"tags": [], "shapes": shapes, "tracks": []}


def project_yolo_obb(frames: list[Frame], ann: Obj) -> Obj:
    shapes = list(ann["shapes"])
    for track in ann["tracks"]:
        shapes += per_frame(track, len(frames))
    return {"tags": [], "tracks": [], "shapes": [
        {**plain(s, group=0, source="manual", occluded=False, z_order=0, attributes=[]),
         "outside": False} for s in shapes if s["type"] == "rectangle"]}


def project_yolo_segmentation(frames: list[Frame], ann: Obj) -> Obj:
    shapes = list(ann["shapes"])
    for track in ann["tracks"]:
        shapes += per_frame(track, len(frames))
    return {"tags": [], "tracks": [], "shapes": [
        {**plain(s, group=0, source="manual", occluded=False, z_order=0, attributes=[]),
         "outside": False} for s in shapes if s["type"] == "polygon"]}


def every_frame_keyframes(shapes: list[Obj], frames: int, box: Callable[[Obj], Obj]) -> list[Obj]:
    """A track rebuilt from one line per visible frame: every shape a keyframe, an outside
    keyframe after each gap and after the last shape (when that frame exists)."""
    keyframes: list[Obj] = []
    for s in shapes:
        if keyframes and keyframes[-1]["frame"] + 1 < s["frame"]:
            keyframes.append({"frame": keyframes[-1]["frame"] + 1, "outside": True})
        keyframes.append(box(s))
    if keyframes and keyframes[-1]["frame"] + 1 < frames:
        keyframes.append({"frame": keyframes[-1]["frame"] + 1, "outside": True})
    return keyframes


def project_yolo_track(frames: list[Frame], ann: Obj) -> Obj:
    """Detection Track, read back as Ultralytics Detection: tracked boxes keep their id."""
    def box(s: Obj) -> Obj:
        return {**plain(s, group=0, source="manual", occluded=False, z_order=0, rotation=0.0,
                        attributes=[]), "outside": False}

    unrotated = [s for s in ann["shapes"]
                 if s["type"] == "rectangle" and float(s["rotation"]) % 360 <= 0.00001]
    tracks = []
    for track in ann["tracks"]:
        if track["shapes"][0]["type"] != "rectangle":
            continue
        kept = [s for s in per_frame(track, len(frames)) if float(s["rotation"]) % 360 <= 1e-5]
        if kept:
            tracks.append({"label_id": track["label_id"], "group": 0, "source": "manual",
                           "attributes": [],
                           "shapes": every_frame_keyframes(kept, len(frames), box)})
    return {"tags": [], "shapes": [box(s) for s in unrotated], "tracks": tracks}


def _trailing_spaces_cut(attrs: list[Obj]) -> list[Obj]:
    """LabelMe's attribute list is split on "," and each entry stripped."""
    return [dict(a, value=a["value"].rstrip()) for a in attrs]


def project_labelme(frames: list[Frame], ann: Obj) -> Obj:
    kinds = ("rectangle", "polygon")
    shapes = [{**plain(s, group=0, source="manual", z_order=0, attributes=_trailing_spaces_cut(
        filled(s["label_id"], s["attributes"]))), "outside": False}
        for s in ann["shapes"] if s["type"] in kinds]
    tracks = []
    for track in ann["tracks"]:
        if track["shapes"][0]["type"] in kinds:
            rebuilt = rebuilt_track(track)
            rebuilt["attributes"] = _trailing_spaces_cut(rebuilt["attributes"])
            for shape in rebuilt["shapes"]:
                if "attributes" in shape:
                    shape["attributes"] = _trailing_spaces_cut(shape["attributes"])
            tracks.append(rebuilt)
    return {"tags": [], "shapes": shapes, "tracks": tracks}


def _tags_once(ann: Obj) -> list[Obj]:
    seen = sorted({(t["frame"], t["label_id"]) for t in ann["tags"]})
    return [{"frame": f, "label_id": label, "group": 0, "source": "manual", "attributes": []}
            for f, label in seen]


def _empty_is_none(attrs: list[Obj]) -> list[Obj]:
    """``<value></value>`` is read as None and CVAT stores ``str(None)`` (datumaro's VOC
    extractor + ``import_dm_annotations``): an empty text attribute comes back as "None"."""
    return [dict(a, value=a["value"] or "None") for a in attrs]


def project_voc(frames: list[Frame], ann: Obj) -> Obj:
    shapes = [{**plain(s, group=0, source="manual", z_order=0,
                       attributes=_empty_is_none(filled(s["label_id"], s["attributes"]))),
               "outside": False}
              for s in ann["shapes"] if s["type"] == "rectangle"]
    tracks = []
    for track in ann["tracks"]:
        if track["shapes"][0]["type"] == "rectangle":
            rebuilt = rebuilt_track(track)
            rebuilt["attributes"] = _empty_is_none(rebuilt["attributes"])
            for shape in rebuilt["shapes"]:
                if "attributes" in shape:
                    shape["attributes"] = _empty_is_none(shape["attributes"])
            tracks.append(rebuilt)
    return {"tags": _tags_once(ann), "shapes": shapes, "tracks": tracks}


def project_mot(frames: list[Frame], ann: Obj) -> Obj:
    def box(s: Obj) -> Obj:
        return {**plain(s, group=0, source="manual", z_order=0, rotation=0.0, attributes=[]),
                "outside": False}

    shapes = [box(s) for s in ann["shapes"] if s["type"] == "rectangle"]
    tracks = []
    for track in ann["tracks"]:
        if track["shapes"][0]["type"] != "rectangle":
            continue
        tracks.append({"label_id": track["label_id"], "group": 0, "source": "manual",
                       "attributes": [], "shapes": every_frame_keyframes(
                           per_frame(track, len(frames)), len(frames), box)})
    return {"tags": [], "shapes": shapes, "tracks": tracks}


def project_imagenet(frames: list[Frame], ann: Obj) -> Obj:
    return {"tags": _tags_once(ann), "shapes": [], "tracks": []}


def project_imagenet_images(frames: list[Frame], ann: Obj) -> Obj:
    """With images, ``<label>/<label>_<item id><ext>``: a frame in a sub-directory lands two
    levels down, where the importer (datumaro: ``find_images(max_depth=1)``) does not look."""
    nested = {f.frame for f in frames if "/" in f.name}
    return {"tags": [t for t in _tags_once(ann) if t["frame"] not in nested], "shapes": [],
            "tracks": []}


# --- comparison: sorted multisets of tuples, floats within a tolerance ----------------------

class Angle(float):
    """A rotation: compared on the circle."""


def shape_key(s: Obj, outside_geometry: bool) -> tuple:
    if s.get("outside") and not outside_geometry:
        return (s["frame"], True)
    return (s["frame"], bool(s.get("outside")), s["type"], bool(s["occluded"]), s["z_order"],
            Angle(float(s.get("rotation") or 0.0)), tuple(float(p) for p in s["points"]),
            attr_key(s["attributes"]))


def attr_key(attrs: list[Obj]) -> tuple:
    return tuple(sorted((a["spec_id"], str(a["value"])) for a in attrs))


def as_tuples(ann: Obj, *, outside_geometry: bool = True) -> list[tuple]:
    """The annotations in API shape as comparable tuples (ids and track ``frame`` dropped)."""
    out: list[tuple] = []
    for t in ann["tags"]:
        out.append(("tag", t["frame"], t["label_id"], t["group"] or 0, t["source"],
                    attr_key(t["attributes"])))
    for s in ann["shapes"]:
        out.append(("shape", s["label_id"], s["group"] or 0, s["source"],
                    shape_key(s, outside_geometry)))
    for t in ann["tracks"]:
        shapes = tuple(shape_key(s, outside_geometry)
                       for s in sorted(t["shapes"], key=lambda s: s["frame"]))
        out.append(("track", t["label_id"], t["group"] or 0, t["source"],
                    attr_key(t["attributes"]), shapes))
    return sorted(out, key=repr)


def close(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, Angle) and isinstance(b, float):
        return abs(_angle_diff(a, b)) <= tol
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tol
    return type(a) is type(b) and a == b


def assert_same_multiset(expected: list[tuple], got: list[tuple], tol: float) -> None:
    missing, extra = [], list(got)
    for item in expected:
        match = next((i for i, g in enumerate(extra) if close(item, g, tol)), None)
        if match is None:
            missing.append(item)
        else:
            extra.pop(match)
    assert not missing and not extra, (
        "round trip differs\nexpected, not found:\n  " + "\n  ".join(map(repr, missing))
        + "\nimported, not expected:\n  " + "\n  ".join(map(repr, extra)))


# --- the formats ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fmt:
    module: str
    export: str
    import_: str
    project: Callable[[list[Frame], Obj], Obj]
    tolerance: Callable[[list[Frame]], float]  # of coordinates and rotations
    outside_geometry: bool = False  # whether an outside keyframe keeps its own shape
    groups: bool = True  # whether cases carry groups
    save_images: bool = False


def two_decimals(frames: list[Frame]) -> float:
    return 0.006


def coco_precision(frames: list[Frame]) -> float:
    return 0.0151  # bbox: x, y, w, h each to 2 decimals, x + w rounded again


def exact(frames: list[Frame]) -> float:
    return 1e-6


def yolo_precision(frames: list[Frame]) -> float:
    # "%.6f" of centre and size relative to the image: x0 = (cx - w/2) * W, x1 = x0 + w * W
    return 1.5e-6 * max(max(f.width, f.height) for f in frames) + 1e-9


FORMATS = {
    "cvat-images": Fmt("cvat", "CVAT for images 1.1", "CVAT 1.1", project_cvat_images,
                       two_decimals, outside_geometry=True),
    "cvat-video": Fmt("cvat", "CVAT for video 1.1", "CVAT 1.1", project_cvat_video,
                      two_decimals, outside_geometry=True),
    "coco": Fmt("coco", "COCO 1.0", "COCO 1.0", project_coco, coco_precision, groups=False),
    "coco-keypoints": Fmt("coco", "COCO Keypoints 1.0", "COCO Keypoints 1.0",
                          project_coco_keypoints, coco_precision, groups=False),
    "datumaro": Fmt("datumaro", "Datumaro 1.0", "Datumaro 1.0", project_datumaro, exact,
                    groups=False),
    "yolo": Fmt("yolo", "YOLO 1.1", "YOLO 1.1", project_yolo, yolo_precision),
    "ultralytics": Fmt("yolo", "Ultralytics YOLO Detection 1.0",
                       "Ultralytics YOLO Detection 1.0", project_yolo, yolo_precision),
    "ultralytics-track": Fmt("yolo", "Ultralytics YOLO Detection Track 1.0",
                             "Ultralytics YOLO Detection 1.0", project_yolo_track, yolo_precision),
    "ultralytics-obb": Fmt("yolo", "Ultralytics YOLO Oriented Bounding Boxes 1.0",
                           "Ultralytics YOLO Oriented Bounding Boxes 1.0", project_yolo_obb,
                           lambda frames: 0.1),  # rotation of a 1-pixel box from 6 decimals
    "ultralytics-segmentation": Fmt("yolo", "Ultralytics YOLO Segmentation 1.0",
                                    "Ultralytics YOLO Segmentation 1.0",
                                    project_yolo_segmentation, yolo_precision),
    "ultralytics-classification": Fmt("yolo", "Ultralytics YOLO Classification 1.0",
                                      "Ultralytics YOLO Classification 1.0", project_imagenet,
                                      exact),
    "labelme": Fmt("labelme", "LabelMe 3.0", "LabelMe 3.0", project_labelme, two_decimals,
                   groups=False),
    "voc": Fmt("voc", "PASCAL VOC 1.1", "PASCAL VOC 1.1", project_voc, exact),
    "mot": Fmt("mot", "MOT 1.1", "MOT 1.1", project_mot, exact),
    "imagenet": Fmt("imagenet", "ImageNet 1.0", "ImageNet 1.0", project_imagenet, exact),
    "imagenet-images": Fmt("imagenet", "ImageNet 1.0", "ImageNet 1.0", project_imagenet_images,
                           exact, save_images=True),
}
XFAIL: dict[str, str] = {}


def has_module(name: str) -> bool:
    return importlib.util.find_spec(f"mockcvat.formats.{name}") is not None


def marks(name: str) -> list[Any]:
    found = [pytest.mark.skipif(not has_module(FORMATS[name].module),
                                reason=f"mockcvat.formats.{FORMATS[name].module} does not exist")]
    if name in XFAIL:
        found.append(pytest.mark.xfail(strict=True, reason=XFAIL[name]))
    return found


def without_groups(ann: Obj) -> Obj:
    return {kind: [dict(o, group=0) for o in objects] for kind, objects in ann.items()}


@pytest.mark.parametrize("name", [pytest.param(name, marks=marks(name)) for name in FORMATS])
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases())
@example(case=RICH_CASE)
def test_round_trip(name: str, case: tuple[list[Frame], Obj]) -> None:
    fmt = FORMATS[name]
    module = importlib.import_module(f"mockcvat.formats.{fmt.module}")
    frames, annotations = case
    note(f"frames: {frames!r}\nannotations: {annotations!r}")  # printed when a case fails
    if not fmt.groups:
        annotations = without_groups(annotations)
    dataset = make_dataset(frames, annotations)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export"
        module.export(dataset, out, save_images=fmt.save_images, format_name=fmt.export)
        back = module.import_(make_dataset(frames, {"tags": [], "shapes": [], "tracks": []}),
                              out, format_name=fmt.import_)
    expected = as_tuples(fmt.project(frames, annotations), outside_geometry=fmt.outside_geometry)
    got = as_tuples(back, outside_geometry=fmt.outside_geometry)
    assert_same_multiset(expected, got, fmt.tolerance(frames))
