"""The geometry of quality control and consensus (CVAT's ``quality_reports.py``:
``_match_segments``, ``_OKS``, ``_LineMatcher``, ``_segment_iou``, and datumaro's ``bbox_iou``
and ``find_instances``).

Annotations are ``Ann`` dicts: ``type`` (a CVAT shape type, or ``"tag"``), ``label_id``,
``points``, ``rotation``, ``z_order``, ``group``, ``occluded``, ``elements`` (skeletons: dicts
with ``label_id``, ``points``, ``outside``, ``occluded``), ``attributes`` ({name: value}).
Masks and polygons are compared as pixels (pycocotools RLE), as CVAT does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from mockcvat.formats.common import cvat_mask_to_rowmajor, ellipse_rowmajor

Ann = dict[str, Any]
SEGMENT_TYPES = ("polygon", "mask", "ellipse")


# --- assignment -------------------------------------------------------------------------------
def linear_sum_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """A minimal-cost perfect matching of a square matrix (the Hungarian method with
    potentials; scipy's ``linear_sum_assignment`` for the square case CVAT uses)."""
    n = cost.shape[0]
    if n == 0:
        return []
    inf = float("inf")
    u, v = [0.0] * (n + 1), [0.0] * (n + 1)
    p, way = [0] * (n + 1), [0] * (n + 1)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv, used = [inf] * (n + 1), [False] * (n + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    return sorted((p[j] - 1, j - 1) for j in range(1, n + 1))


def match_segments(a_objs: Sequence[Any], b_objs: Sequence[Any],
                   distance: Callable[[Any, Any], float], threshold: float,
                   label_matcher: Callable[[Any, Any], bool]
                   ) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]], list[Any], list[Any],
                              dict[tuple[int, int], float]]:
    """CVAT's ``_match_segments``: the assignment maximising the total similarity; a pair
    below ``threshold`` (or with similarity 0) is two unmatched objects; a matched pair whose
    labels differ is a mismatch. Returns (matches, mismatches, a_unmatched, b_unmatched,
    similarities by (a index, b index))."""
    if not a_objs or not b_objs:
        return [], [], list(a_objs), list(b_objs), {}
    size = max(len(a_objs), len(b_objs))
    similarities: dict[tuple[int, int], float] = {}
    costs = np.ones((size, size))
    for i, a in enumerate(a_objs):
        for j, b in enumerate(b_objs):
            similarity = float(distance(a, b))
            similarities[(i, j)] = similarity
            costs[i, j] = 1 - similarity
    costs[costs > 1 - threshold] = 1
    matches, mismatches, a_unmatched, b_unmatched = [], [], [], []
    for i, j in linear_sum_assignment(costs):
        if costs[i, j] > 1 - threshold or costs[i, j] == 1:
            if i < len(a_objs):
                a_unmatched.append(a_objs[i])
            if j < len(b_objs):
                b_unmatched.append(b_objs[j])
        elif label_matcher(a_objs[i], b_objs[j]):
            matches.append((a_objs[i], b_objs[j]))
        else:
            mismatches.append((a_objs[i], b_objs[j]))
    return matches, mismatches, a_unmatched, b_unmatched, similarities


# --- boxes ------------------------------------------------------------------------------------
def bbox_of(points: Sequence[float]) -> tuple[float, float, float, float]:
    """(x, y, w, h) of a point list."""
    xs, ys = points[0::2], points[1::2]
    if not xs:
        return 0.0, 0.0, 0.0, 0.0
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def bbox_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """datumaro's ``bbox_iou`` of two (x, y, w, h) boxes: -1 when they do not intersect."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    width = min(ax + aw, bx + bw) - max(ax, bx)
    height = min(ay + ah, by + bh) - max(ay, by)
    if width <= 0 or height <= 0:
        return -1.0
    inter = width * height
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def max_bbox(boxes: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    if not boxes:
        return 0.0, 0.0, 0.0, 0.0
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def mean_bbox(boxes: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    n = len(boxes)
    x0 = sum(b[0] for b in boxes) / n
    y0 = sum(b[1] for b in boxes) / n
    x1 = sum(b[0] + b[2] for b in boxes) / n
    y1 = sum(b[1] + b[3] for b in boxes) / n
    return x0, y0, x1 - x0, y1 - y0


def rectangle_polygon(points: Sequence[float], rotation: float) -> list[float]:
    """A (rotated) rectangle's corners, as CVAT's ``match_boxes._to_polygon``."""
    x0, y0, x1, y1 = points[:4]
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
    angle = rotation / 180 * math.pi
    if angle:
        center = (corners[0] + corners[2]) / 2
        cos, sin = math.cos(angle), math.sin(angle)
        corners = (corners - center) @ np.array([[cos, sin], [-sin, cos]]) + center
    return [float(v) for v in corners.flatten()]


def box_of_ann(ann: Ann) -> tuple[float, float, float, float]:
    """The annotation's bbox (skeletons: of their visible elements)."""
    if ann["type"] == "skeleton":
        points = [c for e in ann.get("elements", []) if not e.get("outside")
                  for c in e["points"]]
        return bbox_of(points)
    if ann["type"] == "rectangle":
        x0, y0, x1, y1 = ann["points"][:4]
        return x0, y0, x1 - x0, y1 - y0
    if ann["type"] == "mask":
        left, top, right, bottom = ann["points"][-4:]
        return left, top, right - left + 1, bottom - top + 1
    if ann["type"] == "ellipse":
        cx, cy, rx, ty = ann["points"][:4]
        return cx - (rx - cx), ty, 2 * (rx - cx), 2 * (cy - ty)
    return bbox_of(ann["points"])


