"""PASCAL VOC 1.1: exact files, round trip, refused input.

What the format keeps: rectangles (label, box, occluded, rotation, the label's attributes by
name), tracks of rectangles (rebuilt from ``track_id``/``keyframe``: keyframes, track-level
immutable attributes, per-frame mutable ones), tags (label and frame).
Lost: other shape types, z_order, group, source (→ manual), tag attributes; number attributes
come back as floats ("5" → "5.0"), checkbox values lower-cased.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mockcvat.formats import exporter, importer, voc
from mockcvat.formats.base import Dataset, ImportFailed
from tests.test_format_yolo import attr, files, make_dataset, rect

FRAME0_XML = """\
<annotation>
  <folder></folder>
  <filename>img0.jpg</filename>
  <source>
    <database>Unknown</database>
    <annotation>Unknown</annotation>
    <image>Unknown</image>
  </source>
  <size>
    <width>100</width>
    <height>50</height>
    <depth></depth>
  </size>
  <segmented>0</segmented>
  <object>
    <name>car</name>
    <truncated>0</truncated>
    <occluded>0</occluded>
    <difficult>0</difficult>
    <bndbox>
      <xmin>10.0</xmin>
      <ymin>20.0</ymin>
      <xmax>30.0</xmax>
      <ymax>40.0</ymax>
    </bndbox>
    <attributes>
      <attribute>
        <name>color</name>
        <value>blue</value>
      </attribute>
      <attribute>
        <name>parked</name>
        <value>True</value>
      </attribute>
      <attribute>
        <name>speed</name>
        <value>5.0</value>
      </attribute>
      <attribute>
        <name>rotation</name>
        <value>0.0</value>
      </attribute>
    </attributes>
  </object>
  <object>
    <name>car</name>
    <truncated>0</truncated>
    <occluded>0</occluded>
    <difficult>0</difficult>
    <bndbox>
      <xmin>0.0</xmin>
      <ymin>0.0</ymin>
      <xmax>10.0</xmax>
      <ymax>10.0</ymax>
    </bndbox>
    <attributes>
      <attribute>
        <name>color</name>
        <value>blue</value>
      </attribute>
      <attribute>
        <name>parked</name>
        <value>False</value>
      </attribute>
      <attribute>
        <name>speed</name>
        <value>1.0</value>
      </attribute>
      <attribute>
        <name>rotation</name>
        <value>0.0</value>
      </attribute>
      <attribute>
        <name>track_id</name>
        <value>0</value>
      </attribute>
      <attribute>
        <name>keyframe</name>
        <value>True</value>
      </attribute>
    </attributes>
  </object>
  <object>
    <name>person</name>
    <truncated>0</truncated>
    <occluded>1</occluded>
    <difficult>0</difficult>
    <bndbox>
      <xmin>0.0</xmin>
      <ymin>0.0</ymin>
      <xmax>50.0</xmax>
      <ymax>25.0</ymax>
    </bndbox>
    <attributes>
      <attribute>
        <name>rotation</name>
        <value>0.0</value>
      </attribute>
    </attributes>
  </object>
