"""Task and project backups through the real cvat-sdk 2.80 (download_backup, create_from_backup)
and raw HTTP (the 409, the one-shot download, the legacy polling GET, broken archives)."""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cvat_sdk.api_client import models

from mockcvat.services import backups
from tests.conftest import NO_TLS, raw_task, token_client
from tests.media_files import make_image

LABELS = [
    {"name": "car", "attributes": [
        {"name": "color", "mutable": False, "input_type": "select", "default_value": "red",
         "values": ["red", "blue"]},
        {"name": "moving", "mutable": True, "input_type": "checkbox", "default_value": "false",
         "values": ["false", "true"]}]},
    {"name": "person", "color": "#ff0000"},
]


def _images(tmp_path: Path, count: int) -> list[str]:
    return [str(make_image(tmp_path / "media" / f"img{i}.png", (64 + i, 48),
                           color=(10 * i, 120, 200))) for i in range(count)]


def _annotate(task: Any) -> None:
    labels = {label.name: label for label in task.get_labels()}
    car, person = labels["car"], labels["person"]
    specs = {a.name: a.id for a in car.attributes}
    task.set_annotations(models.LabeledDataRequest(
        tags=[models.LabeledImageRequest(frame=1, label_id=person.id)],
        shapes=[
            models.LabeledShapeRequest(
                type="rectangle", frame=0, label_id=car.id, points=[4, 5, 20, 30],
                attributes=[models.AttributeValRequest(spec_id=specs["color"], value="blue")]),
            models.LabeledShapeRequest(type="polygon", frame=3, label_id=person.id,
                                       points=[10, 10, 30, 10, 30, 40]),
        ],
        tracks=[models.LabeledTrackRequest(
            frame=2, label_id=car.id,
            shapes=[models.TrackedShapeRequest(type="rectangle", frame=2, points=[1, 2, 3, 4]),
                    models.TrackedShapeRequest(type="rectangle", frame=3, points=[2, 3, 4, 5],
                                               outside=True)])],
    ))


@pytest.fixture
def task(cvat_client, tmp_path):
    task = cvat_client.tasks.create_from_data(
        {"name": "cars", "labels": LABELS, "segment_size": 2, "subset": "train",
         "bug_tracker": "https://bugs.example.com/1"},
        resources=_images(tmp_path, 5), data_params={"image_quality": 80})
    _annotate(task)
    return task


def _normalized(task: Any) -> dict[str, Any]:
    """The task's annotations with names instead of ids, in a stable order."""
    everyone = [one for label in task.get_labels() for one in [label, *label.sublabels]]
    names = {label.id: label.name for label in everyone}
    specs = {a.id: a.name for label in everyone for a in label.attributes}

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                if key == "id":
                    continue
                if key == "label_id":
                    out["label"] = names[value]
                elif key == "spec_id":
                    out["name"] = specs[value]
                else:
                    out[key] = clean(value)
            return out
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj

    data = clean(task.get_annotations().to_dict())
    return {kind: sorted(data[kind], key=json.dumps) for kind in ("tags", "shapes", "tracks")}


def _jobs(task: Any) -> list[tuple[int, int, str, str]]:
    return sorted((j.start_frame, j.stop_frame, str(j.type), str(j.status))
                  for j in task.get_jobs())


def _label_specs(obj: Any) -> list[tuple[Any, ...]]:
    return sorted((label.name, label.color, str(label.type), tuple(
        (a.name, a.mutable, str(a.input_type), a.default_value, tuple(a.values))
        for a in label.attributes)) for label in obj.get_labels())


