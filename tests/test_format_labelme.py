"""LabelMe 3.0: the XML CVAT writes (read back with ElementTree, masks with Pillow), groups as
hasparts/ispartof, attribute escaping, and refused input."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from mockcvat.formats import exporter, importer, labelme
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec
from tests.format_objects import api_shape

NOTE = AttributeSpec(7, "note", False, "text", "", ())
LABELS = [LabelSpec(1, "car", "#ff0000", "any", (NOTE,)), LabelSpec(2, "road", "#00ff00", "any")]


def make_dataset() -> Dataset:
    shapes = [
        api_shape("rectangle", 0, 1, [1.0, 2.0, 11.0, 12.0], group=4, rotation=30.0,
                  attributes=[{"spec_id": 7, "value": 'a=b, "c"\\d'}]),
        api_shape("polygon", 0, 2, [0.0, 0.0, 8.0, 0.0, 8.0, 6.0], group=4, occluded=True),
        api_shape("mask", 1, 2, [0.0, 4.0, 3.0, 3.0, 4.0, 4.0]),  # a 2x2 mask at (3, 3)
        api_shape("points", 1, 1, [1.0, 1.0]),
    ]
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=LABELS,
                   frames=[Frame(0, "dir/a.jpg", 20, 16), Frame(1, "b.png", 10, 8)],
                   annotations={"tags": [], "shapes": shapes, "tracks": []},
                   image=lambda f: (b"IMG", Path(f.name).suffix))


def test_registry() -> None:
    assert exporter("LabelMe 3.0") is labelme and importer("LabelMe 3.0") is labelme


def test_files_read_with_elementtree(tmp_path: Path) -> None:
    labelme.export(make_dataset(), tmp_path, save_images=True, format_name="LabelMe 3.0")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
                  ) == ["default/Masks/b_mask_0.png", "default/b.png", "default/b.xml",
                        "default/dir/a.jpg", "default/dir/a.xml"]
    root = ET.parse(tmp_path / "default/dir/a.xml").getroot()
    assert (root.findtext("filename"), root.findtext("folder")) == ("a.jpg", "dir")
    assert (root.findtext("imagesize/nrows"), root.findtext("imagesize/ncols")) == ("16", "20")
    box, polygon = root.findall("object")
    assert box.findtext("type") == "bounding_box"
    assert [(p.findtext("x"), p.findtext("y")) for p in box.iter("pt")] == [
        ("1.00", "2.00"), ("11.00", "2.00"), ("11.00", "12.00"), ("1.00", "12.00")]
    assert box.findtext("attributes") == 'note=a\\=b\\, \\"c\\"\\\\d, rotation=30.0'
    assert (box.findtext("parts/hasparts"), polygon.findtext("parts/ispartof")) == ("1", "0")
    assert polygon.findtext("occluded") == "yes"
    mask = ET.parse(tmp_path / "default/b.xml").getroot().find("object/segm")
    assert mask.findtext("mask") == "b_mask_0.png" and mask.findtext("box/xmax") == "5.00"
    with Image.open(tmp_path / "default/Masks/b_mask_0.png") as image:
        assert image.mode == "RGBA" and image.getpixel((3, 3)) == (255, 203, 0, 153)
        assert image.getpixel((0, 0)) == (0, 0, 0, 0)


def test_round_trip_keeps_groups_masks_and_escaped_attributes(tmp_path: Path) -> None:
    dataset = make_dataset()
    labelme.export(dataset, tmp_path, save_images=False, format_name="LabelMe 3.0")
    back = labelme.import_(dataset, tmp_path, format_name="LabelMe 3.0")
    by_type = {s["type"]: s for s in back["shapes"]}
    assert set(by_type) == {"rectangle", "polygon", "mask"}  # points are not LabelMe
    assert by_type["rectangle"]["rotation"] == 30.0
    assert by_type["rectangle"]["attributes"] == [{"spec_id": 7, "value": 'a=b, "c"\\d'}]
    assert by_type["rectangle"]["group"] == by_type["polygon"]["group"] == 1
    assert by_type["polygon"]["occluded"] is True
    assert by_type["mask"]["points"] == [0.0, 4.0, 3.0, 3.0, 4.0, 4.0]


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace("<name>car</name>", "<name>bus</name>"), "'bus' is not registered"),
    (lambda t: t.replace("<x>1.00</x>", "<x>one</x>"), "invalid polygon point"),
    (lambda t: t.replace("<annotation>", "<other>").replace("</annotation>", "</other>"),
     "not a LabelMe annotation file"),
])
def test_refused_files(tmp_path: Path, change, message: str) -> None:
    dataset = make_dataset()
    labelme.export(dataset, tmp_path, save_images=False, format_name="LabelMe 3.0")
    path = tmp_path / "default/dir/a.xml"
    path.write_text(change(path.read_text()))
    with pytest.raises(ImportFailed, match=message):
        labelme.import_(dataset, tmp_path, format_name="LabelMe 3.0")


def test_unknown_frame_and_empty_archive(tmp_path: Path) -> None:
    dataset = make_dataset()
    labelme.export(dataset, tmp_path / "x", save_images=False, format_name="LabelMe 3.0")
    (tmp_path / "x/default/dir/a.xml").rename(tmp_path / "x/default/zzz.xml")
    with pytest.raises(ImportFailed, match="Could not match item id: 'zzz'"):
        labelme.import_(dataset, tmp_path / "x", format_name="LabelMe 3.0")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailed, match="Dataset must contain"):
        labelme.import_(dataset, tmp_path / "empty", format_name="LabelMe 3.0")
