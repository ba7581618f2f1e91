"""Annotation objects in the API's shape, as the format tests build them."""

from __future__ import annotations

from typing import Any


def api_shape(kind: str, frame: int, label_id: int, points: list[float],
              **extra: Any) -> dict[str, Any]:
    """A shape as ``GET …/annotations/`` returns it, defaults filled; ``extra`` overrides."""
    shape = {"id": None, "type": kind, "frame": frame, "label_id": label_id, "group": 0,
             "source": "manual", "occluded": False, "outside": False, "z_order": 0,
             "rotation": 0.0, "points": points, "attributes": [], "elements": []}
    shape.update(extra)
    return shape