</annotation>
"""


def test_registry_finds_the_module() -> None:
    assert exporter("PASCAL VOC 1.1") is voc and importer("PASCAL VOC 1.1") is voc


def test_colormap_is_the_voc_one() -> None:
    assert voc.colormap(6) == [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0),
                               (0, 0, 128), (128, 0, 128)]
    assert voc.colormap(21)[15] == (192, 128, 128)  # VOC's "person"
    assert voc.colormap(21)[20] == (0, 64, 128)  # VOC's "tvmonitor"


def test_export_files(tmp_path: Path) -> None:
    voc.export(make_dataset(), tmp_path, save_images=True, format_name="PASCAL VOC 1.1")
    got = files(tmp_path)
    assert sorted(got) == [
        "Annotations/img0.xml", "Annotations/img2.xml", "Annotations/sub/img_1.xml",
        "ImageSets/Main/background_default.txt", "ImageSets/Main/car_default.txt",
        "ImageSets/Main/day_default.txt", "ImageSets/Main/default.txt",
        "ImageSets/Main/person_default.txt",
        "JPEGImages/img0.jpg", "JPEGImages/img2.jpg", "JPEGImages/sub/img_1.png",
        "labelmap.txt",
    ]
    assert got["Annotations/img0.xml"].decode() == FRAME0_XML
    assert got["ImageSets/Main/default.txt"] == b"img0\nsub/img_1\nimg2\n"
    assert got["ImageSets/Main/background_default.txt"] == b"img0 -1\nsub/img_1 -1\n"
    assert got["ImageSets/Main/car_default.txt"] == b"img0 -1\nsub/img_1  1\n"
    assert got["ImageSets/Main/person_default.txt"] == b"img0 -1\nsub/img_1 -1\n"
    assert got["ImageSets/Main/day_default.txt"] == b"img0  1\nsub/img_1  1\n"
    assert got["labelmap.txt"] == (b"# label:color_rgb:parts:actions\nbackground:0,0,0::\n"
                                   b"car:128,0,0::\nperson:0,128,0::\nday:128,128,0::\n")
    assert got["JPEGImages/sub/img_1.png"] == b"IMG1"

    # frame 1: the interpolated track box only; folder is the id up to its first "_"
    root = ET.fromstring(got["Annotations/sub/img_1.xml"])
    assert root.findtext("folder") == "sub/img" and root.findtext("filename") == "sub/img_1.png"
    assert (root.findtext("size/width"), root.findtext("size/height")) == ("200", "100")
    [obj] = root.findall("object")
    assert [obj.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == [
        "10.0", "5.0", "25.0", "20.0"]
    assert {a.findtext("name"): a.findtext("value") for a in obj.iter("attribute")} == {
        "color": "blue", "parked": "False", "speed": "1.0", "rotation": "0.0",
        "track_id": "0", "keyframe": "False"}

    # frame 2: person, the rotated car (kept, with its rotation), the track's last keyframe
    root = ET.fromstring(got["Annotations/img2.xml"])
    objects = root.findall("object")
    assert [o.findtext("name") for o in objects] == ["person", "car", "car"]
    assert [o.findtext("bndbox/xmin") for o in objects] == ["25.5", "0.0", "20.0"]
    assert objects[1].find("attributes/attribute[name='rotation']").findtext("value") == "30.0"


def test_frames_without_annotations_fill_the_other_lists(tmp_path: Path) -> None:
    dataset = make_dataset()
    dataset.annotations = {"tags": [], "tracks": [],
                           "shapes": [rect(0, 2, [1.0, 2.0, 3.0, 4.0])]}
    voc.export(dataset, tmp_path, save_images=False, format_name="PASCAL VOC 1.1")
    got = files(tmp_path)
    assert sorted(got) == [
        "Annotations/img0.xml", "Annotations/img2.xml", "Annotations/sub/img_1.xml",
        "ImageSets/Action/default.txt", "ImageSets/Layout/default.txt",
        "ImageSets/Main/default.txt", "ImageSets/Segmentation/default.txt", "labelmap.txt",
    ]
    for kind in ("Action", "Layout", "Segmentation"):
        assert got[f"ImageSets/{kind}/default.txt"] == b"sub/img_1\nimg2\n"
    empty = ET.fromstring(got["Annotations/img2.xml"])
    assert empty.findall("object") == [] and empty.findtext("segmented") == "0"


def test_round_trip(tmp_path: Path) -> None:
    dataset = make_dataset()
    voc.export(dataset, tmp_path / "out", save_images=False, format_name="PASCAL VOC 1.1")
    result = voc.import_(dataset, tmp_path / "out", format_name="PASCAL VOC 1.1")

    # per frame, in label-map order (one class list file per label)
    assert [(t["frame"], t["label_id"], t["attributes"]) for t in result["tags"]] == [
        (0, 3, []), (1, 1, []), (1, 3, [])]

    def plain(shape: dict[str, Any]) -> tuple[Any, ...]:
        assert shape["type"] == "rectangle" and shape["z_order"] == 0
        return (shape["frame"], shape["label_id"], shape["points"], shape["occluded"],
                shape["rotation"], shape["attributes"])

    assert [plain(s) for s in result["shapes"]] == [
        (0, 1, [10.0, 20.0, 30.0, 40.0], False, 0.0,
         [attr(10, "blue"), attr(11, "true"), attr(12, "5.0")]),
        (0, 2, [0.0, 0.0, 50.0, 25.0], True, 0.0, []),
        (2, 2, [25.5, 10.0, 75.5, 40.0], False, 0.0, []),
        (2, 1, [0.0, 0.0, 10.0, 10.0], False, 30.0,
         [attr(10, "red"), attr(11, "false"), attr(12, "0.0")]),
    ]
    [track] = result["tracks"]
    assert (track["frame"], track["label_id"], track["attributes"]) == (0, 1, [attr(10, "blue")])
    assert [(s["frame"], s["points"], s["outside"], s["attributes"]) for s in track["shapes"]] == [
        (0, [0.0, 0.0, 10.0, 10.0], False, [attr(11, "false"), attr(12, "1.0")]),
        (2, [20.0, 10.0, 40.0, 30.0], False, [attr(11, "true"), attr(12, "2.0")]),
    ]


def test_track_ending_before_the_last_frame_gets_an_outside_keyframe(tmp_path: Path) -> None:
    dataset = make_dataset()
    track = dataset.annotations["tracks"][0]
    track["shapes"][1] = {**track["shapes"][1], "frame": 1, "outside": True}
    voc.export(dataset, tmp_path / "out", save_images=False, format_name="PASCAL VOC 1.1")
    [got] = voc.import_(dataset, tmp_path / "out", format_name="PASCAL VOC 1.1")["tracks"]
    assert [(s["frame"], s["outside"], s["points"]) for s in got["shapes"]] == [
        (0, False, [0.0, 0.0, 10.0, 10.0]), (1, True, [0.0, 0.0, 10.0, 10.0])]


def test_flat_archive_of_xml_files(tmp_path: Path) -> None:
    dataset = make_dataset()
    voc.export(dataset, tmp_path / "out", save_images=False, format_name="PASCAL VOC 1.1")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "img2.xml").write_bytes((tmp_path / "out/Annotations/img2.xml").read_bytes())
    result = voc.import_(dataset, flat, format_name="PASCAL VOC 1.1")
    assert [s["frame"] for s in result["shapes"]] == [2, 2]
    assert [t["frame"] for t in result["tracks"]] == [2]


def exported(tmp_path: Path) -> tuple[Dataset, Path]:
    dataset = make_dataset()
    voc.export(dataset, tmp_path / "out", save_images=False, format_name="PASCAL VOC 1.1")
    return dataset, tmp_path / "out"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "utf-32"])
def test_doctype_is_refused_in_any_encoding(tmp_path: Path, encoding: str) -> None:
    # a byte-pattern guard misses "<!DOCTYPE" spelt in UTF-16; the parser itself must refuse
    dataset, out = exported(tmp_path)
    xml = (out / "Annotations/img0.xml").read_text().split("?>", 1)[-1]
    bomb = ('<!DOCTYPE a [<!ENTITY x "car"><!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]>\n'
            + xml.replace(">car<", ">&y;<"))
    (out / "Annotations/img0.xml").write_bytes(
        f'<?xml version="1.0" encoding="{encoding}"?>\n{bomb}'.encode(encoding))
    # expat reads UTF-16/32 only with a byte-order mark; without one the file is unreadable
    refusal = "not allowed" if encoding in ("utf-8", "utf-16") else "Failed to parse XML file"
    with pytest.raises(ImportFailed, match=refusal):
        voc.import_(dataset, out, format_name="PASCAL VOC 1.1")


def test_label_not_in_the_task(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    (out / "labelmap.txt").write_text("background:0,0,0::\ncar:::\nperson:::\nday:::\nbus:::\n")
    xml = (out / "Annotations/img2.xml").read_text()
    (out / "Annotations/img2.xml").write_text(xml.replace("<name>person</name>",
                                                          "<name>bus</name>"))
    with pytest.raises(ImportFailed, match="Label 'bus' is not registered"):
        voc.import_(dataset, out, format_name="PASCAL VOC 1.1")


def test_label_not_in_the_label_map(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    xml = (out / "Annotations/img2.xml").read_text()
    (out / "Annotations/img2.xml").write_text(xml.replace("<name>person</name>",
                                                          "<name>truck</name>"))
    with pytest.raises(ImportFailed, match="undeclared label 'truck'"):
        voc.import_(dataset, out, format_name="PASCAL VOC 1.1")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("<xmin>25.5</xmin>", "<xmin>left</xmin>", "invalid bndbox"),
    ("<truncated>0</truncated>", "<truncated>yes</truncated>", "invalid field 'truncated'"),
    ("<annotation>", "<annotations>", "not well-formed|mismatched"),
])
def test_malformed_xml(tmp_path: Path, old: str, new: str, message: str) -> None:
    dataset, out = exported(tmp_path)
    xml = (out / "Annotations/img2.xml").read_text()
    (out / "Annotations/img2.xml").write_text(xml.replace(old, new, 1))
    with pytest.raises(ImportFailed, match=message):
        voc.import_(dataset, out, format_name="PASCAL VOC 1.1")


def test_bad_class_list_and_unknown_frame(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    (out / "ImageSets/Main/day_default.txt").write_text("img0 2\n")
    with pytest.raises(ImportFailed, match="unexpected class existence value '2'"):
        voc.import_(dataset, out, format_name="PASCAL VOC 1.1")
    (out / "ImageSets/Main/day_default.txt").write_text("img0 1\n")
    (out / "ImageSets/Main/default.txt").write_text("img0\nnope\n")
    with pytest.raises(ImportFailed, match="Could not match item id: 'nope'"):
        voc.import_(dataset, out, format_name="PASCAL VOC 1.1")


def test_bad_label_map(tmp_path: Path) -> None:
    dataset, out = exported(tmp_path)
    (out / "labelmap.txt").write_text("car:1,2,3\n")
    with pytest.raises(ImportFailed, match="wrong number of fields"):
        voc.import_(dataset, out, format_name="PASCAL VOC 1.1")
