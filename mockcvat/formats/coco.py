"""COCO 1.0 and COCO Keypoints 1.0, written and read the way CVAT 2.26 does it.

CVAT hands both formats to Datumaro (``coco_instances`` / ``coco_person_keypoints``) after
converting its annotations with ``bindings.CvatToDmAnnotationConverter``; everything below
reproduces the files that pipeline writes and the annotations its importer creates:

* archive: ``annotations/instances_<subset>.json`` (keypoints: ``person_keypoints_<subset>.json``),
  written for every subset even when it has no annotations; with images,
  ``images/<subset>/<file_name>``. Tasks and jobs have the single subset ``default``.
* JSON (compact, key order as Datumaro's converter): ``licenses``, ``info``, ``categories`` (every
  label, sub-labels included with their skeleton as ``supercategory``; id = 1 + position by label
  id), ``images`` (ids 1.. in item order, shared across the subsets of a project),
  ``annotations`` (ids 1.. per file).
* kept by COCO 1.0: rectangles (bbox only, ``segmentation: []``), polygons (polygon lists),
  masks and ellipses (uncompressed RLE, ``iscrowd: 1``); shapes with the same non-zero group
  are merged into one instance. Tags, polylines, points, cuboids and skeletons are dropped.
  Tracks become one shape per visible frame (interpolated as CVAT interpolates) with
  ``track_id`` (track index) and ``keyframe`` attributes.
* COCO Keypoints 1.0 keeps skeletons only (plus boxes/polygons/masks grouped with one).
* import: the reverse; annotations carrying ``track_id`` and ``keyframe`` are rebuilt into
  tracks (keyframes kept, ``outside`` added after gaps and at the end), labels are matched by
  name (unknown → error), images by file path without extension.

No numpy or pycocotools here: RLE encoding, polygon rasterisation (pycocotools' ``rleFrPoly``),
``toBbox`` and the compressed-RLE string codec are reimplemented in plain Python.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec

EXPORTS = ("COCO 1.0", "COCO Keypoints 1.0")
IMPORTS = ("COCO 1.0", "COCO Keypoints 1.0")

_INSTANCES = "instances"
_KEYPOINTS = "person_keypoints"
_DEFAULT_SUBSET = "default"
_VIDEO_FRAME_EXT = ".PNG"  # cvat FrameProvider.VIDEO_FRAME_EXT
_DEFAULT_IMAGE_EXT = ".jpg"  # datumaro CocoPath.IMAGE_EXT
_SOURCES = {"auto", "semi-auto", "manual", "file"}


def _task_for(format_name: str) -> str:
    return _KEYPOINTS if format_name == "COCO Keypoints 1.0" else _INSTANCES


def _round2(value: float) -> float:
    """numpy.around(value, 2): scale, round half to even, scale back."""
    return round(float(value) * 100) / 100


# =============================================================================================
# RLE and rasterisation (pycocotools semantics: column-major, counts start with zeros)
# =============================================================================================


def _runs(bits: bytes | bytearray) -> list[int]:
    """Run lengths of a 0/1 byte string, starting with the count of zeros."""
    counts: list[int] = []
    pos, n, want = 0, len(bits), 1
    while pos < n:
        nxt = bits.find(b"\x01" if want else b"\x00", pos)
        if nxt < 0:
            nxt = n
        counts.append(nxt - pos)
        pos, want = nxt, 1 - want
    return counts or [0]


def _from_runs(counts: Iterable[int], size: int) -> bytearray:
    bits = bytearray(size)
    pos, val = 0, 0
    for count in counts:
        count = int(count)
        if val and count:
            bits[pos : pos + count] = b"\x01" * min(count, size - pos)
        pos += count
        val ^= 1
    return bits[:size]


def _colmajor(rowmajor: bytes | bytearray, h: int, w: int) -> bytearray:
    return bytearray(b"".join(rowmajor[c::w] for c in range(w)))


def _rowmajor(colmajor: bytes | bytearray, h: int, w: int) -> bytearray:
    return bytearray(b"".join(colmajor[r::h] for r in range(h)))


def _rle_area(counts: list[int]) -> int:
    return sum(counts[1::2])


def _rle_to_bbox(counts: list[int], h: int, w: int) -> list[float]:
    """pycocotools ``rleToBbox`` (including its full-height quirk for runs crossing columns)."""
    m = (len(counts) // 2) * 2
    if m == 0:
        return [0.0, 0.0, 0.0, 0.0]
    xs, ys, xe, ye, cc, xp = w, h, 0, 0, 0, 0
    for j in range(m):
        cc += counts[j]
        t = cc - j % 2
        y = t % h
        x = (t - y) // h
        if j % 2 == 0:
            xp = x
        elif xp < x:
            ys, ye = 0, h - 1
        xs, xe, ys, ye = min(xs, x), max(xe, x), min(ys, y), max(ye, y)
    return [float(xs), float(ys), float(xe - xs + 1), float(ye - ys + 1)]


def _poly_counts(xy: list[float], h: int, w: int) -> list[int]:
    """pycocotools ``rleFrPoly``: a polygon rasterised to column-major RLE counts."""
    k = len(xy) // 2
    scale = 5.0
    x = [int(scale * xy[2 * j] + 0.5) for j in range(k)]
    y = [int(scale * xy[2 * j + 1] + 0.5) for j in range(k)]
    x.append(x[0])
    y.append(y[0])
    u: list[int] = []
    v: list[int] = []
    for j in range(k):
        xs, xe, ys, ye = x[j], x[j + 1], y[j], y[j + 1]
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx >= dy:
            s = (ye - ys) / dx if dx else 0.0
            for d in range(dx + 1):
                t = dx - d if flip else d
                u.append(t + xs)
                v.append(int(ys + s * t + 0.5))
        else:
            s = (xe - xs) / dy
            for d in range(dy + 1):
                t = dy - d if flip else d
                v.append(t + ys)
                u.append(int(xs + s * t + 0.5))
    bx: list[int] = []
    by: list[int] = []
    for j in range(1, len(u)):
        if u[j] == u[j - 1]:
            continue
        xd = float(u[j] if u[j] < u[j - 1] else u[j] - 1)
        xd = (xd + 0.5) / scale - 0.5
        if math.floor(xd) != xd or xd < 0 or xd > w - 1:
            continue
        yd = float(v[j] if v[j] < v[j - 1] else v[j - 1])
        yd = (yd + 0.5) / scale - 0.5
        yd = 0.0 if yd < 0 else (float(h) if yd > h else yd)
        bx.append(int(xd))
        by.append(int(math.ceil(yd)))
    a = sorted([bx[j] * h + by[j] for j in range(len(bx))] + [h * w])
    prev = 0
    for j, value in enumerate(a):
        a[j], prev = value - prev, value
    counts = [a[0]]
    j = 1
    while j < len(a):
        if a[j] > 0:
            counts.append(a[j])
            j += 1
        else:
            j += 1
            if j < len(a):
                counts[-1] += a[j]
                j += 1
    return counts


def _union_counts(all_counts: list[list[int]], h: int, w: int) -> list[int]:
    if len(all_counts) == 1:
        return list(all_counts[0])
    acc = 0
    for counts in all_counts:
        acc |= int.from_bytes(_from_runs(counts, h * w), "big")
    return _runs(acc.to_bytes(h * w, "big"))


def _decode_rle_string(s: str) -> list[int]:
    """pycocotools ``rleFrString`` (the compressed ``counts`` string)."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _cvat_mask_to_rowmajor(points: list[float], h: int, w: int) -> bytearray:
    """CVAT mask ``[runs..., left, top, right, bottom]`` (row-major over the inclusive box)."""
    left, top, right, bottom = (math.trunc(v) for v in points[-4:])
    bw, bh = right - left + 1, bottom - top + 1
    tight = _from_runs(points[:-4], max(bw, 0) * max(bh, 0))
    full = bytearray(h * w)
    for r in range(bh):
        y = top + r
        if not 0 <= y < h:
            continue
        x0, x1 = max(left, 0), min(left + bw, w)
        if x0 < x1:
            full[y * w + x0 : y * w + x1] = tight[r * bw + (x0 - left) : r * bw + (x1 - left)]
    return full


