"""Tracks ↔ per-frame shapes, shared by every format module.

One implementation of CVAT 2.26's ``cvat/apps/dataset_manager/annotation.py``
``TrackManager.get_interpolated_shapes`` / ``TrackManager.to_shapes`` (export side) and of
``bindings.py``'s ``_validate_track_shapes`` (import side):

* rectangles, ellipses, cuboids, skeletons and single points move linearly between keyframes,
  rotation along the shorter arc; polygons and polylines follow CVAT's point matching
  (``interpolate_position``); multi-point ``points`` and masks keep the left keyframe (CVAT
  cannot interpolate masks either; a track mixing shape types, which CVAT refuses with
  ``NotImplementedError``, also keeps the left keyframe);
* mutable attributes missing on a keyframe are carried from the previous one;
* outside keyframes are kept (marked ``outside``), interpolated outside shapes only with
  ``include_outside``; a visible track continues after its last keyframe to ``end_frame``;
  a keyframe at or after ``end_frame`` still shapes the interpolation up to it.

Shapes are dicts in the API's JSON shape (``type``, ``frame``, ``points``, ``rotation``,
``outside``, ``attributes`` [{spec_id, value}], ...). Nothing passed in is modified.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]


# --- one pair of keyframes ------------------------------------------------------------------

def _copy_shape(source: Obj, frame: int, points: list[float] | None = None,
                rotation: float | None = None) -> Obj:
    """``copy_shape``: a non-keyframe copy of ``source`` on ``frame``."""
    copied = dict(source)
    copied["attributes"] = [dict(a) for a in source.get("attributes", [])]
    copied["keyframe"] = False
    copied["frame"] = frame
    if rotation is not None:
        copied["rotation"] = rotation
    copied["points"] = list(source["points"] if points is None else points)
    if "elements" in source:
        copied["elements"] = list(source["elements"])
    return copied


def _angle_diff(right: float, left: float) -> float:
    """``find_angle_diff``: the signed difference along the shorter arc."""
    diff = ((right - left + 180) % 360) - 180
    if abs(diff) >= 180:  # CVAT's expression collapses to 1 in the only reachable case (-180)
        diff = 360 - abs(diff) * -1 if diff > 0 else 1
    return diff


def _in(frame: int, included: set[int] | None) -> bool:
    return included is None or frame in included


def _linear(shape0: Obj, shape1: Obj, included: set[int] | None) -> list[Obj]:
    """``simple_interpolation``: points and rotation moved linearly."""
    out = []
    distance = shape1["frame"] - shape0["frame"]
    p0, p1 = shape0["points"], shape1["points"]
    r0, r1 = shape0.get("rotation", 0) or 0, shape1.get("rotation", 0) or 0
    for frame in range(shape0["frame"] + 1, shape1["frame"]):
        offset = (frame - shape0["frame"]) / distance
        rotation = (r0 + _angle_diff(r1, r0) * offset + 360) % 360
        points = [a + (b - a) * offset for a, b in zip(p0, p1, strict=False)]
        if _in(frame, included):
            out.append(_copy_shape(shape0, frame, points, rotation))
    return out


def _hold(shape0: Obj, shape1: Obj, included: set[int] | None) -> list[Obj]:
    """Copies of the left keyframe (``points_interpolation`` for several points)."""
    return [_copy_shape(shape0, frame) for frame in range(shape0["frame"] + 1, shape1["frame"])
            if _in(frame, included)]


def _curve_length(points: list[tuple[float, float]]) -> float:
    return sum(math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1])
               for i in range(1, len(points)))


def _offset_vector(points: list[tuple[float, float]]) -> list[float]:
    """``curve_to_offset_vec``: each point's position along the curve, 0..1."""
    length = _curve_length(points)
    vector, acc = [0.0], 0.0
    for i in range(1, len(points)):
        acc += math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1])
        vector.append(acc / length if length else math.nan)  # numpy gives nan there
    return vector


def _nearest(value: float, curve: list[float]) -> int:
    """``find_nearest_pair``."""
    best, best_distance = 0, abs(value - curve[0])
    for i in range(1, len(curve)):
        distance = abs(value - curve[i])
        if distance < best_distance:
            best, best_distance = i, distance
    return best


