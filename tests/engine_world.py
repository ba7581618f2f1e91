"""The world of the table-driven policy tests of engine resources (projects, tasks, jobs,
labels, issues, comments, guides, assets), built once per module through the API and restored
for every case.

* organization ``acme``, owned by olga, with max (maintainer), sue (supervisor), walt, tara and
  jack (workers);
* in acme: project P1 owned by max (label ``car``) with task T1 (owner max, assignee tara; two
  images, one per job): job J1 assigned to jack, job J2 assigned to lena; task T2 owned by sue,
  in no project (labels ``cat``, ``dog``), without data;
* in the personal workspace: paul's project PP (label ``tree``) with task TP (one image, job JP);
* nina owns organization ``other`` (a non-member of acme with an org); paul is a plain user in
  no organization; lena has the ``worker`` privilege and is in no organization (the lone
  assignee of jobs.rego); the admin;
* review: issue I1 on J1 opened by jack (first comment C1), assigned to walt, who answered
  (C2); issue I2 on J2 opened by the admin (comment CI2); issue IP on JP opened by paul;
* guides: G1 of P1 (made by the admin) with asset A1, GT2 of T2, GP of PP.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.clients import STRONG_PASSWORD, token_client
from tests.policy_table import Expected

ROLES = ("admin", "owner", "maintainer", "supervisor", "worker", "non-member", "plain",
         "task-assignee", "job-assignee", "lone-worker")
USERNAMES = {"owner": "olga", "maintainer": "max", "supervisor": "sue", "worker": "walt",
             "non-member": "nina", "plain": "paul", "task-assignee": "tara",
             "job-assignee": "jack", "lone-worker": "lena"}
ACME = {"X-Organization": "acme"}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


@dataclass
class World:
    server: Any
    names: dict[str, Any]  # placeholders of the paths: {p1}, {t1}, {j2}, {l_cat}, {u_walt}...

    def client(self, role: str) -> httpx.Client:
        if role == "admin":
            return token_client(self.server, *self.server.admin_credentials)
        return token_client(self.server, USERNAMES[role], STRONG_PASSWORD)


def _ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _upload(admin: httpx.Client, task_id: int, images: int) -> None:
    files = {f"client_files[{i}]": (f"{i}.png", PNG, "image/png") for i in range(images)}
    _ok(admin.post(f"/api/tasks/{task_id}/data/", files=files, data={"image_quality": "70"}), 202)


def _build(server: Any) -> dict[str, Any]:
    """The world of the module docstring, through the API as the admin; its placeholders."""
    ids = {}
    for username in USERNAMES.values():
        groups = ["worker"] if username == "lena" else ["user"]
        ids[username] = server.create_user(
            username, STRONG_PASSWORD, email=f"{username}@example.com", groups=groups)["id"]
    server.create_organization("acme", "olga", {
        "max": "maintainer", "sue": "supervisor", "walt": "worker", "tara": "worker",
        "jack": "worker"})
    server.create_organization("other", "nina")
    with token_client(server, *server.admin_credentials) as admin:
        p1 = _ok(admin.post("/api/projects", headers=ACME, json={
            "name": "P1", "owner_id": ids["max"], "labels": [{"name": "car"}]}))["id"]
        t1 = _ok(admin.post("/api/tasks", headers=ACME, json={
            "name": "T1", "project_id": p1, "owner_id": ids["max"], "assignee_id": ids["tara"],
            "segment_size": 1}))["id"]
        _upload(admin, t1, 2)
        t2 = _ok(admin.post("/api/tasks", headers=ACME, json={
            "name": "T2", "owner_id": ids["sue"],
            "labels": [{"name": "cat"}, {"name": "dog"}]}))["id"]
        pp = _ok(admin.post("/api/projects", json={
            "name": "PP", "owner_id": ids["paul"], "labels": [{"name": "tree"}]}))["id"]
        tp = _ok(admin.post("/api/tasks", json={
            "name": "TP", "project_id": pp, "owner_id": ids["paul"]}))["id"]
        _upload(admin, tp, 1)
        j1, j2 = sorted(j["id"] for j in _ok(
            admin.get("/api/jobs", params={"task_id": t1}), 200)["results"])
        jp = _ok(admin.get("/api/jobs", params={"task_id": tp}), 200)["results"][0]["id"]
        _ok(admin.patch(f"/api/jobs/{j1}", json={"assignee": ids["jack"]}), 200)
        _ok(admin.patch(f"/api/jobs/{j2}", json={"assignee": ids["lena"]}), 200)
        labels = {label["name"]: label["id"]
                  for label in _ok(admin.get("/api/labels"), 200)["results"]}
        settings = {s["task_id"]: s["id"] for s in _ok(admin.get(
            "/api/quality/settings", params={"parent_type": "task"}), 200)["results"]}
    names = {"p1": p1, "pp": pp, "t1": t1, "t2": t2, "tp": tp, "j1": j1, "j2": j2, "jp": jp,
             "qs_t1": settings[t1]}
    names.update({f"l_{name}": pk for name, pk in labels.items()})
    names.update({f"u_{name}": pk for name, pk in ids.items()})
    names.update(_build_review(server, names))
    return names


def _build_review(server: Any, n: dict[str, Any]) -> dict[str, Any]:
    """Issues, comments, guides and an asset (see the module docstring), each made by the user
    the docstring names, through the API."""
    def issue(client: httpx.Client, job: int, headers: dict[str, str] | None = None,
              **extra: Any) -> int:
        return _ok(client.post("/api/issues", headers=headers, json={
            "frame": 0, "position": [1, 1, 5, 5], "job": job, "message": "look", **extra}))["id"]

    with token_client(server, "jack", STRONG_PASSWORD) as jack:
        i1 = issue(jack, n["j1"], ACME, assignee=n["u_walt"])
    with token_client(server, "walt", STRONG_PASSWORD) as walt:
        c2 = _ok(walt.post("/api/comments", headers=ACME, json={"issue": i1, "message": "ok"}))
    with token_client(server, "paul", STRONG_PASSWORD) as paul:
        ip = issue(paul, n["jp"])
    with token_client(server, *server.admin_credentials) as admin:
        i2 = issue(admin, n["j2"])
        comments = _ok(admin.get("/api/comments", params={"sort": "id"}), 200)["results"]
        first = {c["issue"]: c["id"] for c in reversed(comments)}
        g1 = _ok(admin.post("/api/guides", json={"project_id": n["p1"]}))["id"]
        gt2 = _ok(admin.post("/api/guides", json={"task_id": n["t2"]}))["id"]
        gp = _ok(admin.post("/api/guides", json={"project_id": n["pp"]}))["id"]
        a1 = _ok(admin.post("/api/assets", data={"guide_id": str(g1)},
                            files={"file": ("a.png", PNG, "image/png")}))["uuid"]
    return {"i1": i1, "i2": i2, "ip": ip, "c1": first[i1], "c2": c2["id"], "ci2": first[i2],
            "g1": g1, "gt2": gt2, "gp": gp, "a1": a1}


@pytest.fixture(scope="module")
def built_world() -> Any:
    """A server of its own for the module, whose start-up state is the world: built once
    (users, uploads: a few hundred ms), then every case resets to it. On either database
    (``MockCVAT.take_snapshot``: SQLite's backup, PostgreSQL's snapshot schema) and either
    media store."""
    from mockcvat.testing import MockCVATServer

    with MockCVATServer() as server:
        names = _build(server)
        server.mock.take_snapshot()
        yield server, names


@pytest.fixture
def world(built_world) -> World:
    server, names = built_world
    server.reset()
    return World(server=server, names=names)


Action = Callable[[httpx.Client, World], httpx.Response]
Body = Any  # JSON, or a callable of the placeholders (for ids)


def case(name: str, action: Action, expected: tuple[Expected, ...],
         xfail: dict[str, str] | None = None) -> Any:
    """One row: ``xfail`` marks the roles where mockcvat is known to differ from CVAT."""
    return [pytest.param(action, role, want, id=f"{name}-{role}", marks=[
        pytest.mark.xfail(reason=xfail[role], strict=True)] if xfail and role in xfail else [])
            for role, want in zip(ROLES, expected, strict=True)]


def _body(body: Body, w: World) -> Any:
    return body(w.names) if callable(body) else body


def get(path: str, headers: dict[str, str] | None = None) -> Action:
    return lambda c, w: c.get(path.format(**w.names), headers=headers)


def patch(path: str, body: Body, headers: dict[str, str] | None = None) -> Action:
    return lambda c, w: c.patch(path.format(**w.names), json=_body(body, w), headers=headers)


def post(path: str, body: Body = None, headers: dict[str, str] | None = None) -> Action:
    return lambda c, w: c.post(path.format(**w.names), json=_body(body, w), headers=headers)


def delete(path: str, headers: dict[str, str] | None = None) -> Action:
    return lambda c, w: c.delete(path.format(**w.names), headers=headers)


def upload(path: str, fields: Body, files: dict[str, Any],
           headers: dict[str, str] | None = None) -> Action:
    """A multipart POST: ``fields`` (values formatted with the placeholders) and ``files``."""
    return lambda c, w: c.post(path.format(**w.names), headers=headers, files=files, data={
        key: str(value).format(**w.names) for key, value in _body(fields, w).items()})


F = 403  # forbidden: the answer of every detail action the rules refuse