def _rowmajor_to_cvat_mask(full: bytearray, h: int, w: int) -> list[float] | None:
    rows = [r for r in range(h) if 1 in full[r * w : (r + 1) * w]]
    if not rows:
        return None
    top, bottom = rows[0], rows[-1]
    left, right = w, 0
    for r in rows:
        line = full[r * w : (r + 1) * w]
        left = min(left, line.index(1))
        right = max(right, w - 1 - line[::-1].index(1))
    tight = b"".join(full[r * w + left : r * w + right + 1] for r in range(top, bottom + 1))
    runs = _runs(tight)
    return [float(c) for c in runs] + [float(left), float(top), float(right), float(bottom)]


def _ellipse_rowmajor(points: list[float], rotation: float, h: int, w: int) -> bytearray:
    """A filled ellipse (CVAT uses cv2.ellipse on rounded centre/axes; this is its geometry)."""
    cx, cy, right_x, top_y = points[:4]
    rx, ry = round(right_x - cx), round(cy - top_y)
    cx, cy = round(cx), round(cy)
    angle = math.radians(rotation)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    full = bytearray(h * w)
    reach = max(rx, ry) + 1
    for y in range(max(0, cy - reach), min(h, cy + reach + 1)):
        for x in range(max(0, cx - reach), min(w, cx + reach + 1)):
            dx, dy = x - cx, y - cy
            u = dx * cos_a + dy * sin_a
            v = -dx * sin_a + dy * cos_a
            if (u / max(rx, 0.5)) ** 2 + (v / max(ry, 0.5)) ** 2 <= 1.0:
                full[y * w + x] = 1
    return full


# =============================================================================================
# Tracks → per-frame shapes (CVAT's TrackManager interpolation)
# =============================================================================================


def _angle_diff(right: float, left: float) -> float:
    diff = ((right - left + 180) % 360) - 180
    if abs(diff) >= 180:
        diff = 360 - abs(diff) * -1 if diff > 0 else 1
    return diff


def _copy_shape(src: dict, frame: int, points: list | None = None, rotation: float | None = None):
    out = copy.deepcopy(src)
    out["keyframe"] = False
    out["frame"] = frame
    if rotation is not None:
        out["rotation"] = rotation
    if points is not None:
        out["points"] = points
    return out


def _simple(s0: dict, s1: dict) -> list[dict]:
    out = []
    dist = s1["frame"] - s0["frame"]
    for frame in range(s0["frame"] + 1, s1["frame"]):
        off = (frame - s0["frame"]) / dist
        rot = (
            s0.get("rotation", 0)
            + _angle_diff(s1.get("rotation", 0), s0.get("rotation", 0)) * off
            + 360
        ) % 360
        pts = [a + (b - a) * off for a, b in zip(s0["points"], s1["points"], strict=False)]
        out.append(_copy_shape(s0, frame, pts, rot))
    return out


def _curve_length(pts: list[tuple[float, float]]) -> float:
    return sum(
        math.hypot(pts[i][0] - pts[i - 1][0], pts[i][1] - pts[i - 1][1]) for i in range(1, len(pts))
    )


def _offsets(pts: list[tuple[float, float]]) -> list[float]:
    length = _curve_length(pts)
    vec, acc = [0.0], 0.0
    for i in range(1, len(pts)):
        acc += math.hypot(pts[i][0] - pts[i - 1][0], pts[i][1] - pts[i - 1][1])
        vec.append(acc / length if length else math.nan)
    return vec


def _nearest(value: float, curve: list[float]) -> int:
    best, dist = 0, abs(value - curve[0])
    for i in range(1, len(curve)):
        d = abs(value - curve[i])
        if d < dist:
            best, dist = i, d
    return best