# --- SDK round trips ------------------------------------------------------------------------------
def test_task_backup_round_trip(cvat_client, task, tmp_path):
    first_job = min(task.get_jobs(), key=lambda j: j.start_frame)
    first_job.update({"stage": "acceptance", "state": "completed"})  # status "completed"
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))

    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("task.json"))
        job_annotations = json.loads(archive.read("annotations.json"))
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    assert sorted(n for n in names if n.startswith("data/")) == [
        f"data/img{i}.png" for i in range(5)]
    assert list(manifest) == ["name", "bug_tracker", "status", "subset", "labels", "version",
                              "data", "jobs"]
    assert manifest["version"] == "1.0" and manifest["subset"] == "train"
    assert manifest["labels"][0] == {
        "name": "car", "color": manifest["labels"][0]["color"],
        "attributes": [{"name": "color", "mutable": False, "input_type": "select",
                        "default_value": "red", "values": ["red", "blue"]},
                       {"name": "moving", "mutable": True, "input_type": "checkbox",
                        "default_value": "false", "values": ["false", "true"]}],
        "type": "any", "svg": "", "sublabels": []}
    assert manifest["data"] == {
        "chunk_size": manifest["data"]["chunk_size"], "image_quality": 80, "start_frame": 0,
        "stop_frame": 4, "storage_method": "file_system", "storage": "local",
        "sorting_method": "lexicographical", "chunk_type": "imageset", "deleted_frames": []}
    assert [(j["start_frame"], j["stop_frame"], j["type"]) for j in manifest["jobs"]] == [
        (0, 1, "annotation"), (2, 3, "annotation"), (4, 4, "annotation")]
    assert manifest["jobs"][0]["status"] == "completed"
    assert len(job_annotations) == 3
    first = job_annotations[0]
    assert first["version"] == 0 and '"id"' not in json.dumps(first)
    rectangle = next(s for s in first["shapes"] if s["type"] == "rectangle")
    assert rectangle["label"] == "car"
    assert {"name": "color", "value": "blue"} in rectangle["attributes"]

    restored = cvat_client.tasks.create_from_backup(str(target))
    assert restored.id != task.id
    assert (restored.name, restored.subset, restored.bug_tracker, restored.size) == (
        "cars", "train", "https://bugs.example.com/1", 5)
    assert restored.image_quality == 80 and restored.segment_size == 2
    assert restored.owner.username == task.owner.username
    assert [f.name for f in restored.get_frames_info()] == [f.name for f in
                                                          task.get_frames_info()]
    assert _label_specs(restored) == _label_specs(task)
    assert _jobs(restored) == _jobs(task)
    assert _normalized(restored) == _normalized(task)
    # the media is the same media
    assert restored.get_frame(3).read() == task.get_frame(3).read()


def test_download_into_a_directory_uses_cvats_name(task, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    task.download_backup(str(folder))
    (saved,) = folder.iterdir()
    assert saved.name.startswith("task_cars_backup_") and saved.name.endswith(".zip")
    assert len(saved.name) == len("task_cars_backup_2025_01_20_14_03_59.zip")


def test_project_backup_round_trip(cvat_client, tmp_path):
    project = cvat_client.projects.create({"name": "Street", "labels": LABELS})
    cvat_client.tasks.create({"name": "empty", "project_id": project.id})  # no data: skipped
    task = cvat_client.tasks.create_from_data({"name": "cars", "project_id": project.id},
                                              resources=_images(tmp_path, 3))
    _annotate_small(task)
    target = tmp_path / "project.zip"
    project.download_backup(str(target))
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("project.json"))
    assert list(manifest) == ["name", "bug_tracker", "status", "labels", "version"]
    assert "task_1/task.json" in names and "task_1/data/img0.png" in names
    assert not any(n.startswith("task_0/") for n in names)

    restored = cvat_client.projects.create_from_backup(str(target))
    assert restored.name == "Street" and restored.id != project.id
    assert _label_specs(restored) == _label_specs(project)
    (restored_task,) = restored.get_tasks()
    assert restored_task.project_id == restored.id and restored_task.size == 3
    assert _normalized(restored_task) == _normalized(task)


def _annotate_small(task: Any) -> None:
    car = next(label for label in task.get_labels() if label.name == "car")
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="rectangle", frame=2, label_id=car.id, points=[1, 1, 9, 9])]))


def test_restore_in_an_organization(cvat_server, cvat_client, task, tmp_path):
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    cvat_server.create_organization("lab", owner=cvat_server.admin_credentials[0])
    cvat_client.organization_slug = "lab"
    try:
        restored = cvat_client.tasks.create_from_backup(str(target))
    finally:
        cvat_client.organization_slug = None
    assert restored.organization is not None


