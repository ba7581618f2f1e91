"""Segmentation mask 1.1: PNGs decoded with Pillow against pycocotools rasterisation, labelmap and
lists checked exactly, and import round trips.

What Segmentation mask 1.1 loses (as in CVAT): tags, polylines, points, skeletons, cuboids and all
attributes, occluded, z_order, source; rectangles, polygons and ellipses come back as masks (their
pixels as pycocotools rasterises them); shapes of one group come back as one mask; pixels hidden
under a higher z_order are gone; tracks come back as per-frame masks; one mask per instance.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from mockcvat.formats import mask
from mockcvat.formats.base import Dataset, Frame, ImportFailed, LabelSpec
from tests.format_objects import api_shape as _shape

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword"
)

LABELS = [
    LabelSpec(1, "car", "#ff0000", "any"),
    LabelSpec(2, "Zebra", "#00ff00", "polygon"),
    LabelSpec(3, "road", "#0000ff", "mask"),
    LabelSpec(4, "line", "#123456", "polyline"),
]
H, W = 8, 10
FRAMES = [Frame(frame=i, name=f"img{i}.jpg", width=W, height=H) for i in range(4)]
# road mask in the box x 2..4, y 5..6: rows "111" / "010"
ROAD = [0.0, 3.0, 1.0, 1.0, 1.0, 2.0, 5.0, 4.0, 6.0]


def _annotations():
    return {
        "tags": [{"id": None, "frame": 2, "label_id": 1, "group": 0, "source": "manual",
                  "attributes": []}],
        "shapes": [
            _shape("polygon", 0, 2, [2.0, 1.0, 7.0, 1.0, 7.0, 4.0, 2.0, 4.0], z_order=1),
            _shape("rectangle", 0, 1, [0.0, 0.0, 4.0, 3.0]),
            _shape("mask", 0, 3, list(ROAD), group=5),
            _shape("rectangle", 0, 3, [6.0, 5.0, 8.0, 7.0], group=5),
            _shape("polyline", 1, 4, [0.0, 0.0, 5.0, 5.0]),
        ],
        "tracks": [],
    }  # fmt: skip


def _dataset(**kw) -> Dataset:
    defaults = {"kind": "task", "id": 1, "name": "t", "mode": "annotation", "labels": LABELS,
                "frames": FRAMES, "annotations": _annotations(),
                "image": lambda f: (f"img-{f.frame}".encode(), ".jpg")}  # fmt: skip
    defaults.update(kw)
    return Dataset(**defaults)


def _export(tmp_path, save_images=False, **kw):
    out = tmp_path / "out"
    mask.export(_dataset(**kw), out, save_images=save_images, format_name="Segmentation mask 1.1")
    return out


def _poly(points):
    rle = mask_utils.frPyObjects([points], H, W)[0]
    return mask_utils.decode(rle).astype(bool)


def _png(path):
    with Image.open(path) as image:
        assert image.mode == "RGB"
        return np.asarray(image)


def _expected_regions():
    car = _poly([0.0, 0.0, 4.0, 0.0, 4.0, 3.0, 0.0, 3.0])
    zebra = _poly([2.0, 1.0, 7.0, 1.0, 7.0, 4.0, 2.0, 4.0])
    road = np.zeros((H, W), dtype=bool)
    road[5, 2:5] = True
    road[6, 3] = True
    road |= _poly([6.0, 5.0, 8.0, 5.0, 8.0, 7.0, 6.0, 7.0])
    return car, zebra, road


def test_export_exact(tmp_path):
    out = _export(tmp_path)
    assert (out / "labelmap.txt").read_text() == (
        "# label:color_rgb:parts:actions\n"
        "Zebra:0,255,0::\n"
        "background:0,0,0::\n"
        "car:255,0,0::\n"
        "line:18,52,86::\n"
        "road:0,0,255::\n"
    )
    # frame 0 has masks, frame 3 has nothing; frame 1 (polyline) and 2 (tag) are not listed
    assert (out / "ImageSets" / "Segmentation" / "default.txt").read_text() == "img0\nimg3\n"
    assert sorted(p.name for p in (out / "SegmentationClass").iterdir()) == ["img0.png"]
    assert not (out / "JPEGImages").exists()

    car, zebra, road = _expected_regions()
    cls = _png(out / "SegmentationClass" / "img0.png")
    expected = np.zeros((H, W, 3), dtype=np.uint8)
    # instances by group (0 first: zebra, car; then group 5: road), painted by z_order
    expected[car] = (255, 0, 0)
    expected[road] = (0, 0, 255)
    expected[zebra] = (0, 255, 0)  # z_order 1: on top
    assert (cls == expected).all()

    inst = _png(out / "SegmentationObject" / "img0.png")
    voc = mask.voc_colormap(4)
    expected = np.zeros((H, W, 3), dtype=np.uint8)
    expected[car] = voc[1]  # z_order 0 instances keep their order: car, road, then zebra
    expected[road] = voc[2]
    expected[zebra] = voc[3]
    assert (inst == expected).all()


def test_export_images(tmp_path):
    out = _export(tmp_path, save_images=True)
    assert (out / "JPEGImages" / "img1.jpg").read_bytes() == b"img-1"


def test_round_trip(tmp_path):
    out = _export(tmp_path)
    result = mask.import_(_dataset(annotations={}), out, format_name="Segmentation mask 1.1")
    assert result["tags"] == [] and result["tracks"] == []
    shapes = result["shapes"]
    assert [(s["type"], s["frame"], s["label_id"], s["group"]) for s in shapes] == [
        ("mask", 0, 1, 0), ("mask", 0, 3, 0), ("mask", 0, 2, 0)
    ]  # fmt: skip
    car, zebra, road = _expected_regions()
    for shape, region in zip(shapes, (car & ~zebra, road, zebra), strict=True):
        *runs, left, top, right, bottom = (int(p) for p in shape["points"])
        bits = np.zeros((bottom - top + 1) * (right - left + 1), dtype=bool)
        pos, val = 0, False
        for run in runs:
            bits[pos : pos + run] = val
            pos, val = pos + run, not val
        full = np.zeros((H, W), dtype=bool)
        full[top : bottom + 1, left : right + 1] = bits.reshape(bottom - top + 1, -1)
        assert (full == region).all()


def test_class_only_masks(tmp_path):
    out = _export(tmp_path)
    for p in (out / "SegmentationObject").iterdir():
        p.unlink()
    with pytest.raises(ImportFailed, match="Label 'background' is not registered"):
        mask.import_(_dataset(), out, format_name="Segmentation mask 1.1")
    labels = [*LABELS, LabelSpec(9, "background", "#000000", "any")]
    result = mask.import_(_dataset(labels=labels), out, format_name="Segmentation mask 1.1")
    assert [s["label_id"] for s in result["shapes"]] == [2, 9, 1, 3]  # by class index


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda out: (out / "labelmap.txt").write_text("car:1,2\n"), "wrong number of fields"),
        (lambda out: (out / "labelmap.txt").write_text("car:1,2::\n"), "wrong color"),
        (lambda out: Image.new("RGB", (W, H), (1, 2, 3)).save(
            out / "SegmentationClass" / "img0.png"), "unknown color"),
        (lambda out: (out / "SegmentationObject" / "img0.png").write_bytes(b"nope"), "Can't read"),
        (lambda out: (out / "ImageSets" / "Segmentation" / "default.txt").write_text("zzz\n"),
         "Could not match item id"),
        (lambda out: (out / "labelmap.txt").write_text(
            (out / "labelmap.txt").read_text().replace("car:", "dog:")), "'dog'"),
    ],
)  # fmt: skip
def test_malformed_input_is_refused(tmp_path, damage, message):
    out = _export(tmp_path)
    damage(out)
    with pytest.raises(ImportFailed, match=message):
        mask.import_(_dataset(), out, format_name="Segmentation mask 1.1")


def test_missing_list_is_refused(tmp_path):
    with pytest.raises(ImportFailed, match="ImageSets/Segmentation"):
        mask.import_(_dataset(), tmp_path, format_name="Segmentation mask 1.1")
