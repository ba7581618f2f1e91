"""Crash and restart (issue 10): ``mockcvat serve`` killed with SIGKILL in the middle of an
annotation import and of task data processing, then started again on the same data dir.

The requests that were running end as ``failed`` with a message saying why, nothing they
wrote stays (scratch files, half-extracted media, uploads), a new import works (no 409), a
session cookie from before the crash still works, and a reset gives the state as it was at
start-up, media included, with nothing created since.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from mockcvat.storage.media import MediaStore, media_store
from tests.cloud_servers import media_environment
from tests.conftest import NO_TLS

LABELS = [{"name": "car"}]


def _png(size=(8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


class Served:
    """``mockcvat serve`` as a child process on a free port of 127.0.0.1."""

    def __init__(self, data_dir: Path, environment: dict[str, str] | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MOCKCVAT_BACKGROUND_MODE": "thread", **(environment or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockcvat", "serve", "--port", str(self.port),
             "--data-dir", str(data_dir)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/server/about", **NO_TLS).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode())
        raise RuntimeError("mockcvat serve did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(10)
        self.process.stderr.close()


def _login(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, **NO_TLS)
    assert client.post("/api/auth/login",
                       json={"username": "admin", "password": "admin"}).status_code == 200
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def _rebind(client: httpx.Client, url: str) -> httpx.Client:
    """The same cookies (session and CSRF) against the restarted server."""
    again = httpx.Client(base_url=url, cookies=dict(client.cookies.items()),
                         headers={"X-CSRFToken": client.headers["X-CSRFToken"]}, **NO_TLS)
    client.close()
    return again


def _wait_started(client: httpx.Client, rq_id: str) -> None:
    """Until the request's work is running (queued counts too: it has not ended)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/api/requests/{rq_id}").json()["status"]
        assert status not in ("finished", "failed"), "the work ended before the kill"
        if status == "started":
            return
        time.sleep(0.01)
    raise AssertionError("the request never started")


def _wait_done(client: httpx.Client, rq_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        request = client.get(f"/api/requests/{rq_id}").json()
        if request["status"] in ("finished", "failed"):
            return request
        time.sleep(0.02)
    raise AssertionError(f"request {rq_id} did not end")


def _create_task(client: httpx.Client, name: str,
                 files: list[tuple[str, bytes]]) -> tuple[int, str]:
    task = client.post("/api/tasks", json={"name": name, "labels": LABELS}).json()
    parts = [(f"client_files[{i}]", (n, data)) for i, (n, data) in enumerate(files)]
    answer = client.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                         files=parts)
    assert answer.status_code == 202, answer.text
    return task["id"], answer.json()["rq_id"]


def _cvat_xml(boxes: int, xtl: int = 1) -> bytes:
    box = (f'<box label="car" occluded="0" source="manual" xtl="{xtl}" ytl="1" xbr="5" '
           'ybr="5" z_order="0"></box>')
    return ('<?xml version="1.0"?><annotations><version>1.1</version>'
            f'<image id="0" name="0.png" width="8" height="8">{box * boxes}</image>'
            '</annotations>').encode()