# --- raw HTTP -------------------------------------------------------------------------------------
@pytest.fixture
def api(cvat_server):
    response = httpx.post(f"{cvat_server.url}/api/auth/login",
                          json=dict(zip(("username", "password"),
                                        cvat_server.admin_credentials, strict=True)), **NO_TLS)
    with httpx.Client(base_url=cvat_server.url, **NO_TLS, timeout=30,
                      headers={"Authorization": f"Token {response.json()['key']}"}) as client:
        yield client


@pytest.fixture
def old_api(mockcvat_server_old):
    """Token client of the 2.26.2 server, whose backups use the legacy GET download."""
    mockcvat_server_old.reset()
    with token_client(mockcvat_server_old, *mockcvat_server_old.admin_credentials) as client:
        client.timeout = httpx.Timeout(30)
        yield client


def test_download_per_version(versioned_server, versioned_admin):
    """2.26: the legacy GET with action=download, served once, then the request is gone.
    2.80: ``…/backup/download?rq_id=``, served as often as asked, the request kept."""
    task = raw_task(versioned_admin)
    response = versioned_admin.post(f"/api/tasks/{task['id']}/backup/export",
                                    params={"lightweight": "false"})
    assert response.status_code == 202
    rq_id = response.json()["rq_id"]
    request = versioned_admin.get(f"/api/requests/{rq_id}").json()
    assert request["status"] == "finished" and request["progress"] == 0
    result_url = request["result_url"]
    old = versioned_server.settings.cvat_version == "2.26.2"
    if old:
        assert rq_id == f"export:task-{task['id']}-backup-by-1"
        assert result_url.endswith(
            f"/api/tasks/{task['id']}/backup?lightweight=false&action=download")
    else:
        assert rq_id == f"action=export&target=task&target_id={task['id']}&user_id=1" \
            "&subresource=backup"
        assert result_url == (f"{versioned_server.url}/api/tasks/{task['id']}/backup/download"
                              f"?rq_id={quote(rq_id, safe='')}")
    for attempt in range(2):
        download = versioned_admin.get(result_url)
        if old and attempt:
            assert download.status_code == 400
            assert download.text.startswith("Unknown export request id.")
            assert versioned_admin.get(f"/api/requests/{rq_id}").status_code == 404
            break
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert download.headers["content-disposition"].startswith(
            'attachment; filename="task_cars_backup_')
        assert zipfile.ZipFile(io.BytesIO(download.content)).read("task.json")
    if not old:
        assert versioned_admin.get(f"/api/requests/{rq_id}").json()["status"] == "finished"
        legacy = versioned_admin.get(f"/api/tasks/{task['id']}/backup")
        assert legacy.status_code == 410  # the legacy GET export is gone from 2.32
        assert "use POST /api/tasks/id/backup/export." in legacy.text


def test_filename_names_the_download(versioned_admin):
    task = raw_task(versioned_admin)
    rq_id = versioned_admin.post(f"/api/tasks/{task['id']}/backup/export",
                                 params={"filename": "my backup.zip"}).json()["rq_id"]
    result_url = versioned_admin.get(f"/api/requests/{rq_id}").json()["result_url"]
    response = versioned_admin.get(result_url)
    assert response.headers["content-disposition"] == 'attachment; filename="my backup.zip"'


def test_a_running_export_conflicts(old_api, mockcvat_server_old, monkeypatch):
    api, cvat_server = old_api, mockcvat_server_old
    task = SimpleNamespace(**raw_task(api))
    release = threading.Event()
    original = backups.write_backup

    def slow(*args: Any, **kwargs: Any) -> None:
        release.wait(20)
        original(*args, **kwargs)

    monkeypatch.setattr(backups, "write_backup", slow)
    cvat_server.set_background_mode("thread")
    try:
        assert api.post(f"/api/tasks/{task.id}/backup/export").status_code == 202
        again = api.post(f"/api/tasks/{task.id}/backup/export")
        assert again.status_code == 409
        assert again.json() == "Export request is being processed"
        legacy = api.get(f"/api/tasks/{task.id}/backup", params={"action": "download"})
        assert (legacy.status_code, legacy.text) == (400, "Backup export has not been finished yet")
    finally:
        release.set()
        cvat_server.wait_for_requests()


