"""The task data endpoint over raw HTTP and through the independent tuspy client: the upload
wrapper, TUS create/PATCH/HEAD (with a resume), and the bad input CVAT answers with a 4xx or a
failed request."""

from __future__ import annotations

import base64
import io
import socket
from urllib.parse import urlsplit

import pytest
from PIL import Image
from tusclient import client as tus

from tests.conftest import NO_TLS  # noqa: F401  (the admin fixture's client settings)

LABELS = [{"name": "car"}]


def png(size=(8, 6), color=(200, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def task_id(admin) -> int:
    response = admin.post("/api/tasks", json={"name": "t", "labels": LABELS})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def data_url(task_id: int) -> str:
    return f"/api/tasks/{task_id}/data/"


def request_of(admin, rq_id: str) -> dict:
    response = admin.get(f"/api/requests/{rq_id}")
    assert response.status_code == 200, response.text
    return response.json()


def tus_create(admin, task_id: int, name: str, length: int):
    metadata = "filename " + base64.b64encode(name.encode()).decode()
    return admin.post(data_url(task_id), headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(length), "Upload-Metadata": metadata})


def tus_patch(admin, location: str, offset: int, body: bytes):
    return admin.patch(urlsplit(location).path, content=body, headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream"})


# --- the wrapper, by hand ------------------------------------------------------------------------
def test_single_multipart_request(admin, task_id):
    response = admin.post(data_url(task_id), data={"image_quality": "75"},
                          files={"client_files[0]": ("/home/me/a.png", png(), "image/png")})
    assert response.status_code == 202
    rq_id = response.json()["rq_id"]
    assert request_of(admin, rq_id)["status"] == "finished"
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["a.png"]  # directories are dropped
    assert meta["image_quality"] == 75


def test_tus_create_patch_head(admin, task_id):
    body = png((30, 20))
    assert admin.post(data_url(task_id), headers={"Upload-Start": ""}).status_code == 202
    created = tus_create(admin, task_id, "big.png", len(body))
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.startswith("http://") and location.rsplit("/", 1)[0].endswith("/data")
    assert created.headers["Upload-Filename"] == "big.png"
    assert created.headers["Tus-Resumable"] == "1.0.0"

    half = len(body) // 2
    first = tus_patch(admin, location, 0, body[:half])
    assert (first.status_code, first.headers["Upload-Offset"]) == (204, str(half))
    wrong = tus_patch(admin, location, 0, body[half:])
    assert wrong.status_code == 409 and wrong.content == b""
    head = admin.head(urlsplit(location).path, headers={"Tus-Resumable": "1.0.0"})
    assert (head.status_code, head.headers["Upload-Offset"]) == (200, str(half))
    last = tus_patch(admin, location, half, body[half:])
    assert last.headers["Upload-Offset"] == str(len(body))

    finished = admin.post(data_url(task_id), headers={"Upload-Finish": ""},
                          json={"image_quality": 70})
    assert finished.status_code == 202
    assert request_of(admin, finished.json()["rq_id"])["status"] == "finished"
    frame = admin.get(f"/api/tasks/{task_id}/data/?type=frame&number=0&quality=original")
    assert frame.content == body


def test_patch_beyond_upload_length_is_refused(admin, task_id):
    admin.post(data_url(task_id), headers={"Upload-Start": ""})
    location = tus_create(admin, task_id, "f.png", 4).headers["Location"]
    response = tus_patch(admin, location, 0, b"12345678")
    assert response.status_code == 413
    head = admin.head(urlsplit(location).path, headers={"Tus-Resumable": "1.0.0"})
    assert head.headers["Upload-Offset"] == "0"


def test_tus_bad_requests(admin, task_id):
    admin.post(data_url(task_id), headers={"Upload-Start": ""})
    too_big = tus_create(admin, task_id, "huge.png", 26843545601)
    assert too_big.status_code == 413
    assert too_big.json() == "File size exceeds max limit of 26843545600 bytes"
    escape = tus_create(admin, task_id, "..", 10)
    assert escape.status_code == 400
    assert tus_create(admin, task_id, "x.png", 10).status_code == 201
    again = tus_create(admin, task_id, "x.png", 10)
    assert (again.status_code, again.json()) == (409, "File with same name already exists")
    unknown = admin.head(f"{data_url(task_id)}00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404


def test_upload_multiple_needs_image_quality(admin, task_id):
    admin.post(data_url(task_id), headers={"Upload-Start": ""})
    response = admin.post(data_url(task_id), headers={"Upload-Multiple": ""},
                          files={"client_files[0]": ("a.png", png(), "image/png")})
    assert response.status_code == 400
    assert response.json() == {"image_quality": ["This field is required."]}


# --- tuspy, an independent TUS client --------------------------------------------------------
def test_tuspy_uploads_and_resumes_after_an_interrupted_patch(cvat_server, admin, task_id,
                                                              tmp_path):
    body = png((120, 90))
    path = tmp_path / "tuspy.png"
    path.write_bytes(body)
    admin.post(data_url(task_id), headers={"Upload-Start": ""})
    client = tus.TusClient(cvat_server.url + data_url(task_id), headers=dict(admin.headers))
    with path.open("rb") as stream:  # tuspy leaves files it opens itself open
        uploader = client.uploader(file_stream=stream, chunk_size=200,
                                   metadata={"filename": "tuspy.png"})
        uploader.upload_chunk()
        assert uploader.offset == 200

    # a PATCH that dies mid-body: the server keeps what it had acknowledged
    location = urlsplit(uploader.url)
    with socket.create_connection((location.hostname, location.port)) as raw:
        raw.sendall((f"PATCH {location.path} HTTP/1.1\r\nHost: {location.netloc}\r\n"
                     f"Authorization: {admin.headers['Authorization']}\r\n"
                     "Tus-Resumable: 1.0.0\r\nUpload-Offset: 200\r\n"
                     "Content-Type: application/offset+octet-stream\r\n"
                     "Content-Length: 500\r\n\r\n").encode() + body[200:260])

    with path.open("rb") as stream:
        resumed = client.uploader(file_stream=stream, url=uploader.url, chunk_size=200)
        assert resumed.offset == 200  # asked the server (HEAD)
        resumed.upload()
    finished = admin.post(data_url(task_id), headers={"Upload-Finish": ""},
                          json={"image_quality": 70})
    assert request_of(admin, finished.json()["rq_id"])["status"] == "finished"
    original = admin.get(f"/api/tasks/{task_id}/data/?type=frame&number=0&quality=original")
    assert original.content == body


# --- bad input ---------------------------------------------------------------------------------
def failed_message(admin, task_id: int, **kwargs) -> str:
    response = admin.post(data_url(task_id), **kwargs)
    assert response.status_code == 202, response.text
    request = request_of(admin, response.json()["rq_id"])
    assert request["status"] == "failed"
    task = admin.get(f"/api/tasks/{task_id}").json()
    assert (task["size"], task["jobs"]["count"]) == (0, 0)  # nothing half-made
    return request["message"]


def test_unsupported_files_only(admin, task_id):
    message = failed_message(admin, task_id, data={"image_quality": "70"},
                             files={"client_files[0]": ("notes.txt", b"hello", "text/plain")})
    assert message == "ValueError: No media data found\n"


def test_empty_upload(admin, task_id):
    admin.post(data_url(task_id), headers={"Upload-Start": ""})
    message = failed_message(admin, task_id, headers={"Upload-Finish": ""},
                             json={"image_quality": 70})
    assert "No media data found" in message


def test_finish_without_start_processes_what_was_sent(admin, task_id):
    message = failed_message(admin, task_id, headers={"Upload-Finish": ""},
                             json={"image_quality": 70})
    assert "No media data found" in message


def test_mixed_media(admin, task_id, tmp_path):
    from tests.media_files import make_video

    video = make_video(tmp_path / "v.mp4", frames=3).read_bytes()
    message = failed_message(admin, task_id, data={"image_quality": "70"}, files=[
        ("client_files[0]", ("a.png", png(), "image/png")),
        ("client_files[1]", ("v.mp4", video, "video/mp4"))])
    assert "Only one video, archive, pdf, zip or many image, directory" in message


def test_data_posted_twice(admin, task_id):
    files = {"client_files[0]": ("a.png", png(), "image/png")}
    assert admin.post(data_url(task_id), data={"image_quality": "70"},
                      files=files).status_code == 202
    again = admin.post(data_url(task_id), data={"image_quality": "70"}, files=files)
    assert (again.status_code, again.json()) == (400, "Adding more data is not supported")


def test_stop_frame_beyond_the_data_is_clamped(admin, task_id):
    files = [(f"client_files[{i}]", (f"{i}.png", png(), "image/png")) for i in range(3)]
    response = admin.post(data_url(task_id), data={"image_quality": "70", "stop_frame": "50"},
                          files=files)
    assert request_of(admin, response.json()["rq_id"])["status"] == "finished"
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    assert (meta["size"], meta["stop_frame"]) == (3, 2)


def test_invalid_data_parameters(admin, task_id):
    for body, errors in [
        ({}, {"image_quality": ["This field is required."]}),
        ({"image_quality": 101}, {"image_quality": [
            "Ensure this value is less than or equal to 100."]}),
        ({"image_quality": 70, "frame_filter": "every=2"},
         {"frame_filter": ["Invalid frame filter expression"]}),
        ({"image_quality": 70, "start_frame": 5, "stop_frame": 2},
         {"non_field_errors": ["Stop frame must be more or equal start frame"]}),
    ]:
        response = admin.post(data_url(task_id), json=body)
        assert (response.status_code, response.json()) == (400, errors)


def test_share_paths_cannot_escape(admin, task_id):
    for path in ("../etc/passwd", "/../../x.png"):
        response = admin.post(data_url(task_id),
                              json={"image_quality": 70, "server_files": [path]})
        assert response.status_code == 400, response.text


def test_frame_and_chunk_numbers_are_checked(admin, task_id):
    admin.post(data_url(task_id), data={"image_quality": "70"},
               files={"client_files[0]": ("a.png", png(), "image/png")})
    base = f"/api/tasks/{task_id}/data/"
    assert admin.get(base + "?type=frame&number=1").json() == (
        "Invalid frame '1'. The frame number should be in the [0, 1] range")
    assert admin.get(base + "?type=chunk&number=3").json() == (
        "Invalid chunk number '3'. The chunk number should be in the [0, 0] range")
    assert admin.get(base + "?type=frame").json() == ["Number is not specified"]
    assert admin.get(base + "?type=nope&number=0").json() == [
        "Data type not specified or has wrong value"]
    chunk = admin.get(base + "?type=chunk&number=0&quality=original")
    assert chunk.headers["content-type"] == "application/zip" and chunk.headers["X-Checksum"]


def test_preview_of_a_task_without_data(admin, task_id):
    """2.67+: a placeholder image, or 204 on request (2.26's 404: test_version_fields.py)."""
    response = admin.get(f"/api/tasks/{task_id}/preview")
    assert (response.status_code, response.headers["content-type"]) == (200, "image/jpeg")
    empty = admin.get(f"/api/tasks/{task_id}/preview", headers={"Prefer": "handling=empty"})
    assert empty.status_code == 204


def test_job_file_mapping_orders_frames_and_makes_one_job_per_list(admin, task_id):
    files = [(f"client_files[{i}]", (name, png(), "image/png"))
             for i, name in enumerate(["a.png", "b.png", "c.png"])]
    admin.post(data_url(task_id), headers={"Upload-Start": ""})
    admin.post(data_url(task_id), headers={"Upload-Multiple": ""}, data={"image_quality": "70"},
               files=files)
    mapping = [["c.png"], ["a.png", "b.png"]]
    done = admin.post(data_url(task_id), headers={"Upload-Finish": ""},
                      json={"image_quality": 70, "job_file_mapping": mapping})
    assert request_of(admin, done.json()["rq_id"])["status"] == "finished"
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["c.png", "a.png", "b.png"]
    jobs = admin.get(f"/api/jobs?task_id={task_id}&sort=id").json()["results"]
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs] == [(0, 0), (1, 2)]


def test_job_file_mapping_refuses_a_frame_step(admin, task_id):
    admin.post(data_url(task_id), headers={"Upload-Start": ""})
    admin.post(data_url(task_id), headers={"Upload-Multiple": ""}, data={"image_quality": "70"},
               files={"client_files[0]": ("a.png", png(), "image/png")})
    message = failed_message(admin, task_id, headers={"Upload-Finish": ""}, json={
        "image_quality": 70, "job_file_mapping": [["a.png"]], "frame_filter": "step=2"})
    assert "job_file_mapping cannot be used with frame step" in message


def test_an_unknown_cloud_storage_is_refused(admin, task_id):
    response = admin.post(data_url(task_id), json={"image_quality": 70, "cloud_storage_id": 1,
                                                   "server_files": ["a.png"]})
    assert response.status_code == 400
    assert response.json() == ["CloudStorage matching query does not exist."]
