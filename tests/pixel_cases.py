"""Generated boxes on a small frame and the pixels each one shows, for the round trips of the
instance-mask formats (MOTS PNG, KITTI, ICDAR Segmentation, Open Images)."""

from __future__ import annotations

from hypothesis import strategies as st

from mockcvat.formats.common import from_runs, poly_counts, rowmajor
from tests.format_objects import api_shape

H, W = 8, 12


def box_polygon(x0: int, y0: int, x1: int, y1: int) -> list[float]:
    return [float(x0), float(y0), float(x1), float(y0), float(x1), float(y1), float(x0),
            float(y1)]


def boxes(kind: str = "polygon", labels: tuple[int, ...] = (1, 2)) -> st.SearchStrategy[dict]:
    """A box-shaped ``kind`` ("polygon" or "rectangle") on frame 0 with a random label and
    z_order."""
    def build(label: int, x: int, y: int, dx: int, dy: int, z: int) -> dict:
        points = box_polygon(x, y, x + dx, y + dy) if kind == "polygon" \
            else [float(x), float(y), float(x + dx), float(y + dy)]
        return api_shape(kind, 0, label, points, z_order=z)

    return st.builds(build, st.sampled_from(labels), st.integers(0, W - 4), st.integers(0, H - 3),
                     st.integers(1, 4), st.integers(1, 3), st.integers(0, 2))


def pixels_of(shape: dict) -> set[int]:
    """The pixels a shape covers: an axis-aligned box's, or a polygon's (CVAT's rasteriser)."""
    points = shape["points"]
    if shape["type"] == "rectangle":
        x0, y0, x1, y1 = points
        return {y * W + x for y in range(H) for x in range(W)
                if x0 <= x + 0.5 < x1 and y0 <= y + 0.5 < y1}
    bits = rowmajor(from_runs(poly_counts(points, H, W), H * W), H, W)
    return {i for i, b in enumerate(bits) if b}


def visible(shapes: list[dict]) -> list[tuple[dict, set[int]]]:
    """Each shape with the pixels it shows when painted in z_order (stable), later on top."""
    order = sorted(shapes, key=lambda s: s["z_order"])
    owner: dict[int, int] = {}
    for number, shape in enumerate(order):
        for pixel in pixels_of(shape):
            owner[pixel] = number
    return [(shape, {p for p, n in owner.items() if n == number})
            for number, shape in enumerate(order)]
