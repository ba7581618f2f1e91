"""MOT 1.1: gt.txt / labels.txt checked byte for byte, and import round trips.

What MOT 1.1 loses (as in CVAT): everything but rectangles (tags, polygons, masks, points,
skeletons...); rotation, z_order, group, source and the label attributes (only attributes named
``visibility`` / ``ignored`` come back); ``occluded`` survives as visibility 0.0; tracks come back
with every exported frame as a keyframe (interpolated frames become keyframes), closed by an
``outside`` keyframe after gaps and at the end; frames are re-derived from 1-based frame ids.
"""

from __future__ import annotations

import csv
import io

import pytest

from mockcvat.formats import mot
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec
from tests.format_objects import api_shape as _shape

COLOR = AttributeSpec(11, "color", False, "select", "red", ("red", "blue"))
LABELS = [
    LabelSpec(1, "car", "#ff0000", "any", (COLOR,)),
    LabelSpec(2, "person", "#00ff00", "rectangle"),
]
FRAMES = [Frame(frame=i, name=f"img{i}.jpg", width=40, height=30) for i in range(4)]


def _box(frame, points, outside=False):
    return {"type": "rectangle", "frame": frame, "occluded": False, "outside": outside,
            "z_order": 0, "rotation": 0.0, "points": points, "attributes": []}  # fmt: skip


def _annotations():
    return {
        "tags": [{"id": None, "frame": 0, "label_id": 1, "group": 0, "source": "manual",
                  "attributes": []}],
        "shapes": [
            _shape("rectangle", 1, 2, [1.0, 2.0, 4.5, 6.0], occluded=True),
            _shape("polygon", 1, 2, [1.0, 1.0, 5.0, 1.0, 5.0, 5.0]),
        ],
        "tracks": [
            {"id": None, "frame": 0, "label_id": 1, "group": 0, "source": "manual",
             "attributes": [], "elements": [],
             "shapes": [_box(0, [10.0, 10.0, 20.0, 20.0]), _box(2, [14.0, 10.0, 24.0, 22.0]),
                        _box(3, [14.0, 10.0, 24.0, 22.0], outside=True)]},
            {"id": None, "frame": 1, "label_id": 2, "group": 0, "source": "manual",
             "attributes": [], "elements": [], "shapes": [_box(1, [0.0, 0.0, 2.0, 2.0])]},
        ],
    }  # fmt: skip


def _dataset(**kw) -> Dataset:
    defaults = {"kind": "task", "id": 1, "name": "t", "mode": "annotation", "labels": LABELS,
                "frames": FRAMES, "annotations": _annotations(),
                "image": lambda f: (f"img-{f.frame}".encode(), ".jpg")}  # fmt: skip
    defaults.update(kw)
    return Dataset(**defaults)


def _export(tmp_path, save_images=False, **kw):
    out = tmp_path / "out"
    mot.export(_dataset(**kw), out, save_images=save_images, format_name="MOT 1.1")
    return out


def test_export_exact(tmp_path):
    out = _export(tmp_path)
    raw = (out / "gt" / "gt.txt").read_bytes()
    assert raw == (
        b"1,1,10.0,10.0,10.0,10.0,1,1,1.0\r\n"
        b"2,-1,1.0,2.0,3.5,4.0,1,2,0.0\r\n"  # shapes first, then track boxes
        b"2,1,12.0,10.0,10.0,11.0,1,1,1.0\r\n"
        b"2,2,0.0,0.0,2.0,2.0,1,2,1.0\r\n"
        b"3,1,14.0,10.0,10.0,12.0,1,1,1.0\r\n"
        b"3,2,0.0,0.0,2.0,2.0,1,2,1.0\r\n"
        b"4,2,0.0,0.0,2.0,2.0,1,2,1.0\r\n"
    )
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert all(len(r) == 9 for r in rows)
    assert (out / "gt" / "labels.txt").read_text() == "car\nperson"
    assert not (out / "img1").exists()


def test_numeric_names_are_frame_ids_and_images(tmp_path):
    frames = [Frame(frame=i, name=f"{i + 5:06d}.png", width=40, height=30) for i in range(2)]
    annotations = {"shapes": [_shape("rectangle", 1, 1, [0.0, 0.0, 1.0, 1.0])]}
    out = _export(tmp_path, save_images=True, frames=frames, annotations=annotations)
    assert (out / "gt" / "gt.txt").read_text() == "6,-1,0.0,0.0,1.0,1.0,1,1,1.0\n"
    assert (out / "img1" / "000005.png").read_bytes() == b"img-0"


def test_round_trip(tmp_path):
    out = _export(tmp_path)
    result = mot.import_(_dataset(annotations={}), out, format_name="MOT 1.1")
    assert result["tags"] == []
    assert result["shapes"] == [
        {"type": "rectangle", "frame": 1, "occluded": True, "z_order": 0, "rotation": 0.0,
         "points": [1.0, 2.0, 4.5, 6.0], "attributes": [], "label_id": 2, "group": 0,
         "source": "manual", "outside": False, "elements": []}
    ]  # fmt: skip
    car, person = result["tracks"]
    assert (car["label_id"], car["frame"], person["label_id"], person["frame"]) == (1, 0, 2, 1)
    assert [(s["frame"], s["outside"], s["points"]) for s in car["shapes"]] == [
        (0, False, [10.0, 10.0, 20.0, 20.0]),
        (1, False, [12.0, 10.0, 22.0, 21.0]),
        (2, False, [14.0, 10.0, 24.0, 22.0]),
        (3, True, [14.0, 10.0, 24.0, 22.0]),
    ]
    assert [(s["frame"], s["outside"]) for s in person["shapes"]] == [
        (1, False), (2, False), (3, False)
    ]  # the last frame of the task: no closing outside


def test_gap_gets_outside(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "gt.txt").write_text("1,7,0,0,2,2,1,1,1\n3,7,1,1,2,2,1,1,1\n")
    (gt / "labels.txt").write_text("car\nperson")
    (track,) = mot.import_(_dataset(), tmp_path, format_name="MOT 1.1")["tracks"]
    assert [(s["frame"], s["outside"]) for s in track["shapes"]] == [
        (0, False), (1, True), (2, False), (3, True)
    ]


@pytest.mark.parametrize(
    ("content", "labels", "message"),
    [
        ("1,1,a,0,2,2,1,1,1\n", "car", "can't parse"),
        ("1,1,0,0,2,2,1,3,1\n", "car\nperson", "undeclared class id"),
        ("1,1,0,0,2,2,1,1,1\n", "dog", "'dog'"),
        ("9,1,0,0,2,2,1,1,1\n", "car", "Unknown internal frame id 8"),
    ],
)
def test_malformed_input_is_refused(tmp_path, content, labels, message):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "gt.txt").write_text(content)
    (gt / "labels.txt").write_text(labels)
    with pytest.raises(ImportFailed, match=message):
        mot.import_(_dataset(), tmp_path, format_name="MOT 1.1")


def test_missing_gt_and_non_numeric_images_are_refused(tmp_path):
    with pytest.raises(ImportFailed, match="gt/gt.txt"):
        mot.import_(_dataset(), tmp_path, format_name="MOT 1.1")
    out = _export(tmp_path, save_images=True)  # img1/img0.jpg...: not MOT frame numbers
    with pytest.raises(ImportFailed, match="must be numbers"):
        mot.import_(_dataset(), out, format_name="MOT 1.1")
