"""A GT job against an annotation job, frame by frame (CVAT's ``DatasetComparator``,
``_Comparator`` and ``_DistanceComparator`` in ``quality_control/quality_reports.py``).

Per frame, each family of annotations is matched one to one on its own similarity:

| family | similarity |
|---|---|
| tags | 1 for the same label, 0.5 for another (so a wrong label is a *mismatch*) |
| rectangles | box IoU (rotated ones: pixel IoU of their polygons) |
| polygons, masks, ellipses | pixel IoU (``panoptic_comparison``: visible pixels only); |
|   | shapes sharing a group and a label are one instance |
| polylines | ``_LineMatcher``: Gaussian of point distances, width ``line_thickness`` × image size |
| points | OKS (``oks_sigma``), in their group's box, or in image space for single points |
| skeletons | OKS over the points of visible elements, in the mean box of both |

A pair is matched when its similarity reaches ``iou_threshold``. Conflicts: unmatched GT →
``missing_annotation``, unmatched DS → ``extra_annotation``, matched with another label →
``mismatching_label``, weak match (< ``low_overlap_threshold``) → ``low_overlap`` (versions
with that type), then the optional checks: line direction, covered annotations, attributes
(``occluded`` and the label's attributes), groups. Counts come from the confusion matrix
(rows: DS labels, columns: GT labels, last: ``unmatched``), as in CVAT.

``params`` maps an annotation type (``tag``, ``rectangle``, ``polygon``, ``mask``,
``ellipse``, ``polyline``, ``points``, ``skeleton``) to its ``Params``: one object for all of
them in CVAT 2.26, one per quality requirement in 2.80.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from mockcvat.quality.matching import (
    SEGMENT_TYPES,
    Ann,
    bbox_iou,
    box_iou,
    box_of_ann,
    decode,
    encode,
    find_instances,
    line_similarity,
    match_segments,
    max_bbox,
    mean_bbox,
    oks,
    points_similarity,
    rle,
    skeleton_points,
)

ERROR, WARNING = "error", "warning"
ANNOTATION_TYPES = ("tag", "rectangle", "polygon", "mask", "ellipse", "polyline", "points",
                    "skeleton")
# conflict type -> severity (CVAT's ``AnnotationConflict.severity``)
CONFLICT_SEVERITY = {
    "missing_annotation": ERROR, "extra_annotation": ERROR, "mismatching_label": ERROR,
    "low_overlap": WARNING, "mismatching_direction": WARNING,
    "mismatching_attributes": WARNING, "mismatching_groups": WARNING,
    "covered_annotation": WARNING,
}
UNMATCHED = "unmatched"


@dataclass
class Params:
    """CVAT's ``ComparisonParameters`` (defaults: ``QualitySettings``' model defaults)."""

    iou_threshold: float = 0.4
    oks_sigma: float = 0.09
    point_size_base: str = "group_bbox_size"
    line_thickness: float = 0.01
    low_overlap_threshold: float = 0.8
    compare_line_orientation: bool = True
    line_orientation_threshold: float = 0.1
    compare_groups: bool = True
    group_match_threshold: float = 0.5
    check_covered_annotations: bool = True
    object_visibility_threshold: float = 0.05
    panoptic_comparison: bool = True
    compare_attributes: bool = True
    empty_is_annotated: bool = False
    report_low_overlap: bool = True  # 2.80 has no ``low_overlap`` conflicts

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Params:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in names and v is not None})


@dataclass
class Labels:
    """The task's labels: names, and each skeleton's sublabels in comparison order."""

    names: dict[int, str]  # top-level labels, in the confusion matrix's order
    sublabels: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class Frame:
    """One GT frame: its image size and both sides' annotations."""

    frame: int
    width: int
    height: int
    gt: list[Ann]
    ds: list[Ann]


