"""CVAT XML 1.1 (``mockcvat/formats/cvat.py``) without a server: a ``Dataset`` is written with
"CVAT for images 1.1" / "CVAT for video 1.1", the XML is checked with ElementTree, and the export
is read back with "CVAT 1.1".

What the format loses on a round trip (as in CVAT 2.26):

* ids; ``source`` becomes ``"file"`` on every imported object; ``group: null`` comes back as
  ``0``; coordinates are rounded to 2 decimals;
* images flavour: tracks come back as one plain shape per visible frame (interpolated frames
  included), track attributes merged into the shape's;
* video flavour: tags are not written at all; a standalone shape comes back as a track (a
  keyframe plus an ``outside`` keyframe one frame later, when that frame is before the last
  frame); only keyframes of tracks are read back;
* attributes that the label does not define are dropped silently.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mockcvat.formats import cvat as cvat_format
from mockcvat.formats import exporter, importer
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec

COLOR = AttributeSpec(10, "color", False, "select", "red", ("red", "blue"))
PARKED = AttributeSpec(11, "parked", True, "checkbox", "false", ("false",))
TIME = AttributeSpec(12, "time", False, "text", "", ())
LABELS = [
    LabelSpec(1, "car", "#ff0000", "any", (COLOR, PARKED)),
    LabelSpec(2, "road", "#00ff00", "polygon"),
    LabelSpec(3, "head", "#0000ff", "skeleton",
              svg='<circle data-label-id="4"></circle><circle data-label-id="5"></circle>'),
    LabelSpec(4, "nose", "#111111", "points", parent_id=3),
    LabelSpec(5, "eye", "#222222", "points", parent_id=3),
    LabelSpec(6, "day", "#333333", "tag", (TIME,)),
]
FRAMES = [Frame(i, f"dir/img{i}.jpg", 640, 480) for i in range(3)]


def shape(id_: int, label_id: int, type_: str, frame: int, points: list[float], **extra) -> dict:
    return {"id": id_, "label_id": label_id, "type": type_, "frame": frame,
            "group": extra.get("group"), "source": extra.get("source", "manual"),
            "occluded": extra.get("occluded", False), "outside": extra.get("outside", False),
            "z_order": extra.get("z_order", 0), "rotation": extra.get("rotation", 0.0),
            "points": points, "attributes": extra.get("attributes", []),
            **({"elements": extra.get("elements", [])} if label_id not in (4, 5) else {})}


def tracked(id_: int, frame: int, points: list[float], **extra) -> dict:
    return {"id": id_, "type": "rectangle", "frame": frame, "occluded": False,
            "outside": extra.get("outside", False), "z_order": 0,
            "rotation": extra.get("rotation", 0.0), "points": points,
            "attributes": extra.get("attributes", [])}


def annotations() -> dict[str, list[dict[str, Any]]]:
    return {
        "tags": [
            {"id": 1, "label_id": 6, "frame": 0, "group": None, "source": "manual",
             "attributes": [{"spec_id": 12, "value": "noon & <sun>"}]},
            {"id": 2, "label_id": 6, "frame": 2, "group": 4, "source": "auto",
             "attributes": [{"spec_id": 12, "value": ""}]},
        ],
        "shapes": [
            shape(1, 1, "rectangle", 0, [10.5, 20.25, 110.0, 220.75], z_order=1, group=3,
                  attributes=[{"spec_id": 10, "value": "blue"}, {"spec_id": 11, "value": "true"}]),
            shape(2, 2, "polygon", 0, [1.0, 2.0, 30.0, 4.0, 5.0, 60.0], source="auto"),
            shape(3, 1, "points", 1, [7.0, 8.0, 9.5, 10.0], occluded=True,
                  attributes=[{"spec_id": 10, "value": "red"}, {"spec_id": 11, "value": "false"}]),
            shape(4, 1, "rectangle", 1, [1.0, 1.0, 5.0, 5.0], rotation=45.0,
                  attributes=[{"spec_id": 10, "value": "red"}, {"spec_id": 11, "value": "false"}]),
            shape(5, 3, "skeleton", 2, [], elements=[
                shape(6, 4, "points", 2, [50.0, 60.0]),
                shape(7, 5, "points", 2, [70.0, 80.0], outside=True, occluded=True),
            ]),
        ],
        "tracks": [{
            "id": 1, "label_id": 1, "frame": 0, "group": None, "source": "semi-auto",
            "shapes": [
                tracked(1, 0, [0.0, 0.0, 10.0, 10.0],
                        attributes=[{"spec_id": 11, "value": "true"}]),
                tracked(2, 2, [10.0, 20.0, 30.0, 40.0], rotation=90.0,
                        attributes=[{"spec_id": 11, "value": "false"}]),
            ],
            "attributes": [{"spec_id": 10, "value": "blue"}],
            "elements": [],
        }],
    }


def make_dataset(ann: dict | None = None, **kwargs) -> Dataset:
    params: dict[str, Any] = {
        "kind": "task", "id": 7, "name": "my task", "mode": "annotation", "labels": LABELS,
        "frames": FRAMES, "annotations": annotations() if ann is None else ann,
        "image": lambda f: (f"bytes of {f.name}".encode(), ".jpg"),
        "meta": {"created": "2025-01-20 14:03:59.123456+00:00",
                 "updated": "2025-01-21 10:00:00.000000+00:00", "overlap": 0,
                 "segments": [{"id": 3, "start": 0, "stop": 2, "job_id": 9}],
                 "owner": {"username": "admin", "email": "admin@example.com"},
                 "assignee": None, "host": "http://localhost:8080"}}
    params.update(kwargs)
    return Dataset(**params)


def export(tmp_path: Path, fmt: str, dataset: Dataset | None = None,
           save_images: bool = False) -> tuple[Path, ET.Element]:
    out = tmp_path / fmt.replace(" ", "_")
    cvat_format.export(dataset or make_dataset(), out, save_images=save_images,
                       format_name=fmt)
    return out, ET.parse(out / "annotations.xml").getroot()


def normalized(obj: Any) -> Any:
    """What survives the format: no ids, source "file", group 0, float points."""
    if isinstance(obj, list):
        return [normalized(o) for o in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: normalized(v) for k, v in obj.items() if k != "id"}
    if "source" in out:
        out["source"] = "file"
    if "group" in out and out["group"] is None:
        out["group"] = 0
    if "points" in out:
        out["points"] = [float(p) for p in out["points"]]
    if "rotation" in out:
        out["rotation"] = float(out["rotation"])
    return out


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


# --- registry ---------------------------------------------------------------------------

def test_registry_finds_the_module():
    assert exporter("CVAT for images 1.1") is cvat_format
    assert exporter("CVAT for video 1.1") is cvat_format
    assert importer("CVAT 1.1") is cvat_format
    assert importer("CVAT for images 1.1") is None


# --- CVAT for images --------------------------------------------------------------------

def test_images_layout_and_text_form(tmp_path):
    out, _ = export(tmp_path, "CVAT for images 1.1", save_images=True)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["annotations.xml", "images/dir/img0.jpg", "images/dir/img1.jpg",
                     "images/dir/img2.jpg"]
    assert (out / "images/dir/img1.jpg").read_bytes() == b"bytes of dir/img1.jpg"

    text = (out / "annotations.xml").read_text("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n'
                           "  <version>1.1</version>\n  <meta>\n    <task>\n      <id>7</id>\n")
    assert text.endswith("</annotations>\n")
    assert "/>" not in text  # never self-closing
    # an empty element is still opened and closed on two lines
    assert '    <tag label="day" source="auto" group_id="4">\n      <attribute name="time">' \
           "</attribute>\n    </tag>\n" in text
    assert '<attribute name="time">noon &amp; &lt;sun&gt;</attribute>' in text


def test_images_meta(tmp_path):
    _, root = export(tmp_path, "CVAT for images 1.1")
    assert [c.tag for c in root][:2] == ["version", "meta"]
    assert root.findtext("version") == "1.1"
    task = root.find("meta/task")
    assert [c.tag for c in task] == [
        "id", "name", "size", "mode", "overlap", "bugtracker", "created", "updated", "subset",
        "start_frame", "stop_frame", "frame_filter", "segments", "owner", "assignee", "labels"]
    assert task.findtext("name") == "my task"
    assert task.findtext("size") == "3"
    assert task.findtext("mode") == "annotation"
    assert task.findtext("subset") == "default"
    assert task.findtext("stop_frame") == "2"
    assert task.findtext("created") == "2025-01-20 14:03:59.123456+00:00"
    assert task.findtext("segments/segment/url") == "http://localhost:8080/api/jobs/9"
    assert task.findtext("owner/username") == "admin"
    assert task.find("assignee").text is None

    labels = task.findall("labels/label")
    assert [lb.findtext("name") for lb in labels] == ["car", "road", "head", "nose", "eye", "day"]
    car = labels[0]
    assert [c.tag for c in car] == ["name", "color", "type", "attributes"]
    attrs = car.findall("attributes/attribute")
    assert [(a.findtext("name"), a.findtext("mutable"), a.findtext("input_type"),
             a.findtext("default_value"), a.findtext("values")) for a in attrs] == [
        ("color", "False", "select", "red", "red\nblue"),
        ("parked", "True", "checkbox", "false", "false")]
    head, nose = labels[2], labels[3]
    assert head.findtext("svg") == ('<circle data-label-name="nose"></circle>'
                                    '<circle data-label-name="eye"></circle>')
    assert nose.findtext("parent") == "head"
    assert root.find("meta/dumped").text


def test_images_frames_shapes_and_tags(tmp_path):
    _, root = export(tmp_path, "CVAT for images 1.1")
    images = root.findall("image")
    assert [dict(i.attrib) for i in images] == [
        {"id": str(n), "name": f"dir/img{n}.jpg", "width": "640", "height": "480"}
        for n in range(3)]
    assert list(images[0][2].attrib) == ["label", "source", "occluded", "xtl", "ytl", "xbr",
                                         "ybr", "z_order", "group_id"]

    # frame 0: ordered by z_order (stable): polygon (z 0), track box (z 0), box (z 1), tag
    f0 = images[0]
    assert [c.tag for c in f0] == ["polygon", "box", "box", "tag"]
    polygon, track_box, box, tag = f0
    assert polygon.attrib == {"label": "road", "source": "auto", "occluded": "0",
                              "points": "1.00,2.00;30.00,4.00;5.00,60.00", "z_order": "0"}
    assert track_box.attrib == {"label": "car", "source": "semi-auto", "occluded": "0",
                                "xtl": "0.00", "ytl": "0.00", "xbr": "10.00", "ybr": "10.00",
                                "z_order": "0"}  # no track_id / keyframe marks
    assert [(a.get("name"), a.text) for a in track_box] == [("parked", "true"), ("color", "blue")]
    assert box.attrib == {"label": "car", "source": "manual", "occluded": "0", "xtl": "10.50",
                          "ytl": "20.25", "xbr": "110.00", "ybr": "220.75", "z_order": "1",
                          "group_id": "3"}
    assert [(a.get("name"), a.text) for a in box] == [("color", "blue"), ("parked", "true")]
    assert tag.attrib == {"label": "day", "source": "manual"}

    # frame 1: points, rotated box, and the interpolated track box (linear, rotation too)
    f1 = images[1]
    assert [c.tag for c in f1] == ["points", "box", "box"]
    assert f1[0].attrib["points"] == "7.00,8.00;9.50,10.00"
    assert f1[0].attrib["occluded"] == "1"
    assert f1[1].attrib["rotation"] == "45.00"
    assert list(f1[1].attrib).index("rotation") == list(f1[1].attrib).index("ybr") + 1
    middle = f1[2].attrib
    assert (middle["xtl"], middle["ytl"], middle["xbr"], middle["ybr"]) == \
        ("5.00", "10.00", "20.00", "25.00")
    assert middle["rotation"] == "45.00"
    assert [(a.get("name"), a.text) for a in f1[2]] == [("parked", "true"), ("color", "blue")]

    # frame 2: skeleton with its elements, the last track keyframe, a grouped tag
    f2 = images[2]
    assert [c.tag for c in f2] == ["skeleton", "box", "tag"]
    skeleton = f2[0]
    assert skeleton.attrib == {"label": "head", "source": "manual", "z_order": "0"}
    assert [dict(e.attrib) for e in skeleton] == [
        {"label": "nose", "source": "manual", "outside": "0", "occluded": "0",
         "points": "50.00,60.00"},
        {"label": "eye", "source": "manual", "outside": "1", "occluded": "1",
         "points": "70.00,80.00"}]
    assert f2[1].attrib["xtl"] == "10.00" and f2[1].attrib["rotation"] == "90.00"
    assert [(a.get("name"), a.text) for a in f2[1]] == [("parked", "false"), ("color", "blue")]
    assert f2[2].attrib == {"label": "day", "source": "auto", "group_id": "4"}


def test_images_track_outside_and_deleted_frames(tmp_path):
    ann = {"tags": [], "shapes": [], "tracks": [{
        "id": 1, "label_id": 1, "frame": 0, "group": 2, "source": "manual",
        "shapes": [tracked(1, 0, [0.0, 0.0, 4.0, 4.0]),
                   tracked(2, 1, [2.0, 2.0, 6.0, 6.0], outside=True)],
        "attributes": [], "elements": []}]}
    frames = [FRAMES[0], FRAMES[1], Frame(2, "dir/img2.jpg", 640, 480, deleted=True)]
    _, root = export(tmp_path, "CVAT for images 1.1", make_dataset(ann, frames=frames))
    images = root.findall("image")
    assert [i.get("id") for i in images] == ["0", "1"]  # deleted frames are not written
    assert [c.tag for c in images[0]] == ["box"]
    assert images[0][0].get("group_id") == "2"
    assert len(images[1]) == 0  # the outside keyframe is not a shape


def test_mask_ellipse_cuboid_geometry(tmp_path):
    ann = {"tags": [], "tracks": [], "shapes": [
        shape(1, 1, "ellipse", 0, [50.0, 40.0, 70.0, 30.0]),
        shape(2, 1, "mask", 0, [3.0, 2.0, 1.0, 10.0, 20.0, 12.0, 21.0]),
        shape(3, 1, "cuboid", 0, [float(i) for i in range(16)]),
        shape(4, 1, "polyline", 0, [1.0, 1.0, 2.0, 2.0]),
    ]}
    out, root = export(tmp_path, "CVAT for images 1.1", make_dataset(ann))
    ellipse, mask, cuboid, polyline = root.find("image")
    assert ellipse.attrib == {"label": "car", "source": "manual", "occluded": "0",
                              "cx": "50.00", "cy": "40.00", "rx": "20.00", "ry": "10.00",
                              "z_order": "0"}
    assert mask.attrib == {"label": "car", "source": "manual", "occluded": "0",
                           "rle": "3, 2, 1", "left": "10", "top": "20", "width": "3",
                           "height": "2", "z_order": "0"}
    assert cuboid.get("xtl1") == "0.00" and cuboid.get("ybr2") == "15.00"
    assert polyline.get("points") == "1.00,1.00;2.00,2.00"

    back = cvat_format.import_(make_dataset(ann), out, format_name="CVAT 1.1")
    assert normalized(ann["shapes"]) == back["shapes"]


# --- CVAT for video ---------------------------------------------------------------------

def test_video_tracks(tmp_path):
    _, root = export(tmp_path, "CVAT for video 1.1")
    assert root.find("image") is None and root.find(".//tag") is None  # tags are not written
    tracks = root.findall("track")
    # the real track first, then one track per standalone shape, ids counting from 0
    assert [(t.get("id"), t.get("label")) for t in tracks] == [
        ("0", "car"), ("1", "car"), ("2", "road"), ("3", "car"), ("4", "car"), ("5", "head")]
    track = tracks[0]
    assert track.attrib == {"id": "0", "label": "car", "source": "semi-auto"}
    boxes = track.findall("box")
    assert [(b.get("frame"), b.get("keyframe"), b.get("outside")) for b in boxes] == [
        ("0", "1", "0"), ("1", "0", "0"), ("2", "1", "0")]
    assert list(boxes[0].attrib) == ["frame", "keyframe", "outside", "occluded", "xtl", "ytl",
                                     "xbr", "ybr", "z_order"]
    assert boxes[1].get("xbr") == "20.00" and boxes[1].get("rotation") == "45.00"
    assert [(a.get("name"), a.text) for a in boxes[1]] == [("parked", "true"), ("color", "blue")]

    # a shape on frame 0 is closed by an outside copy on frame 1, with group_id on the track
    shape_track = tracks[1]
    assert shape_track.attrib == {"id": "1", "label": "car", "source": "manual", "group_id": "3"}
    assert [(b.get("frame"), b.get("keyframe"), b.get("outside")) for b in shape_track] == [
        ("0", "1", "0"), ("1", "1", "1")]
    # a shape on the last but one frame gets no closing shape (CVAT compares with stop_frame)
    assert [b.get("frame") for b in tracks[3]] == ["1"]
    # skeleton: elements nested under the skeleton, labelled, without frame/z_order
    skeleton = tracks[5].find("skeleton")
    assert skeleton.attrib == {"frame": "2", "keyframe": "1", "z_order": "0"}
    assert [dict(e.attrib) for e in skeleton] == [
        {"label": "nose", "keyframe": "1", "outside": "0", "occluded": "0",
         "points": "50.00,60.00"},
        {"label": "eye", "keyframe": "1", "outside": "1", "occluded": "1",
         "points": "70.00,80.00"}]


def test_video_mode_frame_names_and_images(tmp_path):
    frames = [Frame(i, "clip.mp4", 320, 240) for i in range(3)]
    dataset = make_dataset({"tags": [], "shapes": [], "tracks": []}, frames=frames,
                           mode="interpolation",
                           meta={"source": "clip.mp4", "start_frame": 10, "frame_step": 2})
    out, root = export(tmp_path, "CVAT for images 1.1", dataset, save_images=True)
    task = root.find("meta/task")
    assert task.findtext("start_frame") == "10" and task.findtext("stop_frame") == "14"
    assert task.findtext("original_size/width") == "320"
    assert task.findtext("source") == "clip.mp4"
    assert [(i.get("id"), i.get("name")) for i in root.findall("image")] == [
        ("10", "frame_000010"), ("12", "frame_000012"), ("14", "frame_000014")]
    assert sorted(p.name for p in (out / "images").iterdir()) == [
        "frame_000010.PNG", "frame_000012.PNG", "frame_000014.PNG"]


# --- import -----------------------------------------------------------------------------

def test_round_trip_images(tmp_path):
    dataset = make_dataset()
    out, _ = export(tmp_path, "CVAT for images 1.1", dataset)
    back = cvat_format.import_(dataset, out / "annotations.xml", format_name="CVAT 1.1")
    source = annotations()
    assert back["tags"] == normalized(source["tags"])
    assert back["tracks"] == []
    track_shapes = [s for s in back["shapes"] if s["label_id"] == 1 and s["type"] == "rectangle"
                    and s["source"] == "file" and s["points"][0] in (0.0, 5.0, 10.0)]
    plain = [s for s in back["shapes"] if s not in track_shapes]
    assert sorted(map(canonical, plain)) == sorted(map(canonical, normalized(source["shapes"])))
    # the track came back as one shape per frame, track attributes merged in
    assert [(s["frame"], s["points"], s["attributes"]) for s in track_shapes] == [
        (0, [0.0, 0.0, 10.0, 10.0], [{"spec_id": 11, "value": "true"},
                                     {"spec_id": 10, "value": "blue"}]),
        (1, [5.0, 10.0, 20.0, 25.0], [{"spec_id": 11, "value": "true"},
                                      {"spec_id": 10, "value": "blue"}]),
        (2, [10.0, 20.0, 30.0, 40.0], [{"spec_id": 11, "value": "false"},
                                       {"spec_id": 10, "value": "blue"}])]


def test_round_trip_video_from_a_zip(tmp_path):
    dataset = make_dataset()
    out, _ = export(tmp_path, "CVAT for video 1.1", dataset)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(out / "annotations.xml", "annotations.xml")
    extracted = tmp_path / "extracted"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(extracted)
    back = importer("CVAT 1.1").import_(dataset, extracted, format_name="CVAT 1.1")

    source = annotations()
    assert back["tags"] == [] and back["shapes"] == []
    expected_track = normalized(source["tracks"][0])
    assert back["tracks"][0] == expected_track  # keyframes only, attributes split back
    # standalone shapes became tracks: keyframe + outside keyframe one frame later
    box_track = back["tracks"][1]
    assert box_track["label_id"] == 1 and box_track["group"] == 3
    assert [(s["frame"], s["outside"]) for s in box_track["shapes"]] == [(0, False), (1, True)]
    assert box_track["attributes"] == [{"spec_id": 10, "value": "blue"}]
    assert box_track["shapes"][0]["attributes"] == [{"spec_id": 11, "value": "true"}]
    skeleton = back["tracks"][5]
    assert skeleton["label_id"] == 3
    assert [(e["label_id"], [s["outside"] for s in e["shapes"]]) for e in
            skeleton["elements"]] == [(4, [False]), (5, [True])]


def test_import_matches_frames_by_name_then_id(tmp_path):
    xml = ('<annotations><version>1.1</version>'
           '<image id="0" name="elsewhere/img2.png"><tag label="day"/></image>'
           '<image id="1" name="unknown.jpg"><tag label="day"/></image></annotations>')
    path = tmp_path / "a.xml"
    path.write_text(xml)
    frames = [Frame(i, f"elsewhere/img{i}.jpg", 640, 480) for i in range(3)]
    back = cvat_format.import_(make_dataset(frames=frames), path, format_name="CVAT 1.1")
    assert [t["frame"] for t in back["tags"]] == [2, 1]

    path.write_text('<annotations><image id="9" name="nope.jpg"/></annotations>')
    with pytest.raises(ImportFailed, match="Could not match item id: 'nope' with any task frame"):
        cvat_format.import_(make_dataset(), path, format_name="CVAT 1.1")


def test_import_unknown_label(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text('<annotations><image id="0" name="dir/img0.jpg">'
                    '<box label="truck" xtl="1" ytl="1" xbr="2" ybr="2"/></image></annotations>')
    with pytest.raises(ImportFailed, match="Label 'truck' is not registered for this task"):
        cvat_format.import_(make_dataset(), path, format_name="CVAT 1.1")
    # a skeleton element is looked up among the skeleton's sub-labels only
    path.write_text('<annotations><image id="0" name="dir/img0.jpg"><skeleton label="head">'
                    '<points label="car" outside="0" occluded="0" points="1,1"/></skeleton>'
                    '</image></annotations>')
    with pytest.raises(ImportFailed, match="Label 'car' is not registered"):
        cvat_format.import_(make_dataset(), path, format_name="CVAT 1.1")


def test_import_attribute_rules(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text('<annotations><image id="0" name="dir/img0.jpg">'
                    '<box label="car" xtl="1" ytl="1" xbr="2" ybr="2">'
                    '<attribute name="parked">TRUE</attribute>'
                    '<attribute name="nonsense">x</attribute></box></image></annotations>')
    back = cvat_format.import_(make_dataset(), path, format_name="CVAT 1.1")
    assert back["shapes"][0]["attributes"] == [{"spec_id": 11, "value": "true"}]
    path.write_text(path.read_text().replace("TRUE", "maybe"))
    with pytest.raises(ImportFailed, match="Failed to convert attribute 'car'='maybe'"):
        cvat_format.import_(make_dataset(), path, format_name="CVAT 1.1")


@pytest.mark.parametrize("doc", [
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
    '"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><annotations>&lol2;</annotations>',
    '<!DOCTYPE annotations SYSTEM "http://example.com/x.dtd"><annotations/>',
    '<!DOCTYPE annotations><annotations/>',
])
def test_doctype_and_entities_are_refused(tmp_path, doc):
    path = tmp_path / "bomb.xml"
    path.write_text(doc)
    with pytest.raises(ImportFailed, match="DTDs and entity declarations are not allowed"):
        cvat_format.import_(make_dataset(), path, format_name="CVAT 1.1")


def test_broken_xml_and_track_frames(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text("<annotations><image")
    with pytest.raises(ImportFailed, match="a.xml"):
        cvat_format.import_(make_dataset(), path, format_name="CVAT 1.1")
    path.write_text('<annotations><track id="0" label="car"><box frame="7" keyframe="1" '
                    'outside="0" occluded="0" xtl="1" ytl="1" xbr="2" ybr="2"/></track>'
                    '</annotations>')
    with pytest.raises(ImportFailed, match="Unknown frame 7"):
        cvat_format.import_(make_dataset(), path, format_name="CVAT 1.1")


def test_export_does_not_modify_the_dataset(tmp_path):
    dataset = make_dataset()
    before = copy.deepcopy(dataset.annotations)
    export(tmp_path, "CVAT for images 1.1", dataset)
    export(tmp_path, "CVAT for video 1.1", dataset)
    assert dataset.annotations == before


def test_polygon_track_interpolation():
    track = {"frame": 0, "shapes": [
        {"type": "polygon", "frame": 0, "outside": False, "points": [0, 0, 10, 0, 10, 10],
         "attributes": []},
        {"type": "polygon", "frame": 2, "outside": False, "points": [10, 0, 20, 0, 20, 10],
         "attributes": []}]}
    shapes = cvat_format.interpolated_shapes(track, 4)
    assert [(s["frame"], s["keyframe"], s["points"]) for s in shapes] == [
        (0, True, [0, 0, 10, 0, 10, 10]),
        (1, False, [5.0, 0.0, 15.0, 0.0, 15.0, 10.0]),
        (2, True, [10, 0, 20, 0, 20, 10]),
        (3, False, [10, 0, 20, 0, 20, 10])]  # propagated after the last keyframe