# --- pixels -----------------------------------------------------------------------------------
def rle(ann: Ann, height: int, width: int) -> Any:
    """The annotation's area as one pycocotools RLE."""
    kind = ann["type"]
    if kind in ("polygon", "rectangle"):
        polygon = (rectangle_polygon(ann["points"], ann.get("rotation", 0))
                   if kind == "rectangle" else list(ann["points"]))
        return mask_utils.merge(mask_utils.frPyObjects([polygon], height, width))
    if kind == "mask":
        pixels = cvat_mask_to_rowmajor(ann["points"], height, width)
    else:
        pixels = ellipse_rowmajor(ann["points"], ann.get("rotation", 0), height, width)
    return encode(np.frombuffer(bytes(pixels), dtype=np.uint8).reshape(height, width))


def decode(encoded: Any) -> np.ndarray:
    """An RLE as a 0/1 array (pycocotools' decoder warns under numpy 2; harmless)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(encoded)


def encode(array: np.ndarray) -> Any:
    return mask_utils.encode(np.asfortranarray(array.astype(np.uint8)))


def rle_iou(a: Any, b: Any) -> float:
    return float(mask_utils.iou([b], [a], [0])[0][0])


def box_iou(a: Ann, b: Ann, height: int, width: int) -> float:
    """Rectangles: exact box IoU when the rotations agree, else the rotated polygons' pixels."""
    if a.get("rotation", 0) == b.get("rotation", 0):
        return bbox_iou(box_of_ann(a), box_of_ann(b))
    return rle_iou(rle(a, height, width), rle(b, height, width))


# --- points -----------------------------------------------------------------------------------
def oks(a_points: Sequence[float], b_points: Sequence[float], sigma: float, scale: float,
        visibility: Sequence[bool] | None = None) -> float:
    """Object keypoint similarity (``_OKS``): mean of exp(-d² / (2·scale·(2σ)²))."""
    p1 = np.array(a_points, dtype=float).reshape((-1, 2))
    p2 = np.array(b_points, dtype=float).reshape((-1, 2))
    if len(p1) != len(p2) or not scale:
        return 0.0
    weights = np.ones(len(p1)) if visibility is None else np.asarray(visibility, dtype=float)
    if not weights.sum():
        return 0.0
    dists = np.linalg.norm(p1 - p2, axis=1)
    return float(np.sum(weights * np.exp(-(dists ** 2) / (2 * scale * (2 * sigma) ** 2)))
                 / np.sum(weights))


def points_similarity(a: Ann, b: Ann, a_box: Sequence[float], b_box: Sequence[float],
                      sigma: float, threshold: float, image_area: float) -> float:
    """``match_points._distance``: single points in image space; point sets aligned one to one
    inside the mean of their instance boxes."""
    if a_box[2] * a_box[3] == 0 and b_box[2] * b_box[3] == 0:
        return oks(a["points"], b["points"], sigma, image_area)
    if bbox_iou(a_box, b_box) <= 0:
        return 0.0
    box = mean_bbox([a_box, b_box])
    scale = box[2] * box[3]
    ap = np.reshape(np.array(a["points"], dtype=float), (-1, 2))
    bp = np.reshape(np.array(b["points"], dtype=float), (-1, 2))
    matches, mismatches, a_extra, b_extra, _ = match_segments(
        range(len(ap)), range(len(bp)),
        lambda i, j: oks(ap[i], bp[j], sigma, scale), threshold, lambda i, j: True)
    pairs = matches + mismatches
    if not pairs:
        return 0.0
    dists = np.linalg.norm(ap[[i for i, _ in pairs]] - bp[[j for _, j in pairs]], axis=1)
    return float(np.sum(np.exp(-(dists ** 2) / (2 * scale * (2 * sigma) ** 2)))
                 / (len(pairs) + len(a_extra) + len(b_extra)))