def _interpolate_position(
    left_flat: list[float], right_flat: list[float], offset: float
) -> list[float]:
    left = list(zip(left_flat[0::2], left_flat[1::2], strict=False))
    right = list(zip(right_flat[0::2], right_flat[1::2], strict=False))
    lvec, rvec = _offsets(left), _offsets(right)
    matching = {i: [_nearest(v, rvec)] for i, v in enumerate(lvec)}
    matched = {m for ms in matching.values() for m in ms}
    for r in range(len(rvec)):
        if r not in matched:
            matching[_nearest(rvec[r], lvec)].append(r)
    for key in matching:
        matching[key] = sorted(matching[key])

    interp: list[tuple[float, float]] = []
    for li, lp in enumerate(left):
        for ri in matching[li]:
            rp = right[ri]
            interp.append((lp[0] + (rp[0] - lp[0]) * offset, lp[1] + (rp[1] - lp[1]) * offset))

    indexes: dict[int, list[int]] = {}
    acc = 0
    for i in range(len(left)):
        indexes[i] = []
        for _ in matching[i]:
            indexes[i].append(acc)
            acc += 1

    reduced: list[tuple[float, float]] = []

    def minimize(base_length: float, n: int, start: int, stop: int) -> list[tuple[float, float]]:
        threshold = base_length / (2 * n)
        kept = [interp[start]]
        last = start
        for i in range(start + 1, stop):
            if (
                math.hypot(interp[last][0] - interp[i][0], interp[last][1] - interp[i][1])
                >= threshold
            ):
                kept.append(interp[i])
                last = i
        kept.append(interp[stop])
        if len(kept) == 2:
            if (
                math.hypot(interp[start][0] - interp[stop][0], interp[start][1] - interp[stop][1])
                < threshold
            ):
                return [((kept[0][0] + kept[1][0]) / 2, (kept[0][1] + kept[1][1]) / 2)]
        return kept

    def left_segment(start: int, stop: int) -> None:
        s_i, e_i = indexes[start][0], indexes[stop][0]
        if s_i == e_i:
            reduced.append(interp[s_i])
            return
        reduced.extend(minimize(_curve_length(left[start : stop + 1]), stop - start + 1, s_i, e_i))

    def right_segment(lp: int) -> None:
        start, stop = matching[lp][0], matching[lp][-1]
        reduced.extend(
            minimize(
                _curve_length(right[start : stop + 1]),
                stop - start + 1,
                indexes[lp][0],
                indexes[lp][-1],
            )
        )

    opened = None
    for i in range(len(left)):
        if len(matching[i]) == 1:
            if opened is not None:
                if matching[i][0] == matching[opened][0]:
                    continue
                left_segment(opened, i - 1)
                opened = i
            else:
                opened = i
        else:
            if opened is not None:
                left_segment(opened, i - 1)
                opened = None
            right_segment(i)
    if opened is not None:
        left_segment(opened, len(left) - 1)
    return [c for p in reduced for c in p]


def _polyshape(s0: dict, s1: dict) -> list[dict]:
    closed = s0["type"] == "polygon"
    p0, p1 = list(s0["points"]), list(s1["points"])
    if closed:
        p0 += p0[:2]
        p1 += p1[:2]
    out = []
    dist = s1["frame"] - s0["frame"]
    for frame in range(s0["frame"] + 1, s1["frame"]):
        pts = _interpolate_position(p0, p1, (frame - s0["frame"]) / dist)
        out.append(_copy_shape(s0, frame, pts[:-2] if closed else pts))
    return out


def _interpolate(s0: dict, s1: dict) -> list[dict]:
    kind = s0["type"]
    if kind in ("rectangle", "ellipse", "cuboid"):
        return _simple(s0, s1)
    if kind == "points":
        if len(s0["points"]) == 2 and len(s1["points"]) == 2:
            return _simple(s0, s1)
        return [_copy_shape(s0, f) for f in range(s0["frame"] + 1, s1["frame"])]
    if kind in ("polygon", "polyline"):
        return _polyshape(s0, s1)
    # skeletons (their points live in the element tracks) and masks: copies of the left keyframe
    return [_copy_shape(s0, f) for f in range(s0["frame"] + 1, s1["frame"])]


def _track_shapes(track: dict, end_frame: int, *, include_outside: bool) -> list[dict]:
    keyframes = sorted(copy.deepcopy(track.get("shapes") or []), key=lambda s: s["frame"])
    if not keyframes:
        return []
    out: list[dict] = []
    prev: dict | None = None
    for shape in keyframes:
        shape.setdefault("rotation", 0)
        shape.setdefault("z_order", 0)
        shape.setdefault("occluded", False)
        shape.setdefault("outside", False)
        shape.setdefault("attributes", [])
        if prev is not None:
            have = {a["spec_id"] for a in shape["attributes"]}
            shape["attributes"] += [
                copy.deepcopy(a) for a in prev["attributes"] if a["spec_id"] not in have
            ]
            if not prev["outside"]:
                out.extend(_interpolate(prev, shape))
        shape["keyframe"] = True
        out.append(shape)
        prev = shape
        if end_frame <= shape["frame"]:
            break
    if prev is not None and not prev["outside"]:
        last = copy.deepcopy(prev)
        last["frame"] = end_frame
        out.extend(_interpolate(prev, last))
    return [s for s in out if s["frame"] < end_frame and (include_outside or not s["outside"])]


# =============================================================================================
# Export
# =============================================================================================


class _Labels:
    """Label lookups in CVAT's order (by label id), with Datumaro's category indexes."""

    def __init__(self, dataset: Dataset):
        self.ordered: list[LabelSpec] = sorted(dataset.labels, key=lambda lb: lb.id)
        self.by_id = {lb.id: lb for lb in self.ordered}
        self.index = {lb.id: i for i, lb in enumerate(self.ordered)}
        self.children: dict[int, list[LabelSpec]] = {}
        for lb in self.ordered:
            if lb.parent_id is not None:
                self.children.setdefault(lb.parent_id, []).append(lb)

    def name(self, label_id: int) -> str:
        return self.by_id[label_id].name

    def parent_name(self, label: LabelSpec) -> str:
        return self.by_id[label.parent_id].name if label.parent_id in self.by_id else ""

    def skeleton_layout(self, label: LabelSpec) -> tuple[list[str], list[list[int]]]:
        """Sub-label names in the SVG's circle order, and its joints (as datumaro orders them)."""
        subs = self.children.get(label.id, [])
        names: list[str] = []
        joints: list[tuple[int, int]] = []
        sub_by_id = {str(s.id): s.name for s in subs}
        for tag, attrs in re.findall(r"<\s*(circle|line)\b([^>]*)>", label.svg or ""):
            found = dict(re.findall(r'([\w-]+)\s*=\s*"([^"]*)"', attrs))
            if tag == "circle":
                name = found.get("data-label-name") or sub_by_id.get(found.get("data-label-id", ""))
                if name:
                    names.append(name)
            elif "data-node-from" in found and "data-node-to" in found:
                try:
                    joints.append((int(found["data-node-from"]), int(found["data-node-to"])))
                except ValueError:
                    pass
        if not names:
            names = [s.name for s in subs]
        return names, [list(j) for j in set(joints)]


