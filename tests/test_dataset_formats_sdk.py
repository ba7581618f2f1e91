"""Every format mockcvat reads and writes, through the real cvat-sdk 2.80: a task and a project
exported, the task's export imported back, and cvat-cli for two of the newer formats."""

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
from tests.media_files import make_image

LABELS = [{"name": "car", "type": "any"}, {"name": "road", "type": "any"}]
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
        "CamVid 1.0": (0, 2, 0), "Cityscapes 1.0": (0, 2, 0)}
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


@pytest.mark.parametrize("format_name", ["Ultralytics YOLO Detection 1.0", "LabelMe 3.0"])
def test_project_from_a_dataset(cvat_client, task, tmp_path, format_name):
    project = cvat_client.projects.retrieve(task.project_id)
    project.export_dataset(format_name, str(tmp_path / "project.zip"), include_images=True)
    copy = cvat_client.projects.create_from_dataset(
        {"name": "copy", "labels": LABELS}, dataset_path=str(tmp_path / "project.zip"),
        dataset_format=format_name)
    (restored,) = copy.get_tasks()
    assert restored.size == 2
    shapes = restored.get_annotations().shapes
    assert [(s.frame, str(s.type)) for s in shapes][:1] == [(0, "rectangle")]


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
