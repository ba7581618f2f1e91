"""The Ultralytics YOLO formats besides Detection (tests/test_format_yolo.py): Detection Track,
Oriented Bounding Boxes, Segmentation, Pose and Classification — exact lines, the data.yaml
conventions Ultralytics reads (checked by parsing), what each keeps, and refused input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockcvat.formats import yolo
from mockcvat.formats.base import Dataset, Frame, ImportFailed, LabelSpec
from tests.format_objects import api_shape

SVG = ('<line x1="1" y1="1" x2="2" y2="2" data-node-from="1" data-node-to="2"></line>'
       '<circle r="1" cx="1" cy="1" data-label-name="head"></circle>'
       '<circle r="1" cx="2" cy="2" data-label-name="tail"></circle>')
LABELS = [LabelSpec(1, "car", "#ff0000", "any"), LabelSpec(2, "cat", "#00ff00", "skeleton",
                                                          svg=SVG),
          LabelSpec(3, "head", "#0000ff", "points", parent_id=2),
          LabelSpec(4, "tail", "#0000ff", "points", parent_id=2),
          LabelSpec(5, "day", "#ffffff", "tag")]


def element(label_id: int, x: float, y: float, frame: int = 0, **extra: Any) -> dict[str, Any]:
    return api_shape("points", frame, label_id, [x, y], **extra)


def make_dataset() -> Dataset:
    shapes = [
        api_shape("rectangle", 0, 1, [10.0, 20.0, 30.0, 40.0]),
        api_shape("rectangle", 0, 1, [0.0, 0.0, 20.0, 10.0], rotation=90.0),
        api_shape("polygon", 1, 1, [10.0, 10.0, 50.0, 10.0, 50.0, 25.0]),
        api_shape("skeleton", 1, 2, [], elements=[
            element(3, 20.0, 10.0, frame=1), element(4, 60.0, 40.0, frame=1, occluded=True)]),
        api_shape("skeleton", 0, 2, [], elements=[
            element(3, 10.0, 5.0), element(4, 0.0, 0.0, outside=True)]),
    ]
    track = {"frame": 0, "label_id": 1, "group": 0, "source": "manual", "attributes": [],
             "elements": [], "shapes": [
                 {"type": "rectangle", "frame": 0, "occluded": False, "outside": False,
                  "z_order": 0, "rotation": 0.0, "points": [0.0, 0.0, 10.0, 10.0],
                  "attributes": []}]}
    tags = [{"frame": 1, "label_id": 5, "group": 0, "source": "manual", "attributes": []},
            {"frame": 1, "label_id": 1, "group": 0, "source": "manual", "attributes": []}]
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=LABELS,
                   frames=[Frame(0, "a.jpg", 100, 50), Frame(1, "b.png", 200, 100)],
                   annotations={"tags": tags, "shapes": shapes, "tracks": [track]},
                   image=lambda f: (b"IMG%d" % f.frame, Path(f.name).suffix))


def export(tmp_path: Path, format_name: str, save_images: bool = False) -> Path:
    out = tmp_path / "out"
    yolo.export(make_dataset(), out, save_images=save_images, format_name=format_name)
    return out


def label_lines(out: Path, name: str) -> list[str]:
    return (out / "labels" / "train" / f"{name}.txt").read_text().splitlines()


def check_ultralytics_layout(out: Path, fields: int | None = None) -> dict[str, Any]:
    """What Ultralytics' loader relies on: data.yaml with ``path``, ``names`` (index → name)
    and a ``train`` list of images under ``images/``, each with a label file of the same stem
    under ``labels/`` whose class ids are in ``names`` and whose values are normalised."""
    config = yaml.safe_load((out / "data.yaml").read_text())
    assert config["path"] == "." and isinstance(config["names"], dict)
    for image in (out / config["train"]).read_text().splitlines():
        assert image.startswith("data/images/train/")
        label = out / "labels" / "train" / (Path(image).stem + ".txt")
        for line in label.read_text().splitlines() if label.exists() else []:
            numbers = line.split()
            assert int(numbers[0]) in config["names"]
            assert fields is None or len(numbers) == fields
    return config


def test_oriented_boxes(tmp_path: Path) -> None:
    out = export(tmp_path, "Ultralytics YOLO Oriented Bounding Boxes 1.0")
    check_ultralytics_layout(out, 9)
    lines = label_lines(out, "a")
    assert lines[0] == "0 0.100000 0.400000 0.300000 0.400000 0.300000 0.800000 0.100000 0.800000"
    # 90°: the 20x10 box stands on its end around its centre (10, 5)
    assert lines[1] == ("0 0.150000 -0.100000 0.150000 0.300000 0.050000 0.300000 0.050000 "
                        "-0.100000")
    back = yolo.import_(make_dataset(), out,
                        format_name="Ultralytics YOLO Oriented Bounding Boxes 1.0")
    turned = [s for s in back["shapes"] if s["rotation"]]
    assert len(back["shapes"]) == 4 and len(turned) == 1  # the track box on both frames
    assert turned[0]["rotation"] == pytest.approx(90.0)
    assert turned[0]["points"] == pytest.approx([0.0, 0.0, 20.0, 10.0], abs=1e-4)


def test_segmentation_keeps_polygons_only(tmp_path: Path) -> None:
    out = export(tmp_path, "Ultralytics YOLO Segmentation 1.0")
    check_ultralytics_layout(out)
    assert not (out / "labels/train/a.txt").exists()  # boxes only on frame 0
    assert label_lines(out, "b") == ["0 0.050000 0.100000 0.250000 0.100000 0.250000 0.250000"]
    back = yolo.import_(make_dataset(), out, format_name="Ultralytics YOLO Segmentation 1.0")
    assert [(s["type"], s["frame"]) for s in back["shapes"]] == [("polygon", 1)]
    assert back["shapes"][0]["points"] == pytest.approx([10, 10, 50, 10, 50, 25])


def test_pose_lines_and_round_trip(tmp_path: Path) -> None:
    out = export(tmp_path, "Ultralytics YOLO Pose 1.0")
    config = check_ultralytics_layout(out, 5 + 3 * 2)
    assert config["kpt_shape"] == [2, 3] and config["names"] == {0: "cat"}
    # the box spans the points that are not absent; an absent point is written as 0 0 0
    assert label_lines(out, "a") == [
        "0 0.100000 0.100000 0.000000 0.000000 0.100000 0.100000 2 0.000000 0.000000 0"]
    assert label_lines(out, "b") == [
        "0 0.200000 0.250000 0.200000 0.300000 0.100000 0.100000 2 0.300000 0.400000 1"]
    back = yolo.import_(make_dataset(), out, format_name="Ultralytics YOLO Pose 1.0")
    skeletons = sorted(back["shapes"], key=lambda s: s["frame"])
    assert [s["type"] for s in skeletons] == ["skeleton", "skeleton"]
    first = {e["label_id"]: e for e in skeletons[1]["elements"]}
    assert first[3]["points"] == pytest.approx([20.0, 10.0]) and first[4]["occluded"] is True
    assert [e["outside"] for e in skeletons[0]["elements"]] == [False, True]


def test_detection_track_ids_come_back_as_tracks(tmp_path: Path) -> None:
    out = export(tmp_path, "Ultralytics YOLO Detection Track 1.0")
    check_ultralytics_layout(out)
    assert label_lines(out, "a") == ["0 0.200000 0.600000 0.200000 0.400000",
                                     "0 0.050000 0.100000 0.100000 0.200000 0"]
    back = yolo.import_(make_dataset(), out, format_name="Ultralytics YOLO Detection 1.0")
    (track,) = back["tracks"]
    assert [(s["frame"], s["outside"]) for s in track["shapes"]] == [(0, False), (1, False)]


def test_classification(tmp_path: Path) -> None:
    out = export(tmp_path, "Ultralytics YOLO Classification 1.0", save_images=True)
    assert json.loads((out / "train/labels.json").read_text()) == {
        "a": {"labels": []}, "b": {"labels": ["car", "day"]}}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")
                  if p.name != "labels.json") == [
        "train/car/b.png", "train/day/b.png", "train/no_label/a.jpg"]
    back = yolo.import_(make_dataset(), out, format_name="Ultralytics YOLO Classification 1.0")
    assert sorted((t["frame"], t["label_id"]) for t in back["tags"]) == [(1, 1), (1, 5)]
    (out / "train/labels.json").unlink()  # the folders alone give the same tags
    again = yolo.import_(make_dataset(), out, format_name="Ultralytics YOLO Classification 1.0")
    assert sorted((t["frame"], t["label_id"]) for t in again["tags"]) == [(1, 1), (1, 5)]


@pytest.mark.parametrize(("format_name", "line", "message"), [
    ("Ultralytics YOLO Oriented Bounding Boxes 1.0", "0 0.1 0.1 0.2 0.2\n",
     "Expected 9 fields"),
    ("Ultralytics YOLO Segmentation 1.0", "0 0.1 0.1 0.2\n", "an odd number of fields"),
    ("Ultralytics YOLO Pose 1.0", "0 0.5 0.5 0.1 0.1 0.1 0.1 2\n", "kpt_shape"),
    ("Ultralytics YOLO Pose 1.0", "0 0.5 0.5 0.1 0.1 0.1 0.1 7 0 0 0\n", "visibility '7.0'"),
    ("Ultralytics YOLO Detection 1.0", "0 0.5 0.5 0.1 0.1 1.5\n", "track id '1.5'"),
    ("Ultralytics YOLO Segmentation 1.0", "9 0.1 0.1 0.2 0.2 0.3 0.3\n", "undeclared label '9'"),
])
def test_refused_lines(tmp_path: Path, format_name: str, line: str, message: str) -> None:
    out = export(tmp_path, format_name if "Detection" not in format_name
                 else "Ultralytics YOLO Detection 1.0")
    target = out / "labels/train/b.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(line)
    with pytest.raises(ImportFailed, match=message.replace("(", r"\(")):
        yolo.import_(make_dataset(), out, format_name=format_name)


def test_unknown_label_in_classification(tmp_path: Path) -> None:
    out = export(tmp_path, "Ultralytics YOLO Classification 1.0")
    (out / "train/labels.json").write_text('{"a": {"labels": ["dog"]}}')
    with pytest.raises(ImportFailed, match="Label 'dog' is not registered"):
        yolo.import_(make_dataset(), out, format_name="Ultralytics YOLO Classification 1.0")
    (out / "train/labels.json").write_text('{"zzz": {"labels": []}}')
    with pytest.raises(ImportFailed, match="Could not match item id: 'zzz'"):
        yolo.import_(make_dataset(), out, format_name="Ultralytics YOLO Classification 1.0")


def test_box_corners_turn_around_the_centre() -> None:
    corners = yolo.box_corners([0.0, 0.0, 4.0, 2.0], 180.0)
    assert corners == pytest.approx([4.0, 2.0, 0.0, 2.0, 0.0, 0.0, 4.0, 0.0])
    assert math.isclose(yolo.box_corners([0, 0, 4, 2], 0.0)[2], 4.0)
