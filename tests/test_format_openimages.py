"""Open Images V6 1.0: the CSV files CVAT writes (read with ``csv``), masks with Pillow, a round
trip of generated tags, boxes and polygons (boxes to 1e-9 of the image, ``occluded`` kept;
each polygon one mask with all its pixels), and refused input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mockcvat.formats import exporter, importer, openimages
from mockcvat.formats.base import Dataset, Frame, ImportFailed, LabelSpec
from mockcvat.formats.common import cvat_mask_to_rowmajor
from tests.format_objects import api_shape
from tests.pixel_cases import H, W, boxes, pixels_of

LABELS = [LabelSpec(1, "car", "#ff0000", "any"), LabelSpec(2, "road", "#00ff00", "any")]
NAME = "Open Images V6 1.0"


def make_dataset(shapes: list[dict], tags: list[dict] | None = None) -> Dataset:
    return Dataset(kind="task", id=1, name="t", mode="annotation", labels=LABELS,
                   frames=[Frame(0, "a.jpg", W, H), Frame(1, "sub/b.png", W, H)],
                   annotations={"tags": tags or [], "shapes": shapes, "tracks": []},
                   image=lambda f: (b"IMG", Path(f.name).suffix))


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_registry() -> None:
    assert exporter(NAME) is openimages and importer(NAME) is openimages


def test_files_read_with_csv(tmp_path: Path) -> None:
    shapes = [api_shape("rectangle", 0, 1, [3.0, 2.0, 6.0, 4.0], occluded=True),
              api_shape("polygon", 1, 2, [0.0, 0.0, 4.0, 0.0, 4.0, 3.0, 0.0, 3.0])]
    tags = [{"frame": 1, "label_id": 2, "group": 0, "source": "manual", "attributes": []}]
    openimages.export(make_dataset(shapes, tags), tmp_path, save_images=True, format_name=NAME)
    notes = tmp_path / "annotations"
    assert (notes / "class-descriptions.csv").read_bytes() == b"car,car\r\nroad,road\r\n"
    assert [(r["ImageID"], r["Subset"]) for r in rows(notes / "default-images-with-rotation.csv")
            ] == [("a", "default"), ("sub/b", "default")]
    (box,) = rows(notes / "default-annotations-bbox.csv")
    assert (box["LabelName"], float(box["XMin"]), float(box["YMax"]), box["IsOccluded"],
            box["IsTruncated"]) == ("car", 3 / W, 4 / H, "1", "-1")
    (tag,) = rows(notes / "default-annotations-human-imagelabels.csv")
    assert (tag["ImageID"], tag["LabelName"], tag["Confidence"]) == ("sub/b", "road", "1")
    (mask,) = rows(notes / "default-annotations-object-segmentation.csv")
    assert (mask["MaskPath"], mask["BoxID"], mask["BoxXMax"]) == (
        "subb_road_00000000.png", "00000000", "")  # datumaro's slugified names, no box
    with Image.open(tmp_path / "masks/default" / mask["MaskPath"]) as image:
        assert image.size == (W, H) and image.getpixel((1, 1)) == 1
        assert image.getpixel((5, 5)) == 0
    assert (notes / "images.meta").read_text() == (
        "# <image name> <height> <width>\n\na 8 12\nsub/b 8 12\n")
    assert json.loads((notes / "bbox_labels_600_hierarchy.json").read_text()) == {
        "LabelName": "/m/0", "Subcategory": []}
    assert (tmp_path / "images/default/sub/b.png").read_bytes() == b"IMG"


def drawn(shape: dict) -> set[int]:
    return {i for i, b in enumerate(cvat_mask_to_rowmajor(shape["points"], H, W)) if b}


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(polygons=st.lists(boxes("polygon"), max_size=3),
       rects=st.lists(st.tuples(boxes("rectangle"), st.booleans()), max_size=3),
       tags=st.lists(st.tuples(st.integers(0, 1), st.sampled_from([1, 2])), max_size=3))
def test_round_trip(tmp_path_factory, polygons: list, rects: list, tags: list) -> None:
    out = tmp_path_factory.mktemp("out")
    rectangles = [dict(r, occluded=occluded) for r, occluded in rects]
    tag_objects = [{"frame": f, "label_id": label, "group": 0, "source": "manual",
                    "attributes": []} for f, label in tags]
    openimages.export(make_dataset(polygons + rectangles, tag_objects), out, save_images=False,
                      format_name=NAME)
    back = openimages.import_(make_dataset([]), out, format_name=NAME)
    assert sorted((t["frame"], t["label_id"]) for t in back["tags"]) == sorted(tags)
    got_boxes = sorted((s["label_id"], s["occluded"], s["points"]) for s in back["shapes"]
                       if s["type"] == "rectangle")
    expected = sorted((r["label_id"], r["occluded"], r["points"]) for r in rectangles)
    assert [b[:2] for b in got_boxes] == [e[:2] for e in expected]
    assert all(abs(a - b) < 1e-9 for g, e in zip(got_boxes, expected, strict=True)
               for a, b in zip(g[2], e[2], strict=True))
    masks = sorted((s["label_id"], sorted(drawn(s))) for s in back["shapes"]
                   if s["type"] == "mask")
    assert masks == sorted((p["label_id"], sorted(pixels_of(p))) for p in polygons)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda notes: (notes / "class-descriptions.csv").write_text("road,road\n"),
     "undefined label 'car'"),
    (lambda notes: (notes / "default-images-with-rotation.csv").unlink(),
     "Dataset must contain"),
    (lambda notes: (notes / "default-images-with-rotation.csv").write_text(
        "ImageID,Subset\nzz,default\n"), "unknown image 'a'"),
    (lambda notes: (notes / "default-annotations-bbox.csv").write_text(
        "ImageID,LabelName,Confidence,XMin,XMax,YMin,YMax\na,car,1,x,1,0,1\n"),
     "can't read 'XMin'"),
])
def test_refused_input(tmp_path: Path, damage, message: str) -> None:
    dataset = make_dataset([api_shape("rectangle", 0, 1, [3.0, 2.0, 6.0, 4.0])])
    openimages.export(dataset, tmp_path, save_images=False, format_name=NAME)
    damage(tmp_path / "annotations")
    with pytest.raises(ImportFailed, match=message):
        openimages.import_(dataset, tmp_path, format_name=NAME)