def _attr_values(labels: _Labels, label_id: int, attributes: list[dict]) -> dict[str, Any]:
    """``CvatToDmAnnotationConverter._convert_attrs``: every label attribute, typed."""
    given: dict[int, str] = {a["spec_id"]: a["value"] for a in attributes or []}
    out: dict[str, Any] = {}
    for spec in labels.by_id[label_id].attributes:
        value = given.get(spec.id, spec.default_value)
        if spec.input_type == "number":
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = value
        elif spec.input_type == "checkbox":
            value = str(value).lower() == "true"
        out[spec.name] = value
    return out


class _Ann:
    """A Datumaro-like annotation for one item."""

    def __init__(
        self, kind: str, label_id: int, group: int, z_order: int, attributes: dict, **geo: Any
    ):
        self.kind = kind  # bbox | polygon | mask | skeleton
        self.label_id = label_id
        self.group = group or 0
        self.z_order = z_order or 0
        self.attributes = attributes
        self.geo = geo


def _frame_anns(labels: _Labels, frame: Frame, shapes: list[dict]) -> list[_Ann]:
    h, w = frame.height, frame.width
    anns: list[_Ann] = []
    for shape in sorted(shapes, key=lambda s: s.get("z_order", 0)):
        kind = shape["type"]
        attrs = _attr_values(labels, shape["label_id"], shape.get("attributes", []))
        attrs["occluded"] = bool(shape.get("occluded", False))
        if kind == "rectangle":
            attrs["rotation"] = shape.get("rotation", 0)
        if "track_id" in shape:
            attrs["track_id"] = shape["track_id"]
            attrs["keyframe"] = shape.get("keyframe", True)
        group, z = shape.get("group") or 0, shape.get("z_order", 0)
        pts = [_round2(p) for p in shape.get("points") or []]
        if kind == "rectangle" and len(pts) >= 4:
            anns.append(_Ann("bbox", shape["label_id"], group, z, attrs, points=pts[:4]))
        elif kind == "polygon" and len(pts) >= 6:
            anns.append(_Ann("polygon", shape["label_id"], group, z, attrs, points=pts))
        elif kind in ("mask", "ellipse"):
            raw = list(shape.get("points") or [])
            if kind == "mask" and len(raw) >= 4:
                full = _cvat_mask_to_rowmajor(raw, h, w)
            elif kind == "ellipse" and len(raw) >= 4:
                full = _ellipse_rowmajor(raw, shape.get("rotation", 0) or 0, h, w)
            else:
                continue
            counts = _runs(_colmajor(full, h, w))
            anns.append(_Ann("mask", shape["label_id"], group, z, attrs, counts=counts))
        elif kind == "skeleton":
            elements = []
            for el in shape.get("elements") or []:
                el_label = labels.by_id.get(el["label_id"])
                if el_label is None:
                    continue
                el_attrs = _attr_values(labels, el["label_id"], el.get("attributes", []))
                if "track_id" in el:
                    el_attrs["track_id"] = el["track_id"]
                    el_attrs["keyframe"] = el.get("keyframe", True)
                vis = 0 if el.get("outside") else (1 if el.get("occluded") else 2)
                elements.append(
                    {
                        "label": el_label,
                        "points": [_round2(p) for p in (el.get("points") or [])[:2]],
                        "visibility": vis,
                        "attributes": el_attrs,
                    }
                )
            attrs["keyframe"] = any(e["attributes"].get("keyframe") for e in elements)
            anns.append(_Ann("skeleton", shape["label_id"], group, z, attrs, elements=elements))
        # polyline, points, cuboid: not COCO
    return anns


def _ann_bbox(ann: _Ann, h: int, w: int) -> list[float]:
    if ann.kind == "mask":
        return _rle_to_bbox(ann.geo["counts"], h, w)
    if ann.kind == "skeleton":
        xs: list[float] = []
        ys: list[float] = []
        for el in ann.geo["elements"]:
            if el["visibility"] != 0 and len(el["points"]) >= 2:
                xs.append(el["points"][0])
                ys.append(el["points"][1])
        x0, x1, y0, y1 = (
            min(xs, default=0),
            max(xs, default=0),
            min(ys, default=0),
            max(ys, default=0),
        )
        return [x0, y0, x1 - x0, y1 - y0]
    pts = ann.geo["points"]
    xs, ys = pts[0::2], pts[1::2]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _ann_area(ann: _Ann, h: int, w: int) -> float:
    if ann.kind == "bbox":
        _, _, bw, bh = _ann_bbox(ann, h, w)
        return bw * bh
    if ann.kind == "polygon":
        x, y, bw, bh = _ann_bbox(ann, h, w)
        return float(_rle_area(_poly_counts(ann.geo["points"], int(y + bh), int(x + bw))))
    if ann.kind == "mask":
        return float(_rle_area(ann.geo["counts"]))
    return 0.0


def _find_instances(anns: list[_Ann]) -> list[list[_Ann]]:
    spatial = sorted(
        (a for a in anns if a.kind in ("bbox", "polygon", "mask")), key=lambda a: a.group
    )
    groups: list[list[_Ann]] = []
    by_group: dict[int, list[_Ann]] = {}
    for a in spatial:
        if not a.group:
            groups.append([a])
        elif a.group in by_group:
            by_group[a.group].append(a)
        else:
            by_group[a.group] = [a]
            groups.append(by_group[a.group])
    return groups


