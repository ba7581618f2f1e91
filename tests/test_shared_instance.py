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
from tests.cloud_servers import free_port

ADMIN = ("admin", "admin")
LOAD_SECONDS = float(os.environ.get("MOCKCVAT_SHARED_SECONDS", "30"))


class Fleet:
    """``mockcvat serve --workers N`` on a new database of the test cluster."""

    def __init__(self, server_url: str, data_dir: Path, workers: int) -> None:
        self.database_url = pgcluster.create_database(
            server_url, f"fleet_{uuid.uuid4().hex[:10]}")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MOCKCVAT_BACKGROUND_MODE": "thread"}
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
                        and len(self.workers()) == workers:
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
