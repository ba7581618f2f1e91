"""A shared team instance: ``mockcvat serve --workers N`` on one PostgreSQL database.

Real processes (uvicorn workers started by ``mockcvat serve``), real PostgreSQL (a throwaway
cluster, ``tests/postgres_server.py``), real clients (cvat-sdk, httpx). These run in every
suite run, SQLite's included: they need PostgreSQL whatever the suite's own database is.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import psycopg
from cvat_sdk import Client, Config
from cvat_sdk.api_client import models
from PIL import Image
from sqlalchemy.engine import make_url

from mockcvat import cluster, pgcluster
from tests.cloud_servers import S3Server, free_port, media_environment
from tests.media_files import make_video

ADMIN = ("admin", "admin")
LOAD_SECONDS = float(os.environ.get("MOCKCVAT_SHARED_SECONDS", "30"))


class Fleet:
    """``mockcvat serve --workers N`` on a new database of the test cluster, or (a second
    host) on the database of another fleet (``joins``), with ``environment`` added to its
    variables (e.g. the media in a bucket)."""

    def __init__(self, server_url: str, data_dir: Path, workers: int, *,
                 joins: Fleet | None = None, environment: dict[str, str] | None = None
                 ) -> None:
        self.owns_database = joins is None
        self.database_url = joins.database_url if joins else pgcluster.create_database(
            server_url, f"fleet_{uuid.uuid4().hex[:10]}")
        alive = workers + (len(joins.workers()) if joins else 0)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MOCKCVAT_BACKGROUND_MODE": "thread", **(environment or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockcvat", "serve", "--workers", str(workers),
             "--database-url", self.database_url, "--port", str(self.port),
             "--data-dir", str(data_dir)], env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mockcvat serve exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/api/server/about", timeout=2).status_code == 200 \
                        and len(self.workers()) == alive:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the workers did not come up")

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        url = make_url(self.database_url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
            return conn.execute(query, params).fetchall()

    def workers(self) -> dict[int, int]:
        """Live worker processes: their ``mockcvat.cluster`` key -> pid."""
        rows = self.sql(
            "SELECT l.objid, a.application_name FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = %s AND l.objsubid = 2 AND l.objid <> %s AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            cluster.NAMESPACE, cluster.STARTUP)
        return {int(key): int(name.rsplit(" ", 1)[1]) for key, name in rows}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owns_database:
            pgcluster.drop_database(self.database_url)


def _png(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (seed * 37 % 256, seed * 11 % 256, 90)).save(out, format="PNG")
    return out.getvalue()


def _client(url: str) -> Client:
    client = Client(url, config=Config(status_check_period=0.05))
    client.login(ADMIN)
    return client


def _requests(url: str) -> list[dict[str, Any]]:
    """All of ``/api/requests`` over a new connection (so any worker may answer)."""
    found, page = [], f"{url}/api/requests?page_size=100&sort=created_date"
    with httpx.Client(auth=ADMIN, timeout=30) as http:
        while page:
            body = http.get(page).json()
            found += body["results"]
            page = body["next"]
    return found


def test_four_workers_sixteen_sdk_clients(postgres_url: str, tmp_path: Path) -> None:
    """16 cvat-sdk clients create projects, tasks with data, annotations and exports for 30 s
    against 4 workers; then everything is there and every client sees the same requests."""
    fleet = Fleet(postgres_url, tmp_path / "data", workers=4)
    made: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.monotonic() + LOAD_SECONDS

    def work(index: int) -> None:
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        files = []
        for i in range(3):
            path = folder / f"{index}-{i}.png"
            path.write_bytes(_png(index * 3 + i))
            files.append(str(path))
        try:
            with _client(fleet.url) as client:
                round_ = 0
                while time.monotonic() < deadline:
                    name = f"c{index}-r{round_}"
                    project = client.projects.create(models.ProjectWriteRequest(
                        name=name, labels=[models.PatchedLabelRequest(name="car")]))
                    task = client.tasks.create_from_data(
                        models.TaskWriteRequest(name=name, project_id=project.id),
                        resources=files)
                    label = task.get_labels()[0].id
                    points = [float(index), float(round_), float(index + 10), 20.0]
                    task.set_annotations(models.LabeledDataRequest(shapes=[
                        models.LabeledShapeRequest(type="rectangle", frame=1, label_id=label,
                                                   points=points)]))
                    export = folder / f"{name}.zip"
                    task.export_dataset("CVAT for images 1.1", export, include_images=False)
                    with lock:
                        made.append({"project": project.id, "task": task.id, "name": name,
                                     "points": points, "export": export})
                    round_ += 1
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(LOAD_SECONDS + 300)
        assert not errors, [(type(e).__name__, getattr(e, 'status', None),
                             getattr(e, 'reason', None), getattr(e, 'body', None) or str(e))
                            for e in errors[:3]]
        assert len(made) >= 16, made  # every client finished at least one round

        # every object intact, whichever worker made it
        with _client(fleet.url) as admin:
            for item in made:
                task = admin.tasks.retrieve(item["task"])
                assert (task.name, task.project_id, task.size) == (
                    item["name"], item["project"], 3)
                shapes = task.get_annotations().shapes
                assert [(s.frame, s.points) for s in shapes] == [(1, item["points"])]
                with zipfile.ZipFile(item["export"]) as archive:
                    xml = archive.read("annotations.xml").decode()
                assert f"<id>{item['task']}</id>" in xml
                assert 'label="car"' in xml
            assert admin.projects.list().__len__() == len(made)

        # every background request finished, and every client sees the same list
        seen = [_requests(fleet.url) for _ in range(16)]
        assert all(view == seen[0] for view in seen)
        statuses = {r["status"] for r in seen[0]}
        assert statuses == {"finished"}, statuses
        actions = {r["operation"]["type"] for r in seen[0]}
        assert {"create:task", "export:dataset"} <= actions or \
            {"create:task", "export:annotations"} <= actions, actions
        # the work really was spread over the processes through the queue
        claimers = fleet.sql("SELECT DISTINCT claimed_by FROM mockcvat_request "
                             "WHERE claimed_by IS NOT NULL")
        assert len(claimers) >= 2, claimers
        assert len(fleet.workers()) == 4
    finally:
        fleet.stop()


def _start_task(http: httpx.Client, name: str, images: int) -> str:
    task = http.post("/api/tasks", json={"name": name, "labels": [{"name": "car"}]}).json()
    files = [(f"client_files[{i}]", (f"{i}.png", _png(i, (1280, 960)), "image/png"))
             for i in range(images)]
    answer = http.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                       files=files)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["rq_id"])


def test_kill_9_one_worker_mid_run(postgres_url: str, tmp_path: Path) -> None:
    """A worker killed while running requests: the other workers carry on, and the killed
    worker's requests end as failed (found by the survivors), not stuck as started."""
    fleet = Fleet(postgres_url, tmp_path / "data", workers=3)
    try:
        with httpx.Client(base_url=fleet.url, auth=ADMIN, timeout=120) as http:
            rq_ids = [_start_task(http, f"t{i}", 40) for i in range(8)]
            victim = None
            deadline = time.monotonic() + 60
            while victim is None and time.monotonic() < deadline:
                rows = fleet.sql("SELECT rq_id, claimed_by FROM mockcvat_request "
                                 "WHERE status = 'started' AND claimed_by IS NOT NULL")
                if rows:
                    victim = rows[0]
                time.sleep(0.02)
            assert victim is not None, "no request was seen running"
            killed_key = int(victim[1])
            os.kill(fleet.workers()[killed_key], signal.SIGKILL)
        # the kept-alive connection may have been the dead worker's (a reset, as a real
        # client would see): new connections reach the survivors
        with httpx.Client(base_url=fleet.url, auth=ADMIN, timeout=120) as http:
            # the survivors finish their work and fail the dead worker's
            deadline = time.monotonic() + 120
            while True:
                states = {rq: http.get(f"/api/requests/{rq}").json() for rq in rq_ids}
                if all(s["status"] in ("finished", "failed") for s in states.values()):
                    break
                assert time.monotonic() < deadline, states
                time.sleep(0.2)
            killed = states[victim[0]]
            assert killed["status"] == "failed" and "process died" in killed["message"]
            assert any(s["status"] == "finished" for s in states.values())
            for state in states.values():  # only the dead worker's requests failed
                if state["status"] == "failed":
                    assert "process died" in state["message"]
            assert killed_key not in fleet.workers()

            # and the instance keeps serving: a new task is made by a survivor
            again = _start_task(http, "after", 2)
            deadline = time.monotonic() + 60
            while http.get(f"/api/requests/{again}").json()["status"] != "finished":
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        fleet.stop()