def test_legacy_get_polls_then_downloads(old_api):
    api = old_api
    task = SimpleNamespace(**raw_task(api))
    started = api.get(f"/api/tasks/{task.id}/backup")
    assert started.status_code == 202 and "rq_id" in started.json()
    assert api.get(f"/api/tasks/{task.id}/backup").status_code == 201
    download = api.get(f"/api/tasks/{task.id}/backup", params={"action": "download"})
    assert download.status_code == 200
    assert "task.json" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    bad = api.get(f"/api/tasks/{task.id}/backup", params={"action": "nope"})
    assert (bad.status_code, bad.json()) == (400, ["Unexpected action 'nope' specified for "
                                                   "the request"])


def test_a_task_without_data(old_api):
    api = old_api
    task_id = api.post("/api/tasks", json={"name": "empty", "labels": [{"name": "a"}]}).json()["id"]
    legacy = api.get(f"/api/tasks/{task_id}/backup")
    assert (legacy.status_code, legacy.text) == (400, "Backup of a task without data is not "
                                                      "allowed")
    rq_id = api.post(f"/api/tasks/{task_id}/backup/export").json()["rq_id"]
    request = api.get(f"/api/requests/{rq_id}").json()
    assert request["status"] == "failed"
    assert request["message"].startswith("AttributeError")


def _restore(api: httpx.Client, content: bytes, kind: str = "task") -> dict[str, Any]:
    response = api.post(f"/api/{kind}s/backup/",
                        files={f"{kind}_file": ("backup.zip", content, "application/zip")})
    assert response.status_code == 202, response.text
    rq_id = response.json()["rq_id"]
    assert rq_id.startswith(f"import:{kind}-") or f"target={kind}" in rq_id
    return api.get(f"/api/requests/{rq_id}").json()


def _count(api: httpx.Client, kind: str = "tasks") -> int:
    return api.get(f"/api/{kind}").json()["count"]


