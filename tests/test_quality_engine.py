"""The pure quality engine (mockcvat.quality) against hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mockcvat.quality.compare import Frame, Labels, Params, compare, uniform
from mockcvat.quality.matching import (
    bbox_iou,
    line_similarity,
    linear_sum_assignment,
    oks,
)

LABELS = Labels(names={1: "car", 2: "tree", 3: "sky"})


def ann(kind: str, obj_id: int, label_id: int, points=(), **extra):
    return {"kind": "tag" if kind == "tag" else "shape", "id": obj_id, "job_id": 9,
            "type": kind, "label_id": label_id, "points": list(points), "rotation": 0,
            "z_order": 0, "group": 0, "occluded": False, "outside": False,
            "attributes": {}, "elements": [], **extra}


def test_hungarian_finds_the_cheapest_assignment():
    cost = np.array([[4, 1, 3], [2, 0, 5], [3, 2, 2]], dtype=float)
    pairs = linear_sum_assignment(cost)
    assert sum(cost[i, j] for i, j in pairs) == 5  # 1 + 2 + 2
    assert sorted(i for i, _ in pairs) == [0, 1, 2]


def test_geometry_helpers():
    assert bbox_iou((0, 0, 10, 10), (0, 0, 10, 5)) == 0.5
    assert bbox_iou((0, 0, 1, 1), (5, 5, 1, 1)) == -1
    # two points 2 px apart in a 100x100 image: exp(-4 / (2 * 10000 * 0.18**2))
    assert oks([0, 0], [2, 0], 0.09, 100 * 100) == pytest.approx(math.exp(-4 / 648))
    line = [0, 0, 50, 0, 100, 0]
    assert line_similarity(line, line, torso_r=0.01, scale=1e4, oriented=True) == 1
    reversed_line = [100, 0, 50, 0, 0, 0]
    assert line_similarity(line, reversed_line, torso_r=0.01, scale=1e4, oriented=False) == 1
    assert line_similarity(line, reversed_line, torso_r=0.01, scale=1e4,
                           oriented=True) == pytest.approx(1 / 3)


def test_one_frame_by_hand():
    gt = [ann("rectangle", 1, 1, (0, 0, 10, 10)), ann("rectangle", 2, 1, (50, 50, 60, 60)),
          ann("tag", 3, 2)]
    ds = [ann("rectangle", 11, 1, (0, 0, 10, 5)), ann("rectangle", 12, 1, (80, 80, 90, 90)),
          ann("tag", 13, 3)]
    summary = compare([Frame(0, 100, 100, gt, ds)], LABELS, uniform(Params()))
    # matched: the two boxes (IoU 0.5); mismatched: the tags; missing: box 2; extra: box 12
    assert (summary.valid_count, summary.total_count) == (1, 4)
    assert (summary.ds_count, summary.gt_count) == (3, 3)
    assert (summary.missing_count, summary.extra_count) == (1, 1)
    assert summary.accuracy == 0.25 and summary.precision == pytest.approx(1 / 3)
    assert summary.conflicts_by_type() == {"low_overlap": 1, "missing_annotation": 1,
                                           "extra_annotation": 1, "mismatching_label": 1}
    missing = next(c for c in summary.conflicts if c["type"] == "missing_annotation")
    assert missing["annotation_ids"] == [{"obj_id": 2, "job_id": 9, "type": "shape",
                                          "shape_type": "rectangle"}]
    label = next(c for c in summary.conflicts if c["type"] == "mismatching_label")
    assert [a["obj_id"] for a in label["annotation_ids"]] == [13, 3]  # DS first, then GT
    matrix = summary.confusion(LABELS)
    assert matrix["labels"] == ["car", "tree", "sky", "unmatched"]
    # rows: DS labels, columns: GT labels
    assert matrix["rows"] == [[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0]]
    assert matrix["precision"][0] == 0.5 and matrix["recall"][0] == 0.5


def test_thresholds_change_the_result():
    gt = [ann("rectangle", 1, 1, (0, 0, 10, 10))]
    ds = [ann("rectangle", 11, 1, (0, 0, 10, 5))]
    strict = compare([Frame(0, 100, 100, gt, ds)], LABELS,
                     uniform(Params(iou_threshold=0.6)))
    assert strict.conflicts_by_type() == {"missing_annotation": 1, "extra_annotation": 1}
    lenient = compare([Frame(0, 100, 100, gt, ds)], LABELS,
                      uniform(Params(low_overlap_threshold=0.5)))
    assert lenient.conflicts == [] and lenient.accuracy == 1


def test_attributes_groups_covered_and_polygons():
    gt = [ann("polygon", 1, 1, (0, 0, 20, 0, 20, 20, 0, 20), attributes={"color": "red"}),
          ann("rectangle", 2, 2, (50, 50, 60, 60), group=1),
          ann("rectangle", 3, 2, (70, 70, 80, 80), group=1)]
    ds = [ann("polygon", 11, 1, (0, 0, 20, 0, 20, 20, 0, 20), attributes={"color": "blue"}),
          ann("rectangle", 12, 2, (50, 50, 60, 60)),
          ann("rectangle", 13, 2, (70, 70, 80, 80)),
          ann("rectangle", 14, 2, (71, 71, 79, 79), z_order=-1)]  # under box 13
    summary = compare([Frame(0, 100, 100, gt, ds)], LABELS, uniform(Params()))
    kinds = summary.conflicts_by_type()
    assert kinds["mismatching_attributes"] == 1
    # GT group {2, 3} matches one DS singleton (half its members, = group_match_threshold);
    # the other pair's DS box has no group counterpart: one conflict, as CVAT counts it
    assert kinds["mismatching_groups"] == 1
    assert kinds["covered_annotation"] == 1
    assert kinds["extra_annotation"] == 1  # box 14 (IoU 0.64 with box 3, taken by 13)


def test_points_and_skeletons():
    labels = Labels(names={1: "car", 4: "person"}, sublabels={4: [5, 6]})
    gt = [ann("points", 1, 1, (10, 10)),
          ann("skeleton", 2, 4, elements=[{"label_id": 5, "points": [30, 30]},
                                          {"label_id": 6, "points": [40, 40]}])]
    ds = [ann("points", 11, 1, (12, 10)),
          ann("skeleton", 12, 4, elements=[{"label_id": 5, "points": [30, 30]},
                                           {"label_id": 6, "points": [40, 40]}])]
    summary = compare([Frame(0, 100, 100, gt, ds)], labels, uniform(Params()))
    assert summary.valid_count == 2 and summary.conflicts == []
