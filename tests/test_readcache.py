"""The read cache (``mockcvat.readcache``) never changes an answer.

A property test over random interleavings of writes and reads through HTTP: after every read
served with the cache on, the same read is made with the cache off, and the two answers must
be the same bytes. Writes come from every side a state changes from: API requests of several
users, background requests finishing on a worker thread, the control plane, resets, failed
requests rolled back. Sequences are seeded (the same in every run); ``MOCKCVAT_FUZZ`` adds
fresh random ones.
"""

from __future__ import annotations

import io
import json
import os
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from mockcvat.http import dumps
from mockcvat.readcache import CACHED
from mockcvat.testing import MockCVATServer
from tests.clients import NO_TLS, STRONG_PASSWORD, token_client

SEEDS = list(range(6)) + [random.randrange(1 << 30)
                         for _ in range(int(os.environ.get("MOCKCVAT_FUZZ", "0")) // 50)]
STEPS = 150


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


class World:
    """The server, three callers, and what exists (ids seen in answers)."""

    def __init__(self, server: MockCVATServer, rng: random.Random) -> None:
        self.server, self.rng = server, rng
        self.reads = self.writes = 0
        self.clients: dict[str, httpx.Client] = {}
        self.populate()

    def populate(self) -> None:
        server = self.server
        server.create_user("alice", STRONG_PASSWORD, email="alice@example.com")
        server.create_user("bob", STRONG_PASSWORD, email="bob@example.com", groups=["worker"])
        self.clients = {name: token_client(server, name, password) for name, password in (
            (server.admin_credentials), ("alice", STRONG_PASSWORD), ("bob", STRONG_PASSWORD))}
        self.tasks: list[int] = []
        self.projects: list[int] = []
        self.seen: list[tuple[str, dict[str, str], httpx.Client, dict[str, str]]] = []

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def client(self) -> httpx.Client:
        return self.rng.choice(list(self.clients.values()))

    def pick(self, ids: list[int]) -> int:
        return self.rng.choice(ids) if ids else self.rng.randrange(1, 50)

    # --- writes ------------------------------------------------------------------------
    def create_task(self) -> None:
        body: dict[str, Any] = {"name": f"task {self.rng.randrange(1000)}"}
        if self.projects and self.rng.random() < 0.3:
            body["project_id"] = self.pick(self.projects)
        else:
            body["labels"] = [{"name": "car"}, {"name": self.rng.choice(["bus", "é人"])}]
        answer = self.client().post("/api/tasks", json=body)
        if answer.status_code == 201:
            self.tasks.append(answer.json()["id"])

    def create_project(self) -> None:
        answer = self.client().post("/api/projects", json={
            "name": f"project {self.rng.randrange(1000)}", "labels": [{"name": "car"}]})
        if answer.status_code == 201:
            self.projects.append(answer.json()["id"])

    def update_task(self) -> None:
        change = self.rng.choice([{"name": f"renamed {self.rng.random()}"},
                                  {"assignee_id": self.rng.choice([None, 1, 2, 3])},
                                  {"subset": "train"}, {"name": ""}])  # the last: a 400
        self.client().patch(f"/api/tasks/{self.pick(self.tasks)}", json=change)

    def delete_task(self) -> None:
        task_id = self.pick(self.tasks)
        if self.client().delete(f"/api/tasks/{task_id}").status_code == 204:
            self.tasks.remove(task_id)

    def upload_data(self) -> None:
        """Task data, processed by a background worker (thread mode) half of the time."""
        mode = self.rng.choice(["immediate", "thread"])
        self.server.set_background_mode(mode)
        self.client().post(f"/api/tasks/{self.pick(self.tasks)}/data/",
                           data={"image_quality": "70", "segment_size": "1"},
                           files={f"client_files[{i}]": (f"{i}.jpg", _jpeg(), "image/jpeg")
                                  for i in range(2)})
        if mode == "thread" and self.rng.random() < 0.5:
            self.server.wait_for_requests()

    def update_job(self) -> None:
        jobs = self.clients["admin"].get("/api/jobs", params={"page_size": "all"}).json()
        if jobs["results"]:
            job = self.rng.choice(jobs["results"])
            self.client().patch(f"/api/jobs/{job['id']}", json=self.rng.choice(
                [{"stage": "validation"}, {"state": "completed"}, {"assignee": 2}]))

    def annotate(self) -> None:
        jobs = self.clients["admin"].get("/api/jobs", params={"page_size": "all"}).json()
        if jobs["results"]:
            job = self.rng.choice(jobs["results"])
            labels = self.clients["admin"].get(
                "/api/labels", params={"job_id": job["id"]}).json()["results"]
            if labels:
                self.client().patch(f"/api/jobs/{job['id']}/annotations",
                                    params={"action": "create"}, json={"shapes": [{
                                        "type": "rectangle", "frame": job["start_frame"],
                                        "label_id": labels[0]["id"],
                                        "points": [1, 2.5, 3, 4e-05]}]})

    def add_label(self) -> None:
        self.client().patch(f"/api/tasks/{self.pick(self.tasks)}", json={
            "labels": [{"name": f"label {self.rng.randrange(100)}"}]})

    def control_plane(self) -> None:
        name = f"user{self.rng.randrange(10**6)}"
        self.server.create_user(name, STRONG_PASSWORD)

    def change_user(self) -> None:
        self.clients["admin"].patch(f"/api/users/{self.rng.choice([2, 3])}",
                                    json={"first_name": f"F{self.rng.randrange(100)}"})

    def reset(self) -> None:
        self.server.reset()
        self.close()
        self.populate()

    # --- reads -------------------------------------------------------------------------
    def read_target(self) -> tuple[str, dict[str, str]]:
        """One of a few reads, so that the same one comes back after writes."""
        rng = self.rng
        task, project = (rng.choice(ids[:3]) if ids else 1 for ids in (self.tasks, self.projects))
        job, label = rng.randrange(1, 4), rng.randrange(1, 6)
        params = rng.choice([{}, {}, {"page_size": "2"}, {"page_size": "all", "sort": "name"},
                             {"filter": json.dumps({">=": [{"var": "id"}, 2]})}])
        path = rng.choice([
            "/api/users/self", "/api/users", f"/api/users/{task}",
            "/api/tasks", f"/api/tasks/{task}", "/api/jobs", f"/api/jobs/{job}",
            "/api/projects", f"/api/projects/{project}", "/api/labels",
            f"/api/labels?task_id={task}", f"/api/labels/{label}",
            f"/api/tasks/{task}/annotations", f"/api/jobs/{job}/annotations",
        ])
        return path, params

    def read_and_compare(self, last: bool = False) -> None:
        if self.seen and (last or self.rng.random() < 0.6):  # mostly, an earlier read again
            path, params, client, headers = self.seen[-1] if last else self.rng.choice(self.seen)
        else:
            path, params = self.read_target()
            client = self.client()
            headers = self.rng.choice([{}, {}, {}, {"Host": "cvat.example.com"},
                                       {"X-Forwarded-Proto": "https"}])
            self.seen.append((path, params, client, headers))
        cached = client.get(path, params=params, headers=headers)
        again = client.get(path, params=params, headers=headers)  # a hit, when it was kept
        cache = self.server.mock.read_cache
        cache.enabled = False
        try:
            fresh = client.get(path, params=params, headers=headers)
        finally:
            cache.enabled = True
        for answer in (cached, again):
            assert (answer.status_code, answer.headers.get("content-type"), answer.content) == (
                fresh.status_code, fresh.headers.get("content-type"), fresh.content), path
        self.reads += 1


WRITES: list[Callable[[World], None]] = [
    World.create_task, World.create_task, World.create_project, World.update_task,
    World.delete_task, World.upload_data, World.update_job, World.annotate, World.add_label,
    World.control_plane, World.change_user, World.reset,
]


@pytest.mark.parametrize("seed", SEEDS)
def test_cached_reads_equal_uncached_reads(cvat_server: MockCVATServer, seed: int) -> None:
    rng = random.Random(seed)
    world = World(cvat_server, rng)
    cache = cvat_server.mock.read_cache
    hits = cache.hits
    try:
        for _ in range(STEPS):
            if rng.random() < 0.35:
                rng.choice(WRITES)(world)
                world.writes += 1
                world.read_and_compare(last=True)  # the read just before, after the write
            else:
                world.read_and_compare()
        cvat_server.wait_for_requests()
        for _ in range(10):
            world.read_and_compare()
    finally:
        cvat_server.set_background_mode("immediate")
        world.close()
    assert world.reads > 50 and world.writes > 20
    assert cache.hits - hits > 20  # the cache served answers: the comparison meant something


def test_every_cached_operation_exists(cvat_server: MockCVATServer) -> None:
    known = {op.operation_id for op in cvat_server.mock.operations}
    assert set(CACHED) <= known


def test_a_read_that_writes_is_not_kept(cvat_server: MockCVATServer,
                                        admin: httpx.Client) -> None:
    """A write between the read's start and its answer (here: a background worker) voids it."""
    cache = cvat_server.mock.read_cache
    before = cache.generation()
    key = ("probe",)
    cvat_server.create_user("carol", STRONG_PASSWORD)  # the state moves on meanwhile
    cache.put(key, b"{}", before)
    assert cache.get(key) is None
    cache.put(key, b"{}", cache.generation())
    assert cache.get(key) == b"{}"
    cvat_server.reset()
    assert cache.get(key) is None


def test_a_user_sees_only_their_own_cached_answer(cvat_server: MockCVATServer,
                                                  admin: httpx.Client,
                                                  alice: httpx.Client) -> None:
    admin.post("/api/tasks", json={"name": "admin's", "labels": [{"name": "car"}]})
    assert admin.get("/api/tasks").json()["count"] == 1
    assert admin.get("/api/tasks").json()["count"] == 1  # kept
    assert alice.get("/api/tasks").json()["count"] == 0
    with httpx.Client(base_url=cvat_server.url, **NO_TLS) as anonymous:
        assert anonymous.get("/api/tasks").status_code == 401


@pytest.mark.parametrize("value", [
    1e-05, -2.5e-07, 0.0001, 1e-10, 1e16, 123.456, 0.1, -0.0, 5e-324, 1.7976931348623157e308,
])
def test_json_answers_are_the_bytes_python_writes(value: float) -> None:
    payload = {"points": [value, 1, "é\u2028\x00𝄞"], "n": 2**63 - 1, "nested": [{"a": None}]}
    assert dumps(payload) == json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                                        allow_nan=False).encode()


def test_json_answers_outside_orjson_fall_back() -> None:
    for payload in ({"big": 2**64}, {1: "int key"}, {"lone": "\ud800"}):
        expected = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        try:
            expected_bytes = expected.encode()
        except UnicodeEncodeError:
            expected_bytes = json.dumps(payload, separators=(",", ":")).encode()
        assert dumps(payload) == expected_bytes


@pytest.mark.parametrize("text", [
    '[1.5, 1e-05, 2.2250738585072014e-308, 9223372036854775807]', '{"a": "\\ud800"}',
    '1180591620717411303424', '-9223372036854775809', 'NaN', '[Infinity]', '{"k": "é人"}',
])
def test_json_columns_read_as_json_loads_reads_them(text: str) -> None:
    from mockcvat.db import _json_loads

    got, expected = _json_loads(text), json.loads(text)
    assert repr(got) == repr(expected)


def test_the_small_float_scan_matches_its_regular_expression() -> None:
    """``http._has_small_float`` is this regular expression, written for speed."""
    import re

    from mockcvat.http import _has_small_float

    pattern = re.compile(rb"\de-\d(?!\d)|(?<![\d.])0\.0000")
    rng = random.Random(5)
    alphabet = b"0123456789.e-,[]\"a"
    for _ in range(20000):
        text = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 14)))
        assert _has_small_float(text) == bool(pattern.search(text)), text