# --- media in a bucket: hosts that share nothing but the database and the bucket ------------------
def _wait(http: httpx.Client, rq_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        request = http.get(f"/api/requests/{rq_id}").json()
        if request["status"] in ("finished", "failed"):
            return request
        assert time.monotonic() < deadline, request
        time.sleep(0.05)


def _path(url: str) -> str:
    """A URL of one host as a path any host answers."""
    return "/" + url.split("/", 3)[3]


def test_two_hosts_share_their_media_through_a_bucket(postgres_url: str, s3_server: S3Server,
                                                      tmp_path: Path) -> None:
    """Two ``mockcvat serve`` on "two hosts" (data dirs of their own, nothing shared on disk),
    one database, the media in one bucket of an S3 server (moto's): what one host received
    or made, the other serves — frames, chunks, video decoded from the bucket's file, exports,
    backups, the pieces of a TUS upload sent to both — and a reset from either empties the
    bucket of what was made since start-up."""
    bucket = s3_server.make_bucket()
    environment = media_environment(s3_server, bucket)
    first = Fleet(postgres_url, tmp_path / "host-a", workers=2, environment=environment)
    second = None
    try:
        second = Fleet(postgres_url, tmp_path / "host-b", workers=1, joins=first,
                       environment=environment)
        at_start = s3_server.keys(bucket)
        images = []
        for i in range(4):
            images.append(tmp_path / f"{i}.png")
            images[-1].write_bytes(_png(i, (320, 240)))
        clip = make_video(tmp_path / "clip.mp4")
        with _client(first.url) as sdk:  # the work runs on whichever process claims it
            task = sdk.tasks.create_from_data(models.TaskWriteRequest(
                name="images", labels=[models.PatchedLabelRequest(name="car")]),
                resources=[str(p) for p in images])
            video = sdk.tasks.create_from_data(models.TaskWriteRequest(
                name="video", labels=[models.PatchedLabelRequest(name="car")]),
                resources=[str(clip)])
        with httpx.Client(base_url=first.url, auth=ADMIN, timeout=60) as a, \
                httpx.Client(base_url=second.url, auth=ADMIN, timeout=60) as b:
            def data(host: httpx.Client, task_id: int, **params: Any) -> bytes:
                answer = host.get(f"/api/tasks/{task_id}/data/", params=params)
                assert answer.status_code == 200, answer.text
                return answer.content

            # the video decoded by host B first (from its copy of the bucket's file)
            for number in (0, 7, 13):
                frame = data(b, video.id, type="frame", number=number, quality="original")
                assert frame == data(a, video.id, type="frame", number=number,
                                     quality="original")
                with Image.open(io.BytesIO(frame)) as decoded:
                    assert abs(decoded.getpixel((5, 5))[0] - 12 * number) <= 8
            for quality in ("original", "compressed"):
                assert data(b, video.id, type="chunk", number=0, quality=quality) == \
                    data(a, video.id, type="chunk", number=0, quality=quality)
                chunk = data(b, task.id, type="chunk", number=0, quality=quality)
                assert chunk == data(a, task.id, type="chunk", number=0, quality=quality)
                assert len(zipfile.ZipFile(io.BytesIO(chunk)).namelist()) == 4
            for i, path in enumerate(images):
                assert data(b, task.id, type="frame", number=i, quality="original") == \
                    path.read_bytes()

            # an export asked of host A, downloaded from host B
            started = a.post(f"/api/tasks/{task.id}/dataset/export",
                             params={"format": "CVAT for images 1.1", "save_images": "true"})
            done = _wait(b, started.json()["rq_id"])
            assert done["status"] == "finished", done
            export = b.get(_path(done["result_url"]))
            assert export.status_code == 200
            members = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
            assert "annotations.xml" in members and "images/2.png" in members

            # a backup made through host B, restored through host A
            started = b.post(f"/api/tasks/{task.id}/backup/export")
            done = _wait(a, started.json()["rq_id"])
            backup = a.get(_path(done["result_url"]))
            assert backup.status_code == 200
            restored = a.post("/api/tasks/backup/", files={"task_file": (
                "backup.zip", backup.content, "application/zip")})
            done = _wait(b, restored.json()["rq_id"])
            assert done["status"] == "finished", done
            copy = int(done["result_id"])
            assert data(b, copy, type="frame", number=3, quality="original") == \
                images[3].read_bytes()

            # a TUS upload whose pieces go to both hosts in turn
            made = a.post("/api/tasks", json={"name": "tus", "labels": [{"name": "car"}]})
            url = f"/api/tasks/{made.json()['id']}/data/"
            assert a.post(url, headers={"Upload-Start": ""}).status_code == 202
            body = clip.read_bytes()
            created = b.post(url, headers={"Upload-Length": str(len(body)),
                                           "Upload-Metadata": "filename Y2xpcC5tcDQ=",
                                           "Tus-Resumable": "1.0.0"})
            assert created.status_code == 201, created.text
            location = _path(created.headers["location"])
            size = len(body) // 5 + 1
            for n, start in enumerate(range(0, len(body), size)):
                patched = (a, b)[n % 2].patch(location, content=body[start:start + size],
                                              headers={
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(start), "Tus-Resumable": "1.0.0"})
                assert patched.status_code == 204, patched.text
            finished = a.post(url, headers={"Upload-Finish": ""},
                              json={"image_quality": 70, "client_files": []})
            assert _wait(b, finished.json()["rq_id"])["status"] == "finished"
            assert data(b, made.json()["id"], type="frame", number=5, quality="original") == \
                data(a, video.id, type="frame", number=5, quality="original")

            # nothing of the media on either host's disk (scratch is emptied after each work,
            # and B's copy of the video for its decoder is a cache)
            for host in ("host-a", "host-b"):
                media = tmp_path / host / "media"
                assert [p for p in media.rglob("*") if p.is_file()
                        and not p.is_relative_to(media / "tmp" / "remote")] == []
            assert any(k.startswith("media-root/media/data/") for k in s3_server.keys(bucket))

            # a reset from either host: the bucket as it was at start-up
            assert b.post("/_mockcvat/reset").status_code == 200
            assert s3_server.keys(bucket) == at_start
            assert a.get("/api/tasks").json()["count"] == 0
    finally:
        if second is not None:
            second.stop()
        first.stop()
