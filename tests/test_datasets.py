"""Dataset export and annotation import through the real cvat-sdk 2.80 and cvat-cli 2.80:
real files in real formats, read back with independent readers (pycocotools, ElementTree)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from cvat_sdk.api_client import models
from cvat_sdk.core.exceptions import BackgroundRequestException
from pycocotools.coco import COCO

from tests.conftest import raw_task
from tests.media_files import make_image

LABELS = [{"name": "car"}, {"name": "person"}]


@pytest.fixture
def task(cvat_client, tmp_path):
    images = [str(make_image(tmp_path / f"img{i}.png", (64, 48))) for i in range(3)]
    task = cvat_client.tasks.create_from_data({"name": "cars", "labels": LABELS},
                                              resources=images)
    ids = {label.name: label.id for label in task.get_labels()}
    task.set_annotations(models.LabeledDataRequest(
        shapes=[models.LabeledShapeRequest(type="rectangle", frame=0, label_id=ids["car"],
                                           points=[4, 5, 20, 30]),
                models.LabeledShapeRequest(type="polygon", frame=2, label_id=ids["person"],
                                           points=[10, 10, 30, 10, 30, 40])]))
    return task


def test_coco_export_loads_in_pycocotools(task, tmp_path):
    target = tmp_path / "coco.zip"
    task.export_dataset("COCO 1.0", str(target), include_images=True)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "coco")
    assert "annotations/instances_default.json" in names
    assert sorted(n for n in names if n.startswith("images/")) == [
        "images/default/img0.png", "images/default/img1.png", "images/default/img2.png"]
    coco = COCO(str(tmp_path / "coco" / "annotations" / "instances_default.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["car", "person"]
    boxes = [a["bbox"] for a in coco.loadAnns(coco.getAnnIds())]
    assert [4.0, 5.0, 16.0, 25.0] in boxes and len(boxes) == 2


def test_cvat_xml_export(task, tmp_path):
    target = tmp_path / "cvat.zip"
    task.export_dataset("CVAT for images 1.1", str(target), include_images=False)
    with zipfile.ZipFile(target) as archive:
        root = ET.fromstring(archive.read("annotations.xml"))
    assert root.findtext("version") == "1.1"
    image = root.find("image[@name='img0.png']")
    assert image is not None and image.get("width") == "64"
    box = image.find("box")
    assert (box.get("label"), box.get("xtl"), box.get("ybr")) == ("car", "4.00", "30.00")


def test_export_into_a_directory_uses_the_server_file_name(task, tmp_path):
    path = task.export_dataset("COCO 1.0", str(tmp_path), include_images=False)
    name = Path(path).name if path else next(tmp_path.glob("*.zip")).name
    assert name.startswith("task_cars_annotations_") and name.endswith("_coco 1.0.zip")


def test_import_replaces_annotations_with_the_file(task, tmp_path):
    target = tmp_path / "coco.zip"
    task.export_dataset("COCO 1.0", str(target), include_images=False)
    task.remove_annotations()
    task.import_annotations("COCO 1.0", str(target))
    shapes = task.get_annotations().shapes
    assert sorted((s.frame, str(s.type)) for s in shapes) == [(0, "rectangle"), (2, "polygon")]
    assert [s.points for s in shapes if s.frame == 0] == [[4, 5, 20, 30]]


def test_a_broken_file_fails_the_import_and_keeps_the_annotations(task, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [')
    with pytest.raises(BackgroundRequestException):
        task.import_annotations("COCO 1.0", str(broken))
    assert len(task.get_annotations().shapes) == 2


def test_export_errors(admin, task):
    base = f"/api/tasks/{task.id}/dataset/export"
    assert admin.post(base + "?format=Nope").json() == ["Unknown format specified for the request"]
    # every format CVAT lists is written now, the last ones (LFW, ...) included
    assert admin.post(base + "?format=LFW+1.0").status_code == 202


def _annotated_task(client) -> dict:
    task = raw_task(client)
    label = client.get(f"/api/labels?task_id={task['id']}").json()["results"][0]["id"]
    shape = {"type": "rectangle", "frame": 0, "label_id": label, "points": [1, 2, 8, 9]}
    assert client.put(f"/api/tasks/{task['id']}/annotations/",
                      json={"shapes": [shape]}).status_code == 200
    return task


def _finished_export(client, task_id: int) -> dict:
    started = client.post(f"/api/tasks/{task_id}/dataset/export?format=COCO+1.0"
                          "&save_images=false")
    assert started.status_code == 202, started.text
    request = client.get(f"/api/requests/{started.json()['rq_id']}").json()
    assert request["status"] == "finished"
    assert request["progress"] == 0  # nothing records an export's progress in CVAT
    return request


def _coco_annotations(response) -> list:
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="task_cars_annotations_')
    archive = zipfile.ZipFile(__import__("io").BytesIO(response.content))
    return json.loads(archive.read("annotations/instances_default.json"))["annotations"]


def test_export_result_per_version(versioned_server, versioned_admin):
    """2.26: result_url is the legacy GET with action=download, served once (the request is
    deleted). 2.80: ``…/dataset/download?rq_id=``, served again and again while the request
    stays listed with its expiry_date."""
    task = _annotated_task(versioned_admin)
    request = _finished_export(versioned_admin, task["id"])
    url = request["result_url"]
    if versioned_server.settings.cvat_version == "2.26.2":
        assert url.endswith("/annotations?format=COCO+1.0&save_images=false&action=download")
        assert len(_coco_annotations(versioned_admin.get(url))) == 1
        again = versioned_admin.get(url)
        assert again.status_code == 400 and again.text.startswith("Unknown export request id.")
        assert versioned_admin.get(f"/api/requests/{request['id']}").status_code == 404
        assert versioned_admin.get(f"/api/tasks/{task['id']}/dataset/download"
                                   f"?rq_id=x").status_code == 404  # no such endpoint
        return
    assert url == (f"{versioned_server.url}/api/tasks/{task['id']}/dataset/download?rq_id="
                   + quote(request["id"], safe=""))
    for _ in range(2):
        assert len(_coco_annotations(versioned_admin.get(url))) == 1
    listed = versioned_admin.get("/api/requests?action=export").json()["results"]
    assert [(r["id"], r["status"]) for r in listed] == [(request["id"], "finished")]
    assert listed[0]["expiry_date"] is not None
    legacy = versioned_admin.get(f"/api/tasks/{task['id']}/dataset?format=COCO+1.0")
    assert legacy.status_code == 410  # the legacy GET export is gone from 2.32
    assert "use POST /api/tasks/id/dataset/export?save_images=True." in legacy.text


def test_dataset_download_checks(versioned_server, versioned_admin, alice_on):
    if versioned_server.settings.cvat_version == "2.26.2":
        pytest.skip("2.26 has no …/dataset/download endpoint")
    task = _annotated_task(versioned_admin)
    base = f"/api/tasks/{task['id']}/dataset/download"
    assert versioned_admin.get(base).json() == ["Missing request id in the query parameters"]
    assert versioned_admin.get(base + "?rq_id=nope").text == "Unknown export request id"
    request = _finished_export(versioned_admin, task["id"])
    other = raw_task(versioned_admin, name="other")
    wrong = versioned_admin.get(f"/api/tasks/{other['id']}/dataset/download?rq_id="
                                + quote(request["id"], safe=""))
    assert wrong.json() == ["Invalid export request id"]
    assert alice_on(versioned_server).get(request["result_url"]).status_code in (403, 404)
def test_import_needs_the_uploaded_file(versioned_server, versioned_admin):
    task = raw_task(versioned_admin)
    response = versioned_admin.post(f"/api/tasks/{task['id']}/annotations/?format=COCO+1.0")
    assert (response.status_code, response.json()) == (400, "No such file were uploaded")
    unknown = versioned_admin.put(f"/api/tasks/{task['id']}/annotations/?format=Nope",
                                  files={"annotation_file": ("a.json", b"{}", "application/json")})
    if versioned_server.settings.cvat_version == "2.26.2":
        assert unknown.json() == ["Unknown input format 'Nope'"]
    else:  # PUT imports were removed in 2.38 (PR 9230): CVAT's plain-text 410
        assert unknown.status_code == 410
        assert unknown.text.startswith("This endpoint no longer supports checking the status "
                                       "of the import process.\n")


def test_cli_export_import_and_backup(task, tmp_path, cvat_server, cvat_client):
    import os
    import subprocess
    import sys
    from urllib.parse import urlsplit

    url = urlsplit(cvat_server.url)
    user, password = cvat_server.admin_credentials
    env = dict(os.environ, HOME=str(tmp_path), PASS=password)

    def cli(*args: str) -> None:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "cvat-cli"), "--server-host",
             f"http://{url.hostname}", "--server-port", str(url.port), "--auth", user, *args],
            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr

    cli("task", "export-dataset", str(task.id), "out.zip", "--format", "CVAT for images 1.1")
    assert zipfile.ZipFile(tmp_path / "out.zip").read("annotations.xml")
    task.remove_annotations()
    cli("task", "import-dataset", str(task.id), "out.zip", "--format", "CVAT 1.1")
    assert len(task.get_annotations().shapes) == 2

    cli("task", "backup", str(task.id), "backup.zip")
    assert "task.json" in zipfile.ZipFile(tmp_path / "backup.zip").namelist()
    cli("task", "create-from-backup", "backup.zip")
    restored = max(cvat_client.tasks.list(), key=lambda t: t.id)
    assert restored.id != task.id and restored.name == task.name
    assert len(restored.get_annotations().shapes) == 2


@pytest.mark.parametrize(("export_format", "import_format"), [
    ("CVAT for images 1.1", "CVAT 1.1"), ("COCO 1.0", "COCO 1.0")])
def test_project_export_and_create_from_dataset(cvat_client, tmp_path, export_format,
                                                import_format):
    images = [str(make_image(tmp_path / f"p{i}.png", (50, 40))) for i in range(3)]
    project = cvat_client.projects.create({"name": "fleet", "labels": LABELS})
    task = cvat_client.tasks.create_from_data(
        {"name": "t", "project_id": project.id, "subset": "train"}, resources=images)
    car = next(label for label in task.get_labels() if label.name == "car")
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="rectangle", frame=1, label_id=car.id, points=[1, 2, 10, 20])]))
    target = tmp_path / "project.zip"
    project.export_dataset(export_format, str(target), include_images=True)
    assert "images/train/p1.png" in zipfile.ZipFile(target).namelist()

    copy = cvat_client.projects.create_from_dataset(
        {"name": "copy", "labels": LABELS}, dataset_path=str(target),
        dataset_format=import_format)
    (restored,) = copy.get_tasks()
    assert (restored.name, restored.size, restored.subset) == ("train", 3, "train")
    shapes = restored.get_annotations().shapes
    assert [(s.frame, s.points) for s in shapes] == [(1, [1, 2, 10, 20])]


def test_a_project_import_that_fails_leaves_no_tasks(admin, cvat_client, tmp_path):
    project = cvat_client.projects.create({"name": "empty", "labels": LABELS})
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("images/a.png", (tmp_path / "x").write_bytes(b"") or b"not a png")
        out.writestr("annotations.xml", "<annotations><version>1.1</version></annotations>")
    with pytest.raises(BackgroundRequestException):
        project.import_dataset("CVAT 1.1", str(archive))
    assert project.get_tasks() == []


def failed_import(task, path: Path, format_name: str) -> str:
    with pytest.raises(BackgroundRequestException) as info:
        task.import_annotations(format_name, str(path))
    assert len(task.get_annotations().shapes) == 2  # untouched
    return str(info.value)


def test_bad_files_fail_the_import_cleanly(task, tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxxxx">'
                    '<!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]><annotations>&y;</annotations>')
    assert "not allowed" in failed_import(task, bomb, "CVAT 1.1")

    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "img0.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "submarine"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5],
                         "area": 25, "iscrowd": 0, "segmentation": []}]}))
    assert "submarine" in failed_import(task, unknown, "COCO 1.0")

    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "img99.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5],
                         "area": 25, "iscrowd": 0, "segmentation": []}]}))
    assert "img99" in failed_import(task, outside, "COCO 1.0")

    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr("obj.names", "car\n")
    assert failed_import(task, wrong, "COCO 1.0")

    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    assert failed_import(task, corrupt, "CVAT 1.1")


def test_archives_over_the_limits_are_refused(task, tmp_path, monkeypatch):
    from mockcvat.services import datasets

    monkeypatch.setattr(datasets, "MAX_UNPACKED", 1000)  # a zip bomb, scaled down
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("annotations.xml", "<annotations>" + " " * 50_000 + "</annotations>")
    assert bomb.stat().st_size < 1000
    assert "too large" in failed_import(task, bomb, "CVAT 1.1")


def test_project_import_creates_the_labels_of_a_project_without_labels(versioned_admin):
    """CVAT's importer makes the dataset's labels (``import_labels_to_project``) when the
    project has none, then imports the annotations into a task per subset."""
    task = _annotated_task(versioned_admin)
    started = versioned_admin.post(f"/api/tasks/{task['id']}/dataset/export"
                                   "?format=COCO+1.0&save_images=true")
    request = versioned_admin.get(f"/api/requests/{started.json()['rq_id']}").json()
    dataset = versioned_admin.get(request["result_url"])
    assert dataset.status_code == 200
    project = versioned_admin.post("/api/projects", json={"name": "empty"}).json()
    assert versioned_admin.get(f"/api/labels?project_id={project['id']}").json()["count"] == 0
    imported = versioned_admin.post(
        f"/api/projects/{project['id']}/dataset/?format=COCO+1.0",
        files={"dataset_file": ("dataset.zip", dataset.content, "application/zip")})
    assert imported.status_code == 202, imported.text
    status = versioned_admin.get(f"/api/requests/{imported.json()['rq_id']}").json()
    assert status["status"] == "finished", status["message"]
    labels = versioned_admin.get(f"/api/labels?project_id={project['id']}").json()["results"]
    assert [(label["name"], label["type"]) for label in labels] == [("car", "any")]
    tasks = versioned_admin.get(f"/api/tasks?project_id={project['id']}").json()["results"]
    assert len(tasks) == 1
    shapes = versioned_admin.get(f"/api/tasks/{tasks[0]['id']}/annotations/").json()["shapes"]
    assert [(s["type"], s["label_id"], s["points"]) for s in shapes] == [
        ("rectangle", labels[0]["id"], [1.0, 2.0, 8.0, 9.0])]