def _zip(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_multipart_restore(api, task, tmp_path):
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    request = _restore(api, target.read_bytes())
    assert request["status"] == "finished"
    restored = api.get(f"/api/tasks/{request['result_id']}").json()
    assert restored["name"] == "cars" and restored["size"] == 5


def test_missing_file_field(api):
    response = api.post("/api/tasks/backup/", files={"other": ("x.zip", b"x")})
    assert (response.status_code, response.json()) == (
        400, {"task_file": ["No file was submitted."]})


def test_finish_with_an_unknown_file(api):
    response = api.post("/api/tasks/backup/", params={"filename": "nothing.zip"},
                        headers={"Upload-Finish": ""})
    assert (response.status_code, response.json()) == (400, "No such file were uploaded")


def test_corrupt_zip_fails_the_request(api):
    before = _count(api)
    request = _restore(api, b"this is not a zip")
    assert request["status"] == "failed"
    assert request["message"] == "zipfile.BadZipFile: File is not a zip file\n"
    assert _count(api) == before


def test_foreign_zip_fails_the_request(api):
    request = _restore(api, _zip({"readme.txt": "hello"}))
    assert request["status"] == "failed"
    assert request["message"].startswith("KeyError:") and "task.json" in request["message"]
    request = _restore(api, _zip({"task.json": json.dumps({"version": "2.0"}),
                                  "annotations.json": "[]"}))
    assert request["message"] == "ValueError: 2.0 version is not supported\n"


def test_unsafe_entries_are_refused(api, task, tmp_path):
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    with zipfile.ZipFile(target) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    entries["data/../../escape.png"] = entries["data/img0.png"]
    before = _count(api)
    request = _restore(api, _zip(entries))
    assert request["status"] == "failed" and "unsafe file path" in request["message"]
    assert _count(api) == before


def test_a_failure_after_creation_leaves_nothing(api, task, tmp_path):
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    with zipfile.ZipFile(target) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    job_annotations = json.loads(entries["annotations.json"])
    job_annotations[0]["shapes"][0]["label"] = "no such label"
    entries["annotations.json"] = json.dumps(job_annotations).encode()
    before_tasks, before_jobs = _count(api), _count(api, "jobs")
    request = _restore(api, _zip(entries))
    assert request["status"] == "failed"
    assert request["message"] == "KeyError: 'no such label'\n"
    assert (_count(api), _count(api, "jobs")) == (before_tasks, before_jobs)


def test_a_corrupt_image_fails_the_restore(api, task, tmp_path):
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    with zipfile.ZipFile(target) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    entries["data/img2.png"] = b"not an image"
    before = _count(api)
    request = _restore(api, _zip(entries))
    assert request["status"] == "failed"
    assert _count(api) == before


def test_restore_needs_the_create_privilege(cvat_server, api, task, tmp_path):
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    cvat_server.create_user("wendy", "Unusual-Passw0rd!", groups=["worker"])
    response = httpx.post(f"{cvat_server.url}/api/auth/login",
                          json={"username": "wendy", "password": "Unusual-Passw0rd!"}, **NO_TLS)
    headers = {"Authorization": f"Token {response.json()['key']}"}
    refused = httpx.post(f"{cvat_server.url}/api/tasks/backup/", headers=headers, **NO_TLS,
                         files={"task_file": ("b.zip", target.read_bytes())})
    assert refused.status_code == 403
    other = httpx.post(f"{cvat_server.url}/api/tasks/{task.id}/backup/export",
                       headers=headers, **NO_TLS)
    assert other.status_code == 403


def test_someone_elses_export_cannot_be_downloaded(versioned_server, versioned_admin):
    task = raw_task(versioned_admin)
    rq_id = versioned_admin.post(f"/api/tasks/{task['id']}/backup/export").json()["rq_id"]
    result_url = versioned_admin.get(f"/api/requests/{rq_id}").json()["result_url"]
    versioned_server.create_user("bob", "Unusual-Passw0rd!", groups=["admin"])
    with token_client(versioned_server, "bob", "Unusual-Passw0rd!") as bob:
        other = bob.get(result_url)
    if versioned_server.settings.cvat_version == "2.26.2":  # the rq_id names the caller
        assert other.status_code == 400 and other.text.startswith("Unknown export request id.")
    else:  # requests.rego: only the request's owner downloads
        assert other.status_code == 403
    assert versioned_admin.get(result_url).status_code == 200


def test_legacy_restore_polling(api, old_api, task, tmp_path):
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    request = _restore(old_api, target.read_bytes())
    polled = old_api.post("/api/tasks/backup/", params={"rq_id": request["id"]})
    assert (polled.status_code, polled.json()) == (201, {"id": request["result_id"]})
    assert old_api.get(f"/api/requests/{request['id']}").status_code == 404
    # 2.80: the status check by rq_id is gone (PR 9230, 2.38)
    request = _restore(api, target.read_bytes())
    gone = api.post("/api/tasks/backup/", params={"rq_id": request["id"]})
    assert gone.status_code == 410


def test_video_task_with_a_skeleton(cvat_client, tmp_path):
    from tests.media_files import make_video

    skeleton = {
        "name": "body", "type": "skeleton",
        "sublabels": [{"name": "head", "type": "points"}, {"name": "tail", "type": "points"}],
        "svg": '<circle r="1.5" cx="10" cy="10" data-type="element node" data-element-id="1" '
               'data-node-id="1" data-label-name="head"></circle>'
               '<circle r="1.5" cx="30" cy="30" data-type="element node" data-element-id="2" '
               'data-node-id="2" data-label-name="tail"></circle>'}
    task = cvat_client.tasks.create_from_data(
        {"name": "clip", "labels": [skeleton], "segment_size": 8, "overlap": 2},
        resources=[str(make_video(tmp_path / "clip.mp4"))], data_params={"frame_step": 2})
    body = task.get_labels()[0]
    head, tail = sorted(body.sublabels, key=lambda s: s.name)
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="skeleton", frame=1, label_id=body.id, points=[], elements=[
            models.SubLabeledShapeRequest(type="points", frame=1, label_id=head.id,
                                          points=[1, 2]),
            models.SubLabeledShapeRequest(type="points", frame=1, label_id=tail.id,
                                          points=[3, 4])])]))
    target = tmp_path / "clip.zip"
    task.download_backup(str(target))
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("task.json"))
    assert manifest["data"]["frame_filter"] == "step=2"
    assert 'data-label-name="head"' in manifest["labels"][0]["svg"]
    restored = cvat_client.tasks.create_from_backup(str(target))
    assert (restored.size, restored.mode, restored.overlap) == (task.size, "interpolation", 2)
    assert _jobs(restored) == _jobs(task)
    assert _normalized(restored) == _normalized(task)
    restored_body = restored.get_labels()[0]
    assert f'data-label-id="{restored_body.sublabels[0].id}"' in restored_body.svg


