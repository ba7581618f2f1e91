"""Datumaro 3D, Kitti Raw Format and Sly Point Cloud Format 1.0: the files CVAT writes (read
with ElementTree and json), round trips of generated 3D cuboids (what each keeps), tracks, and
refused input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockcvat.formats import datumaro, exporter, importer, pointcloud, velodynepoint
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec
from tests.format_objects import api_shape

COLOR = AttributeSpec(5, "color", True, "text", "none", ())
LABELS = [LabelSpec(1, "car", "#ff0000", "cuboid", (COLOR,)),
          LabelSpec(2, "bus", "#00ff00", "cuboid")]
DATUMARO_3D, KITTI_RAW, SLY = "Datumaro 3D 1.0", "Kitti Raw Format 1.0", \
    "Sly Point Cloud Format 1.0"
FORMATS = (DATUMARO_3D, KITTI_RAW, SLY)


def make_dataset(shapes: list[dict], tracks: list[dict] | None = None) -> Dataset:
    frames = [Frame(i, f"velodyne_points/data/{i:04d}.pcd", 5, 1) for i in range(3)]
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=LABELS, frames=frames,
                   annotations={"tags": [], "shapes": shapes, "tracks": tracks or []},
                   image=lambda f: (f"PCD {f.frame}".encode(), ".pcd"), dimension="3d",
                   related=lambda f: [("image_00/data/0000.png", b"PNG")] if f.frame == 0
                   else [])


def cuboid(frame: int, label: int, geometry: list[float], **extra) -> dict:
    return api_shape("cuboid", frame, label, geometry + [0.0] * 7, **extra)


def test_registry() -> None:
    assert exporter(DATUMARO_3D) is datumaro and importer(DATUMARO_3D) is datumaro
    assert exporter(KITTI_RAW) is velodynepoint and importer(KITTI_RAW) is velodynepoint
    assert exporter(SLY) is pointcloud and importer(SLY) is pointcloud


SHAPES = [cuboid(0, 1, [1.0, 2.0, 3.0, 0.1, 0.2, 0.3, 4.0, 5.0, 6.0], occluded=True,
                 attributes=[{"spec_id": 5, "value": "red"}]),
          cuboid(2, 2, [-1.5, 0.0, 0.5, 0.0, 0.0, 1.57, 2.0, 1.0, 1.5])]


def test_kitti_raw_files_read_with_elementtree(tmp_path: Path) -> None:
    velodynepoint.export(make_dataset(SHAPES), tmp_path, save_images=True, format_name=KITTI_RAW)
    assert (tmp_path / "frame_list.txt").read_text() == "0 0000\n1 0001\n2 0002\n"
    assert (tmp_path / "velodyne_points/data/0001.pcd").read_bytes() == b"PCD 1"
    assert (tmp_path / "image_00/data/0000.png").read_bytes() == b"PNG"
    text = (tmp_path / "tracklet_labels.xml").read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                           "<!DOCTYPE boost_serialization>\n<boost_serialization")
    root = ET.fromstring(text)
    assert root.findtext("tracklets/count") == "2"
    first, second = root.findall("tracklets/item")
    assert first.attrib == {"version": "1", "tracking_level": "0", "class_id": "1"}
    assert second.attrib == {}  # boost writes the class header once
    # ascending (negative) ids: the last cuboid comes first
    assert [t.findtext("objectType") for t in (first, second)] == ["bus", "car"]
    assert [second.findtext(k) for k in ("h", "w", "l", "first_frame")] == ["5.0", "4.0", "6.0",
                                                                          "0"]
    pose = second.find("poses/item")
    assert [pose.findtext(k) for k in ("tx", "rz", "state", "occlusion", "truncation")] == [
        "1.0", "0.3", "1", "1", "0"]


def test_sly_files_read_with_json(tmp_path: Path) -> None:
    pointcloud.export(make_dataset(SHAPES), tmp_path, save_images=True, format_name=SLY)
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert [c["title"] for c in meta["classes"]] == ["car", "bus"]
    assert [(t["name"], t["classes"], t["applicable_type"]) for t in meta["tags"]] == [
        ("occluded", [], "objectsOnly"), ("color", ["car"], "objectsOnly"),
        ("name", [], "imagesOnly"), ("labels", [], "imagesOnly")]
    ann = json.loads((tmp_path / "ds0/ann/0000.pcd.json").read_text())
    # CVAT's frame-level tags: the owner (none here) and the label list
    assert {t["name"]: t["value"] for t in ann["tags"]} == {"name": "", "labels": [
        {"label_id": 0, "name": "car", "color": "#ff0000", "type": "cuboid"},
        {"label_id": 1, "name": "bus", "color": "#00ff00", "type": "cuboid"}]}
    (obj,) = ann["objects"]
    assert obj["classTitle"] == "car"
    assert {t["name"]: t["value"] for t in obj["tags"]} == {"color": "red", "occluded": "true"}
    (figure,) = ann["figures"]
    assert figure["objectKey"] == obj["key"] and figure["geometryType"] == "cuboid_3d"
    assert figure["geometry"]["dimensions"] == {"x": 4.0, "y": 5.0, "z": 6.0}
    keys = json.loads((tmp_path / "key_id_map.json").read_text())
    assert sorted(keys["objects"].values()) == [1, 2] and len(keys["videos"]) == 3
    assert (tmp_path / "ds0/related_images/0000_pcd/0000.png").read_bytes() == b"PNG"
    assert json.loads((tmp_path / "ds0/related_images/0000_pcd/0000.png.json").read_text())[
        "name"] == "0000.png"


def test_datumaro_3d_files_read_with_json(tmp_path: Path) -> None:
    datumaro.export(make_dataset(SHAPES), tmp_path, save_images=True, format_name=DATUMARO_3D)
    data = json.loads((tmp_path / "annotations/default.json").read_text())
    item = data["items"][0]
    assert (item["id"], item["point_cloud"], item["related_images"]) == (
        "0000", {"path": "0000.pcd"}, [{"path": "0000/0000.png"}])
    (ann,) = item["annotations"]
    assert (ann["type"], ann["position"], ann["rotation"], ann["scale"]) == (
        "cuboid_3d", [1.0, 2.0, 3.0], [0.1, 0.2, 0.3], [4.0, 5.0, 6.0])
    assert ann["attributes"] == {"color": "red", "occluded": True}
    assert (tmp_path / "point_clouds/default/0002.pcd").read_bytes() == b"PCD 2"


finite = st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 3))
cuboids = st.builds(
    lambda frame, label, geometry, occluded, color: cuboid(
        frame, label, geometry, occluded=occluded,
        attributes=[{"spec_id": 5, "value": color}] if color and label == 1 else []),
    st.integers(0, 2), st.sampled_from([1, 2]), st.lists(finite, min_size=9, max_size=9),
    st.booleans(), st.sampled_from([None, "red", "dark blue"]))


def kept(shape: dict, format_name: str) -> tuple:
    """What comes back of a cuboid: geometry and occluded everywhere; the label's attributes
    (the default filled in) except in Kitti Raw."""
    attrs = ()
    if format_name != KITTI_RAW and shape["label_id"] == 1:
        attrs = (shape["attributes"][0]["value"] if shape["attributes"] else "none",)
    return (shape["frame"], shape["label_id"], tuple(shape["points"]), shape["occluded"], attrs)


@pytest.mark.parametrize("format_name", FORMATS)
@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(cuboids, max_size=4))
def test_round_trip(tmp_path_factory, format_name: str, shapes: list[dict]) -> None:
    out = tmp_path_factory.mktemp("out")
    module = exporter(format_name)
    module.export(make_dataset(shapes), out, save_images=False, format_name=format_name)
    back = importer(format_name).import_(make_dataset([]), out, format_name=format_name)
    assert not back["tracks"] and not back["tags"]
    got = sorted((s["frame"], s["label_id"], tuple(s["points"]), s["occluded"],
                  tuple(a["value"] for a in s["attributes"])) for s in back["shapes"])
    assert all(s["type"] == "cuboid" for s in back["shapes"])
    assert got == sorted(kept(s, format_name) for s in shapes)


TRACK = {"label_id": 2, "frame": 0, "group": 0, "source": "manual", "attributes": [],
         "elements": [], "shapes": [
             {"type": "cuboid", "frame": 0, "occluded": False, "outside": False, "z_order": 0,
              "rotation": 0.0, "points": [0.0] * 6 + [1.0, 1.0, 1.0] + [0.0] * 7,
              "attributes": []},
             {"type": "cuboid", "frame": 2, "occluded": False, "outside": False, "z_order": 0,
              "rotation": 0.0, "points": [2.0] + [0.0] * 5 + [1.0, 1.0, 1.0] + [0.0] * 7,
              "attributes": []}]}


@pytest.mark.parametrize("format_name", FORMATS)
def test_tracks(tmp_path: Path, format_name: str) -> None:
    """Datumaro 3D and Sly keep a track's keyframes; Kitti Raw gives one cuboid a frame."""
    exporter(format_name).export(make_dataset([], [TRACK]), tmp_path, save_images=False,
                                 format_name=format_name)
    back = importer(format_name).import_(make_dataset([]), tmp_path, format_name=format_name)
    if format_name == KITTI_RAW:
        assert not back["tracks"]
        assert sorted((s["frame"], s["points"][0]) for s in back["shapes"]) == [
            (0, 0.0), (1, 1.0), (2, 2.0)]
        return
    (track,) = back["tracks"]
    assert [(s["frame"], s["points"][0], s["outside"]) for s in track["shapes"]] == [
        (0, 0.0, False), (2, 2.0, False)]