@dataclass
class Summary:
    """What a report counts; additive over frames and jobs."""

    valid_count: int = 0
    missing_count: int = 0
    extra_count: int = 0
    total_count: int = 0
    ds_count: int = 0
    gt_count: int = 0
    matrix: np.ndarray | None = None
    shape_valid: int = 0
    shape_missing: int = 0
    shape_extra: int = 0
    label_valid: int = 0
    label_invalid: int = 0
    mean_ious: list[float] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    # (annotation type, GT label or None, DS label or None) -> count: the confusion matrix
    # split by type, for 2.80's requirement scores and matrices
    by_type: Counter[tuple[str, int | None, int | None]] = field(default_factory=Counter)

    def add(self, other: Summary) -> None:
        for name in ("valid_count", "missing_count", "extra_count", "total_count", "ds_count",
                     "gt_count", "shape_valid", "shape_missing", "shape_extra", "label_valid",
                     "label_invalid"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.matrix is not None:
            self.matrix = other.matrix.copy() if self.matrix is None else self.matrix + other.matrix
        self.mean_ious += other.mean_ious
        self.frames += other.frames
        self.conflicts += other.conflicts
        self.by_type.update(other.by_type)

    # --- the derived figures ------------------------------------------------------------
    @property
    def accuracy(self) -> float:
        return self.valid_count / (self.total_count or 1)

    @property
    def precision(self) -> float:
        return self.valid_count / (self.ds_count or 1)

    @property
    def recall(self) -> float:
        return self.valid_count / (self.gt_count or 1)

    def conflicts_by_type(self) -> dict[str, int]:
        return dict(Counter(c["type"] for c in self.conflicts))

    def count(self, severity: str) -> int:
        return sum(1 for c in self.conflicts if c["severity"] == severity)

    def matrix_of(self, labels: Labels, types: set[str] | None) -> np.ndarray:
        """The confusion matrix of the annotations of some types only."""
        index = {label: i for i, label in enumerate(labels.names)}
        size = len(index) + 1
        rows = np.zeros((size, size), dtype=int)
        for (kind, gt_label, ds_label), count in self.by_type.items():
            if types is None or kind in types:
                rows[index.get(ds_label, size - 1), index.get(gt_label, size - 1)] += count
        return rows

    def confusion(self, labels: Labels, types: set[str] | None = None) -> dict[str, Any]:
        """CVAT's ``ConfusionMatrix``: rows DS, columns GT; per-label precision, recall,
        accuracy and Jaccard index, and Dice, from it."""
        size = len(labels.names) + 1
        if types is not None:
            rows = self.matrix_of(labels, types)
        else:
            rows = self.matrix if self.matrix is not None else np.zeros((size, size), dtype=int)
        matched = np.diag(rows)
        ds_counts, gt_counts = rows.sum(axis=1), rows.sum(axis=0)
        return {
            "labels": [*labels.names.values(), UNMATCHED],
            "rows": rows.tolist(),
            "precision": _div(matched, ds_counts).tolist(),
            "recall": _div(matched, gt_counts).tolist(),
            "accuracy": _div(matched, ds_counts + gt_counts - matched).tolist(),
            "jaccard_index": _div(matched, ds_counts + gt_counts - matched).tolist(),
            "dice": _div(2 * matched, ds_counts + gt_counts).tolist(),
            "axes": {"cols": "gt", "rows": "ds"},
        }


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    divisor = b.astype(float).copy()
    divisor[b == 0] = 1
    return a / divisor


def uniform(params: Params) -> dict[str, Params]:
    return dict.fromkeys(ANNOTATION_TYPES, params)


# --- one frame --------------------------------------------------------------------------------
class _FrameComparison:
    def __init__(self, frame: Frame, labels: Labels, params: Mapping[str, Params]) -> None:
        self.frame = frame
        self.labels = labels
        self.params = params
        self.height, self.width = frame.height, frame.width
        self._rles: dict[tuple[int, int], Any] = {}

    def p(self, ann: Ann) -> Params:
        return self.params[ann["type"]]

    def _by(self, anns: Sequence[Ann], *types: str) -> list[Ann]:
        return [a for a in anns if a["type"] in types and not a.get("outside")]

    # --- matching per family ------------------------------------------------------------
    def run(self) -> Summary:
        return self._summarize(*self.match())

    def match(self) -> tuple[list[tuple[Ann, Ann]], list[tuple[Ann, Ann]], list[Ann], list[Ann],
                             dict[tuple[int, int], float]]:
        """(matches, mismatches, GT unmatched, DS unmatched, similarity by (id, id))."""
        gt, ds = self.frame.gt, self.frame.ds
        matches: list[tuple[Ann, Ann]] = []
        mismatches: list[tuple[Ann, Ann]] = []
        gt_unmatched: list[Ann] = []
        ds_unmatched: list[Ann] = []
        similarity: dict[tuple[int, int], float] = {}
        for family in (self._tags, self._boxes, self._segments, self._lines, self._points,
                       self._skeletons):
            m, mm, a, b, s = family(gt, ds)
            matches += m
            mismatches += mm
            gt_unmatched += a
            ds_unmatched += b
            similarity.update(s)
        return matches, mismatches, gt_unmatched, ds_unmatched, similarity

    def _match(self, gt: list[Ann], ds: list[Ann], distance: Any, kind: str,
               label_matcher: Any = None) -> Any:
        threshold = self.params[kind].iou_threshold
        matcher = label_matcher or (lambda a, b: a["label_id"] == b["label_id"])
        m, mm, a, b, by_index = match_segments(gt, ds, distance, threshold, matcher)
        similarity = {(id(gt[i]), id(ds[j])): v for (i, j), v in by_index.items()}
        return m, mm, a, b, similarity

    def _tags(self, gt: list[Ann], ds: list[Ann]) -> Any:
        return self._match(self._by(gt, "tag"), self._by(ds, "tag"),
                           lambda a, b: 0.5 + (a["label_id"] == b["label_id"]) / 2, "tag")

    def _boxes(self, gt: list[Ann], ds: list[Ann]) -> Any:
        return self._match(self._by(gt, "rectangle"), self._by(ds, "rectangle"),
                           lambda a, b: box_iou(a, b, self.height, self.width), "rectangle")

    def rle_of(self, ann: Ann) -> Any:
        key = (id(ann), 0)
        if key not in self._rles:
            self._rles[key] = rle(ann, self.height, self.width)
        return self._rles[key]

    def _segments(self, gt: list[Ann], ds: list[Ann]) -> Any:
        """Instances (group and label) compared by their (visible) pixels; the result is
        spread back over the instances' shapes, as ``match_segmentations`` does."""
        sides = []
        for anns in (self._by(gt, *SEGMENT_TYPES), self._by(ds, *SEGMENT_TYPES)):
            instances: list[list[Ann]] = []
            for group in find_instances(anns):
                for _, same_label in itertools.groupby(
                        sorted(group, key=lambda a: a["label_id"]), key=lambda a: a["label_id"]):
                    instances.append(list(same_label))
            sides.append((instances, self._instance_rles(instances)))
        (gt_inst, gt_rles), (ds_inst, ds_rles) = sides
        if not gt_inst and not ds_inst:
            return [], [], [], [], {}
        kind = "polygon"
        m, mm, a, b, by_index = match_segments(
            list(range(len(gt_inst))), list(range(len(ds_inst))),
            lambda i, j: float(mask_utils.iou([ds_rles[j]], [gt_rles[i]], [0])[0][0]),
            self.params[kind].iou_threshold,
            lambda i, j: gt_inst[i][0]["label_id"] == ds_inst[j][0]["label_id"])

        def spread(pairs: list[tuple[int, int]]) -> list[tuple[Ann, Ann]]:
            return [(x, y) for i, j in pairs for x, y in itertools.product(gt_inst[i], ds_inst[j])]

        similarity = {(id(x), id(y)): v for (i, j), v in by_index.items()
                      for x, y in itertools.product(gt_inst[i], ds_inst[j])}
        return (spread(m), spread(mm), [x for i in a for x in gt_inst[i]],
                [y for j in b for y in ds_inst[j]], similarity)

    def _instance_rles(self, instances: list[list[Ann]]) -> list[Any]:
        """Each instance's pixels; with ``panoptic_comparison`` only those no instance of a
        higher z order covers (CVAT's ``CompiledMask``)."""
        merged = [mask_utils.merge([self.rle_of(a) for a in inst]) for inst in instances]
        if not instances or not self.params["polygon"].panoptic_comparison:
            return merged
        owner = np.zeros((self.height, self.width), dtype=np.int64)
        order = sorted(range(len(instances)), key=lambda i: min(a["z_order"] or 0
                                                                for a in instances[i]))
        for index in order:  # later (higher z) instances paint over earlier ones
            owner[decode(merged[index]).astype(bool)] = index + 1
        return [encode(owner == i + 1) for i in range(len(instances))]

    def _lines(self, gt: list[Ann], ds: list[Ann]) -> Any:
        p = self.params["polyline"]
        scale = self.height * self.width
        return self._match(
            self._by(gt, "polyline"), self._by(ds, "polyline"),
            lambda a, b: line_similarity(a["points"], b["points"], torso_r=p.line_thickness,
                                         scale=scale, oriented=False), "polyline")

    def _instance_boxes(self, anns: Sequence[Ann]) -> dict[int, tuple[float, ...]]:
        boxes: dict[int, tuple[float, ...]] = {}
        for group in find_instances([a for a in anns if not a.get("outside")]):
            box = max_bbox([box_of_ann(a) for a in group if a["type"] != "tag"])
            for ann in group:
                boxes[id(ann)] = box
        return boxes

    def _points(self, gt: list[Ann], ds: list[Ann]) -> Any:
        p = self.params["points"]
        boxes = {**self._instance_boxes(gt), **self._instance_boxes(ds)}
        area = self.height * self.width
        return self._match(
            self._by(gt, "points"), self._by(ds, "points"),
            lambda a, b: points_similarity(a, b, boxes[id(a)], boxes[id(b)], p.oks_sigma,
                                           p.iou_threshold, area), "points")

    def _skeletons(self, gt: list[Ann], ds: list[Ann]) -> Any:
        p = self.params["skeleton"]
        boxes = {**self._instance_boxes(gt), **self._instance_boxes(ds)}
        merged: dict[int, tuple[list[float], list[int]]] = {}
        sides = []
        for anns in (self._by(gt, "skeleton"), self._by(ds, "skeleton")):
            kept = []
            for ann in anns:
                points = skeleton_points(ann, self.labels.sublabels.get(ann["label_id"], []))
                if any(points[1]):  # a skeleton with every point outside is left out
                    merged[id(ann)] = points
                    kept.append(ann)
            sides.append(kept)

        def distance(a: Ann, b: Ann) -> float:
            a_box, b_box = boxes[id(a)], boxes[id(b)]
            if bbox_iou(a_box, b_box) <= 0:
                return 0.0
            box = mean_bbox([a_box, b_box])
            (a_points, a_vis), (b_points, _) = merged[id(a)], merged[id(b)]
            return oks(a_points, b_points, p.oks_sigma, box[2] * box[3],
                       [v == 2 for v in a_vis])

        return self._match(sides[0], sides[1], distance, "skeleton")

    # --- conflicts and counts -----------------------------------------------------------
    def _summarize(self, matches: list[tuple[Ann, Ann]], mismatches: list[tuple[Ann, Ann]],
                   gt_unmatched: list[Ann], ds_unmatched: list[Ann],
                   similarity: dict[tuple[int, int], float]) -> Summary:
        frame = self.frame.frame
        conflicts: list[dict[str, Any]] = []

        def conflict(kind: str, *anns: Ann, attributes: list[str] | None = None) -> None:
            conflicts.append({"frame": frame, "type": kind, "severity": CONFLICT_SEVERITY[kind],
                              "annotation_ids": [_ann_id(a) for a in anns],
                              "attribute_names": attributes or []})

        pairs = matches + mismatches
        for gt_ann, ds_ann in pairs:
            p = self.p(gt_ann)
            value = similarity.get((id(gt_ann), id(ds_ann)))
            spatial = gt_ann["type"] != "tag"  # a tag has no overlap to be low
            if spatial and p.report_low_overlap and value and value < p.low_overlap_threshold:
                conflict("low_overlap", ds_ann, gt_ann)
        for ann in gt_unmatched:
            conflict("missing_annotation", ann)
        for ann in ds_unmatched:
            conflict("extra_annotation", ann)
        for gt_ann, ds_ann in mismatches:
            conflict("mismatching_label", ds_ann, gt_ann)

        resulting = [similarity.get((id(g), id(d)), 0.0) for g, d in pairs]
        for ann in itertools.chain(gt_unmatched, ds_unmatched):
            resulting.append(max((v for (g, d), v in similarity.items() if id(ann) in (g, d)),
                                 default=0.0))

        for gt_ann, ds_ann in pairs:
            p = self.p(gt_ann)
            if gt_ann["type"] == ds_ann["type"] == "polyline" and p.compare_line_orientation:
                scale = self.height * self.width
                oriented = line_similarity(gt_ann["points"], ds_ann["points"],
                                           torso_r=p.line_thickness, scale=scale, oriented=True)
                free = similarity.get((id(gt_ann), id(ds_ann)), 0.0)
                if free - oriented > p.line_orientation_threshold:
                    conflict("mismatching_direction", ds_ann, gt_ann)
        for ann in self._covered(self.frame.ds):
            conflict("covered_annotation", ann)
        for gt_ann, ds_ann in matches:
            differing = _differing_attributes(gt_ann, ds_ann)
            if self.p(gt_ann).compare_attributes and differing:
                conflict("mismatching_attributes", ds_ann, gt_ann, attributes=differing)
        for gt_ann, ds_ann in self._group_conflicts(pairs):
            conflict("mismatching_groups", ds_ann, gt_ann)

        names = list(self.labels.names)
        index = {label: i for i, label in enumerate(names)}
        size = len(names) + 1
        matrix = np.zeros((size, size), dtype=int)
        by_type: Counter[tuple[str, int | None, int | None]] = Counter()
        for gt_ann, ds_ann in itertools.chain(matches, mismatches,
                                              ((None, d) for d in ds_unmatched),
                                              ((g, None) for g in gt_unmatched)):
            row = index.get(ds_ann["label_id"], size - 1) if ds_ann else size - 1
            col = index.get(gt_ann["label_id"], size - 1) if gt_ann else size - 1
            matrix[row, col] += 1
            by_type[((gt_ann or ds_ann)["type"], gt_ann and gt_ann["label_id"],
                     ds_ann and ds_ann["label_id"])] += 1
        empty = not self.frame.gt and not self.frame.ds
        summary = _from_matrix(matrix)
        if empty and self.params["tag"].empty_is_annotated:  # a virtual "empty" annotation
            for name in ("valid_count", "total_count", "ds_count", "gt_count"):
                setattr(summary, name, getattr(summary, name) + 1)
        summary.shape_valid = len(pairs)
        summary.shape_missing, summary.shape_extra = len(gt_unmatched), len(ds_unmatched)
        summary.label_valid, summary.label_invalid = len(matches), len(mismatches)
        summary.mean_ious = [float(np.mean(resulting)) if resulting else 0.0]
        summary.frames = [frame]
        summary.conflicts = conflicts
        summary.by_type = by_type
        return summary

    def _covered(self, anns: Sequence[Ann]) -> list[Ann]:
        """``find_covered``: DS shapes (boxes, polygons, masks, ellipses) whose visible part,
        under the shapes of higher z order, is below ``object_visibility_threshold``."""
        spatial = sorted((a for a in self._by(anns, "rectangle", *SEGMENT_TYPES)
                          if self.p(a).check_covered_annotations),
                         key=lambda a: a["z_order"] or 0)
        covered = []
        rles = [self.rle_of(a) for a in spatial]
        for i, bottom in enumerate(rles[:-1]):
            top = mask_utils.merge(rles[i + 1:])
            inter = mask_utils.merge([top, bottom], intersect=True)
            bottom_area, inter_area = mask_utils.area([bottom, inter])
            if inter_area == 0:
                continue
            if 1 - inter_area / (bottom_area or 1) < self.p(spatial[i]).object_visibility_threshold:
                covered.append(spatial[i])
        return covered

    def _group_conflicts(self, pairs: list[tuple[Ann, Ann]]) -> list[tuple[Ann, Ann]]:
        """``match_groups``: groups matched by the share of their matched members; a matched
        pair whose groups do not correspond is ``mismatching_groups``."""
        checked = [(g, d) for g, d in pairs if self.p(g).compare_groups]
        if not checked:
            return []
        gt_groups = find_instances(self.frame.gt)
        ds_groups = find_instances(self.frame.ds)
        gt_of = {id(a): i for i, group in enumerate(gt_groups) for a in group}
        ds_of = {id(a): i for i, group in enumerate(ds_groups) for a in group}
        partner = {id(g): id(d) for g, d in pairs}

        def overlap(i: int, j: int) -> float:
            inter = sum(1 for g in gt_groups[i] for d in ds_groups[j]
                        if partner.get(id(g)) == id(d))
            union = len(gt_groups[i]) + len(ds_groups[j]) - inter
            return inter / (union or 1)

        threshold = self.p(checked[0][0]).group_match_threshold
        m, mm, _, ds_alone, _ = match_segments(
            list(range(len(gt_groups))), list(range(len(ds_groups))), overlap, threshold,
            lambda i, j: overlap(i, j) == 1)
        ds_to_gt: dict[int, int | None] = {j: i for i, j in m + mm}
        ds_to_gt.update(dict.fromkeys(ds_alone))
        out = []
        for gt_ann, ds_ann in checked:
            gt_group, ds_group = gt_groups[gt_of[id(gt_ann)]], ds_groups[ds_of[id(ds_ann)]]
            if (len(gt_group) == 1 and len(ds_group) != 1) or \
                    ds_to_gt.get(ds_of[id(ds_ann)]) != gt_of[id(gt_ann)]:
                out.append((gt_ann, ds_ann))
        return out


def _from_matrix(matrix: np.ndarray) -> Summary:
    unmatched = matrix.shape[0] - 1
    ds_counts, gt_counts = matrix.sum(axis=1), matrix.sum(axis=0)
    return Summary(
        valid_count=int(np.diag(matrix).sum()),
        missing_count=int(matrix[unmatched, :].sum()),
        extra_count=int(matrix[:, unmatched].sum()),
        total_count=int(matrix.sum()),
        ds_count=int(ds_counts.sum() - ds_counts[unmatched]),
        gt_count=int(gt_counts.sum() - gt_counts[unmatched]),
        matrix=matrix,
    )


def _ann_id(ann: Ann) -> dict[str, Any]:
    return {"obj_id": ann["id"], "job_id": ann["job_id"], "type": ann["kind"],
            "shape_type": None if ann["type"] == "tag" else ann["type"]}


def _differing_attributes(a: Ann, b: Ann) -> list[str]:
    """``match_attrs``: the attributes (by name, ``occluded`` included) that differ or that
    only one side has."""
    left, right = dict(a.get("attributes") or {}), dict(b.get("attributes") or {})
    if a["type"] != "tag":
        left["occluded"], right["occluded"] = bool(a.get("occluded")), bool(b.get("occluded"))
    missing = object()
    return sorted(k for k in left.keys() | right.keys()
                  if left.get(k, missing) != right.get(k, missing))


def match_frame(frame: Frame, labels: Labels, params: Mapping[str, Params]
                ) -> tuple[list[tuple[Ann, Ann]], dict[tuple[int, int], float]]:
    """The label-equal pairs of a frame's two sides and every similarity computed (what the
    consensus merge clusters on)."""
    matches, _, _, _, similarity = _FrameComparison(frame, labels, params).match()
    return matches, similarity


# --- a job ------------------------------------------------------------------------------------
def compare(frames: Sequence[Frame], labels: Labels, params: Mapping[str, Params]) -> Summary:
    """Every GT frame of a job, accumulated (CVAT's ``generate_report``)."""
    total = Summary()
    for frame in sorted(frames, key=lambda f: f.frame):
        total.add(_FrameComparison(frame, labels, params).run())
    if total.matrix is None:
        size = len(labels.names) + 1
        total.matrix = np.zeros((size, size), dtype=int)
    return total


def report_data(summary: Summary, labels: Labels, params: Params, *,
                frame_share: float) -> dict[str, Any]:
    """The report's JSON (``GET /api/quality/reports/{id}/data``, CVAT's
    ``ComparisonReport.to_json``): parameters, the comparison summary, the conflicts per
    frame."""
    matrix = summary.confusion(labels)
    annotations = {
        "valid_count": summary.valid_count, "missing_count": summary.missing_count,
        "extra_count": summary.extra_count, "total_count": summary.total_count,
        "ds_count": summary.ds_count, "gt_count": summary.gt_count,
        "confusion_matrix": {k: matrix[k] for k in ("labels", "rows", "precision", "recall",
                                                     "accuracy", "axes")},
        "accuracy": summary.accuracy, "precision": summary.precision, "recall": summary.recall,
    }
    shapes_total = summary.shape_valid + summary.shape_missing + summary.shape_extra
    frame_results: dict[str, Any] = {}
    for conflict in summary.conflicts:
        frame_results.setdefault(str(conflict["frame"]), {"conflicts": []})["conflicts"].append(
            {"frame_id": conflict["frame"], "type": conflict["type"],
             "annotation_ids": conflict["annotation_ids"], "severity": conflict["severity"]})
    return {
        "parameters": {k: v for k, v in asdict(params).items() if k != "report_low_overlap"},
        "comparison_summary": {
            "frame_share": frame_share, "frames": sorted(summary.frames),
            "frame_count": len(summary.frames),
            "mean_conflict_count": len(summary.conflicts) / (len(summary.frames) or 1),
            "conflict_count": len(summary.conflicts),
            "warning_count": summary.count(WARNING), "error_count": summary.count(ERROR),
            "conflicts_by_type": summary.conflicts_by_type(),
            "annotations": annotations,
            "annotation_components": {
                "shape": {
                    "valid_count": summary.shape_valid, "missing_count": summary.shape_missing,
                    "extra_count": summary.shape_extra, "total_count": shapes_total,
                    "ds_count": summary.shape_valid + summary.shape_extra,
                    "gt_count": summary.shape_valid + summary.shape_missing,
                    "mean_iou": float(np.mean(summary.mean_ious)) if summary.mean_ious else 0.0,
                    "accuracy": summary.shape_valid / (shapes_total or 1),
                },
                "label": {
                    "valid_count": summary.label_valid, "invalid_count": summary.label_invalid,
                    "total_count": summary.label_valid + summary.label_invalid,
                    "accuracy": summary.label_valid / (
                        (summary.label_valid + summary.label_invalid) or 1),
                },
            },
        },
        "frame_results": frame_results,
        # not CVAT's: the matrix split by annotation type, for 2.80's per-requirement matrices
        "confusion_by_type": [[kind, gt, ds, count]
                              for (kind, gt, ds), count in sorted(
                                  summary.by_type.items(), key=lambda kv: str(kv[0]))],
    }