def _instance_elem(group: list[_Ann], h: int, w: int) -> dict[str, Any]:
    """``_InstancesConverter.find_instance_parts`` + ``convert_instance`` (guess mode)."""
    leader = max(group, key=lambda a: _ann_area(a, h, w))
    boxes = [_ann_bbox(a, h, w) for a in group]
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    bbox = [x0, y0, x1 - x0, y1 - y0]
    polygons = [a.geo["points"] for a in group if a.kind == "polygon"]
    masks = [a for a in group if a.kind == "mask"]
    use_masks = (
        leader.attributes.get("is_crowd", any(m.label_id == leader.label_id for m in masks)) is True
    )
    segmentation: Any
    if use_masks:
        parts = [_poly_counts(p, h, w) for p in polygons] + [m.geo["counts"] for m in masks]
        counts = _union_counts(parts, h, w) if parts else None
        if counts is not None:
            segmentation = {"counts": counts, "size": [h, w]}
            area = float(_rle_area(counts))
        else:
            segmentation, area = [], bbox[2] * bbox[3]
        is_crowd = counts is not None
    else:
        # (masks grouped with polygons of another label would be vectorised by datumaro; the
        # mock keeps only the polygons in that rare case)
        is_crowd = False
        segmentation = [[float(c) for c in p] for p in polygons]
        if segmentation:
            area = float(_rle_area(_union_counts([_poly_counts(p, h, w) for p in polygons], h, w)))
        else:
            segmentation, area = [], bbox[2] * bbox[3]
    elem = {
        "id": 0,
        "image_id": 0,
        "category_id": 0,
        "segmentation": segmentation,
        "area": float(area),
        "bbox": [_round2(n) for n in bbox],
        "iscrowd": int(is_crowd),
    }
    attrs = {k: v for k, v in leader.attributes.items() if k not in ("is_crowd", "score")}
    if "score" in leader.attributes:
        try:
            elem["score"] = float(leader.attributes["score"])
        except (TypeError, ValueError):
            pass
    if attrs:
        elem["attributes"] = attrs
    elem["_leader"] = leader
    return elem


def _keypoints_of(ann: _Ann, labels: _Labels) -> dict[str, Any]:
    names, _ = labels.skeleton_layout(labels.by_id[ann.label_id])
    position = {name: i for i, name in enumerate(names)}
    elements = ann.geo["elements"]
    if elements:
        ordered: list[Any] = [None] * max(len(elements), len(names))
        spare = len(names)
        for el in elements:
            pos = position.get(el["label"].name)
            if pos is None or ordered[pos] is not None:
                pos = spare
                spare += 1
                ordered.extend([None] * max(0, spare - len(ordered)))
            ordered[pos] = el
        elements = [e for e in ordered if e is not None]
    keypoints: list[float] = []
    for el in elements:
        keypoints.extend([*el["points"], el["visibility"]])
    return {
        "keypoints": keypoints,
        "num_keypoints": sum(1 for el in elements if el["visibility"] != 0),
    }


def _item_annotations(task: str, anns: list[_Ann], labels: _Labels, frame: Frame) -> list[dict]:
    h, w = frame.height, frame.width
    out: list[dict] = []

    def finish(elem: dict, leader: _Ann) -> dict:
        elem.pop("_leader", None)
        elem["category_id"] = labels.index[leader.label_id] + 1
        return elem

    if task == _INSTANCES:
        for group in _find_instances(anns):
            elem = _instance_elem(group, h, w)
            out.append(finish(elem, elem["_leader"]))
        return out

    skeletons = [a for a in anns if a.kind == "skeleton"]
    if not skeletons:
        return out
    by_group: dict[int, list[_Ann]] = {}
    for a in sorted(anns, key=lambda a: a.group):
        by_group.setdefault(a.group, []).append(a)
    for gid, members in by_group.items():
        if not gid or not any(m.kind in ("bbox", "polygon", "mask") for m in members):
            for sk in (m for m in members if m.kind == "skeleton"):
                bbox = _ann_bbox(sk, h, w)
                elem = {
                    "id": 0,
                    "image_id": 0,
                    "category_id": 0,
                    "segmentation": [],
                    "area": float(bbox[2] * bbox[3]),
                    "bbox": [_round2(n) for n in bbox],
                    "iscrowd": 0,
                }
                attrs = {k: v for k, v in sk.attributes.items() if k not in ("is_crowd", "score")}
                if attrs:
                    elem["attributes"] = attrs
                elem.update(_keypoints_of(sk, labels))
                out.append(finish(elem, sk))
    for group in _find_instances(anns):
        leader_group = group[0].group
        sk = next((a for a in skeletons if leader_group and a.group == leader_group), None)
        if sk is None:
            continue
        elem = _instance_elem(group, h, w)
        leader = elem["_leader"]
        elem.update(_keypoints_of(sk, labels))
        out.append(finish(elem, leader))
    return out


def _frame_file_name(dataset: Dataset, frame: Frame, image_ext: str | None) -> str:
    name = frame.name
    if os.path.splitext(name)[1]:
        return name
    if dataset.mode == "interpolation":
        return name + _VIDEO_FRAME_EXT
    return name + (image_ext or _DEFAULT_IMAGE_EXT)


