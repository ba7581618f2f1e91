"""MOTS PNG 1.0: the 16-bit instance PNGs CVAT writes (read with Pillow), a round trip of
generated box tracks (what comes back: per track, polygons outlining exactly the pixels it
shows, holes filled), and refused input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mockcvat.formats import exporter, importer, mots
from mockcvat.formats.base import Dataset, Frame, ImportFailed, LabelSpec
from mockcvat.formats.common import mask_to_polygons
from tests.pixel_cases import H, W, boxes, pixels_of, visible

LABELS = [LabelSpec(1, "car", "#ff0000", "any"), LabelSpec(2, "person", "#00ff00", "any")]


def as_track(shape: dict, frames: int = 2) -> dict:
    """The shape as a track visible on frame 0 only (an outside keyframe on frame 1)."""
    keyframe = {k: shape[k] for k in ("type", "frame", "occluded", "z_order", "rotation",
                                      "points")} | {"outside": False, "attributes": []}
    closing = dict(keyframe, frame=1, outside=True)
    return {"label_id": shape["label_id"], "frame": 0, "group": shape.get("group", 0),
            "source": "manual", "attributes": [], "elements": [],
            "shapes": [keyframe, closing] if frames > 1 else [keyframe]}


def make_dataset(tracks: list[dict], shapes: list[dict] | None = None) -> Dataset:
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=LABELS,
                   frames=[Frame(0, "a.jpg", W, H), Frame(1, "b.jpg", W, H)],
                   annotations={"tags": [], "shapes": shapes or [], "tracks": tracks},
                   image=lambda f: (b"IMG", ".jpg"))


def test_registry() -> None:
    assert exporter("MOTS PNG 1.0") is mots and importer("MOTS PNG 1.0") is mots


def test_files_read_with_pillow(tmp_path: Path) -> None:
    box = {"type": "rectangle", "frame": 0, "label_id": 2, "group": 0, "source": "manual",
           "occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
           "points": [1.0, 1.0, 4.0, 3.0], "attributes": [], "elements": []}
    plain = dict(box, label_id=1, points=[6.0, 1.0, 8.0, 3.0])  # not a track: not written
    mots.export(make_dataset([as_track(box), as_track(dict(box, points=[0, 5, 2, 7]))],
                             [plain]),
                tmp_path, save_images=True, format_name="MOTS PNG 1.0")
    assert (tmp_path / "default/instances/labels.txt").read_text() == "car\nperson"
    with Image.open(tmp_path / "default/instances/a.png") as image:
        assert image.mode.startswith("I")
        values = {image.getpixel((x, y)) for x in range(W) for y in range(H)}
        assert image.getpixel((2, 2)) == 2000  # 1000 × (1 + person) + track 0
        assert image.getpixel((1, 6)) == 2001  # track 1
        assert image.getpixel((7, 2)) == 0  # the standalone box is not a track
    assert values == {0, 2000, 2001}
    assert not (tmp_path / "default/instances/b.png").exists()  # nothing visible on frame 1
    assert (tmp_path / "default/images/a.jpg").read_bytes() == b"IMG"


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(boxes("rectangle"), max_size=4))
def test_round_trip(tmp_path_factory, shapes: list[dict]) -> None:
    out = tmp_path_factory.mktemp("out")
    dataset = make_dataset([as_track(s) for s in shapes])
    mots.export(dataset, out, save_images=False, format_name="MOTS PNG 1.0")
    back = mots.import_(make_dataset([]), out, format_name="MOTS PNG 1.0")
    assert not back["shapes"] and not back["tags"]
    shown = visible(shapes)
    covered = set().union(*(pixels_of(s) for s in shapes)) if shapes else set()
    got: dict[int, set[int]] = {1: set(), 2: set()}
    for track in back["tracks"]:
        first, *rest = track["shapes"]
        assert first["frame"] == 0 and not first["outside"] and first["type"] == "polygon"
        assert [(s["frame"], s["outside"]) for s in rest] == [(1, True)]
        pixels = pixels_of(first)
        assert pixels <= covered  # holes are filled only with other tracks' pixels
        got[track["label_id"]] |= pixels
    for label in (1, 2):
        expected = set().union(*(p for s, p in shown if s["label_id"] == label))
        assert expected <= got[label]
        others = set().union(*(p for s, p in shown if s["label_id"] != label))
        assert got[label] - expected <= others


def test_outlines_follow_pixel_edges() -> None:
    ring = bytearray([1, 1, 1, 1, 0, 1, 1, 1, 1])
    assert mask_to_polygons(ring, 3, 3) == [[0.0, 0.0, 3.0, 0.0, 3.0, 3.0, 0.0, 3.0]]
    diagonal = bytearray([1, 0, 0, 1])  # 4-connectivity: two regions
    assert len(mask_to_polygons(diagonal, 2, 2)) == 2


@pytest.mark.parametrize(("damage", "message"), [
    (lambda out: (out / "default/instances/labels.txt").write_text("car\nbus"),
     "Label 'bus' is not registered"),
    (lambda out: __import__("shutil").rmtree(out / "default"), "must contain a directory"),
    (lambda out: (out / "default/instances/a.png").rename(out / "default/instances/zz.png"),
     "Could not match item id: 'zz'"),
    (lambda out: (out / "default/instances/a.png").write_bytes(b"not a png"),
     "Can't read the instance mask"),
])
def test_refused_input(tmp_path: Path, damage, message: str) -> None:
    box = {"type": "rectangle", "frame": 0, "label_id": 2, "group": 0, "source": "manual",
           "occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
           "points": [1.0, 1.0, 4.0, 3.0], "attributes": [], "elements": []}
    dataset = make_dataset([as_track(box)])
    mots.export(dataset, tmp_path, save_images=False, format_name="MOTS PNG 1.0")
    damage(tmp_path)
    with pytest.raises(ImportFailed, match=message):
        mots.import_(dataset, tmp_path, format_name="MOTS PNG 1.0")