def _import(client: httpx.Client, task_id: int, content: bytes) -> str:
    """An annotation import as cvat-sdk sends it (every version): the upload wrapper with TUS,
    then ``Upload-Finish``; returns the rq_id."""
    url = f"/api/tasks/{task_id}/annotations/"
    params = {"format": "CVAT 1.1", "filename": "a.xml"}
    assert client.post(url, params=params, headers={"Upload-Start": ""}).status_code == 202
    created = client.post(url, headers={"Upload-Length": str(len(content)),
                                        "Upload-Metadata": "filename YS54bWw=",
                                        "Tus-Resumable": "1.0.0"})
    assert created.status_code == 201, created.text
    patched = client.patch(created.headers["location"], content=content, headers={
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
        "Tus-Resumable": "1.0.0"})
    assert patched.status_code == 204, patched.text
    finished = client.post(url, params={**params, "filename": created.headers["upload-filename"]},
                           headers={"Upload-Finish": ""})
    assert finished.status_code == 202, finished.text
    return finished.json()["rq_id"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


@pytest.fixture(params=["data-dir", "s3"])
def media(request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
          ) -> tuple[dict[str, str], MediaStore]:
    """Where the server keeps its media: the variables that say so, and the store as the
    server sees it (the data dir's ``media/``, or a bucket of moto's S3 server)."""
    if request.param == "data-dir":
        return {}, media_store(None, data_dir)
    s3 = request.getfixturevalue("s3_server")
    environment = media_environment(s3, s3.make_bucket())
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment, media_store(environment["MOCKCVAT_MEDIA_URL"], data_dir,
                                    endpoint=environment["MOCKCVAT_MEDIA_ENDPOINT"])


def test_sigkill_during_import_and_task_creation_then_restart(
        data_dir: Path, media: tuple[dict[str, str], MediaStore]) -> None:
    environment, store = media
    served = Served(data_dir, environment)
    client = _login(served.url)
    try:
        # a task made before any crash: its media must survive restarts and resets
        kept, rq_id = _create_task(client, "kept", [("0.png", _png()), ("1.png", _png())])
        assert _wait_done(client, rq_id)["status"] == "finished"
        box = {"type": "rectangle", "frame": 1, "points": [1, 2, 3, 4], "label_id": client.get(
            f"/api/labels?task_id={kept}").json()["results"][0]["id"]}
        assert client.put(f"/api/tasks/{kept}/annotations/",
                          json={"shapes": [box]}).status_code == 200

        # 1. killed during an annotation import
        import_rq = _import(client, kept, _cvat_xml(20000))
        _wait_started(client, import_rq)
        served.kill()

        served = Served(data_dir, environment)
        client = _rebind(client, served.url)
        assert client.get("/api/users/self").json()["username"] == "admin"  # the old session
        failed = client.get(f"/api/requests/{import_rq}").json()
        assert failed["status"] == "failed" and "restarted" in failed["message"]
        # the import never happened: the annotations are those from before
        shapes = client.get(f"/api/tasks/{kept}/annotations").json()["shapes"]
        assert [s["points"] for s in shapes] == [[1, 2, 3, 4]]

        # 2. killed during task data processing (an archive being extracted and read)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            for i in range(3000):
                z.writestr(f"{i:05}.png", _png())
        doomed, create_rq = _create_task(client, "doomed", [("a.zip", archive.getvalue())])
        doomed_data = client.get(f"/api/tasks/{doomed}").json()["data"]
        _wait_started(client, create_rq)
        assert any(store.walk(f"uploads/task-{doomed}-data/"))  # received before the kill
        served.kill()

        served = Served(data_dir, environment)
        client = _rebind(client, served.url)
        failed = client.get(f"/api/requests/{create_rq}").json()
        assert failed["status"] == "failed" and "restarted" in failed["message"]
        assert not any(store.walk(f"data/{doomed_data}/"))  # half-extracted media gone
        assert not any(store.walk(f"uploads/task-{doomed}-data/"))  # its upload area
        assert not (data_dir / "media" / "tmp").exists()  # the scratch space, on this host
        assert any(store.walk("data/"))

        # a new import into the same task works: nothing holds its request id
        rq_id = _import(client, kept, _cvat_xml(1, xtl=2))
        assert _wait_done(client, rq_id)["status"] == "finished"
        # and the failed creation can be retried on the same task
        again, retry_rq = _create_task(client, "again", [("0.png", _png())])
        assert _wait_done(client, retry_rq)["status"] == "finished"
        again_data = client.get(f"/api/tasks/{again}").json()["data"]
        assert any(store.walk(f"data/{again_data}/"))

        # reset: the state at this start-up (kept task with its media), nothing newer
        assert client.post("/_mockcvat/reset").status_code == 200
        client = _rebind(client, served.url)
        names = {t["name"] for t in client.get("/api/tasks").json()["results"]}
        assert names == {"kept", "doomed"}
        frame = client.get(f"/api/tasks/{kept}/data/",
                           params={"type": "frame", "number": 1, "quality": "original"})
        assert frame.status_code == 200 and frame.content.startswith(b"\x89PNG")
        assert not any(store.walk(f"data/{again_data}/"))  # made after start-up: gone
    finally:
        client.close()
        served.stop()


def test_ids_survive_a_restart_without_reuse(data_dir: Path) -> None:
    served = Served(data_dir)
    client = _login(served.url)
    try:
        first = client.post("/api/projects", json={"name": "a"}).json()["id"]
        second = client.post("/api/projects", json={"name": "b"}).json()["id"]
        assert client.delete(f"/api/projects/{second}").status_code == 204
        served.stop()
        served = Served(data_dir)
        client = _rebind(client, served.url)
        third = client.post("/api/projects", json={"name": "c"}).json()["id"]
        assert (first, second, third) == (first, first + 1, first + 2)
    finally:
        client.close()
        served.stop()
