"""COCO 1.0 / COCO Keypoints 1.0: files checked with pycocotools, and import round trips.

What COCO loses (as in CVAT): tags, polylines, points, cuboids (and skeletons in COCO 1.0);
``source`` (→ "manual"), ``z_order`` (→ 0), single-member groups (→ 0); number attributes come
back as floats ("5" → "5.0"); ellipses are written as masks; track frames between keyframes are
exported as plain interpolated shapes and only the keyframes come back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from mockcvat.formats import coco
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec
from tests.format_objects import api_shape as _shape

# pycocotools' C decoder trips numpy 2's __array__(copy=...) deprecation on every annToMask
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword"
)

COLOR = AttributeSpec(
    id=11,
    name="color",
    mutable=False,
    input_type="select",
    default_value="red",
    values=("red", "blue"),
)
PARKED = AttributeSpec(
    id=12,
    name="parked",
    mutable=True,
    input_type="checkbox",
    default_value="false",
    values=("false", "true"),
)
SPEED = AttributeSpec(
    id=13,
    name="speed",
    mutable=True,
    input_type="number",
    default_value="0",
    values=("0", "100", "1"),
)

SVG = (
    '<line x1="10" y1="10" x2="20" y2="20" data-type="edge"'
    ' data-node-from="1" data-node-to="2"></line>'
    '<circle r="0.75" cx="10" cy="10" data-type="element node" data-element-id="1"'
    ' data-node-id="1" data-label-id="6"></circle>'
    '<circle r="0.75" cx="20" cy="20" data-type="element node" data-element-id="2"'
    ' data-node-id="2" data-label-id="5"></circle>'
)

LABELS = [
    LabelSpec(id=1, name="car", color="#ff0000", type="any", attributes=(COLOR, PARKED, SPEED)),
    LabelSpec(id=2, name="person", color="#00ff00", type="polygon"),
    LabelSpec(id=3, name="road", color="#0000ff", type="mask"),
    LabelSpec(id=4, name="body", color="#ffff00", type="skeleton", svg=SVG),
    LabelSpec(id=5, name="hand", color="#00ffff", type="points", parent_id=4),
    LabelSpec(id=6, name="head", color="#ff00ff", type="points", parent_id=4),
]
FRAMES = [Frame(frame=i, name=f"img{i}.jpg", width=40, height=30) for i in range(3)]
# road mask: rows "11111" / "01110" / "11111" in the box x 3..7, y 4..6 → 13 pixels
MASK = [0, 5, 1, 3, 1, 5, 3, 4, 7, 6]


def _annotations():
    return {
        "tags": [
            {
                "id": None,
                "frame": 0,
                "label_id": 1,
                "group": 0,
                "source": "manual",
                "attributes": [],
            }
        ],
        "shapes": [
            _shape(
                "rectangle",
                0,
                1,
                [2.0, 3.0, 12.0, 10.0],
                occluded=True,
                attributes=[
                    {"spec_id": 11, "value": "blue"},
                    {"spec_id": 12, "value": "true"},
                    {"spec_id": 13, "value": "5"},
                ],
            ),
            _shape("polygon", 1, 2, [5.0, 5.0, 20.0, 5.0, 20.0, 15.0, 5.0, 15.0]),
            _shape("mask", 2, 3, [float(v) for v in MASK]),
            _shape("polyline", 2, 2, [1.0, 1.0, 5.0, 5.0]),
            _shape(
                "skeleton",
                1,
                4,
                [],
                elements=[
                    _shape("points", 1, 6, [10.0, 10.0]),
                    _shape("points", 1, 5, [15.0, 20.0], occluded=True),
                ],
            ),
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
                    {
                        "type": "rectangle",
                        "frame": 0,
                        "occluded": False,
                        "outside": False,
                        "z_order": 0,
                        "rotation": 0.0,
                        "points": [10.0, 10.0, 20.0, 20.0],
                        "attributes": [
                            {"spec_id": 12, "value": "false"},
                            {"spec_id": 13, "value": "0"},
                        ],
                    },
                    {
                        "type": "rectangle",
                        "frame": 2,
                        "occluded": False,
                        "outside": False,
                        "z_order": 0,
                        "rotation": 0.0,
                        "points": [14.0, 10.0, 24.0, 22.0],
                        "attributes": [
                            {"spec_id": 12, "value": "true"},
                            {"spec_id": 13, "value": "0"},
                        ],
                    },
                ],
            }
        ],
    }


def _dataset(**kw) -> Dataset:
    return Dataset(
        kind="task",
        id=1,
        name="t",
        mode="annotation",
        labels=LABELS,
        frames=FRAMES,
        annotations=_annotations(),
        image=lambda f: (f"img-{f.frame}".encode(), ".jpg"),
        **kw,
    )


def _comparable(shape):
    return (
        shape["type"],
        shape["frame"],
        shape["label_id"],
        shape["occluded"],
        [round(p, 2) for p in shape["points"]],
        sorted((a["spec_id"], a["value"]) for a in shape["attributes"]),
    )


# --- COCO 1.0 ---------------------------------------------------------------------------------


def test_instances_export_read_by_pycocotools(tmp_path):
    coco.export(_dataset(), tmp_path, save_images=True, format_name="COCO 1.0")
    assert (tmp_path / "images" / "default" / "img1.jpg").read_bytes() == b"img-1"
    path = tmp_path / "annotations" / "instances_default.json"
    raw = json.loads(path.read_text())
    assert list(raw) == ["licenses", "info", "categories", "images", "annotations"]
    assert raw["licenses"] == [{"name": "", "id": 0, "url": ""}]
    assert raw["images"][0] == {
        "id": 1,
        "width": 40,
        "height": 30,
        "file_name": "img0.jpg",
        "license": 0,
        "flickr_url": "",
        "coco_url": "",
        "date_captured": 0,
    }

    api = COCO(str(path))
    cats = api.loadCats(api.getCatIds())
    assert [(c["id"], c["name"], c["supercategory"]) for c in cats] == [
        (1, "car", ""),
        (2, "person", ""),
        (3, "road", ""),
        (4, "body", ""),
        (5, "hand", "body"),
        (6, "head", "body"),
    ]
    # tag, polyline and skeleton are not COCO instances; the track gives one shape per frame
    assert len(api.getAnnIds()) == 6
    assert [api.loadAnns(i)[0]["id"] for i in api.getAnnIds()] == [1, 2, 3, 4, 5, 6]
    frame0 = api.loadAnns(api.getAnnIds(imgIds=[1]))
    assert [a["bbox"] for a in frame0] == [[2.0, 3.0, 10.0, 7.0], [10.0, 10.0, 10.0, 10.0]]
    rect = frame0[0]
    assert rect["segmentation"] == [] and rect["area"] == 70.0 and rect["iscrowd"] == 0
    assert rect["attributes"] == {
        "color": "blue",
        "parked": True,
        "speed": 5.0,
        "occluded": True,
        "rotation": 0.0,
    }
    assert frame0[1]["attributes"] == {
        "color": "red",
        "parked": False,
        "speed": 0.0,
        "occluded": False,
        "rotation": 0.0,
        "track_id": 0,
        "keyframe": True,
    }

    polygon, interpolated = api.loadAnns(api.getAnnIds(imgIds=[2]))
    assert polygon["segmentation"] == [[5.0, 5.0, 20.0, 5.0, 20.0, 15.0, 5.0, 15.0]]
    assert polygon["bbox"] == [5.0, 5.0, 15.0, 10.0]
    assert api.annToMask(polygon).sum() == polygon["area"]
    assert interpolated["bbox"] == [12.0, 10.0, 10.0, 11.0]
    assert interpolated["attributes"]["keyframe"] is False

    mask = api.loadAnns(api.getAnnIds(imgIds=[3], catIds=[3]))[0]
    assert mask["iscrowd"] == 1 and isinstance(mask["segmentation"]["counts"], list)
    assert mask["segmentation"]["size"] == [30, 40]
    bitmap = api.annToMask(mask)
    assert bitmap.sum() == mask["area"] == 13.0
    assert bitmap[4, 3:8].tolist() == [1, 1, 1, 1, 1] and bitmap[5, 3:8].tolist() == [0, 1, 1, 1, 0]
    assert mask["bbox"] == [3.0, 4.0, 5.0, 3.0]


def test_instances_round_trip(tmp_path):
    dataset = _dataset()
    coco.export(dataset, tmp_path, save_images=False, format_name="COCO 1.0")
    assert not (tmp_path / "images").exists()
    result = coco.import_(dataset, tmp_path, format_name="COCO 1.0")

    kept = [s for s in _annotations()["shapes"] if s["type"] in ("rectangle", "polygon", "mask")]
    assert sorted(map(_comparable, result["shapes"])) == sorted(
        map(
            _comparable,
            [
                dict(
                    kept[0],
                    attributes=[
                        {"spec_id": 11, "value": "blue"},
                        {"spec_id": 12, "value": "true"},
                        {"spec_id": 13, "value": "5.0"},
                    ],
                ),  # numbers come back as floats
                kept[1],
                kept[2],
            ],
        )
    )
    assert result["tags"] == []
    assert all(
        s["source"] == "manual" and s["group"] == 0 and s["elements"] == []
        for s in result["shapes"]
    )

    (track,) = result["tracks"]
    assert (track["label_id"], track["frame"], track["attributes"]) == (
        1,
        0,
        [{"spec_id": 11, "value": "red"}],
    )
    assert [(s["frame"], s["outside"], s["points"]) for s in track["shapes"]] == [
        (0, False, [10.0, 10.0, 20.0, 20.0]),
        (2, False, [14.0, 10.0, 24.0, 22.0]),
    ]
    assert sorted((a["spec_id"], a["value"]) for a in track["shapes"][1]["attributes"]) == [
        (12, "true"),
        (13, "0.0"),
    ]


def test_single_json_file_import_and_matching(tmp_path):
    coco.export(_dataset(), tmp_path / "out", save_images=False, format_name="COCO 1.0")
    data = json.loads((tmp_path / "out" / "annotations" / "instances_default.json").read_text())
    # a single JSON file of any name; images match by path without extension (img0.png → img0.jpg)
    for image in data["images"]:
        image["file_name"] = image["file_name"].replace(".jpg", ".png")
    single = tmp_path / "mine.json"
    single.write_text(json.dumps(data))
    result = coco.import_(_dataset(), single, format_name="COCO 1.0")
    assert len(result["shapes"]) == 3 and len(result["tracks"]) == 1


def test_track_gap_and_end_get_outside(tmp_path):
    dataset = _dataset()
    dataset.annotations["tracks"][0]["shapes"][1]["outside"] = True
    dataset.annotations["tracks"][0]["shapes"][1]["frame"] = 1
    dataset.annotations["shapes"] = []
    coco.export(dataset, tmp_path, save_images=False, format_name="COCO 1.0")
    api = COCO(str(tmp_path / "annotations" / "instances_default.json"))
    assert [a["image_id"] for a in api.loadAnns(api.getAnnIds())] == [1]
    (track,) = coco.import_(dataset, tmp_path, format_name="COCO 1.0")["tracks"]
    assert [(s["frame"], s["outside"]) for s in track["shapes"]] == [(0, False), (1, True)]


def test_project_subsets(tmp_path):
    frames = [
        Frame(frame=0, name="a.jpg", width=40, height=30, task_id=1, subset="train"),
        Frame(frame=0, name="b.jpg", width=40, height=30, task_id=2, subset=""),
    ]
    ds = Dataset(
        kind="project",
        id=1,
        name="p",
        mode="annotation",
        labels=LABELS,
        frames=frames,
        annotations={"tags": [], "shapes": [], "tracks": []},
    )
    coco.export(ds, tmp_path, save_images=False, format_name="COCO 1.0")
    names = sorted(p.name for p in (tmp_path / "annotations").iterdir())
    assert names == ["instances_default.json", "instances_train.json"]
    ids = [json.loads((tmp_path / "annotations" / n).read_text())["images"][0]["id"] for n in names]
    assert sorted(ids) == [1, 2]  # image ids continue across subsets


# --- COCO Keypoints 1.0 -----------------------------------------------------------------------


def test_keypoints_export_and_round_trip(tmp_path):
    dataset = _dataset()
    coco.export(dataset, tmp_path, save_images=False, format_name="COCO Keypoints 1.0")
    path = tmp_path / "annotations" / "person_keypoints_default.json"
    api = COCO(str(path))
    cats = api.loadCats(api.getCatIds())
    assert [(c["id"], c["name"]) for c in cats] == [
        (1, "car"),
        (2, "person"),
        (3, "road"),
        (4, "body"),
    ]
    body = cats[3]
    assert body["keypoints"] == ["head", "hand"] and body["skeleton"] == [[1, 2]]
    (ann,) = api.loadAnns(api.getAnnIds())
    assert ann["image_id"] == 2 and ann["category_id"] == 4
    assert ann["keypoints"] == [10.0, 10.0, 2, 15.0, 20.0, 1] and ann["num_keypoints"] == 2
    assert (
        ann["bbox"] == [10.0, 10.0, 5.0, 10.0] and ann["area"] == 50.0 and ann["segmentation"] == []
    )
    assert ann["attributes"] == {"occluded": False, "keyframe": False}

    result = coco.import_(dataset, tmp_path, format_name="COCO Keypoints 1.0")
    (skeleton,) = result["shapes"]
    assert (skeleton["type"], skeleton["frame"], skeleton["label_id"]) == ("skeleton", 1, 4)
    assert sorted(
        (e["label_id"], e["points"], e["occluded"], e["outside"]) for e in skeleton["elements"]
    ) == [
        (5, [15.0, 20.0], True, False),
        (6, [10.0, 10.0], False, False),
    ]


# --- refused input ----------------------------------------------------------------------------


def test_unknown_category_is_refused(tmp_path):
    coco.export(_dataset(), tmp_path, save_images=False, format_name="COCO 1.0")
    path = tmp_path / "annotations" / "instances_default.json"
    data = json.loads(path.read_text())
    data["categories"][0]["name"] = "truck"
    path.write_text(json.dumps(data))
    with pytest.raises(ImportFailed, match="truck"):
        coco.import_(_dataset(), path, format_name="COCO 1.0")


def test_unknown_image_is_refused(tmp_path):
    coco.export(_dataset(), tmp_path, save_images=False, format_name="COCO 1.0")
    path = tmp_path / "annotations" / "instances_default.json"
    data = json.loads(path.read_text())
    data["images"][0]["file_name"] = "elsewhere.jpg"
    path.write_text(json.dumps(data))
    with pytest.raises(ImportFailed, match="elsewhere"):
        coco.import_(_dataset(), path, format_name="COCO 1.0")


@pytest.mark.parametrize(
    "content", [b"\x89PNG\r\n\x1a\n not json", b"[1, 2, 3]", b'{"images": []}']
)
def test_not_coco_json_is_refused(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ImportFailed):
        coco.import_(_dataset(), path, format_name="COCO 1.0")


def test_directory_without_annotations_is_refused(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ImportFailed, match="annotations/instances_"):
        coco.import_(_dataset(), Path(tmp_path), format_name="COCO 1.0")


def test_polygon_areas_from_pycocotools_equal_the_python_port() -> None:
    """The export takes polygon areas from pycocotools (C); its Python port must agree."""
    import random

    from mockcvat.formats.coco import _polygons_area, _rle_area, _union_counts
    from mockcvat.formats.common import poly_counts

    rng = random.Random(3)
    for _ in range(300):
        h, w = rng.randrange(1, 60), rng.randrange(1, 60)
        polygons = [[rng.uniform(-10, 70) for _ in range(2 * rng.randrange(3, 7))]
                    for _ in range(rng.randrange(1, 4))]
        python = _rle_area(_union_counts([poly_counts(p, h, w) for p in polygons], h, w))
        assert _polygons_area(polygons, h, w) == float(python), (h, w, polygons)