# --- annotation guides travel in backups; issues do not (CVAT's exporter leaves them out) ---
PDF = b"%PDF-1.4\n%%EOF\n"


def _guide_with_asset(api: httpx.Client, **target: int) -> tuple[dict[str, Any], str]:
    guide = api.post("/api/guides", json=target).json()
    asset = api.post("/api/assets", data={"guide_id": str(guide["id"])},
                     files={"file": ("rules.pdf", PDF, "application/pdf")}).json()
    guide = api.patch(f"/api/guides/{guide['id']}", json={
        "markdown": f"# Rules\n[pdf](/api/assets/{asset['uuid']})"}).json()
    return guide, asset["uuid"]


def _assets_of(api: httpx.Client, markdown: str) -> list[bytes]:
    return [api.get(f"/api/assets/{uuid}").content
            for uuid in re.findall(r"/api/assets/([0-9a-f-]{36})", markdown)]


def test_task_backup_carries_the_guide_not_the_issues(api, cvat_client, task, tmp_path):
    guide, asset = _guide_with_asset(api, task_id=task.id)
    job = min(task.get_jobs(), key=lambda j: j.start_frame)
    api.post("/api/issues", json={"frame": 0, "position": [1, 2], "job": job.id,
                                  "message": "m"})
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    with zipfile.ZipFile(target) as archive:
        assert archive.read("annotation_guide.md").decode() == "# Rules\n[pdf](assets/rules.pdf)"
        assert archive.read("assets/rules.pdf") == PDF
        assert not any("issue" in name for name in archive.namelist())

    restored = cvat_client.tasks.create_from_backup(str(target))
    assert restored.guide_id not in (None, guide["id"])
    copy = api.get(f"/api/guides/{restored.guide_id}").json()
    assert copy["markdown"].startswith("# Rules\n[pdf](/api/assets/")
    assert asset not in copy["markdown"]
    assert _assets_of(api, copy["markdown"]) == [PDF]
    restored_jobs = api.get("/api/jobs", params={"task_id": restored.id}).json()["results"]
    assert all(j["issues"]["count"] == 0 for j in restored_jobs)


def test_project_backup_carries_project_and_task_guides(api, cvat_client, tmp_path):
    project = cvat_client.projects.create({"name": "Street", "labels": LABELS})
    task = cvat_client.tasks.create_from_data({"name": "cars", "project_id": project.id},
                                              resources=_images(tmp_path, 2))
    _guide_with_asset(api, project_id=project.id)
    api.post("/api/guides", json={"task_id": task.id, "markdown": "task notes"})
    target = tmp_path / "project.zip"
    project.download_backup(str(target))
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert names[:2] == ["assets/rules.pdf", "annotation_guide.md"]
        assert archive.read("task_0/annotation_guide.md") == b"task notes"

    restored = cvat_client.projects.create_from_backup(str(target))
    guide = api.get(f"/api/guides/{restored.guide_id}").json()
    assert _assets_of(api, guide["markdown"]) == [PDF]
    (restored_task,) = restored.get_tasks()
    assert api.get(f"/api/guides/{restored_task.guide_id}").json()["markdown"] == "task notes"


def test_a_guide_asset_of_a_refused_type_fails_the_restore(api, task, tmp_path):
    target = tmp_path / "backup.zip"
    task.download_backup(str(target))
    with zipfile.ZipFile(target) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    entries["annotation_guide.md"] = "see assets/notes.txt"
    entries["assets/notes.txt"] = "text"
    before = _count(api)
    request = _restore(api, _zip(entries))
    assert request["status"] == "failed"
    assert request["message"] == (
        "rest_framework.exceptions.ValidationError: [ErrorDetail(string=\"File is not supported "
        "as an asset. Supported are ('image/jpeg', 'image/png', 'image/webp', 'image/gif', "
        "'application/pdf')\", code='invalid')]\n")
    assert _count(api) == before
