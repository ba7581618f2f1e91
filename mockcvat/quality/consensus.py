"""The consensus merge of replica jobs (CVAT's ``consensus/merging_manager.py`` with its
``IntersectMerge``, after datumaro's): per frame, every pair of replicas is matched as quality
control matches a GT and a job (``compare.match_frame``, same label, similarity ≥
``iou_threshold``); matched annotations form clusters (one per object, at most one per replica,
every pair similar enough); each cluster reaching the quorum becomes one annotation:

* label and attribute values by vote (the first seen wins a tie);
* rectangles: the mean box; points and skeletons: the mean of each point;
* polygons, polylines, masks, ellipses: the member whose box is nearest the cluster's mean box;
* tags: one per label tagged by enough replicas.

CVAT 2.80 has no quorum setting (its ``IntersectMerge`` quorum is 0): every cluster is kept,
even one replica's; ``quorum`` (a share of the replicas) is this engine's own knob.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from mockcvat.quality.compare import Frame, Labels, Params, match_frame, uniform
from mockcvat.quality.matching import Ann, bbox_iou, box_of_ann, mean_bbox


def merge_frame(replicas: Sequence[Sequence[Ann]], *, frame: int, width: int, height: int,
                labels: Labels, iou_threshold: float, quorum: float = 0.0,
                params: Params | None = None) -> list[dict[str, Any]]:
    """The merged annotations of one frame, in the API's JSON shape (``source: consensus``)."""
    chosen = params or Params(iou_threshold=iou_threshold)
    chosen.iou_threshold = iou_threshold
    per_type = uniform(chosen)
    source_of = {id(a): i for i, anns in enumerate(replicas) for a in anns}
    needed = max(1, math.ceil(quorum * len(replicas)))
    out: list[dict[str, Any]] = []

    tags = Counter()
    tag_members: dict[int, list[Ann]] = {}
    for anns in replicas:
        for label in {a["label_id"] for a in anns if a["type"] == "tag"}:
            tags[label] += 1
            tag_members.setdefault(label, []).extend(
                a for a in anns if a["type"] == "tag" and a["label_id"] == label)
    for label, votes in tags.items():
        if votes >= needed:
            out.append({"frame": frame, "label_id": label, "group": None, "source": "consensus",
                        "attributes": _vote_attributes(tag_members[label]), "type": "tag"})

    shapes = [[a for a in anns if a["type"] != "tag" and not a.get("outside")]
              for anns in replicas]
    adjacent: dict[int, set[int]] = {id(a): set() for anns in shapes for a in anns}
    similarity: dict[tuple[int, int], float] = {}
    by_id = {id(a): a for anns in shapes for a in anns}
    for i, left in enumerate(shapes):
        for right in shapes[i + 1:]:
            pairs, values = match_frame(Frame(frame, width, height, list(left), list(right)),
                                        labels, per_type)
            similarity.update(values)
            for a, b in pairs:
                adjacent[id(a)].add(id(b))
                adjacent[id(b)].add(id(a))

    def close(cluster: set[int], candidate: int) -> bool:
        return all(similarity.get((m, candidate), similarity.get((candidate, m), 0.0))
                   >= iou_threshold for m in cluster)

    visited: set[int] = set()
    for start in adjacent:  # replicas' order: clusters come out as the first replica drew them
        if start in visited:
            continue
        cluster, queue = {start}, [start]
        visited.add(start)
        while queue:
            for other in sorted(adjacent[queue.pop()]):
                if other in visited or any(source_of[m] == source_of[other] for m in cluster):
                    continue
                if not close(cluster, other):
                    continue
                cluster.add(other)
                visited.add(other)
                queue.append(other)
        members = [by_id[m] for m in sorted(cluster, key=lambda m: source_of[m])]
        if len(members) >= needed:
            out.append(_merge_cluster(members, frame))
    return out


def _vote(values: Sequence[Any]) -> Any:
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def _vote_attributes(members: Sequence[Ann]) -> list[dict[str, Any]]:
    specs: dict[int, list[str]] = {}
    for member in members:
        for attribute in member.get("raw_attributes", []):
            specs.setdefault(attribute["spec_id"], []).append(attribute["value"])
    return [{"spec_id": spec, "value": _vote(values)} for spec, values in specs.items()]


def _mean(rows: Sequence[Sequence[float]]) -> list[float]:
    return [sum(values) / len(rows) for values in zip(*rows, strict=True)]


def _merge_cluster(members: list[Ann], frame: int) -> dict[str, Any]:
    label = _vote([m["label_id"] for m in members])
    voters = [m for m in members if m["label_id"] == label]
    kind = voters[0]["type"]
    shape: dict[str, Any] = {
        "frame": frame, "label_id": label, "type": kind, "group": None, "source": "consensus",
        "occluded": _vote([bool(m.get("occluded")) for m in voters]), "outside": False,
        "z_order": 0, "rotation": 0.0, "attributes": _vote_attributes(voters)}
    same_size = len({len(m["points"]) for m in voters}) == 1
    if kind == "rectangle":
        shape["points"] = _mean([m["points"][:4] for m in voters])
        shape["rotation"] = sum(m.get("rotation", 0) for m in voters) / len(voters)
    elif kind == "points" and same_size:
        shape["points"] = _mean([m["points"] for m in voters])
    elif kind == "skeleton":
        shape["points"] = []
        shape["elements"] = _merge_elements(voters, frame)
    else:  # the member nearest the mean box
        mean = mean_bbox([box_of_ann(m) for m in voters])
        best = max(voters, key=lambda m: bbox_iou(box_of_ann(m), mean))
        shape["points"] = list(best["points"])
        shape["rotation"] = best.get("rotation", 0)
    return shape


def _merge_elements(skeletons: list[Ann], frame: int) -> list[dict[str, Any]]:
    by_label: dict[int, list[dict[str, Any]]] = {}
    for skeleton in skeletons:
        for element in skeleton.get("elements", []):
            by_label.setdefault(element["label_id"], []).append(element)
    out = []
    for label, elements in by_label.items():
        visible = [e for e in elements if not e.get("outside")]
        out.append({"frame": frame, "label_id": label, "type": "points", "group": None,
                    "source": "consensus", "attributes": [], "z_order": 0, "rotation": 0.0,
                    "occluded": _vote([bool(e.get("occluded")) for e in visible or elements]),
                    "outside": not visible,
                    "points": _mean([e["points"][:2] for e in visible or elements])})
    return out
