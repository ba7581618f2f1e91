"""ImageNet 1.0: exact files, round trip, refused input.

What the format keeps: tags (label, frame; a label once per frame). Lost: every shape and track,
tag attributes, group, source (→ manual), repeated tags of one label on a frame.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mockcvat.formats import exporter, imagenet, importer
from mockcvat.formats.base import ImportFailed
from tests.test_format_yolo import files, make_dataset

FLAT = ("img0.jpg", "img_1.png", "img2")


def tags(result: dict) -> list[tuple[int, int]]:
    assert result["shapes"] == [] and result["tracks"] == []
    assert all(t["attributes"] == [] and t["source"] == "manual" for t in result["tags"])
    return sorted((t["frame"], t["label_id"]) for t in result["tags"])


INPUT_TAGS = [(0, 3), (1, 1), (1, 3)]


def test_registry_finds_the_module() -> None:
    assert exporter("ImageNet 1.0") is imagenet and importer("ImageNet 1.0") is imagenet


def test_export_without_images(tmp_path: Path) -> None:
    dataset = make_dataset(("img0.jpg", "sub/my img.png", "img2.jpg"))
    dataset.annotations["tags"].append(dict(dataset.annotations["tags"][1]))  # a repeated tag
    imagenet.export(dataset, tmp_path, save_images=False, format_name="ImageNet 1.0")
    assert files(tmp_path) == {
        # label indices into synsets.txt, each once, ascending; untagged frames keep their line
        "default.txt": b'img0.jpg 2\n"sub/my img".png 0 2\nimg2.jpg \n',
        "synsets.txt": b"car\nperson\nday\n",
    }


def test_export_with_images(tmp_path: Path) -> None:
    imagenet.export(make_dataset(FLAT), tmp_path, save_images=True, format_name="ImageNet 1.0")
    assert files(tmp_path) == {
        "day/day_img0.jpg": b"IMG0",
        "car/car_img_1.png": b"IMG1",
        "day/day_img_1.png": b"IMG1",
        "no_label/no_label_img2.jpg": b"IMG2",
    }


@pytest.mark.parametrize("save_images", [False, True])
def test_round_trip(tmp_path: Path, save_images: bool) -> None:
    dataset = make_dataset(FLAT)
    imagenet.export(dataset, tmp_path, save_images=save_images, format_name="ImageNet 1.0")
    assert tags(imagenet.import_(dataset, tmp_path, format_name="ImageNet 1.0")) == INPUT_TAGS


def test_round_trip_with_quoted_names(tmp_path: Path) -> None:
    dataset = make_dataset(("a b.jpg", "c.png", "d.jpg"))
    imagenet.export(dataset, tmp_path, save_images=False, format_name="ImageNet 1.0")
    assert tags(imagenet.import_(dataset, tmp_path, format_name="ImageNet 1.0")) == INPUT_TAGS


def test_unknown_label_index(tmp_path: Path) -> None:
    dataset = make_dataset(FLAT)
    imagenet.export(dataset, tmp_path, save_images=False, format_name="ImageNet 1.0")
    (tmp_path / "default.txt").write_text("img0.jpg 3\n")
    with pytest.raises(ImportFailed, match="unknown label id '3'"):
        imagenet.import_(dataset, tmp_path, format_name="ImageNet 1.0")
    (tmp_path / "default.txt").write_text("img0.jpg x\n")
    with pytest.raises(ImportFailed, match="must be integers"):
        imagenet.import_(dataset, tmp_path, format_name="ImageNet 1.0")


def test_label_not_in_the_task(tmp_path: Path) -> None:
    dataset = make_dataset(FLAT)
    imagenet.export(dataset, tmp_path / "lists", save_images=False, format_name="ImageNet 1.0")
    (tmp_path / "lists/synsets.txt").write_text("car\nperson\nnight\n")
    with pytest.raises(ImportFailed, match="Label 'night' is not registered"):
        imagenet.import_(dataset, tmp_path / "lists", format_name="ImageNet 1.0")

    imagenet.export(dataset, tmp_path / "dirs", save_images=True, format_name="ImageNet 1.0")
    (tmp_path / "dirs/night").mkdir()
    (tmp_path / "dirs/day/day_img0.jpg").rename(tmp_path / "dirs/night/night_img0.jpg")
    with pytest.raises(ImportFailed, match="Label 'night' is not registered"):
        imagenet.import_(dataset, tmp_path / "dirs", format_name="ImageNet 1.0")


def test_unknown_frame_and_missing_synsets(tmp_path: Path) -> None:
    dataset = make_dataset(FLAT)
    imagenet.export(dataset, tmp_path, save_images=False, format_name="ImageNet 1.0")
    (tmp_path / "default.txt").write_text("other.jpg 0\n")
    with pytest.raises(ImportFailed, match="Could not match item id: 'other'"):
        imagenet.import_(dataset, tmp_path, format_name="ImageNet 1.0")
    (tmp_path / "synsets.txt").unlink()
    with pytest.raises(ImportFailed, match="synsets.txt"):
        imagenet.import_(dataset, tmp_path, format_name="ImageNet 1.0")
