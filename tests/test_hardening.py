"""Hostile and unlucky input (issue 10): each case gets CVAT's answer or a clear 400 with a
DRF-style body, never a 500, and leaves the state as it was. Through the real cvat-sdk 2.80
where a client would meet the case, raw HTTP where no client sends it.

Crash and restart (SIGKILL) are in ``test_restart.py``.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from cvat_sdk.api_client import models
from cvat_sdk.core.exceptions import BackgroundRequestException
from PIL import Image

from tests.media_files import make_image

LABELS = [{"name": "car"}]


def png(color=(10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


def make_task(admin: httpx.Client, name: str = "t", frames: int = 2) -> dict[str, Any]:
    task = admin.post("/api/tasks", json={"name": name, "labels": LABELS}).json()
    files = [(f"client_files[{i}]", (f"{i}.png", png(), "image/png")) for i in range(frames)]
    answer = admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                        files=files)
    assert answer.status_code == 202, answer.text
    task = admin.get(f"/api/tasks/{task['id']}").json()
    label = admin.get(f"/api/labels?task_id={task['id']}").json()["results"][0]
    job = admin.get(f"/api/jobs?task_id={task['id']}").json()["results"][0]
    return {**task, "label_id": label["id"], "job_id": job["id"]}


def box(label_id: int, frame: int = 0, points=(1, 2, 10, 20), **extra) -> dict[str, Any]:
    return {"type": "rectangle", "frame": frame, "label_id": label_id, "points": list(points),
            **extra}


def annotations(admin: httpx.Client, task_id: int) -> dict[str, Any]:
    answer = admin.get(f"/api/tasks/{task_id}/annotations")
    assert answer.status_code == 200, answer.text
    return answer.json()


def shapes_of(admin: httpx.Client, task_id: int) -> list[list[float]]:
    return [shape["points"] for shape in annotations(admin, task_id)["shapes"]]


# --- non-Latin names --------------------------------------------------------------------------
@pytest.mark.parametrize("kind,name", [("task", "データセット"), ("project", "проект-данные")])
def test_export_of_a_non_latin_name_downloads_with_rfc6266_name(admin, kind, name):
    if kind == "task":
        pk = make_task(admin, name)["id"]
    else:
        pk = admin.post("/api/projects", json={"name": name, "labels": LABELS}).json()["id"]
    started = admin.post(f"/api/{kind}s/{pk}/dataset/export",
                         params={"format": "CVAT for images 1.1", "save_images": "false"})
    assert started.status_code == 202, started.text
    request = admin.get(f"/api/requests/{started.json()['rq_id']}").json()
    assert request["status"] == "finished"
    download = admin.get(request["result_url"])
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    quoted = disposition.split("filename*=UTF-8''", 1)[1]
    assert f"{kind}_{name}_annotations_" in urllib.parse.unquote(quoted)
    assert zipfile.ZipFile(io.BytesIO(download.content)).namelist() == ["annotations.xml"]


def test_sdk_flows_with_non_latin_file_names(cvat_client, tmp_path):
    # task data by TUS, annotation import by TUS, backup restore by TUS: the SDK echoes the
    # MIME-encoded Upload-Filename header back in Upload-Finish
    images = [str(make_image(tmp_path / f"日本語{i}.png", (64, 48))) for i in range(3)]
    task = cvat_client.tasks.create_from_data({"name": "データセット", "labels": LABELS},
                                              resources=images)
    assert [f.name for f in task.get_meta().frames] == [f"日本語{i}.png" for i in range(3)]
    label_id = task.get_labels()[0].id
    task.set_annotations(models.LabeledDataRequest(shapes=[
        models.LabeledShapeRequest(type="rectangle", frame=1, label_id=label_id,
                                   points=[1, 2, 3, 4])]))
    task.export_dataset("CVAT for images 1.1", str(tmp_path / "export.zip"),
                        include_images=False)
    xml = tmp_path / "注釈.xml"
    xml.write_bytes(zipfile.ZipFile(tmp_path / "export.zip").read("annotations.xml"))
    task.remove_annotations()
    task.import_annotations("CVAT 1.1", str(xml))
    assert [s.points for s in task.get_annotations().shapes] == [[1, 2, 3, 4]]

    backup = tmp_path / "バックアップ.zip"
    task.download_backup(str(backup))
    restored = cvat_client.tasks.create_from_backup(str(backup))
    assert restored.name == "データセット" and restored.size == 3


def test_tus_upload_filename_is_mime_encoded_as_django_sends_it(admin):
    task = admin.post("/api/tasks", json={"name": "t", "labels": LABELS}).json()
    url = f"/api/tasks/{task['id']}/data/"
    assert admin.post(url, headers={"Upload-Start": ""}).status_code == 202
    name = base64.b64encode("日本語.png".encode()).decode()
    created = admin.post(url, headers={"Upload-Length": "3", "Upload-Metadata": f"filename {name}",
                                       "Tus-Resumable": "1.0.0"})
    assert created.status_code == 201
    assert created.headers["upload-filename"] == "=?utf-8?b?5pel5pys6KqeLnBuZw==?="


@pytest.mark.parametrize("bad", ["a\nb.png", "a\r\nX-Injected: 1.png", "nul\x00.png"])
def test_a_file_name_with_control_characters_is_a_400(admin, bad):
    task = admin.post("/api/tasks", json={"name": "t", "labels": LABELS}).json()
    url = f"/api/tasks/{task['id']}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    encoded = base64.b64encode(bad.encode()).decode()
    answer = admin.post(url, headers={"Upload-Length": "3", "Tus-Resumable": "1.0.0",
                                      "Upload-Metadata": f"filename {encoded}"})
    assert answer.status_code == 400
    assert answer.json() == f"File name {bad} is not allowed"
    assert "x-injected" not in answer.headers
    # nothing was created: a finish processes no file
    finish = admin.post(url, headers={"Upload-Finish": ""}, json={"image_quality": 70})
    rq_id = finish.json()["rq_id"]
    assert admin.get(f"/api/requests/{rq_id}").json()["status"] == "failed"


# --- non-finite numbers -------------------------------------------------------------------------
@pytest.mark.parametrize("literal,shown", [("NaN", "'NaN'"), ("Infinity", "'Infinity'"),
                                           ("-Infinity", "'-Infinity'"), ("1e400", "'1e400'")])
def test_non_finite_numbers_in_a_body_are_refused(admin, literal, shown):
    task = make_task(admin)
    before = admin.put(f"/api/tasks/{task['id']}/annotations/",
                       json={"shapes": [box(task["label_id"])]})
    assert before.status_code == 200
    body = json.dumps({"shapes": [box(task["label_id"], points=(1, 2, 3, 4))]}).replace(
        "[1, 2, 3, 4]", f"[1, 2, 3, {literal}]")
    for path in (f"/api/tasks/{task['id']}/annotations/",
                 f"/api/jobs/{task['job_id']}/annotations/"):
        answer = admin.put(path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert answer.json() == {"detail": "JSON parse error - Out of range float values are "
                                           f"not JSON compliant: {shown}"}
    assert shapes_of(admin, task["id"]) == [[1, 2, 10, 20]]  # unchanged, and readable
    export = admin.post(f"/api/tasks/{task['id']}/dataset/export",
                        params={"format": "COCO 1.0", "save_images": "false"})
    rq = admin.get(f"/api/requests/{export.json()['rq_id']}").json()
    assert rq["status"] == "finished"


def import_file(cvat_client, task_id: int, fmt: str, name: str, content: bytes,
                tmp_path: Path) -> str | None:
    """Imports through cvat-sdk (the upload wrapper, then polling); the failure message, or
    None when the import finished."""
    path = tmp_path / name
    path.write_bytes(content)
    try:
        cvat_client.tasks.retrieve(task_id).import_annotations(fmt, str(path))
    except BackgroundRequestException as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("write", [
    lambda xml: xml.replace('xtl="1.00"', 'xtl="nan"'),
    lambda xml: xml.replace('ybr="20.00"', 'ybr="inf"'),
])
def test_imported_non_finite_coordinates_fail_the_import(admin, cvat_client, tmp_path, write):
    task = make_task(admin)
    admin.put(f"/api/tasks/{task['id']}/annotations/", json={"shapes": [box(task["label_id"])]})
    started = admin.post(f"/api/tasks/{task['id']}/dataset/export",
                         params={"format": "CVAT for images 1.1", "save_images": "false"})
    url = admin.get(f"/api/requests/{started.json()['rq_id']}").json()["result_url"]
    xml = zipfile.ZipFile(io.BytesIO(admin.get(url).content)).read("annotations.xml").decode()
    poisoned = write(xml)
    assert poisoned != xml
    admin.put(f"/api/tasks/{task['id']}/annotations/",
              json={"shapes": [box(task["label_id"], points=(5, 5, 6, 6))]})
    failure = import_file(cvat_client, task["id"], "CVAT 1.1", "a.xml", poisoned.encode(),
                          tmp_path)
    assert failure is not None and "finite" in failure
    assert shapes_of(admin, task["id"]) == [[5, 5, 6, 6]]


def _voc_archive(xmin: str, encoding: str = "utf-8", doctype: str = "") -> bytes:
    xml = (f'<?xml version="1.0" encoding="{encoding}"?>\n{doctype}<annotation>'
           "<filename>0.png</filename><size><width>40</width><height>30</height>"
           "<depth>3</depth></size><object><name>car</name><bndbox>"
           f"<xmin>{xmin}</xmin><ymin>2</ymin><xmax>10</xmax><ymax>20</ymax>"
           "</bndbox></object></annotation>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("Annotations/0.xml", xml.encode(encoding))
        archive.writestr("ImageSets/Main/default.txt", "0\n")
    return out.getvalue()


def test_voc_import_with_nan_fails_and_keeps_annotations(admin, cvat_client, tmp_path):
    task = make_task(admin)
    voc = "PASCAL VOC 1.1"
    assert import_file(cvat_client, task["id"], voc, "ok.zip", _voc_archive("1"),
                       tmp_path) is None  # the control: the same file with a number imports
    admin.put(f"/api/tasks/{task['id']}/annotations/", json={"shapes": [box(task["label_id"])]})
    failure = import_file(cvat_client, task["id"], voc, "nan.zip", _voc_archive("nan"),
                          tmp_path)
    assert failure is not None and "finite" in failure
    assert shapes_of(admin, task["id"]) == [[1, 2, 10, 20]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_voc_entities_are_refused_in_any_encoding(admin, cvat_client, tmp_path, encoding):
    task = make_task(admin)
    doctype = '<!DOCTYPE a [<!ENTITY x "1">]>\n'
    failure = import_file(cvat_client, task["id"], "PASCAL VOC 1.1", "voc.zip",
                          _voc_archive("&x;", encoding, doctype), tmp_path)
    assert failure is not None and "DTDs and entity declarations are not allowed" in failure
    assert shapes_of(admin, task["id"]) == []


# --- integers beyond the columns -------------------------------------------------------------
def test_integers_beyond_the_columns_are_400s_naming_the_field(admin, alice):
    projects = admin.get("/api/projects").json()["count"]
    answer = admin.post("/api/projects", json={"name": "p", "owner_id": 2**64})
    assert answer.status_code == 400
    assert answer.json() == {"owner_id": ["Ensure this value is less than or equal to "
                                          "2147483647."]}
    assert admin.get("/api/projects").json()["count"] == projects

    task = make_task(admin)
    answer = admin.patch(f"/api/jobs/{task['job_id']}", json={"assignee": 2**70})
    assert answer.status_code == 400 and "assignee" in answer.json()
    assert admin.get(f"/api/jobs/{task['job_id']}").json()["assignee"] is None

    for field in ("frame", "z_order", "group"):
        answer = admin.put(f"/api/jobs/{task['job_id']}/annotations/",
                           json={"shapes": [box(task["label_id"], **{field: 2**64})]})
        assert answer.status_code == 400, field
        assert field in answer.json()["shapes"][0], answer.json()
    assert shapes_of(admin, task["id"]) == []


# --- JSON Logic filters --------------------------------------------------------------------------
@pytest.mark.parametrize("rules", [
    '{">=": [{"var": "id"}, 1e999]}',
    '{">=": [{"var": "id"}, Infinity]}',
    '{"==": [{"var": "id"}, -Infinity]}',
    '{"==": [{"var": "name"}, "\\ud800"]}',
    '{"in": ["\\udfff", {"var": "name"}]}',
    '{"!":' * 2000 + '{"var":"name"}' + "}" * 2000,
    '{"and":[' * 2000 + '{"var":"name"}' + "]}" * 2000,
])
@pytest.mark.parametrize("resource", ["tasks", "projects", "jobs"])
def test_filters_that_crashed_are_400s(admin, resource, rules):
    answer = admin.get(f"/api/{resource}", params={"filter": rules})
    assert answer.status_code == 400, answer.text
    assert isinstance(answer.json(), list) and answer.json()[0].startswith("filter")


# --- strings CVAT's CharField refuses ----------------------------------------------------------
def test_lone_surrogates_and_nul_in_names_are_refused(admin, http):
    task = make_task(admin, "kept")
    project_count = admin.get("/api/projects").json()["count"]
    cases = [
        ("post", "/api/projects", {"name": "\ud800x"}, "name",
         "Surrogate characters are not allowed: U+D800."),
        ("post", "/api/projects", {"name": "a\x00b"}, "name", "Null characters are not allowed."),
        ("post", "/api/tasks", {"name": "a\x00b", "labels": LABELS}, "name",
         "Null characters are not allowed."),
        ("patch", f"/api/tasks/{task['id']}", {"name": "\udfffrenamed"}, "name",
         "Surrogate characters are not allowed: U+DFFF."),
        ("patch", f"/api/tasks/{task['id']}", {"name": "re\x00named"}, "name",
         "Null characters are not allowed."),
    ]
    for method, path, body, field, message in cases:
        # json.dumps escapes a lone surrogate as \\ud800, which is what clients send
        answer = admin.request(method.upper(), path, content=json.dumps(body),
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json() == {field: [message]}
    answer = admin.patch(f"/api/tasks/{task['id']}",
                         json={"labels": [{"name": "bad\x00label"}]})
    assert answer.status_code == 400 and "Null characters are not allowed." in answer.text
    login = http.post("/api/auth/login", content=json.dumps(
        {"username": "\ud800admin", "password": "x"}),
        headers={"Content-Type": "application/json"})
    assert login.status_code == 400
    assert login.json() == {"username": ["Surrogate characters are not allowed: U+D800."]}
    assert admin.get("/api/projects").json()["count"] == project_count
    current = admin.get(f"/api/tasks/{task['id']}").json()
    assert current["name"] == "kept"
    assert [lb["name"] for lb in admin.get(f"/api/labels?task_id={task['id']}").json()[
        "results"]] == ["car"]


@pytest.mark.parametrize("body", ['{"a":' * 5000 + "1" + "}" * 5000,
                                  "[" * 100_000 + "]" * 100_000])
def test_bodies_nested_beyond_the_parser_are_400s(admin, body):
    count = admin.get("/api/projects").json()["count"]
    answer = admin.post("/api/projects", content=body,
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("JSON parse error")
    assert admin.get("/api/projects").json()["count"] == count


# --- identity and leftovers ----------------------------------------------------------------------
def test_ids_are_never_reused_and_a_deleted_tasks_export_goes_with_it(admin):
    tasks = [make_task(admin, f"t{i}") for i in range(3)]
    newest = tasks[-1]
    export = admin.post(f"/api/tasks/{newest['id']}/dataset/export",
                        params={"format": "CVAT for images 1.1", "save_images": "false"})
    rq_id = export.json()["rq_id"]
    assert admin.get(f"/api/requests/{rq_id}").json()["status"] == "finished"
    assert admin.delete(f"/api/tasks/{newest['id']}").status_code == 204
    assert admin.get(f"/api/requests/{rq_id}").status_code == 404
    again = make_task(admin, "new")
    assert again["id"] == newest["id"] + 1
    assert again["job_id"] > newest["job_id"] and again["data"] > newest["data"]
    project = admin.post("/api/projects", json={"name": "p"}).json()
    admin.delete(f"/api/projects/{project['id']}")
    assert admin.post("/api/projects", json={"name": "q"}).json()["id"] == project["id"] + 1


def test_a_failed_task_creation_leaves_no_files_and_a_retry_starts_clean(cvat_server, admin):
    media = cvat_server.mock.media
    task = admin.post("/api/tasks", json={"name": "t", "labels": LABELS}).json()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("good.png", png())
        z.writestr("big.bin", b"\0" * (8 << 20))  # extracted, then...
        z.writestr("broken.png", b"not an image")  # ...the creation fails
    answer = admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                        files={"client_files[0]": ("a.zip", archive.getvalue())})
    request = admin.get(f"/api/requests/{answer.json()['rq_id']}").json()
    assert request["status"] == "failed"
    data_id = admin.get(f"/api/tasks/{task['id']}").json()["data"]
    assert list(media.walk(f"data/{data_id}/")) == []
    assert list(media.walk(f"uploads/task-{task['id']}-data/")) == []
    # a plain multipart retry sees only its own files
    retry = admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                       files={"client_files[0]": ("ok.png", png())})
    assert admin.get(f"/api/requests/{retry.json()['rq_id']}").json()["status"] == "finished"
    assert [f["name"] for f in admin.get(f"/api/tasks/{task['id']}/data/meta").json()[
        "frames"]] == ["ok.png"]


def test_temporary_files_stay_inside_the_data_dir(cvat_server, admin, tmp_path):
    task = make_task(admin)
    admin.put(f"/api/tasks/{task['id']}/annotations/", json={"shapes": [box(task["label_id"])]})
    started = admin.post(f"/api/tasks/{task['id']}/dataset/export",
                         params={"format": "COCO 1.0", "save_images": "true"})
    assert admin.get(f"/api/requests/{started.json()['rq_id']}").json()["status"] == "finished"
    scratch = Path(cvat_server.mock.tmp_dir)
    assert scratch.is_relative_to(cvat_server.mock.data_dir)
    assert not scratch.exists() or not any(scratch.iterdir())