def skeleton_points(ann: Ann, sublabels: Sequence[int]) -> tuple[list[float], list[int]]:
    """A skeleton's points in its label's sublabel order, with visibility (0 absent,
    1 hidden, 2 visible), as CVAT merges them for comparison."""
    by_label = {e["label_id"]: e for e in ann.get("elements", [])}
    points: list[float] = []
    visibility: list[int] = []
    for sublabel in sublabels:
        element = by_label.get(sublabel)
        if element is None or element.get("outside"):
            points += [0.0, 0.0] if element is None else list(element["points"][:2])
            visibility.append(0)
        else:
            points += list(element["points"][:2])
            visibility.append(1 if element.get("occluded") else 2)
    return points, visibility


# --- polylines --------------------------------------------------------------------------------
def approximate_points(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_LineMatcher.approximate_points``: both lines resampled at the union of their
    relative vertex positions, so they can be compared point by point."""
    def positions(line: np.ndarray) -> tuple[np.ndarray, float]:
        lengths = np.linalg.norm(line[1:] - line[:-1], axis=1)
        total = float(lengths.sum())
        return np.concatenate([[0.0], np.cumsum(lengths)]) / (total or 1), total

    def at(line: np.ndarray, rel: np.ndarray, t: float) -> np.ndarray:
        if len(line) == 1:
            return line[0]
        idx = int(np.searchsorted(rel, t, side="right")) - 1
        idx = min(max(idx, 0), len(line) - 2)
        span = rel[idx + 1] - rel[idx]
        q = 0.0 if span <= 1e-12 else (t - rel[idx]) / span
        return line[idx] * (1 - q) + line[idx + 1] * q

    a_rel, _ = positions(a)
    b_rel, _ = positions(b)
    stops = sorted(set(np.round(np.concatenate([a_rel, b_rel]), 12)))
    return (np.array([at(a, a_rel, t) for t in stops]),
            np.array([at(b, b_rel, t) for t in stops]))


def line_similarity(gt: Sequence[float], ds: Sequence[float], *, torso_r: float,
                    scale: float, oriented: bool) -> float:
    """``_LineMatcher.distance``: a Gaussian of the point-wise distances of the resampled
    lines (and of the reversed one, unless ``oriented``), 0 for lines far apart."""
    def circle(points: Sequence[float]) -> tuple[float, float, float]:
        xs, ys = points[0::2], points[1::2]
        return ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2,
                ((max(xs) - min(xs)) ** 2 + (max(ys) - min(ys)) ** 2) / 4)

    gx, gy, gr2 = circle(gt)
    dx, dy, dr2 = circle(ds)
    if (dx - gx) ** 2 + (dy - gy) ** 2 > dr2 + gr2 + scale * (6 * torso_r) ** 2:
        return 0.0
    a, b = approximate_points(np.reshape(np.array(gt, dtype=float), (-1, 2)),
                              np.reshape(np.array(ds, dtype=float), (-1, 2)))
    candidates = [b] if oriented else [b, b[::-1]]
    best = 0.0
    for candidate in candidates:
        dists = np.linalg.norm(a - candidate, axis=1)
        value = float(np.sum(np.exp(-(dists ** 2) / (2 * scale * (2 * torso_r) ** 2)))
                      / len(a))
        best = max(best, value)
    return best


# --- groups -----------------------------------------------------------------------------------
def find_instances(anns: Sequence[Ann]) -> list[list[Ann]]:
    """datumaro's ``find_instances``: annotations sharing a non-zero ``group`` form one
    instance; the others are alone."""
    groups: dict[int, list[Ann]] = {}
    out: list[list[Ann]] = []
    for ann in anns:
        group = ann.get("group") or 0
        if group:
            if group not in groups:
                groups[group] = []
                out.append(groups[group])
            groups[group].append(ann)
        else:
            out.append([ann])
    return out
