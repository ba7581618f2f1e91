"""YOLO 1.1 and Ultralytics YOLO Detection 1.0: exact files, round trip, refused input.

What the formats keep: rectangles (label, box) on every frame, tracks as their per-frame boxes.
Lost: attributes, occluded, z_order, group, source, rotated boxes, every other shape type, tags,
track identity (an import gives plain shapes) and precision (6 decimals of the image size).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockcvat.formats import exporter, importer, tracks, yolo
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec


def attr(spec_id: int, value: str) -> dict[str, Any]:
    return {"spec_id": spec_id, "value": value}


def rect(frame: int, label_id: int, points: list[float], **extra: Any) -> dict[str, Any]:
    shape = {"type": "rectangle", "frame": frame, "label_id": label_id, "group": None,
             "source": "manual", "occluded": False, "outside": False, "z_order": 0,
             "rotation": 0.0, "points": points, "attributes": [], "elements": []}
    shape.update(extra)
    return shape


def make_dataset(names: tuple[str, str, str] = ("img0.jpg", "sub/img_1.png", "img2.jpg")
                 ) -> Dataset:
    car_attrs = (
        AttributeSpec(10, "color", False, "select", "red", ("red", "blue")),
        AttributeSpec(11, "parked", True, "checkbox", "false", ("false", "true")),
        AttributeSpec(12, "speed", True, "number", "0", ("0", "100", "1")),
    )
    labels = [LabelSpec(1, "car", "#ff0000", "any", car_attrs),
              LabelSpec(2, "person", "#00ff00", "any"),
              LabelSpec(3, "day", "#0000ff", "tag")]
    frames = [Frame(0, names[0], 100, 50), Frame(1, names[1], 200, 100),
              Frame(2, names[2], 100, 50)]
    car = [attr(10, "blue"), attr(11, "true"), attr(12, "5")]
    annotations = {
        "tags": [
            {"frame": 0, "label_id": 3, "group": None, "source": "manual", "attributes": []},
            {"frame": 1, "label_id": 3, "group": None, "source": "manual", "attributes": []},
            {"frame": 1, "label_id": 1, "group": None, "source": "manual", "attributes": car},
        ],
        "shapes": [
            rect(0, 1, [10.0, 20.0, 30.0, 40.0], attributes=car),
            {**rect(0, 2, [1.0, 1.0, 5.0, 1.0, 5.0, 5.0]), "type": "polygon"},
            rect(0, 2, [0.0, 0.0, 50.0, 25.0], occluded=True, z_order=1),
            rect(2, 2, [25.5, 10.0, 75.5, 40.0]),
            rect(2, 1, [0.0, 0.0, 10.0, 10.0], rotation=30.0,
                 attributes=[attr(10, "red"), attr(11, "false"), attr(12, "0")]),
        ],
        "tracks": [{
            "frame": 0, "label_id": 1, "group": None, "source": "manual",
            "attributes": [attr(10, "blue")], "elements": [],
            "shapes": [
                {"type": "rectangle", "frame": 0, "occluded": False, "outside": False,
                 "z_order": 0, "rotation": 0.0, "points": [0.0, 0.0, 10.0, 10.0],
                 "attributes": [attr(11, "false"), attr(12, "1")]},
                {"type": "rectangle", "frame": 2, "occluded": False, "outside": False,
                 "z_order": 0, "rotation": 0.0, "points": [20.0, 10.0, 40.0, 30.0],
                 "attributes": [attr(11, "true"), attr(12, "2")]},
            ],
        }],
    }
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=labels, frames=frames,
                   annotations=annotations, image=lambda f: (b"IMG%d" % f.frame, ".jpg"))


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# boxes (label name, frame, points) the formats keep, per frame, in file order
KEPT = [
    ("car", 0, [10.0, 20.0, 30.0, 40.0]),
    ("car", 0, [0.0, 0.0, 10.0, 10.0]),  # the track's first keyframe
    ("person", 0, [0.0, 0.0, 50.0, 25.0]),
    ("car", 1, [10.0, 5.0, 25.0, 20.0]),  # interpolated
    ("person", 2, [25.5, 10.0, 75.5, 40.0]),
    ("car", 2, [20.0, 10.0, 40.0, 30.0]),
]
LINES = {
    "img0": "0 0.200000 0.600000 0.200000 0.400000\n"
            "0 0.050000 0.100000 0.100000 0.200000\n"
            "1 0.250000 0.250000 0.500000 0.500000\n",
    "sub/img_1": "0 0.087500 0.125000 0.075000 0.150000\n",
    "img2": "1 0.505000 0.500000 0.500000 0.600000\n"
            "0 0.300000 0.400000 0.200000 0.400000\n",
}


def test_registry_finds_the_module() -> None:
    for name in yolo.EXPORTS:
        assert exporter(name) is yolo
    for name in yolo.IMPORTS:
        assert importer(name) is yolo


def test_yolo_export_files(tmp_path: Path) -> None:
    yolo.export(make_dataset(), tmp_path, save_images=False, format_name="YOLO 1.1")
    assert files(tmp_path) == {
        "obj.names": b"car\nperson\nday\n",
        "obj.data": b"classes = 3\ntrain = data/train.txt\nnames = data/obj.names\n"
                    b"backup = backup/\n",
        "train.txt": b"data/obj_train_data/img0.jpg\ndata/obj_train_data/sub/img_1.png\n"
                     b"data/obj_train_data/img2.jpg\n",
        "obj_train_data/img0.txt": LINES["img0"].encode(),
        "obj_train_data/sub/img_1.txt": LINES["sub/img_1"].encode(),
        "obj_train_data/img2.txt": LINES["img2"].encode(),
    }


def test_yolo_export_with_images_and_empty_frames(tmp_path: Path) -> None:
    dataset = make_dataset(("a.png", "b", "c.jpeg"))
    dataset.annotations = {"tags": [], "shapes": [], "tracks": []}
    yolo.export(dataset, tmp_path, save_images=True, format_name="YOLO 1.1")
    got = files(tmp_path)
    # every frame gets an (empty) label file; a name without extension is saved as .jpg
    assert got["obj_train_data/a.txt"] == got["obj_train_data/b.txt"] == b""
    assert got["obj_train_data/a.png"] == b"IMG0"
    assert got["obj_train_data/b.jpg"] == b"IMG1"
    assert got["obj_train_data/c.jpeg"] == b"IMG2"
    assert got["train.txt"] == (b"data/obj_train_data/a.png\ndata/obj_train_data/b.jpg\n"
                                b"data/obj_train_data/c.jpeg\n")


def test_ultralytics_export_files(tmp_path: Path) -> None:
    yolo.export(make_dataset(), tmp_path, save_images=True,
                format_name="Ultralytics YOLO Detection 1.0")
    got = files(tmp_path)
    assert got.pop("data.yaml").decode() == (
        "names:\n  0: car\n  1: person\n  2: day\npath: .\ntrain: train.txt\n")
    assert got == {
        "train.txt": b"data/images/train/img0.jpg\ndata/images/train/sub/img_1.png\n"
                     b"data/images/train/img2.jpg\n",
        "labels/train/img0.txt": LINES["img0"].encode(),
        "labels/train/sub/img_1.txt": LINES["sub/img_1"].encode(),
        "labels/train/img2.txt": LINES["img2"].encode(),
        "images/train/img0.jpg": b"IMG0",
        "images/train/sub/img_1.png": b"IMG1",
        "images/train/img2.jpg": b"IMG2",
    }


def test_ultralytics_skips_label_files_of_empty_frames(tmp_path: Path) -> None:
    dataset = make_dataset()
    dataset.annotations = {"tags": [], "tracks": [],
                           "shapes": [rect(2, 2, [0.0, 0.0, 10.0, 10.0])]}
    yolo.export(dataset, tmp_path, save_images=False, format_name="Ultralytics YOLO Detection 1.0")
    assert sorted(files(tmp_path)) == ["data.yaml", "labels/train/img2.txt", "train.txt"]
    assert yaml.safe_load((tmp_path / "data.yaml").read_text())["names"] == {
        0: "car", 1: "person", 2: "day"}


def kept(result: dict[str, Any], dataset: Dataset) -> list[tuple[str, int, list[float]]]:
    assert result["tags"] == [] and result["tracks"] == []
    out = []
    for shape in result["shapes"]:
        assert shape["type"] == "rectangle"
        assert shape["attributes"] == [] and shape["occluded"] is False
        assert shape["rotation"] == 0.0 and shape["z_order"] == 0
        out.append((dataset.label(shape["label_id"]).name, shape["frame"], shape["points"]))
    return out


@pytest.mark.parametrize("format_name", ["YOLO 1.1", "Ultralytics YOLO Detection 1.0"])
def test_round_trip(tmp_path: Path, format_name: str) -> None:
    dataset = make_dataset()
    yolo.export(dataset, tmp_path / "out", save_images=False, format_name=format_name)
    got = kept(yolo.import_(dataset, tmp_path / "out", format_name=format_name), dataset)
    assert [(n, f) for n, f, _ in got] == [(n, f) for n, f, _ in KEPT]
    for (_n, _f, points), (_n2, _f2, expected) in zip(got, KEPT, strict=True):
        assert points == pytest.approx(expected, abs=1e-3)


def test_import_from_a_nested_folder(tmp_path: Path) -> None:
    dataset = make_dataset()
    yolo.export(dataset, tmp_path / "x" / "inner", save_images=True, format_name="YOLO 1.1")
    got = kept(yolo.import_(dataset, tmp_path / "x", format_name="YOLO 1.1"), dataset)
    assert len(got) == len(KEPT)


def exported(tmp_path: Path, format_name: str = "YOLO 1.1") -> tuple[Dataset, Path]:
    dataset = make_dataset()
    yolo.export(dataset, tmp_path / "out", save_images=False, format_name=format_name)
    return dataset, tmp_path / "out"


def test_bad_class_index(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    (out / "obj_train_data/img0.txt").write_text("7 0.5 0.5 0.1 0.1\n")
    with pytest.raises(ImportFailed, match="undeclared label '7'"):
        yolo.import_(dataset, out, format_name="YOLO 1.1")


def test_bad_class_index_ultralytics(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path, "Ultralytics YOLO Detection 1.0")
    (out / "labels/train/img2.txt").write_text("3 0.5 0.5 0.1 0.1\n")
    with pytest.raises(ImportFailed, match="undeclared label '3'"):
        yolo.import_(dataset, out, format_name="Ultralytics YOLO Detection 1.0")


@pytest.mark.parametrize("line", ["0 0.5 0.5 0.1\n", "x 0.5 0.5 0.1 0.1\n", "0 a 0.5 0.1 0.1\n"])
def test_malformed_lines(tmp_path: Path, line: str) -> None:
    dataset, out = exported(tmp_path)
    (out / "obj_train_data/img2.txt").write_text(line)
    with pytest.raises(ImportFailed, match="Image img2"):
        yolo.import_(dataset, out, format_name="YOLO 1.1")


def test_label_not_in_the_task(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    (out / "obj.names").write_text("car\nbicycle\nday\n")
    with pytest.raises(ImportFailed, match="Label 'bicycle' is not registered"):
        yolo.import_(dataset, out, format_name="YOLO 1.1")


def test_frame_not_in_the_task(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    with (out / "train.txt").open("a") as f:
        f.write("data/obj_train_data/unknown.jpg\n")
    (out / "obj_train_data/unknown.txt").write_text("")
    with pytest.raises(ImportFailed, match="Could not match item id: 'unknown'"):
        yolo.import_(dataset, out, format_name="YOLO 1.1")


def test_missing_descriptor(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    (out / "obj.data").unlink()
    with pytest.raises(ImportFailed, match="obj.data"):
        yolo.import_(dataset, out, format_name="YOLO 1.1")
    shutil.rmtree(out)
    out.mkdir()
    (out / "data.yaml").write_text("names: [a\n")
    with pytest.raises(ImportFailed, match="Failed to parse config file"):
        yolo.import_(dataset, out, format_name="Ultralytics YOLO Detection 1.0")


def test_paths_may_not_leave_the_archive(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    (out / "obj.data").write_text("classes = 3\ntrain = ../../etc/passwd\nnames = data/obj.names\n")
    with pytest.raises(ImportFailed, match="outside the dataset"):
        yolo.import_(dataset, out, format_name="YOLO 1.1")


def test_track_interpolation_and_outside() -> None:
    track = {"frame": 1, "label_id": 1, "group": 0, "source": "auto", "attributes": [],
             "shapes": [
                 {"type": "rectangle", "frame": 1, "outside": False, "occluded": False,
                  "z_order": 0, "rotation": 350.0, "points": [0, 0, 10, 10], "attributes": []},
                 {"type": "rectangle", "frame": 3, "outside": False, "occluded": False,
                  "z_order": 0, "rotation": 10.0, "points": [10, 0, 20, 10], "attributes": []},
                 {"type": "rectangle", "frame": 5, "outside": True, "occluded": False,
                  "z_order": 0, "rotation": 10.0, "points": [10, 0, 20, 10], "attributes": []},
                 {"type": "rectangle", "frame": 7, "outside": False, "occluded": False,
                  "z_order": 0, "rotation": 0.0, "points": [1, 1, 2, 2], "attributes": []},
             ]}
    shapes = tracks.track_shapes(track, 4, end_frame=9)
    visible = [(s["frame"], s["points"], s["rotation"], s["keyframe"])
               for s in shapes if not s["outside"]]
    assert visible == [
        (1, [0, 0, 10, 10], 350.0, True),
        (2, [5.0, 0.0, 15.0, 10.0], 0.0, False),  # rotation along the short arc
        (3, [10, 0, 20, 10], 10.0, True),
        (4, [10, 0, 20, 10], 10.0, False),
        (7, [1, 1, 2, 2], 0.0, True),
        (8, [1, 1, 2, 2], 0.0, False),  # continues to the end of the task
    ]
    assert [s["frame"] for s in shapes if s["outside"]] == [5]
    assert {s["track_id"] for s in shapes} == {4} and {s["source"] for s in shapes} == {"auto"}


def test_images_of_another_type_are_reencoded(tmp_path: Path) -> None:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (4, 3), "red").save(buffer, format="PNG")
    dataset = make_dataset(("a.jpg", "b.png", "c"))
    dataset.image = lambda f: (buffer.getvalue(), ".png")
    yolo.export(dataset, tmp_path, save_images=True, format_name="YOLO 1.1")
    assert (tmp_path / "obj_train_data/b.png").read_bytes() == buffer.getvalue()
    for name in ("a.jpg", "c.jpg"):
        with Image.open(tmp_path / "obj_train_data" / name) as image:
            assert (image.format, image.size) == ("JPEG", (4, 3))
