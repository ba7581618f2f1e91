"""CamVid 1.0 and Cityscapes 1.0: the files CVAT writes (label maps, lists, PNGs read with
Pillow), a round trip over generated shapes (what comes back: one mask per class — CamVid — or
per instance — Cityscapes — with exactly the pixels drawn), and refused input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mockcvat.formats import camvid, exporter, importer
from mockcvat.formats.base import Dataset, Frame, ImportFailed, LabelSpec
from mockcvat.formats.common import cvat_mask_to_rowmajor, rowmajor
from tests.format_objects import api_shape

LABELS = [LabelSpec(1, "car", "#ff0000", "any"), LabelSpec(2, "road", "#00ff00", "any"),
          LabelSpec(3, "day", "#0000ff", "tag")]


def make_dataset(shapes: list[dict]) -> Dataset:
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=LABELS,
                   frames=[Frame(0, "a.jpg", 12, 8), Frame(1, "sub/b.png", 12, 8)],
                   annotations={"tags": [], "shapes": shapes, "tracks": []},
                   image=lambda f: (b"IMG", Path(f.name).suffix))


SHAPES = [api_shape("rectangle", 0, 1, [1.0, 1.0, 5.0, 4.0]),
          api_shape("rectangle", 0, 2, [4.0, 2.0, 9.0, 6.0], z_order=1),
          api_shape("points", 1, 1, [1.0, 1.0])]


def test_registry() -> None:
    for name in camvid.EXPORTS:
        assert exporter(name) is camvid and importer(name) is camvid


def pixels(path: Path) -> list:
    with Image.open(path) as image:
        width, height = image.size
        return [image.getpixel((x, y)) for y in range(height) for x in range(width)]


def test_camvid_files(tmp_path: Path) -> None:
    camvid.export(make_dataset(SHAPES), tmp_path, save_images=True, format_name="CamVid 1.0")
    assert (tmp_path / "label_colors.txt").read_text() == "255 0 0 car\n0 0 255 day\n0 255 0 road\n"
    assert (tmp_path / "default.txt").read_text() == (
        "/default/a.jpg defaultannot/a.png\n/default/sub/b.png \n")
    mask = pixels(tmp_path / "defaultannot/a.png")
    assert mask[1 * 12 + 1] == (255, 0, 0) and mask[3 * 12 + 5] == (0, 255, 0)  # road on top
    assert mask[0] == (0, 0, 0)
    assert (tmp_path / "default/sub/b.png").read_bytes() == b"IMG"


def test_cityscapes_files(tmp_path: Path) -> None:
    camvid.export(make_dataset(SHAPES), tmp_path, save_images=False, format_name="Cityscapes 1.0")
    assert (tmp_path / "label_colors.txt").read_text() == (
        "0 0 0 background\n255 0 0 car\n0 0 255 day\n0 255 0 road\n")
    base = tmp_path / "gtFine/default/a_gtFine"
    ids = pixels(base.with_name("a_gtFine_instanceIds.png"))
    classes = pixels(base.with_name("a_gtFine_labelIds.png"))
    assert (ids[1 * 12 + 1], classes[1 * 12 + 1]) == (1001, 1)  # car, instance 1
    assert (ids[3 * 12 + 5], classes[3 * 12 + 5]) == (3002, 3)  # road, instance 2
    assert (ids[0], classes[0]) == (0, 0)
    assert pixels(base.with_name("a_gtFine_color.png"))[3 * 12 + 5] == (0, 255, 0)
    assert not (tmp_path / "gtFine/default/sub").exists()  # nothing drawn on frame 1


def drawn(shape: dict, h: int = 8, w: int = 12) -> set[int]:
    bits = cvat_mask_to_rowmajor(shape["points"], h, w)
    return {i for i, b in enumerate(bits) if b}


boxes = st.builds(lambda label, x, y, dx, dy, z: api_shape(
    "rectangle", 0, label, [float(x), float(y), float(x + dx), float(y + dy)], z_order=z),
    st.sampled_from([1, 2]), st.integers(0, 8), st.integers(0, 5), st.integers(1, 4),
    st.integers(1, 3), st.integers(0, 2))


@pytest.mark.parametrize("format_name", camvid.EXPORTS)
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(boxes, max_size=4))
def test_round_trip(tmp_path_factory, format_name: str, shapes: list[dict]) -> None:
    """What comes back is the painted picture: per class (CamVid) or per instance (Cityscapes)
    exactly the pixels that class or instance shows on top."""
    if format_name == "Cityscapes 1.0" and not shapes:
        return  # no mask file at all: refused, as in CVAT (test_refused_input)
    out = tmp_path_factory.mktemp("out")
    dataset = make_dataset(shapes)
    camvid.export(dataset, out, save_images=False, format_name=format_name)
    back = camvid.import_(dataset, out, format_name=format_name)
    # the expected picture: boxes painted in z_order, later on top
    owner: dict[int, tuple[int, int]] = {}
    for number, shape in enumerate(sorted(shapes, key=lambda s: s["z_order"]), start=1):
        x0, y0, x1, y1 = shape["points"]
        for y in range(8):
            for x in range(12):
                if x0 <= x + 0.5 < x1 and y0 <= y + 0.5 < y1:
                    owner[y * 12 + x] = (shape["label_id"], number)
    key = 0 if format_name == "CamVid 1.0" else 1
    expected: dict[tuple, set[int]] = {}
    for pixel, who in owner.items():
        expected.setdefault((who[0], who[key]), set()).add(pixel)
    got = {}
    for shape in back["shapes"]:
        assert shape["type"] == "mask" and shape["frame"] == 0
        got.setdefault(shape["label_id"], []).append(drawn(shape))
    assert sorted((label, sorted(p)) for label, parts in got.items() for p in parts) == \
        sorted((label, sorted(p)) for (label, _), p in expected.items())


@pytest.mark.parametrize(("format_name", "damage", "message"), [
    ("CamVid 1.0", lambda out: (out / "label_colors.txt").write_text("255 0 0 bus\n"),
     "unknown color"),
    ("CamVid 1.0", lambda out: (out / "label_colors.txt").write_text("1 2 car\n"),
     "expected 'r g b name'"),
    ("CamVid 1.0", lambda out: (out / "default.txt").unlink(), "Dataset must contain"),
    ("Cityscapes 1.0", lambda out: (out / "label_colors.txt").write_text(
        "0 0 0 background\n255 0 0 bus\n0 0 255 day\n0 255 0 road\n"), "'bus' is not registered"),
    ("Cityscapes 1.0", lambda out: __import__("shutil").rmtree(out / "gtFine"),
     "Dataset must contain"),
    ("Cityscapes 1.0", lambda out: (out / "gtFine/default/a_gtFine_instanceIds.png").rename(
        out / "gtFine/default/zzz_gtFine_instanceIds.png"), "Could not match item id: 'zzz'"),
])
def test_refused_input(tmp_path: Path, format_name: str, damage, message: str) -> None:
    dataset = make_dataset(SHAPES)
    camvid.export(dataset, tmp_path, save_images=False, format_name=format_name)
    damage(tmp_path)
    with pytest.raises(ImportFailed, match=message):
        camvid.import_(dataset, tmp_path, format_name=format_name)


def test_rowmajor_helper_is_transposition() -> None:
    assert rowmajor(bytearray([1, 0, 0, 1, 1, 0]), 2, 3) == bytearray([1, 0, 1, 0, 1, 0])