def _shapes_by_frame(dataset: Dataset, frames: list[Frame]) -> dict[tuple[int, int], list[dict]]:
    """CVAT's ``group_by_frame``: shapes, then each track's visible per-frame shapes."""
    ann = dataset.annotations or {}
    keys = {(f.task_id, f.frame) for f in frames}
    out: dict[tuple[int, int], list[dict]] = {k: [] for k in keys}
    task_of_frame: dict[int, int] = {f.frame: f.task_id for f in frames}

    def key(frame: int) -> tuple[int, int] | None:
        k = (task_of_frame.get(frame, 0), frame)
        return k if k in out else None

    for shape in ann.get("shapes") or []:
        k = key(shape["frame"])
        if k is not None:
            out[k].append(shape)

    sizes: dict[int, int] = {}
    for f in dataset.frames:
        sizes[f.task_id] = max(sizes.get(f.task_id, 0), f.frame + 1)
    end_frame = max(sizes.values(), default=0)
    for idx, track in enumerate(ann.get("tracks") or []):
        per_frame: dict[int, dict] = {}
        for shape in _track_shapes(track, end_frame, include_outside=False):
            shape.update(
                label_id=track["label_id"],
                group=track.get("group") or 0,
                track_id=idx,
                source=track.get("source", "manual"),
            )
            shape["attributes"] = list(shape.get("attributes", [])) + list(
                track.get("attributes", [])
            )
            shape["elements"] = []
            per_frame[shape["frame"]] = shape
        if track.get("elements"):
            for el_idx, el_track in enumerate(track["elements"]):
                for el in _track_shapes(el_track, end_frame, include_outside=True):
                    if el["frame"] in per_frame:
                        el.update(label_id=el_track["label_id"], track_id=el_idx)
                        el["attributes"] = list(el.get("attributes", [])) + list(
                            el_track.get("attributes", [])
                        )
                        per_frame[el["frame"]]["elements"].append(el)
            per_frame = {
                f: s
                for f, s in per_frame.items()
                if not s["elements"] or not all(e["outside"] for e in s["elements"])
            }
        for frame, shape in sorted(per_frame.items()):
            k = key(frame)
            if k is not None:
                out[k].append(shape)
    return out


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    task = _task_for(format_name)
    labels = _Labels(dataset)
    out = Path(out)
    frames = sorted(
        (f for f in dataset.frames if not f.deleted), key=lambda f: (f.task_id, f.frame)
    )
    if dataset.kind == "project":
        subset_of = {id(f): f.subset or _DEFAULT_SUBSET for f in frames}
    else:
        subset_of = {id(f): _DEFAULT_SUBSET for f in frames}
    subsets: dict[str, list[Frame]] = {}
    for f in frames:
        subsets.setdefault(subset_of[id(f)], []).append(f)
    if not subsets:
        subsets[_DEFAULT_SUBSET] = []

    categories: list[dict[str, Any]] = []
    for idx, lb in enumerate(labels.ordered):
        if task == _INSTANCES:
            categories.append(
                {"id": idx + 1, "name": lb.name, "supercategory": labels.parent_name(lb)}
            )
        elif lb.parent_id is None:
            cat: dict[str, Any] = {
                "id": idx + 1,
                "name": lb.name,
                "supercategory": "",
                "keypoints": [],
                "skeleton": [],
            }
            if lb.type == "skeleton":
                names, joints = labels.skeleton_layout(lb)
                cat["keypoints"], cat["skeleton"] = names, joints
            categories.append(cat)

    shapes = _shapes_by_frame(dataset, frames)
    image_ids: dict[str, int] = {}
    ann_dir = out / "annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    for subset, subset_frames in subsets.items():
        data: dict[str, Any] = {
            "licenses": [{"name": "", "id": 0, "url": ""}],
            "info": {
                "contributor": "",
                "date_created": "",
                "description": "",
                "url": "",
                "version": "",
                "year": "",
            },
            "categories": categories,
            "images": [],
            "annotations": [],
        }
        for frame in subset_frames:
            image_ext = None
            if save_images:
                content, image_ext = dataset.image(frame)
            file_name = _frame_file_name(dataset, frame, image_ext)
            if save_images:
                target = out / "images" / subset / file_name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            item_id = os.path.splitext(file_name)[0]
            image_id = image_ids.setdefault(item_id, len(image_ids) + 1)
            data["images"].append(
                {
                    "id": image_id,
                    "width": int(frame.width),
                    "height": int(frame.height),
                    "file_name": file_name,
                    "license": 0,
                    "flickr_url": "",
                    "coco_url": "",
                    "date_captured": 0,
                }
            )
            anns = _frame_anns(labels, frame, shapes.get((frame.task_id, frame.frame), []))
            for elem in _item_annotations(task, anns, labels, frame):
                elem["image_id"] = image_id
                data["annotations"].append(elem)
        for n, elem in enumerate(data["annotations"], start=1):
            elem["id"] = n
        path = ann_dir / f"{task}_{subset}.json"
        path.write_text(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )


# =============================================================================================
# Import
# =============================================================================================


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFailed(f"Failed to parse COCO annotation file '{path.name}': {exc}") from None
    if not isinstance(data, dict):
        raise ImportFailed(
            f"'{path.name}' is not a COCO annotation file: a JSON object is expected"
        )
    return data


def _find_files(source: Path, task: str) -> list[tuple[Path, str | None]]:
    source = Path(source)
    if source.is_file():
        if zipfile.is_zipfile(source):
            raise ImportFailed("Expected an extracted archive or a JSON file, got a ZIP archive")
        stem = source.stem
        parts = stem.split(task + "_", 1)
        return [(source, parts[1] if len(parts) == 2 and parts[0] == "" else None)]
    found: list[tuple[Path, str | None]] = []
    for path in sorted(source.rglob(f"{task}_*.json")):
        rel = path.relative_to(source)
        if len(rel.parts) > 5 or path.parent.name != "annotations":
            continue
        found.append((path, path.stem[len(task) + 1 :]))
    if not found:
        fmt = "coco-keypoints" if task == _KEYPOINTS else "coco"
        raise ImportFailed(
            f"Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/format-{fmt}). "
            f"Dataset must contain a file: annotations/{task}_<subset>.json"
        )
    return found


