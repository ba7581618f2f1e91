"""ICDAR Recognition, Localization and Segmentation 1.0: the files CVAT writes (read as plain
text, BMP masks with Pillow), round trips of generated text boxes (Localization: boxes and their
``text`` exactly; Segmentation: one ``icdar`` mask per instance with exactly the pixels it
shows, its colour and text), captions, and refused input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mockcvat.formats import exporter, icdar, importer
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec
from mockcvat.formats.common import cvat_mask_to_rowmajor
from tests.format_objects import api_shape
from tests.pixel_cases import H, W, boxes, visible

TEXT = AttributeSpec(5, "text", True, "text", "", ())
COLOR = AttributeSpec(6, "color", True, "text", "", ())
LABELS = [LabelSpec(1, "icdar", "#ff0000", "any", (TEXT, COLOR)),
          LabelSpec(2, "word", "#00ff00", "any", (TEXT,))]
REC, LOC, SEG = icdar.EXPORTS


def text(value: str) -> list[dict]:
    return [{"spec_id": 5, "value": value}]


def make_dataset(shapes: list[dict], tags: list[dict] | None = None) -> Dataset:
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=LABELS,
                   frames=[Frame(0, "a.jpg", W, H), Frame(1, "sub/b.png", W, H)],
                   annotations={"tags": tags or [], "shapes": shapes, "tracks": []},
                   image=lambda f: (b"IMG", Path(f.name).suffix))


def test_registry() -> None:
    for name in icdar.EXPORTS:
        assert exporter(name) is icdar and importer(name) is icdar


def test_recognition_captions(tmp_path: Path) -> None:
    tags = [{"frame": 0, "label_id": 2, "group": 0, "source": "manual",
             "attributes": text("Hello")},
            {"frame": 0, "label_id": 1, "group": 0, "source": "manual",
             "attributes": text("two words")}]
    dataset = make_dataset([], tags)
    icdar.export(dataset, tmp_path, save_images=True, format_name=REC)
    assert (tmp_path / "default/gt.txt").read_text() == (
        'a.jpg, "Hello""two words"\nsub/b.png, \n')
    assert (tmp_path / "default/images/sub/b.png").read_bytes() == b"IMG"
    back = icdar.import_(dataset, tmp_path, format_name=REC)
    assert [(t["frame"], t["label_id"], t["attributes"]) for t in back["tags"]] == [
        (0, 1, text("Hello")), (0, 1, text("two words"))]


def test_localization_lines(tmp_path: Path) -> None:
    shapes = [api_shape("rectangle", 0, 1, [1.0, 2.0, 5.0, 6.0], attributes=text("Stop")),
              api_shape("polygon", 1, 1, [0.0, 0.0, 4.0, 0.0, 4.0, 3.0, 0.0, 3.0])]
    icdar.export(make_dataset(shapes), tmp_path, save_images=False, format_name=LOC)
    assert (tmp_path / "default/gt_a.txt").read_text() == '1.0 2.0 5.0 6.0 "Stop"\n'
    assert (tmp_path / "default/sub/gt_b.txt").read_text() == \
        '0.0,0.0,4.0,0.0,4.0,3.0,0.0,3.0,""\n'


words = st.text(alphabet="abcXYZ09", min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(st.tuples(boxes("rectangle", labels=(1,)), words), max_size=4))
def test_localization_round_trip(tmp_path_factory, shapes: list) -> None:
    out = tmp_path_factory.mktemp("out")
    given_shapes = [dict(s, attributes=text(w)) for s, w in shapes]
    dataset = make_dataset(given_shapes)
    icdar.export(dataset, out, save_images=False, format_name=LOC)
    back = icdar.import_(make_dataset([]), out, format_name=LOC)
    assert sorted((s["type"], s["points"], s["attributes"][0]["value"])
                  for s in back["shapes"]) == sorted(
        ("rectangle", s["points"], s["attributes"][0]["value"]) for s in given_shapes)


def drawn(shape: dict) -> set[int]:
    return {i for i, b in enumerate(cvat_mask_to_rowmajor(shape["points"], H, W)) if b}


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(st.tuples(boxes("polygon", labels=(1,)), words), max_size=4))
def test_segmentation_round_trip(tmp_path_factory, shapes: list) -> None:
    """Instances are painted in their order (equal ``index``): later ones on top."""
    out = tmp_path_factory.mktemp("out")
    given_shapes = [dict(s, z_order=0, attributes=text(w)) for s, w in shapes]
    icdar.export(make_dataset(given_shapes), out, save_images=False, format_name=SEG)
    back = icdar.import_(make_dataset([]), out, format_name=SEG)
    got = sorted((sorted(drawn(s)), {a["spec_id"]: a["value"] for a in s["attributes"]}[5])
                 for s in back["shapes"])
    expected = sorted((sorted(p), s["attributes"][0]["value"]) for s, p in visible(given_shapes)
                      if p)
    assert got == expected
    assert all(s["type"] == "mask" and s["label_id"] == 1 for s in back["shapes"])


def test_segmentation_files(tmp_path: Path) -> None:
    shapes = [api_shape("rectangle", 0, 1, [1.0, 1.0, 4.0, 3.0],
                        attributes=text("A") + [{"spec_id": 6, "value": "10 20 30"}]),
              api_shape("rectangle", 0, 1, [5.0, 1.0, 7.0, 3.0], attributes=text(" "))]
    icdar.export(make_dataset(shapes), tmp_path, save_images=False, format_name=SEG)
    assert (tmp_path / "default/a_GT.txt").read_text() == (
        '10 20 30 - - 1.0 1.0 4.0 3.0 "A"\n#128 0 0 - - 5.0 1.0 7.0 3.0 " "\n')
    with Image.open(tmp_path / "default/a_GT.bmp") as image:
        assert image.getpixel((0, 0)) == (255, 255, 255)
        assert image.getpixel((2, 2)) == (10, 20, 30)
        assert image.getpixel((6, 2)) == (128, 0, 0)
    back = icdar.import_(make_dataset([]), tmp_path, format_name=SEG)
    assert sorted({a["spec_id"]: a["value"] for a in s["attributes"]}[5]
                  for s in back["shapes"]) == [" ", "A"]


@pytest.mark.parametrize(("format_name", "damage", "message"), [
    (LOC, lambda out: (out / "default/gt_a.txt").write_text("1 2 x 4\n"), "can't parse"),
    (LOC, lambda out: (out / "default/gt_a.txt").rename(out / "default/gt_zz.txt"),
     "Could not match item id: 'zz'"),
    (SEG, lambda out: (out / "default/a_GT.txt").write_text('1 2 3 - - 1 1 4 3 "A"\n'),
     "unknown color"),
    (REC, lambda out: (out / "default/gt.txt").write_text('a.jpg, "unbalanced\n'),
     "unexpected number of quotes"),
    (REC, lambda out: (out / "default/gt.txt").unlink(), "Dataset must contain"),
])
def test_refused_input(tmp_path: Path, format_name: str, damage, message: str) -> None:
    shapes = [api_shape("rectangle", 0, 1, [1.0, 1.0, 4.0, 3.0], attributes=text("A"))]
    dataset = make_dataset(shapes)
    icdar.export(dataset, tmp_path, save_images=False, format_name=format_name)
    damage(tmp_path)
    with pytest.raises(ImportFailed, match=message):
        icdar.import_(dataset, tmp_path, format_name=format_name)


def test_unknown_label_is_refused(tmp_path: Path) -> None:
    shapes = [api_shape("rectangle", 0, 2, [1.0, 1.0, 4.0, 3.0], attributes=text("A"))]
    icdar.export(make_dataset(shapes), tmp_path, save_images=False, format_name=LOC)
    only_word = Dataset(kind="task", id=1, name="t", mode="annotation", labels=[LABELS[1]],
                        frames=[Frame(0, "a.jpg", W, H)],
                        annotations={"tags": [], "shapes": [], "tracks": []})
    with pytest.raises(ImportFailed, match="Label 'icdar' is not registered"):
        icdar.import_(only_word, tmp_path, format_name=LOC)


captions = st.text(alphabet="abcXYZ09 .-", min_size=1, max_size=8).filter(
    lambda t: t.strip() == t and t)


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.tuples(st.integers(0, 1), captions), max_size=4))
def test_recognition_round_trip(tmp_path_factory, texts: list) -> None:
    """Every ``text`` comes back, in frame order, as an ``icdar`` tag; nothing else does."""
    out = tmp_path_factory.mktemp("out")
    tags = [{"frame": f, "label_id": 2, "group": 0, "source": "manual", "attributes": text(t)}
            for f, t in texts]
    icdar.export(make_dataset([], tags), out, save_images=False, format_name=REC)
    back = icdar.import_(make_dataset([]), out, format_name=REC)
    assert sorted((t["frame"], t["label_id"], t["attributes"][0]["value"]) for t in back["tags"]
                  ) == sorted((f, 1, t) for f, t in texts)
