"""Every format mockcvat reads and writes, through the real cvat-sdk 2.80: a task and a project
exported, the task's export imported back, projects made from their own exports (the formats
added by issue 19 and two earlier ones), and cvat-cli for two of the newer formats. The 3D
formats: tests/test_point_clouds.py."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cvat_sdk.api_client import models

from mockcvat import formats
from mockcvat.formats.common import cvat_mask_to_rowmajor, from_runs, poly_counts, rowmajor
from tests.media_files import make_image

# "icdar": the label the ICDAR importers give everything (CVAT's format docs set it up)
LABELS = [{"name": "car", "type": "any"}, {"name": "road", "type": "any"},
          {"name": "icdar", "type": "any"}]
# the importer that reads each exporter's files back (CVAT pairs them the same way)
READ_BACK = {"CVAT for images 1.1": "CVAT 1.1", "CVAT for video 1.1": "CVAT 1.1",
             "Ultralytics YOLO Detection Track 1.0": "Ultralytics YOLO Detection 1.0"}
# what comes back of a box (frame 0), a polygon and a tag (frame 1): tags, shapes, tracks
KEPT = {"COCO 1.0": (0, 2, 0), "COCO Keypoints 1.0": (0, 0, 0), "CVAT for images 1.1": (1, 2, 0),
        "CVAT for video 1.1": (0, 0, 2), "Datumaro 1.0": (1, 2, 0), "LabelMe 3.0": (0, 2, 0),
        "Segmentation mask 1.1": (0, 2, 0), "MOT 1.1": (0, 1, 0), "PASCAL VOC 1.1": (1, 1, 0),
        "YOLO 1.1": (0, 1, 0), "Ultralytics YOLO Detection 1.0": (0, 1, 0),
        "Ultralytics YOLO Detection Track 1.0": (0, 1, 0),
        "Ultralytics YOLO Oriented Bounding Boxes 1.0": (0, 1, 0),
        "Ultralytics YOLO Segmentation 1.0": (0, 1, 0), "Ultralytics YOLO Pose 1.0": (0, 0, 0),
        "Ultralytics YOLO Classification 1.0": (1, 0, 0), "ImageNet 1.0": (1, 0, 0),
        "CamVid 1.0": (0, 2, 0), "Cityscapes 1.0": (0, 2, 0),
        "MOTS PNG 1.0": (0, 0, 0),  # tracks only
        "WiderFace 1.0": (1, 1, 0), "VGGFace2 1.0": (1, 1, 0), "LFW 1.0": (1, 0, 0),
        "Market-1501 1.0": (0, 0, 0),  # tags of a "market-1501" label only
        "ICDAR Recognition 1.0": (0, 0, 0),  # no "text" attribute: no captions
        "ICDAR Localization 1.0": (0, 2, 0),  # the 3-point polygon comes back as a box
        "ICDAR Segmentation 1.0": (0, 2, 0), "KITTI 1.0": (0, 2, 0),
        "Open Images V6 1.0": (1, 2, 0)}
WRITTEN = [f.name for f in formats.EXPORTERS if formats.exporter(f.name) is not None
           and f.dimension == "2d"]


@pytest.fixture
def task(cvat_client, tmp_path):
    images = [str(make_image(tmp_path / f"img{i}.png", (40, 30))) for i in range(2)]
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    task = cvat_client.tasks.create_from_data({"name": "t", "project_id": project.id},
                                              resources=images)
    ids = {label.name: label.id for label in task.get_labels()}
    task.set_annotations(models.LabeledDataRequest(
        tags=[models.LabeledImageRequest(frame=1, label_id=ids["road"])],
        shapes=[models.LabeledShapeRequest(type="rectangle", frame=0, label_id=ids["car"],
                                           points=[4, 5, 20, 25]),
                models.LabeledShapeRequest(type="polygon", frame=1, label_id=ids["road"],
                                           points=[2, 2, 30, 2, 30, 20])]))
    return task


@pytest.mark.parametrize("format_name", WRITTEN)
def test_task_and_project_export_and_import(cvat_client, task, tmp_path, format_name):
    target = tmp_path / "task.zip"
    task.export_dataset(format_name, str(target), include_images=False)
    assert zipfile.ZipFile(target).namelist()
    project = cvat_client.projects.retrieve(task.project_id)
    project.export_dataset(format_name, str(tmp_path / "project.zip"), include_images=True)
    assert zipfile.ZipFile(tmp_path / "project.zip").namelist()

    task.remove_annotations()
    task.import_annotations(READ_BACK.get(format_name, format_name), str(target))
    after = task.get_annotations()
    assert (len(after.tags), len(after.shapes), len(after.tracks)) == KEPT[format_name]
    assert all(s.frame in (0, 1) for s in after.shapes)


@pytest.mark.parametrize("format_name", [
    "Ultralytics YOLO Detection 1.0", "LabelMe 3.0", "MOTS PNG 1.0", "WiderFace 1.0",
    "VGGFace2 1.0", "Market-1501 1.0", "LFW 1.0", "ICDAR Recognition 1.0",
    "ICDAR Localization 1.0", "ICDAR Segmentation 1.0", "KITTI 1.0", "Open Images V6 1.0"])
def test_project_from_a_dataset(cvat_client, task, tmp_path, format_name):
    """A project made from its own export (with images): one task with both frames and what the
    format keeps of the annotations, as the task import above."""
    project = cvat_client.projects.retrieve(task.project_id)
    project.export_dataset(format_name, str(tmp_path / "project.zip"), include_images=True)
    copy = cvat_client.projects.create_from_dataset(
        {"name": "copy", "labels": LABELS}, dataset_path=str(tmp_path / "project.zip"),
        dataset_format=format_name)
    (restored,) = copy.get_tasks()
    assert restored.size == 2
    after = restored.get_annotations()
    assert (len(after.tags), len(after.shapes), len(after.tracks)) == KEPT[format_name]
    if KEPT[format_name][1]:
        assert min(s.frame for s in after.shapes) == 0


def test_cli_with_the_newer_formats(task, tmp_path, cvat_server):
    url = urlsplit(cvat_server.url)
    user, password = cvat_server.admin_credentials
    env = dict(os.environ, HOME=str(tmp_path), PASS=password)

    def cli(*args: str) -> None:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "cvat-cli"), "--server-host",
             f"http://{url.hostname}", "--server-port", str(url.port), "--auth", user, *args],
            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr

    cli("task", "export-dataset", str(task.id), "seg.zip", "--format",
        "Ultralytics YOLO Segmentation 1.0")
    assert "labels/train/img1.txt" in zipfile.ZipFile(tmp_path / "seg.zip").namelist()
    cli("task", "export-dataset", str(task.id), "labelme.zip", "--format", "LabelMe 3.0")
    task.remove_annotations()
    cli("task", "import-dataset", str(task.id), "labelme.zip", "--format", "LabelMe 3.0")
    assert sorted(str(s.type) for s in task.get_annotations().shapes) == ["polygon", "rectangle"]
    cli("task", "import-dataset", str(task.id), "seg.zip", "--format",
        "Ultralytics YOLO Segmentation 1.0")
    assert [str(s.type) for s in task.get_annotations().shapes] == ["polygon"]


@pytest.mark.parametrize("format_name", ["Segmentation mask 1.1", "CamVid 1.0", "KITTI 1.0",
                                         "Open Images V6 1.0", "ICDAR Segmentation 1.0"])
def test_imported_masks_become_polygons_unless_asked_not_to(task, tmp_path, format_name):
    """CVAT's MaskToPolygonTransformation: polygons by default (each outlining exactly the
    pixels of its mask), masks with ``conv_mask_to_poly=false``."""
    target = tmp_path / "export.zip"
    task.export_dataset(format_name, str(target), include_images=False)
    task.import_annotations(format_name, str(target), conv_mask_to_poly=False)
    masks = [s for s in task.get_annotations().shapes if str(s.type) != "rectangle"]  # KITTI...
    assert masks and all(str(s.type) == "mask" for s in masks)
    task.import_annotations(format_name, str(target))
    polygons = [s for s in task.get_annotations().shapes if str(s.type) != "rectangle"]
    assert len(polygons) == len(masks) and all(str(s.type) == "polygon" for s in polygons)

    def pixels(shape) -> set[int]:
        frame = task.get_meta().frames[shape.frame]
        h, w = frame.height, frame.width
        bits = (cvat_mask_to_rowmajor(shape.points, h, w) if str(shape.type) == "mask" else
                rowmajor(from_runs(poly_counts(shape.points, h, w), h * w), h, w))
        return {(shape.frame, i) for i, b in enumerate(bits) if b}

    assert sorted(sorted(pixels(s)) for s in polygons) == sorted(sorted(pixels(s))
                                                                for s in masks)