def interpolate_position(left: list[float], right: list[float], offset: float) -> list[float]:
    """CVAT's ``interpolate_position``: match the points of two curves by their relative
    position along them, interpolate the pairs, then thin the result (``reduce_interpolation``).
    Flat ``[x0, y0, x1, y1, ...]`` lists in and out."""
    lp = list(zip(left[0::2], left[1::2], strict=False))
    rp = list(zip(right[0::2], right[1::2], strict=False))
    lvec, rvec = _offset_vector(lp), _offset_vector(rp)
    matching = {i: [_nearest(v, rvec)] for i, v in enumerate(lvec)}
    matched = {j for js in matching.values() for j in js}
    for j in range(len(rvec)):
        if j not in matched:
            matching[_nearest(rvec[j], lvec)].append(j)
    for key in matching:
        matching[key] = sorted(matching[key])

    inter = []
    for i, (lx, ly) in enumerate(lp):
        for j in matching[i]:
            rx, ry = rp[j]
            inter.append((lx + (rx - lx) * offset, ly + (ry - ly) * offset))

    indexes: dict[int, list[int]] = {}
    acc = 0
    for i in range(len(lp)):
        indexes[i] = []
        for _ in matching[i]:
            indexes[i].append(acc)
            acc += 1

    reduced: list[tuple[float, float]] = []

    def minimize(base_length: float, n: int, start: int, stop: int) -> list:
        threshold = base_length / (2 * n)
        kept = [inter[start]]
        last = start
        for i in range(start + 1, stop):
            if math.dist(inter[last], inter[i]) >= threshold:
                kept.append(inter[i])
                last = i
        kept.append(inter[stop])
        if len(kept) == 2 and math.dist(inter[start], inter[stop]) < threshold:
            return [((kept[0][0] + kept[1][0]) / 2, (kept[0][1] + kept[1][1]) / 2)]
        return kept

    def left_segment(start: int, stop: int) -> None:
        s, e = indexes[start][0], indexes[stop][0]
        if s == e:
            reduced.append(inter[s])
            return
        reduced.extend(minimize(_curve_length(lp[start:stop + 1]), stop - start + 1, s, e))

    def right_segment(i: int) -> None:
        start, stop = matching[i][0], matching[i][-1]
        reduced.extend(minimize(_curve_length(rp[start:stop + 1]), stop - start + 1,
                                indexes[i][0], indexes[i][-1]))

    opened = None
    for i in range(len(lp)):
        if len(matching[i]) == 1:
            if opened is not None:
                if matching[i][0] == matching[opened][0]:
                    continue
                left_segment(opened, i - 1)
            opened = i
        else:
            if opened is not None:
                left_segment(opened, i - 1)
                opened = None
            right_segment(i)
    if opened is not None:
        left_segment(opened, len(lp) - 1)
    return [c for point in reduced for c in point]


def _polyshape(shape0: Obj, shape1: Obj, included: set[int] | None) -> list[Obj]:
    """``polyshape_interpolation``: polygons are closed for the computation."""
    closed = shape0["type"] == "polygon"
    p0, p1 = list(shape0["points"]), list(shape1["points"])
    if closed:
        p0, p1 = p0 + p0[:2], p1 + p1[:2]
    out = []
    distance = shape1["frame"] - shape0["frame"]
    for frame in range(shape0["frame"] + 1, shape1["frame"]):
        points = interpolate_position(p0, p1, (frame - shape0["frame"]) / distance)
        if _in(frame, included):
            out.append(_copy_shape(shape0, frame, points[:-2] if closed else points))
    return out


def _interpolate(shape0: Obj, shape1: Obj, included: set[int] | None) -> list[Obj]:
    """``interpolate``: the shapes strictly between two keyframes."""
    kind = shape0["type"]
    if kind != shape1["type"]:  # CVAT: NotImplementedError; mockcvat holds the left shape
        return _hold(shape0, shape1, included)
    if kind in ("rectangle", "cuboid", "ellipse", "skeleton"):
        return _linear(shape0, shape1, included)
    if kind == "points":
        if len(shape0["points"]) == 2 and len(shape1["points"]) == 2:
            return _linear(shape0, shape1, included)
        return _hold(shape0, shape1, included)
    if kind in ("polygon", "polyline"):
        return _polyshape(shape0, shape1, included)
    return _hold(shape0, shape1, included)  # masks: CVAT cannot interpolate them either


# --- whole tracks ---------------------------------------------------------------------------

