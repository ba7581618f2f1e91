"""Datumaro 1.0: the JSON checked field by field, masks decoded with pycocotools, round trips.

What Datumaro 1.0 loses (as in CVAT): 2D cuboids; ``source`` of tags (→ "manual"); single-member
groups (→ 0); number attributes come back as floats ("5" → "5.0"); ellipses are written as
masks (and come back as masks); track frames between keyframes are exported as interpolated
shapes and only keyframes (plus ``outside`` closings) come back. Everything else — tags,
rectangles (with rotation), polygons, polylines, points, masks, skeletons, z_order, occluded,
attributes, tracks — survives.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mockcvat.formats import common, datumaro
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec
from tests.format_objects import api_shape as _shape

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword"
)

COLOR = AttributeSpec(11, "color", False, "select", "red", ("red", "blue"))
PARKED = AttributeSpec(12, "parked", True, "checkbox", "false", ("false", "true"))
SPEED = AttributeSpec(13, "speed", True, "number", "0", ("0", "100", "1"))
SVG = (
    '<line x1="1" y1="1" x2="2" y2="2" data-type="edge" data-node-from="1" data-node-to="2">'
    '</line><circle r="0.75" cx="1" cy="1" data-type="element node" data-element-id="1"'
    ' data-node-id="1" data-label-id="6" data-label-name="head"></circle>'
    '<circle r="0.75" cx="2" cy="2" data-type="element node" data-element-id="2"'
    ' data-node-id="2" data-label-id="5" data-label-name="hand"></circle>'
)
LABELS = [
    LabelSpec(1, "car", "#ff0000", "any", (COLOR, PARKED, SPEED)),
    LabelSpec(2, "person", "#00ff00", "polygon"),
    LabelSpec(3, "road", "#0000ff", "mask"),
    LabelSpec(4, "body", "#ffff00", "skeleton", svg=SVG),
    LabelSpec(5, "hand", "#00ffff", "points", parent_id=4),
    LabelSpec(6, "head", "#ff00ff", "points", parent_id=4),
]
FRAMES = [Frame(frame=i, name=f"img{i}.jpg", width=40, height=30) for i in range(4)]
# road mask: rows "11111" / "01110" / "11111" in the box x 3..7, y 4..6 → 13 pixels
MASK = [0.0, 5.0, 1.0, 3.0, 1.0, 5.0, 3.0, 4.0, 7.0, 6.0]


def _tracked(frame, points, outside=False, attributes=()):
    return {
        "type": "rectangle",
        "frame": frame,
        "occluded": False,
        "outside": outside,
        "z_order": 0,
        "rotation": 0.0,
        "points": points,
        "attributes": list(attributes),
    }


def _annotations():
    car_attrs = [
        {"spec_id": 11, "value": "blue"},
        {"spec_id": 12, "value": "true"},
        {"spec_id": 13, "value": "5"},
    ]
    return {
        "tags": [
            {"id": None, "frame": 0, "label_id": 2, "group": 0, "source": "manual",
             "attributes": []},
        ],
        "shapes": [
            _shape("rectangle", 0, 1, [2.0, 3.0, 12.0, 10.0], occluded=True, z_order=2,
                   rotation=30.0, attributes=car_attrs),
            _shape("polygon", 0, 2, [5.0, 5.0, 20.0, 5.0, 20.0, 15.0], group=4),
            _shape("polyline", 0, 2, [1.0, 1.0, 5.0, 5.0], group=4),
            _shape("points", 1, 2, [1.5, 2.5, 3.0, 4.0]),
            _shape("mask", 1, 3, list(MASK)),
            _shape("cuboid", 1, 1, [float(i) for i in range(16)]),
            _shape("skeleton", 2, 4, [], elements=[
                _shape("points", 2, 6, [10.0, 10.0]),
                _shape("points", 2, 5, [15.0, 20.0], occluded=True),
            ]),
        ],
        "tracks": [
            {
                "id": None,
                "frame": 0,
                "label_id": 1,
                "group": 0,
                "source": "manual",
                "attributes": [{"spec_id": 11, "value": "red"}],
                "elements": [],
                "shapes": [
                    _tracked(0, [10.0, 10.0, 20.0, 20.0], attributes=[
                        {"spec_id": 12, "value": "false"}, {"spec_id": 13, "value": "0"}]),
                    _tracked(2, [14.0, 10.0, 24.0, 22.0], attributes=[
                        {"spec_id": 12, "value": "true"}, {"spec_id": 13, "value": "0"}]),
                    _tracked(3, [14.0, 10.0, 24.0, 22.0], outside=True),
                ],
            }
        ],
    }  # fmt: skip


def _dataset(**kw) -> Dataset:
    defaults = {
        "kind": "task",
        "id": 1,
        "name": "t",
        "mode": "annotation",
        "labels": LABELS,
        "frames": FRAMES,
        "annotations": _annotations(),
        "image": lambda f: (f"img-{f.frame}".encode(), ".jpg"),
    }
    defaults.update(kw)
    return Dataset(**defaults)


def _export(tmp_path, save_images=False, **kw):
    out = tmp_path / "out"
    datumaro.export(_dataset(**kw), out, save_images=save_images, format_name="Datumaro 1.0")
    return out


def test_export_json_exact(tmp_path):
    out = _export(tmp_path)
    raw = (out / "annotations" / "default.json").read_text(encoding="utf-8")
    assert ": " not in raw and ", " not in raw  # compact, as dump_json_file writes
    data = json.loads(raw)
    assert list(data) == ["info", "categories", "items"]
    assert data["info"] == {}
    assert data["categories"] == {
        "label": {
            "labels": [
                {"name": "car", "parent": "", "attributes": []},
                {"name": "person", "parent": "", "attributes": []},
                {"name": "road", "parent": "", "attributes": []},
                {"name": "body", "parent": "", "attributes": []},
                {"name": "hand", "parent": "body", "attributes": []},
                {"name": "head", "parent": "body", "attributes": []},
            ],
            "attributes": ["color", "occluded", "parked", "speed"],
        },
        "points": {"items": [{"label_id": 3, "labels": ["head", "hand"], "joints": [[1, 2]]}]},
    }
    items = data["items"]
    assert [i["id"] for i in items] == ["img0", "img1", "img2", "img3"]
    assert items[0]["attr"] == {"frame": 0}
    assert items[0]["image"] == {"path": "img0.jpg", "size": [30, 40]}
    assert list(items[0]) == ["id", "annotations", "attr", "image"]
    assert not (out / "images").exists()

    f0 = items[0]["annotations"]
    assert [a["type"] for a in f0] == ["label", "polygon", "polyline", "bbox", "bbox"]
    assert f0[0] == {"id": 0, "type": "label", "attributes": {}, "group": 0, "label_id": 1}
    assert f0[1] == {
        "id": 0, "type": "polygon", "attributes": {"occluded": False}, "group": 4,
        "label_id": 1, "points": [5.0, 5.0, 20.0, 5.0, 20.0, 15.0], "z_order": 0,
    }  # fmt: skip
    track_box = f0[3]
    assert track_box == {
        "id": 0, "type": "bbox",
        "attributes": {"color": "red", "parked": False, "speed": 0.0, "occluded": False,
                       "rotation": 0.0, "track_id": 0, "keyframe": True},
        "group": 0, "label_id": 0, "z_order": 0, "bbox": [10.0, 10.0, 10.0, 10.0],
    }  # fmt: skip
    assert f0[4] == {
        "id": 0, "type": "bbox",
        "attributes": {"color": "blue", "parked": True, "speed": 5.0, "occluded": True,
                       "rotation": 30.0},
        "group": 0, "label_id": 0, "z_order": 2, "bbox": [2.0, 3.0, 10.0, 7.0],
    }  # fmt: skip

    f1 = items[1]["annotations"]  # the cuboid is not written
    assert [a["type"] for a in f1] == ["points", "mask", "bbox"]
    assert f1[0]["visibility"] == [2, 2] and f1[0]["points"] == [1.5, 2.5, 3.0, 4.0]
    mask = f1[1]
    assert list(mask) == ["id", "type", "attributes", "group", "label_id", "rle", "z_order"]
    assert mask["rle"]["size"] == [30, 40] and isinstance(mask["rle"]["counts"], str)
    bitmap = mask_utils.decode({"size": [30, 40], "counts": mask["rle"]["counts"].encode()})
    expected = np.zeros((30, 40), dtype=np.uint8)
    expected[4, 3:8] = 1
    expected[5, 4:7] = 1
    expected[6, 3:8] = 1
    assert (bitmap == expected).all()
    # interpolated track frame: not a keyframe, half way
    assert f1[2]["bbox"] == [12.0, 10.0, 10.0, 11.0]
    assert f1[2]["attributes"]["keyframe"] is False

    skeleton = items[2]["annotations"][0]
    assert skeleton["type"] == "skeleton" and "z_order" not in skeleton
    assert skeleton["attributes"] == {"occluded": False, "keyframe": False}
    assert [(e["label_id"], e["points"], e["visibility"]) for e in skeleton["elements"]] == [
        (5, [10.0, 10.0], [2]),
        (4, [15.0, 20.0], [1]),
    ]
    assert items[3]["annotations"] == []  # the track is outside from frame 3


def test_rle_string_matches_pycocotools():
    rng = np.random.default_rng(1)
    for _ in range(20):
        bits = np.asfortranarray((rng.random((13, 17)) > 0.6).astype(np.uint8))
        ref = mask_utils.encode(bits)["counts"].decode()
        counts = common.runs(bytes(bits.flatten(order="F")))
        assert datumaro.encode_rle_string(counts) == ref


def test_export_with_images_and_video_names(tmp_path):
    out = _export(tmp_path, save_images=True)
    assert (out / "images" / "default" / "img2.jpg").read_bytes() == b"img-2"
    frames = [Frame(frame=i, name=f"frame_{i:06d}", width=40, height=30) for i in range(2)]
    video = tmp_path / "video"
    datumaro.export(
        _dataset(mode="interpolation", frames=frames, annotations={}),
        video, save_images=False, format_name="Datumaro 1.0",
    )  # fmt: skip
    items = json.loads((video / "annotations" / "default.json").read_text())["items"]
    assert items[1]["id"] == "frame_000001"
    assert items[1]["image"] == {"path": "frame_000001.PNG", "size": [30, 40]}


def _keyed(shapes):
    return sorted(
        (s["type"], s["frame"], s["label_id"], s["group"], s["occluded"], s["z_order"],
         s["rotation"], [round(p, 2) for p in s["points"]],
         sorted((a["spec_id"], a["value"]) for a in s["attributes"]))
        for s in shapes
    )  # fmt: skip


def test_round_trip(tmp_path):
    out = _export(tmp_path)
    result = datumaro.import_(_dataset(annotations={}), out, format_name="Datumaro 1.0")
    assert result["tags"] == [
        {"frame": 0, "label_id": 2, "group": 0, "source": "manual", "attributes": []}
    ]
    shapes = result["shapes"]
    assert _keyed(s for s in shapes if s["type"] != "skeleton") == _keyed([
        _shape("rectangle", 0, 1, [2.0, 3.0, 12.0, 10.0], occluded=True, z_order=2,
               rotation=30.0, attributes=[{"spec_id": 11, "value": "blue"},
                                          {"spec_id": 12, "value": "true"},
                                          {"spec_id": 13, "value": "5.0"}]),
        _shape("polygon", 0, 2, [5.0, 5.0, 20.0, 5.0, 20.0, 15.0], group=1),
        _shape("polyline", 0, 2, [1.0, 1.0, 5.0, 5.0], group=1),
        _shape("points", 1, 2, [1.5, 2.5, 3.0, 4.0]),
        _shape("mask", 1, 3, list(MASK)),
    ])  # fmt: skip
    skeleton = next(s for s in shapes if s["type"] == "skeleton")
    assert [(e["label_id"], e["points"], e["occluded"], e["outside"])
            for e in skeleton["elements"]] == [(6, [10.0, 10.0], False, False),
                                               (5, [15.0, 20.0], True, False)]  # fmt: skip
    (track,) = result["tracks"]
    assert track["label_id"] == 1 and track["frame"] == 0
    assert track["attributes"] == [{"spec_id": 11, "value": "red"}]
    assert [(s["frame"], s["outside"], s["points"]) for s in track["shapes"]] == [
        (0, False, [10.0, 10.0, 20.0, 20.0]),
        (2, False, [14.0, 10.0, 24.0, 22.0]),
        (3, True, [14.0, 10.0, 24.0, 22.0]),
    ]
    assert sorted((a["spec_id"], a["value"]) for a in track["shapes"][1]["attributes"]) == [
        (12, "true"), (13, "0.0")
    ]


def test_single_json_and_frame_attr_matching(tmp_path):
    out = _export(tmp_path)
    path = out / "annotations" / "default.json"
    data = json.loads(path.read_text())
    for item in data["items"]:
        item["id"] = "renamed_" + item["id"]  # no name match: attr.frame is used
        item.pop("image")
    single = tmp_path / "x.json"
    single.write_text(json.dumps(data))
    result = datumaro.import_(_dataset(annotations={}), single, format_name="Datumaro 1.0")
    assert sorted({s["frame"] for s in result["shapes"]}) == [0, 1, 2]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["items"][0]["annotations"][0].update(label_id=99), "undeclared label"),
        (lambda d: d["categories"]["label"]["labels"][1].update(name="dog"), "'dog'"),
        (lambda d: d["items"][0].update(id="nope", attr={}), "Could not match item id"),
        (lambda d: d["items"][1]["annotations"][0].update(points=["x"]), "list of numbers"),
        (lambda d: d["items"][1]["annotations"][1]["rle"].update(counts=5), "counts"),
    ],
)
def test_malformed_input_is_refused(tmp_path, mutate, message):
    out = _export(tmp_path)
    path = out / "annotations" / "default.json"
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ImportFailed, match=message):
        datumaro.import_(_dataset(annotations={}), out, format_name="Datumaro 1.0")


def test_not_json_and_missing_file_are_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ImportFailed, match="Failed to parse"):
        datumaro.import_(_dataset(), bad, format_name="Datumaro 1.0")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailed, match="annotations/<subset>.json"):
        datumaro.import_(_dataset(), tmp_path / "empty", format_name="Datumaro 1.0")