@pytest.mark.parametrize(("format_name", "damage", "message"), [
    (KITTI_RAW, lambda out: (out / "tracklet_labels.xml").write_text(
        (out / "tracklet_labels.xml").read_text().replace("<objectType>car", "<objectType>van")),
     "Label 'van' is not registered"),
    (KITTI_RAW, lambda out: (out / "frame_list.txt").write_text("0 zzzz\n1 0001\n2 0002\n"),
     "Could not match item id: 'zzzz'"),
    (KITTI_RAW, lambda out: (out / "tracklet_labels.xml").write_text(
        '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'), "not allowed"),
    (SLY, lambda out: (out / "ds0/ann/0000.pcd.json").write_text("{"), "not valid JSON"),
    (SLY, lambda out: (out / "meta.json").unlink(), "Dataset must contain"),
    (DATUMARO_3D, lambda out: (out / "annotations/default.json").write_text(
        (out / "annotations/default.json").read_text().replace('"position":[1.0',
                                                               '"position":["x"')),
     "'position' must be a list of numbers"),
])
def test_refused_input(tmp_path: Path, format_name: str, damage, message: str) -> None:
    dataset = make_dataset(SHAPES)
    exporter(format_name).export(dataset, tmp_path, save_images=False, format_name=format_name)
    damage(tmp_path)
    with pytest.raises(ImportFailed, match=message):
        importer(format_name).import_(dataset, tmp_path, format_name=format_name)