def _field(obj: Any, key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ImportFailed(f"{where}: missing field '{key}'")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        if not (kinds is float or (isinstance(kinds, tuple) and float in kinds)) or not isinstance(
            value, int
        ):
            raise ImportFailed(f"{where}: field '{key}' has an invalid type {type(value).__name__}")
    return value


class _Importer:
    def __init__(self, dataset: Dataset, task: str):
        self.dataset = dataset
        self.task = task
        self.labels = _Labels(dataset)
        self.frames = {f.frame: f for f in dataset.frames}
        self.by_path: dict[str, int] = {}
        for f in dataset.frames:
            self.by_path.setdefault(os.path.splitext(f.name)[0], f.frame)
        self.stop_frame = max(self.frames, default=0)
        self.shapes: list[dict] = []
        self.tracks: dict[Any, dict] = {}

    # -- labels and attributes -----------------------------------------------------------------
    def label(self, name: str, parent_id: int | None = None) -> LabelSpec:
        found = self.dataset.label_named(name, parent_id)
        if found is None:
            raise ValueError(f"Label {name!r} is not registered for this task")
        return found

    @staticmethod
    def _spec(label: LabelSpec, name: str, mutable: bool | None = None) -> AttributeSpec | None:
        return next(
            (
                a
                for a in label.attributes
                if a.name == name and (mutable is None or a.mutable == mutable)
            ),
            None,
        )

    def attr_value(self, label: LabelSpec, spec: AttributeSpec, value: Any) -> str:
        text = str(value)
        if spec.input_type == "checkbox" and text != spec.default_value:
            if isinstance(value, str):
                text = value.lower()
                if text not in ("true", "false"):
                    raise ValueError(
                        f"Failed to convert attribute '{label.name}'='{value}': unexpected value"
                    )
            else:
                text = "true" if value else "false"
        return text

    def attributes(
        self, label: LabelSpec, raw: dict[str, Any], mutable: bool | None = None
    ) -> list[dict]:
        out = []
        for name, value in raw.items():
            spec = self._spec(label, name, mutable)
            if spec is not None:
                out.append({"spec_id": spec.id, "value": self.attr_value(label, spec, value)})
        return out

    # -- frames -------------------------------------------------------------------------------
    def match(self, item_id: str, root_hint: str | None) -> int:
        frame = self.by_path.get(item_id)
        if frame is None and root_hint and not item_id.startswith(root_hint):
            frame = self.by_path.get(os.path.join(root_hint, item_id))
        if frame is None:
            try:
                frame = int(item_id)
            except ValueError:
                frame = None
        if frame is None or frame not in self.frames:
            raise ImportFailed(f"Could not match item id: '{item_id}' with any task frame")
        return frame

    def root_hint(self, item_ids: list[str]) -> str | None:
        if not item_ids:
            return None
        longest = max(item_ids, key=lambda i: len(PurePosixPath(i).parts))
        parts = PurePosixPath(longest).parts
        for path, frame in self.by_path.items():
            if PurePosixPath(path).parts[-len(parts) :] == parts:
                match = os.path.dirname(os.path.splitext(self.frames[frame].name)[0])
                prefix = match[: -len(os.path.dirname(longest)) or None]
                return prefix[:-1] if prefix.endswith("/") else prefix
        return None

    # -- annotations -------------------------------------------------------------------------
    def parse_file(self, path: Path) -> list[tuple[str, list[dict]]]:
        data = _load_json(path)
        where = path.name
        cats = sorted(
            (
                {
                    "id": _field(c, "id", int, f"{where} category"),
                    "name": _field(c, "name", str, f"{where} category"),
                    "keypoints": c.get("keypoints") if isinstance(c, dict) else None,
                }
                for c in _field(data, "categories", list, where)
            ),
            key=lambda c: c["id"],
        )
        cat_by_id = {c["id"]: c for c in cats}
        images: dict[int, dict] = {}
        order: list[int] = []
        for info in _field(data, "images", list, where):
            image_id = _field(info, "id", int, f"{where} image")
            file_name = _field(info, "file_name", str, f"{where} image {image_id}")
            images[image_id] = {"info": info, "id": os.path.splitext(file_name)[0], "anns": []}
            order.append(image_id)
        for ann in _field(data, "annotations", list, where):
            image_id = _field(ann, "image_id", int, f"{where} annotation")
            if image_id not in images:
                raise ImportFailed(
                    f"{where}: annotation #{ann.get('id')}: unknown image id '{image_id}'"
                )
            images[image_id]["anns"].extend(
                self.parse_ann(ann, images[image_id]["info"], cat_by_id, where)
            )
        return [(images[i]["id"], images[i]["anns"]) for i in order]

    def parse_ann(self, ann: dict, info: dict, cats: dict[int, dict], where: str) -> list[dict]:
        ann_id = _field(ann, "id", int, f"{where} annotation")
        where = f"{where} annotation #{ann_id}"
        attributes = dict(ann.get("attributes") or {})
        cat_id = _field(ann, "category_id", int, where)
        if cat_id and cat_id not in cats:
            raise ImportFailed(f"{where}: undeclared category id '{cat_id}'")
        category = cats.get(cat_id) if cat_id else None
        attributes["is_crowd"] = bool(_field(ann, "iscrowd", int, where))
        base = {"category": category, "group": ann_id, "attributes": attributes}
        parsed: list[dict] = []
        if self.task == _KEYPOINTS:
            kps = _field(ann, "keypoints", list, where)
            if len(kps) % 3:
                raise ImportFailed(
                    f"{where}: keypoints have invalid value count {len(kps)}, not divisible by 3"
                )
            names = (category or {}).get("keypoints") or []
            elements = []
            for i in range(0, len(kps), 3):
                x, y, v = kps[i : i + 3]
                name = names[i // 3] if i // 3 < len(names) else str(i // 3 + 1)
                elements.append(
                    {"name": name, "points": [_round2(x), _round2(y)], "visibility": int(v)}
                )
            parsed.append({**base, "kind": "skeleton", "elements": elements})
        segmentation = _field(ann, "segmentation", (list, dict), where)
        if segmentation and segmentation != [[]]:
            if isinstance(segmentation, list):
                for poly in segmentation:
                    if not isinstance(poly, list) or len(poly) % 2 or len(poly) < 6:
                        raise ImportFailed(
                            f"{where}: a polygon needs an even number (≥ 6) of coordinates"
                        )
                    parsed.append({**base, "kind": "polygon", "points": [_round2(p) for p in poly]})
            else:
                h = _field(info, "height", int, where)
                w = _field(info, "width", int, where)
                counts = segmentation.get("counts")
                if isinstance(counts, list):
                    size = segmentation.get("size")
                    if not isinstance(size, list) or len(size) != 2:
                        raise ImportFailed(f"{where}: mask size must have 2 values")
                    if list(size) != [h, w]:
                        raise ImportFailed(
                            f"{where}: mask does not match image size: {tuple(size)} vs. {(h, w)}"
                        )
                    counts = [int(c) for c in counts]
                elif isinstance(counts, str):
                    counts = _decode_rle_string(counts)
                else:
                    raise ImportFailed(f"{where}: mask 'counts' must be a list or a string")
                parsed.append({**base, "kind": "mask", "counts": counts, "size": (h, w)})
        elif self.task == _INSTANCES:
            bbox = _field(ann, "bbox", list, where)
            if len(bbox) != 4:
                raise ImportFailed(f"{where}: bbox has wrong value count {len(bbox)}, expected 4")
            x, y, bw, bh = (float(v) for v in bbox)
            parsed.append(
                {
                    **base,
                    "kind": "bbox",
                    "points": [_round2(x), _round2(y), _round2(x + bw), _round2(y + bh)],
                }
            )
        return parsed

    def add_item(self, item_id: str, anns: list[dict], frame: int) -> None:
        if self.task == _KEYPOINTS:
            anns = [a for a in anns if a["kind"] != "bbox"]
        sizes: dict[int, int] = {}
        for a in anns:
            sizes[a["group"]] = sizes.get(a["group"], 0) + 1
        kept = sorted(g for g, n in sizes.items() if n > 1 and g)
        groups = {g: i + 1 for i, g in enumerate(kept)}
        for idx, a in enumerate(anns):
            try:
                self.add_ann(a, frame, groups.get(a["group"], 0))
            except ImportFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - CVAT wraps every error the same way
                raise ImportFailed(
                    f"Image {item_id}: can't import annotation #{idx} ({a['kind']}): {exc}"
                ) from None

    def add_ann(self, a: dict, frame: int, group: int) -> None:
        if a["category"] is None:
            raise ValueError("annotation has no label")
        label = self.label(a["category"]["name"])
        raw = dict(a["attributes"])
        points: list[float] = []
        kind = {"bbox": "rectangle", "polygon": "polygon", "mask": "mask", "skeleton": "skeleton"}[
            a["kind"]
        ]
        if a["kind"] == "mask":
            h, w = a["size"]
            full = _rowmajor(_from_runs(a["counts"], h * w), h, w)
            points = _rowmajor_to_cvat_mask(full, h, w) or []
            if not points:
                raise ValueError("empty mask")
        elif a["kind"] != "skeleton":
            points = [float(p) for p in a["points"]]
        rotation = float(raw.pop("rotation", 0.0) or 0.0)
        occluded = _to_bool(raw.pop("occluded", None))
        keyframe = _to_bool(raw.get("keyframe"))
        outside = _to_bool(raw.pop("outside", None))
        track_id = raw.pop("track_id", None)
        source = (
            str(raw.pop("source")).lower()
            if str(raw.get("source", "")).lower() in _SOURCES
            else "manual"
        )
        elements = []
        if a["kind"] == "skeleton":
            for el in a["elements"]:
                el_label = self.label(el["name"], label.id)
                elements.append(
                    {
                        "label_id": el_label.id,
                        "points": [float(p) for p in el["points"]],
                        "occluded": el["visibility"] == 1,
                        "outside": el["visibility"] == 0,
                    }
                )
        if track_id is None or "keyframe" not in raw:
            shape = {
                "type": kind,
                "frame": frame,
                "label_id": label.id,
                "group": group,
                "source": source,
                "occluded": occluded,
                "outside": False,
                "z_order": 0,
                "rotation": rotation,
                "points": points,
                "attributes": self.attributes(label, raw),
                "elements": [],
            }
            for el in elements:
                shape["elements"].append(
                    {
                        "type": "points",
                        "frame": frame,
                        "label_id": el["label_id"],
                        "group": group,
                        "source": "manual",
                        "occluded": el["occluded"],
                        "outside": el["outside"],
                        "z_order": 0,
                        "rotation": 0.0,
                        "points": el["points"],
                        "attributes": [],
                    }
                )
            self.shapes.append(shape)
            return
        track = self.tracks.setdefault(
            track_id,
            {"label": label, "group": group, "source": source, "shapes": [], "elements": {}},
        )
        track["shapes"].append(
            {
                "type": kind,
                "frame": frame,
                "occluded": occluded,
                "outside": outside,
                "keyframe": keyframe,
                "z_order": 0,
                "rotation": rotation,
                "points": points,
                "raw": raw,
            }
        )
        for el in elements:
            track["elements"].setdefault(el["label_id"], []).append(
                {
                    "type": "points",
                    "frame": frame,
                    "occluded": el["occluded"],
                    "outside": el["outside"],
                    "keyframe": keyframe,
                    "z_order": 0,
                    "rotation": 0.0,
                    "points": el["points"],
                    "raw": {},
                }
            )

    def keyframes(self, shapes: list[dict]) -> list[dict]:
        """``_validate_track_shapes``: keep keyframes and visibility changes, close gaps."""
        out: list[dict] = []
        prev: dict | None = None
        for shape in sorted(shapes, key=lambda s: s["frame"]):
            prev_visible = prev is not None and not prev["outside"]
            visible = not shape["outside"]
            gap = prev_visible and prev["frame"] + 1 < shape["frame"]
            if gap:
                prev = dict(prev, outside=True, keyframe=True, frame=prev["frame"] + 1)
                out.append(prev)
            if prev_visible != visible or (visible and (gap or shape["keyframe"])):
                shape = dict(shape, keyframe=True)
                out.append(shape)
            prev = shape
        if prev is not None and not prev["outside"] and prev["frame"] + 1 <= self.stop_frame:
            out.append(dict(prev, outside=True, keyframe=True, frame=prev["frame"] + 1))
        return out

    def build_tracks(self) -> list[dict]:
        result = []
        for track in self.tracks.values():
            label: LabelSpec = track["label"]
            shapes = self.keyframes(track["shapes"])
            elements = []
            for el_label_id, el_shapes in track["elements"].items():
                el_kf = self.keyframes(el_shapes)
                if el_kf:
                    elements.append(
                        {
                            "frame": min(s["frame"] for s in el_kf),
                            "label_id": el_label_id,
                            "group": 0,
                            "source": track["source"],
                            "attributes": [],
                            "shapes": [
                                self._tracked(s, self.labels.by_id[el_label_id]) for s in el_kf
                            ],
                        }
                    )
            if not shapes and not elements:
                continue
            immutable: list[dict] = []
            for s in shapes:
                immutable = self.attributes(label, s["raw"], mutable=False)
            result.append(
                {
                    "frame": min(s["frame"] for s in shapes) if shapes else 0,
                    "label_id": label.id,
                    "group": track["group"],
                    "source": track["source"],
                    "shapes": [self._tracked(s, label) for s in shapes],
                    "attributes": immutable,
                    "elements": elements,
                }
            )
        return result

    def _tracked(self, s: dict, label: LabelSpec) -> dict:
        return {
            "type": s["type"],
            "frame": s["frame"],
            "occluded": s["occluded"],
            "outside": s["outside"],
            "z_order": s["z_order"],
            "rotation": s["rotation"],
            "points": s["points"],
            "attributes": self.attributes(label, s["raw"], mutable=True),
        }


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value in (0, 1) and bool(value)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1", "t", "y")
    return False


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict:
    task = _task_for(format_name)
    importer = _Importer(dataset, task)
    items: list[tuple[str, list[dict]]] = []
    for path, _subset in _find_files(Path(source), task):
        items.extend(importer.parse_file(path))
    if items:
        hint = importer.root_hint([item_id for item_id, _ in items])
        for item_id, anns in items:
            frame = importer.match(item_id, hint)
            importer.add_item(item_id, anns, frame)
    return {"tags": [], "shapes": importer.shapes, "tracks": importer.build_tracks()}