def interpolated_shapes(track: Obj, end_frame: int, *, included: set[int] | None = None,
                        include_outside: bool = False) -> list[Obj]:
    """CVAT's ``TrackManager.get_interpolated_shapes(track, 0, end_frame)``: the track's shape
    on every frame of ``[track.frame, end_frame)`` (only ``included`` frames when given), in
    frame order — keyframes (``keyframe: True``, outside ones too) and interpolated shapes
    (``keyframe: False``; outside ones only with ``include_outside``). Keyframes missing
    ``rotation``/``z_order``/``occluded``/``outside``/``attributes`` get the API defaults."""
    shapes: list[Obj] = []
    prev: Obj | None = None
    for shape in sorted(copy.deepcopy(track.get("shapes") or []), key=lambda s: s["frame"]):
        shape.setdefault("rotation", 0)
        shape.setdefault("z_order", 0)
        shape.setdefault("occluded", False)
        shape.setdefault("outside", False)
        shape.setdefault("attributes", [])
        if prev is not None and end_frame <= shape["frame"]:
            for item in sorted(_interpolate(prev, shape, included) + [shape],
                               key=lambda s: s["frame"]):
                if item["frame"] >= end_frame:
                    break
                shapes.append(item)
            prev = None
            break
        if prev is not None:
            known = {a["spec_id"] for a in shape["attributes"]}
            shape["attributes"].extend(dict(a) for a in prev["attributes"]
                                       if a["spec_id"] not in known)
            if not prev["outside"] or include_outside:
                shapes.extend(_interpolate(prev, shape, included))
        shape["keyframe"] = True
        shapes.append(shape)
        prev = shape
    if prev is not None and (not prev["outside"] or include_outside):
        shapes.extend(_copy_shape(prev, frame) for frame in range(prev["frame"] + 1, end_frame)
                      if _in(frame, included))
    start = track.get("frame", 0)
    return [s for s in shapes
            if start <= s["frame"] < end_frame
            and (s.get("keyframe") or not s["outside"] or include_outside)
            and _in(s["frame"], included)]


def track_shapes(track: Obj, track_id: int, end_frame: int, *,
                 included: set[int] | None = None, include_outside: bool = False) -> list[Obj]:
    """One track of CVAT's ``TrackManager.to_shapes``, elements aside: ``interpolated_shapes``
    labelled as standalone shapes — the track's ``label_id``, ``group``, ``source``, its
    (immutable) attributes appended, ``track_id`` and empty ``elements``."""
    out = []
    for shape in interpolated_shapes(track, end_frame, included=included,
                                     include_outside=include_outside):
        shape["label_id"] = track["label_id"]
        shape["group"] = track.get("group")
        shape["track_id"] = track_id
        shape["source"] = track.get("source", "manual")
        shape["attributes"] = shape["attributes"] + [dict(a) for a in
                                                     track.get("attributes", [])]
        shape["elements"] = []
        out.append(shape)
    return out


def tracks_to_shapes(tracks: Iterable[Obj], end_frame: int, *,
                     included: set[int] | None = None,
                     include_outside: bool = False) -> list[Obj]:
    """CVAT's ``TrackManager.to_shapes``: per-frame shapes of every track (``track_id`` = its
    index), skeleton elements attached to their parent's shape of the same frame (element
    tracks always with their outside shapes); unless ``include_outside``, a skeleton frame
    whose elements are all outside is dropped."""
    out: list[Obj] = []
    for idx, track in enumerate(tracks):
        by_frame = {s["frame"]: s for s in track_shapes(track, idx, end_frame, included=included,
                                                          include_outside=include_outside)}
        if not by_frame:
            continue
        if track.get("elements"):
            frames = set(by_frame) if included is None else set(by_frame) & included
            for element in tracks_to_shapes(track["elements"], end_frame, included=frames,
                                            include_outside=True):
                by_frame[element["frame"]]["elements"].append(element)
            if not include_outside:
                by_frame = {f: s for f, s in by_frame.items()
                            if not s["elements"] or not all(e["outside"] for e in s["elements"])}
        out.extend(by_frame.values())
    return out


# --- import: keyframes back into tracks -----------------------------------------------------

def validate_track_shapes(shapes: Iterable[Obj], stop_frame: int) -> list[Obj]:
    """CVAT's ``bindings._validate_track_shapes`` for imported per-frame track shapes (dicts
    with ``frame``, ``outside`` and ``keyframe``): keep keyframes and visibility changes, close
    a gap after a visible shape and the end of a visible track (up to ``stop_frame``) with an
    ``outside`` keyframe one frame later. Returns new dicts, all marked ``keyframe``."""
    out: list[Obj] = []
    prev: Obj | None = None
    for shape in sorted(shapes, key=lambda s: s["frame"]):
        prev_visible = prev is not None and not prev["outside"]
        visible = not shape["outside"]
        gap = prev_visible and prev["frame"] + 1 < shape["frame"]
        if gap:
            out.append(dict(prev, outside=True, keyframe=True, frame=prev["frame"] + 1))
        if prev_visible != visible or (visible and (gap or shape["keyframe"])):
            shape = dict(shape, keyframe=True)
            out.append(shape)
        prev = shape
    if prev is not None and not prev["outside"] and prev["frame"] + 1 <= stop_frame:
        out.append(dict(prev, outside=True, keyframe=True, frame=prev["frame"] + 1))
    return out
