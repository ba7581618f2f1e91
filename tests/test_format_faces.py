"""WiderFace, VGGFace2, LFW and Market-1501 1.0: the files CVAT writes (read as text and with
``csv``), what comes back (the generated round trips are in test_format_roundtrip.py), the
export VGGFace2 refuses, and refused input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcvat.formats import exporter, importer, lfw, market1501, vggface2, widerface
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec
from tests.format_objects import api_shape

BLUR = AttributeSpec(7, "blur", False, "text", "0", ())
PID = AttributeSpec(11, "person_id", False, "text", "", ())
CAMERA = AttributeSpec(12, "camera_id", False, "number", "0", ("0", "10", "1"))
QUERY = AttributeSpec(13, "query", False, "checkbox", "false", ("false", "true"))
LABELS = [LabelSpec(1, "face", "#ff0000", "any", (BLUR,)), LabelSpec(2, "car", "#00ff00", "any"),
          LabelSpec(3, "market-1501", "#0000ff", "tag", (PID, CAMERA, QUERY))]


def tag(frame: int, label_id: int, attributes: list | None = None) -> dict:
    return {"frame": frame, "label_id": label_id, "group": 0, "source": "manual",
            "attributes": attributes or []}


def make_dataset(shapes: list[dict], tags: list[dict] | None = None,
                 names: tuple[str, str] = ("a.jpg", "sub/b.png")) -> Dataset:
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=LABELS,
                   frames=[Frame(0, names[0], 20, 10), Frame(1, names[1], 20, 10)],
                   annotations={"tags": tags or [], "shapes": shapes, "tracks": []},
                   image=lambda f: (b"IMG", Path(f.name).suffix))


def empty(names: tuple[str, str] = ("a.jpg", "sub/b.png")) -> Dataset:
    return make_dataset([], [], names)


def test_registry() -> None:
    for module in (widerface, vggface2, lfw, market1501):
        for name in module.EXPORTS:
            assert exporter(name) is module and importer(name) is module


def test_widerface_file(tmp_path: Path) -> None:
    shapes = [api_shape("rectangle", 0, 1, [1.0, 2.0, 4.0, 6.5], occluded=True,
                        attributes=[{"spec_id": 7, "value": "2"}]),
              api_shape("rectangle", 0, 2, [0.0, 0.0, 1.0, 1.0])]
    dataset = make_dataset(shapes, [tag(1, 2)])
    widerface.export(dataset, tmp_path, save_images=True, format_name="WiderFace 1.0")
    assert (tmp_path / "labels.txt").read_text() == "face\ncar\nmarket-1501"
    assert (tmp_path / "wider_face_split/wider_face_default_bbx_gt.txt").read_text() == (
        "no_label/a.jpg\n2\n"
        "1.0 2.0 3.0 4.5 2 - - True - - \n"
        "0.0 0.0 1.0 1.0 - - - False - - car\n"
        "1--car/sub/b.png\n")  # no count line without boxes
    assert (tmp_path / "WIDER_default/images/1--car/sub/b.png").read_bytes() == b"IMG"
    back = widerface.import_(empty(), tmp_path, format_name="WiderFace 1.0")
    assert [(s["label_id"], s["points"], s["occluded"], s["attributes"])
            for s in back["shapes"]] == [
        (1, [1.0, 2.0, 4.0, 6.5], True, [{"spec_id": 7, "value": "2"}]),
        (2, [0.0, 0.0, 1.0, 1.0], False, [])]
    assert [(t["frame"], t["label_id"]) for t in back["tags"]] == [(1, 2)]


def test_vggface2_files(tmp_path: Path) -> None:
    shapes = [api_shape("rectangle", 0, 1, [1.0, 2.0, 4.0, 6.0]),
              api_shape("points", 0, 1, [float(i) for i in range(10)])]
    vggface2.export(make_dataset(shapes, [tag(1, 2)]), tmp_path, save_images=False,
                    format_name="VGGFace2 1.0")
    with open(tmp_path / "bb_landmark/loose_landmark_default.csv", newline="") as f:
        marks = list(csv.DictReader(f))
    assert [(m["NAME_ID"], m["P5Y"]) for m in marks] == [("face/a", "9.0"), ("car/sub/b", "")]
    with open(tmp_path / "bb_landmark/loose_bb_default.csv", newline="") as f:
        assert list(csv.DictReader(f)) == [
            {"NAME_ID": "face/a", "X": "1.0", "Y": "2.0", "W": "3.0", "H": "4.0"}]
    back = vggface2.import_(empty(), tmp_path, format_name="VGGFace2 1.0")
    assert sorted((s["type"], s["label_id"], s["points"]) for s in back["shapes"]) == [
        ("points", 1, [float(i) for i in range(10)]), ("rectangle", 1, [1.0, 2.0, 4.0, 6.0])]
    assert [(t["frame"], t["label_id"]) for t in back["tags"]] == [(1, 2)]


def test_vggface2_refuses_two_boxes_on_a_frame(tmp_path: Path) -> None:
    shapes = [api_shape("rectangle", 0, 1, [1.0, 2.0, 4.0, 6.0]),
              api_shape("rectangle", 0, 2, [0.0, 0.0, 4.0, 6.0])]
    with pytest.raises(Exception, match=r"Item \(a, default\): an image can have only one bbox"):
        vggface2.export(make_dataset(shapes), tmp_path, save_images=False,
                        format_name="VGGFace2 1.0")


def test_lfw_files(tmp_path: Path) -> None:
    shapes = [api_shape("points", 0, 2, [1.0, 2.0, 3.5, 4.0]),
              api_shape("points", 1, 1, [5.0, 5.0])]  # frame 1 has no tag: dropped
    lfw.export(make_dataset(shapes, [tag(0, 1), tag(0, 2)]), tmp_path, save_images=True,
               format_name="LFW 1.0")
    notes = tmp_path / "default/annotations"
    assert (notes / "pairs.txt").read_text() == "face/a\n"
    assert (notes / "landmarks.txt").read_text() == "car/a.jpg\t1.0\t2.0\t3.5\t4.0\n"
    assert (notes / "people.txt").read_text() == "face\t1\ncar\t0\nmarket-1501\t0\n"
    assert sorted(p.relative_to(tmp_path / "default/images").as_posix()
                  for p in (tmp_path / "default/images").rglob("*.*")) == ["face/a.jpg",
                                                                          "sub/b.png"]
    back = lfw.import_(empty(), tmp_path, format_name="LFW 1.0")
    assert [(t["frame"], t["label_id"]) for t in back["tags"]] == [(0, 1)]
    assert [(s["frame"], s["label_id"], s["points"]) for s in back["shapes"]] == [
        (0, 2, [1.0, 2.0, 3.5, 4.0])]


def test_market1501_names(tmp_path: Path) -> None:
    names = ("a.jpg", "0002_c1s1_000003_00.jpg")
    attrs = [{"spec_id": 11, "value": "0001"}, {"spec_id": 12, "value": "2"},
             {"spec_id": 13, "value": "true"}]
    dataset = make_dataset([], [tag(0, 3, attrs)], names)
    market1501.export(dataset, tmp_path, save_images=False, format_name="Market-1501 1.0")
    assert (tmp_path / "images_default.txt").read_text() == (
        "query/0001_c3s1_000000_00.jpg\nbounding_box_default/0002_c1s1_000003_00.jpg\n")
    frames = empty(("0001_c3s1_000000_00.jpg", "0002_c1s1_000003_00.jpg"))
    back = market1501.import_(frames, tmp_path, format_name="Market-1501 1.0")
    got = {(t["frame"], a["spec_id"], a["value"]) for t in back["tags"] for a in t["attributes"]}
    # the list file names the subset "default": ``query`` comes back only from a query/ folder
    assert {(0, 11, "0001"), (0, 12, "2"), (0, 13, "false"), (1, 11, "0002"), (1, 12, "0"),
            (1, 13, "false")} <= got


@pytest.mark.parametrize(("module", "name", "damage", "message"), [
    (widerface, "WiderFace 1.0", lambda out: (out / "wider_face_split/wider_face_default_bbx_gt"
                                                    ".txt").write_text("x/zz.jpg\n0\n"),
     "Could not match item id: 'zz'"),
    (widerface, "WiderFace 1.0", lambda out: (out / "wider_face_split/wider_face_default_bbx_gt"
                                                    ".txt").write_text("x/a.jpg\n1\n1 2 3 4 bus\n"),
     "Label 'bus' is not registered"),
    (vggface2, "VGGFace2 1.0", lambda out: (out / "bb_landmark/loose_bb_default.csv").write_text(
        "NAME_ID,X,Y,W,H\nface/a,1,2,3,4\nface/a,1,2,3,4\n"), "only one bbox"),
    (lfw, "LFW 1.0", lambda out: (out / "default/annotations/pairs.txt").write_text("bus/a\n"),
     "Label 'bus' is not registered"),
    (lfw, "LFW 1.0", lambda out: (out / "default/annotations/pairs.txt").unlink(),
     "Dataset must contain"),
    (market1501, "Market-1501 1.0", lambda out: (out / "images_default.txt").unlink(),
     "Dataset must contain"),
])
def test_refused_input(tmp_path: Path, module, name: str, damage, message: str) -> None:
    dataset = make_dataset([api_shape("rectangle", 0, 1, [1.0, 2.0, 4.0, 6.0])], [tag(0, 1)])
    module.export(dataset, tmp_path, save_images=False, format_name=name)
    damage(tmp_path)
    with pytest.raises(ImportFailed, match=message):
        module.import_(dataset, tmp_path, format_name=name)


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(st.tuples(st.integers(0, 9999), st.integers(0, 8)), min_size=2,
                       max_size=2))
def test_market1501_round_trip(tmp_path_factory, people: list) -> None:
    """Frames named by the pattern keep their person and camera numbers (from the names) as a
    ``market-1501`` tag; the other attributes come from the names too."""
    out = tmp_path_factory.mktemp("out")
    names = tuple(f"{pid:04d}_c{cam + 1}s1_{i:06d}_00.jpg" for i, (pid, cam) in enumerate(people))
    dataset = make_dataset([], [], names)
    market1501.export(dataset, out, save_images=False, format_name="Market-1501 1.0")
    back = market1501.import_(dataset, out, format_name="Market-1501 1.0")
    got = sorted((t["frame"], {a["spec_id"]: a["value"] for a in t["attributes"]}[11],
                  {a["spec_id"]: a["value"] for a in t["attributes"]}[12]) for t in back["tags"])
    assert got == [(i, f"{pid:04d}", str(cam)) for i, (pid, cam) in enumerate(people)]
