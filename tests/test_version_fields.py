"""What the fields added between CVAT 2.27 and 2.80 do, on the default 2.80 emulation, and
that 2.26.2 shows none of them (docs/versions.md lists each with its release and source)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cvat_sdk import models
from PIL import Image

from mockcvat.models import Job
from tests.conftest import STRONG_PASSWORD, raw_task, token_client
from tests.media_files import make_video

OLD = "2.26.2"


def is_old(server: Any) -> bool:
    return server.settings.cvat_version == OLD


def job_of(client: httpx.Client, task_id: int) -> dict[str, Any]:
    return client.get("/api/jobs", params={"task_id": task_id}).json()["results"][0]


# --- tasks, jobs, projects: read fields ---------------------------------------------------------
def test_resource_fields(versioned_server, versioned_admin):
    project = versioned_admin.post("/api/projects",
                                   json={"name": "p", "labels": [{"name": "car"}]}).json()
    task = raw_task(versioned_admin, project_id=project["id"])
    job = job_of(versioned_admin, task["id"])
    if is_old(versioned_server):
        assert task["consensus_enabled"] is False and job["consensus_replicas"] == 0
        for key in ("organization_id", "media_type", "project_name", "initial_replicas",
                    "data_cloud_storage_id"):
            assert key not in task
        assert {"task_name", "project_name", "replicas_count", "media_type"}.isdisjoint(job)
        assert "organization_id" not in project
        return
    assert "consensus_enabled" not in task and "consensus_replicas" not in job
    assert (task["organization_id"], task["data_cloud_storage_id"]) == (None, None)
    assert (task["media_type"], task["project_name"], task["initial_replicas"]) == (
        "image", "p", 0)
    assert (job["task_name"], job["project_name"], job["replicas_count"], job["media_type"]) == (
        "cars", "p", 0, "image")
    assert versioned_admin.get(f"/api/projects/{project['id']}").json()["organization_id"] is None


def test_media_type_and_mode_filters(versioned_server, versioned_admin):
    task = raw_task(versioned_admin)
    tasks = versioned_admin.get("/api/tasks", params={"media_type": "audio"}).json()
    jobs = versioned_admin.get("/api/jobs", params={"mode": "interpolation"}).json()
    one_d = versioned_admin.get("/api/tasks", params={"dimension": "1d"})
    by_logic = versioned_admin.get("/api/tasks", params={
        "filter": json.dumps({"==": [{"var": "media_type"}, "image"]})})
    if is_old(versioned_server):  # unknown simple filters are ignored, "1d" is no choice
        assert tasks["count"] == 1 and jobs["count"] == 1
        assert one_d.status_code == 400
        assert by_logic.status_code == 400
        return
    assert tasks["count"] == 0 and jobs["count"] == 0
    assert (one_d.status_code, one_d.json()["count"]) == (200, 0)
    assert [t["id"] for t in by_logic.json()["results"]] == [task["id"]]
    bogus = versioned_admin.get("/api/tasks", params={"media_type": "hologram"})
    assert bogus.status_code == 400 and "media_type" in bogus.json()
    assert versioned_admin.get("/api/jobs", params={"media_type": "image"}).json()["count"] == 1
    assert versioned_admin.get("/api/tasks", params={"mode": "annotation"}).json()["count"] == 1


def test_replica_jobs_are_named_per_version(versioned_server, versioned_admin):
    """A consensus replica (written here directly: creating them is another issue's) shows as
    ``replica`` from 2.80, counts in its parent's ``replicas_count`` and filters by the name
    the version knows."""
    task = raw_task(versioned_admin)
    parent = job_of(versioned_admin, task["id"])
    with versioned_server.mock.db.session() as db:
        source = db.get(Job, parent["id"])
        replica = Job(segment_id=source.segment_id, task_id=source.task_id,
                      type="consensus_replica", parent_job_id=source.id)
        db.add(replica)
        db.flush()
        replica_id = replica.id
    shown = versioned_admin.get(f"/api/jobs/{replica_id}").json()
    name = "consensus_replica" if is_old(versioned_server) else "replica"
    other = "replica" if is_old(versioned_server) else "consensus_replica"
    assert shown["type"] == name and shown["parent_job_id"] == parent["id"]
    listed = versioned_admin.get("/api/jobs", params={"type": name}).json()["results"]
    assert [j["id"] for j in listed] == [replica_id]
    assert versioned_admin.get("/api/jobs", params={"type": other}).status_code == 400
    if not is_old(versioned_server):
        assert versioned_admin.get(f"/api/jobs/{parent['id']}").json()["replicas_count"] == 1


def test_initial_replicas(versioned_server, versioned_admin):
    created = versioned_admin.post("/api/tasks", json={
        "name": "t", "labels": [{"name": "a"}], "initial_replicas": 2})
    assert created.status_code == 201
    if is_old(versioned_server):  # an unknown field: ignored
        assert created.json()["consensus_enabled"] is False
        return
    assert created.json()["initial_replicas"] == 2
    wrong = versioned_admin.post("/api/tasks", json={
        "name": "t", "labels": [{"name": "a"}], "initial_replicas": 1})
    assert wrong.status_code == 400 and "initial_replicas" in wrong.json()


# --- task data ---------------------------------------------------------------------------------
def test_data_meta_storage_fields(versioned_server, versioned_admin):
    task = raw_task(versioned_admin)
    url = f"/api/tasks/{task['id']}/data/meta"
    meta = versioned_admin.get(url).json()
    if is_old(versioned_server):
        assert {"storage", "cloud_storage_id", "chapters"}.isdisjoint(meta)
        return
    assert (meta["storage"], meta["cloud_storage_id"], meta["chapters"]) == ("local", None, None)
    unlinked = versioned_admin.patch(url, json={"deleted_frames": [], "cloud_storage_id": None})
    assert unlinked.status_code == 200 and unlinked.json()["cloud_storage_id"] is None
    refused = versioned_admin.patch(url, json={"deleted_frames": [], "cloud_storage_id": 5})
    assert refused.status_code == 400  # linking one: tests/test_cloudstorages.py
    assert refused.json() == ["CloudStorage matching query does not exist."]


def test_video_chapters(tmp_path: Path, cvat_server, cvat_client):
    """2.52+: the chapters stored in the video, in its frame numbers; a job's meta lists the
    chapters its frames touch."""
    video = make_video(tmp_path / "clip.mp4", frames=20,
                       chapters=[(0, 8, "intro"), (8, 20, "main")])
    task = cvat_client.tasks.create_from_data(
        spec={"name": "v", "labels": [{"name": "a"}], "segment_size": 5, "overlap": 0},
        resources=[str(video)])
    meta = task.get_meta()
    assert [(c.id, c.start, c.stop, c.metadata.title) for c in meta.chapters] == [
        (0, 0, 7, "intro"), (1, 8, 19, "main")]
    jobs = sorted(task.get_jobs(), key=lambda j: j.start_frame)
    assert [[c.metadata.title for c in j.get_meta().chapters] for j in jobs] == [
        ["intro"], ["intro", "main"], ["main"], ["main"]]
    images = cvat_client.tasks.create_from_data(
        spec={"name": "i", "labels": [{"name": "a"}]},
        resources=[str(_png(tmp_path / "a.png"))])
    assert images.get_meta().chapters is None


def _png(path: Path) -> Path:
    Image.new("RGB", (8, 6), (1, 2, 3)).save(path)
    return path


def test_image_quality_per_version(versioned_server, versioned_admin):
    task = versioned_admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]})
    url = f"/api/tasks/{task.json()['id']}/data/"
    files = {"client_files[0]": ("a.png", _png_bytes(), "image/png")}
    missing = versioned_admin.post(url, files=files)
    assert (missing.status_code, missing.json()) == (
        400, {"image_quality": ["This field is required."]})
    zero = versioned_admin.post(url, data={"image_quality": "0"}, files=files)
    if is_old(versioned_server):
        assert zero.status_code == 202
    else:
        assert (zero.status_code, zero.json()) == (
            400, {"image_quality": ["Ensure this value is greater than or equal to 1."]})


def _png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


# --- annotations ---------------------------------------------------------------------------------
def test_shape_scores(versioned_server, versioned_admin):
    task = raw_task(versioned_admin)
    label = versioned_admin.get("/api/labels", params={"task_id": task["id"]}).json()
    label_id = label["results"][0]["id"]
    job = job_of(versioned_admin, task["id"])
    shapes = [{"type": "rectangle", "frame": 0, "label_id": label_id, "points": [0, 0, 2, 2],
               "score": 0.25},
              {"type": "rectangle", "frame": 1, "label_id": label_id, "points": [0, 0, 2, 2]}]
    url = f"/api/jobs/{job['id']}/annotations/"
    assert versioned_admin.put(url, json={"shapes": shapes}).status_code == 200
    stored = versioned_admin.get(url).json()["shapes"]
    if is_old(versioned_server):
        assert all("score" not in s for s in stored)
        return
    assert [s["score"] for s in stored] == [0.25, 1.0]
    bad = versioned_admin.put(url, json={"shapes": [{**shapes[0], "score": 1.5}]})
    assert bad.status_code == 400
    task_view = versioned_admin.get(f"/api/tasks/{task['id']}/annotations/").json()
    assert sorted(s["score"] for s in task_view["shapes"]) == [0.25, 1.0]


def test_intervals(versioned_server, versioned_admin):
    task = raw_task(versioned_admin, frames=4)
    label_id = versioned_admin.get("/api/labels", params={"task_id": task["id"]}).json()[
        "results"][0]["id"]
    job = job_of(versioned_admin, task["id"])
    url = f"/api/jobs/{job['id']}/annotations/"
    interval = {"label_id": label_id, "start": 1, "stop": 2, "attributes": []}
    answer = versioned_admin.put(url, json={"intervals": [interval]})
    assert answer.status_code == 200
    if is_old(versioned_server):  # an unknown key: ignored, and never shown
        assert "intervals" not in answer.json() and "intervals" not in versioned_admin.get(
            url).json()
        return
    stored = versioned_admin.get(url).json()["intervals"]
    assert [(i["start"], i["stop"], i["source"], i["score"]) for i in stored] == [
        (1, 2, "manual", 1.0)]
    open_ended = {"label_id": label_id, "start": 3, "stop": None}
    added = versioned_admin.patch(url, params={"action": "create"},
                                  json={"intervals": [open_ended]})
    assert added.status_code == 200 and added.json()["intervals"][0]["stop"] is None
    task_view = versioned_admin.get(f"/api/tasks/{task['id']}/annotations/").json()
    assert [(i["start"], i["stop"]) for i in task_view["intervals"]] == [(1, 2), (3, None)]
    versioned_admin.patch(url, params={"action": "delete"},
                          json={"intervals": [{**stored[0]}]})
    assert [i["start"] for i in versioned_admin.get(url).json()["intervals"]] == [3]
    unknown = versioned_admin.put(url, json={"intervals": [{**interval, "label_id": 999}]})
    assert (unknown.status_code, unknown.json()) == (400, ["label_id `999` is invalid"])
    assert versioned_admin.delete(url).status_code == 204
    assert versioned_admin.get(url).json()["intervals"] == []


def test_an_interval_label(versioned_server, versioned_admin):
    created = versioned_admin.post("/api/projects", json={
        "name": "p", "labels": [{"name": "speech", "type": "interval"}]})
    if is_old(versioned_server):
        assert created.status_code == 400
    else:
        assert created.status_code == 201
        labels = versioned_admin.get("/api/labels", params={"type": "interval"}).json()
        assert [lb["name"] for lb in labels["results"]] == ["speech"]


def test_deleting_an_attribute_through_its_label(versioned_server, versioned_admin):
    task = versioned_admin.post("/api/tasks", json={"name": "t", "labels": [{
        "name": "car", "attributes": [
            {"name": "color", "mutable": False, "input_type": "text", "values": [""]},
            {"name": "size", "mutable": False, "input_type": "text", "values": [""]}]}]}).json()
    label = versioned_admin.get("/api/labels", params={"task_id": task["id"]}).json()[
        "results"][0]
    color, size = sorted(label["attributes"], key=lambda a: a["name"])
    response = versioned_admin.patch(f"/api/labels/{label['id']}", json={
        "attributes": [{"id": color["id"], "name": "color", "mutable": False,
                        "input_type": "text", "values": [""], "deleted": True}]})
    assert response.status_code == 200
    names = sorted(a["name"] for a in response.json()["attributes"])
    assert names == (["color", "size"] if is_old(versioned_server) else ["size"])


def test_append_import_mode(tmp_path: Path, cvat_server, cvat_client):
    task = cvat_client.tasks.create_from_data(
        spec={"name": "t", "labels": [{"name": "car"}]},
        resources=[str(_png(tmp_path / "a.png"))])
    label_id = task.get_labels()[0].id
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="rectangle", frame=0, label_id=label_id, points=[1, 1, 4, 4])]))
    exported = tmp_path / "export.zip"
    task.export_dataset("CVAT for images 1.1", exported, include_images=False)
    task.import_annotations("CVAT 1.1", exported, import_mode="append")
    assert len(task.get_annotations().shapes) == 2
    task.import_annotations("CVAT 1.1", exported, import_mode="replace")
    assert len(task.get_annotations().shapes) == 1
    with zipfile.ZipFile(exported) as archive:
        assert archive.namelist() == ["annotations.xml"]


# --- previews ------------------------------------------------------------------------------------
def test_previews_without_media(versioned_server, versioned_admin):
    task = versioned_admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]})
    url = f"/api/tasks/{task.json()['id']}/preview"
    plain = versioned_admin.get(url)
    empty = versioned_admin.get(url, headers={"Prefer": "handling=empty"})
    if is_old(versioned_server):
        assert (plain.status_code, plain.text) == (404, "Task image preview not found")
        assert empty.status_code == 404
        return
    assert plain.status_code == 200 and plain.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(plain.content)).size == (256, 256)
    assert (empty.status_code, empty.content) == (204, b"")
    project = versioned_admin.post("/api/projects", json={"name": "p"}).json()
    assert versioned_admin.get(f"/api/projects/{project['id']}/preview",
                               headers={"Prefer": "handling=empty"}).status_code == 204


# --- users, invitations, organizations, tokens, auth ---------------------------------------------
def test_user_profile(versioned_server, versioned_admin):
    registered = httpx.post(f"{versioned_server.url}/api/auth/register", json={
        "username": "carol", "email": "carol@example.com", "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD})
    assert registered.status_code == 201
    carol = versioned_admin.get("/api/users", params={"username": "carol"}).json()["results"][0]
    admin = versioned_admin.get("/api/users/self").json()
    if is_old(versioned_server):
        assert {"created_via", "email_verified", "primary_role"}.isdisjoint(carol)
        return
    assert (carol["created_via"], carol["email_verified"]) == ("registration", False)
    assert (admin["created_via"], admin["email_verified"]) == (None, None)
    assert (carol["cvat_usage_reason"], carol["planned_activities"], carol["data_types"]) == (
        "", [], [])
    answers = {"cvat_usage_reason": "work_project", "primary_role": "ml engineer",
               "planned_activities": ["annotate_data", "review_quality"],
               "data_types": ["images", "my own"], "discovery_source": "a friend"}
    updated = versioned_admin.patch(f"/api/users/{carol['id']}", json=answers)
    assert updated.status_code == 200 and {k: updated.json()[k] for k in answers} == answers
    too_many = versioned_admin.patch(f"/api/users/{carol['id']}",
                                     json={"data_types": [str(i) for i in range(7)]})
    assert (too_many.status_code, too_many.json()) == (
        400, {"data_types": ["Ensure this field has no more than 6 elements."]})
    unknown = versioned_admin.patch(f"/api/users/{carol['id']}",
                                    json={"planned_activities": ["dance"]})
    assert unknown.status_code == 400


def test_password_lengths(versioned_server):
    body = {"username": "dave1", "email": "d@example.com", "password1": "Sh0rt!",
            "password2": "Sh0rt!"}
    short = httpx.post(f"{versioned_server.url}/api/auth/register", json=body)
    assert short.status_code == 400
    if is_old(versioned_server):  # Django's validator speaks
        assert "password1" in short.json() and "too short" in short.json()["password1"][0]
    else:  # 2.63: the serializer's own length
        assert short.json()["password1"] == ["Ensure this field has at least 8 characters."]
    long_name = httpx.post(f"{versioned_server.url}/api/auth/register", json={
        **body, "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD,
        "first_name": "x" * 151})
    assert (long_name.status_code, long_name.json()) == (
        400, {"first_name": ["Ensure this field has no more than 150 characters."]})


def test_invitations_accepted(versioned_server, versioned_admin):
    versioned_server.create_user("erin", STRONG_PASSWORD, email="erin@example.com")
    versioned_server.create_organization("acme", "admin")
    org = {"X-Organization": "acme"}
    for email in ("erin@example.com", "ghost@example.com"):
        assert versioned_admin.post("/api/invitations", headers=org,
                                    json={"role": "worker", "email": email}).status_code == 201
    listed = versioned_admin.get("/api/invitations", headers=org,
                                 params={"accepted": "true"}).json()
    if is_old(versioned_server):
        assert listed["count"] == 2 and "accepted" not in listed["results"][0]
        return
    assert [i["user"]["username"] for i in listed["results"]] == ["erin"]
    assert listed["results"][0]["accepted"] is True
    erin_id = listed["results"][0]["user"]["id"]
    pending = versioned_admin.get("/api/invitations", headers=org,
                                  params={"accepted": "false"}).json()["results"]
    assert [i["accepted"] for i in pending] == [False]
    by_user = versioned_admin.get("/api/invitations", headers=org,
                                  params={"user_id": erin_id}).json()
    assert by_user["count"] == 1


def test_organization_contact(versioned_server, versioned_admin):
    created = versioned_admin.post("/api/organizations", json={"slug": "o", "contact": None})
    if is_old(versioned_server):
        assert (created.status_code, created.json()) == (
            400, {"contact": ["This field may not be null."]})
    else:
        assert (created.status_code, created.json()["contact"]) == (201, None)


def test_access_token_filters(cvat_server, admin):
    for name, read_only in (("ro", True), ("rw", False)):
        assert admin.post("/api/auth/access_tokens",
                          json={"name": name, "read_only": read_only}).status_code == 201
    listed = admin.get("/api/auth/access_tokens", params={"read_only": "false"}).json()
    assert [t["name"] for t in listed["results"]] == ["rw"]
    assert all("value" not in t and t["owner"]["username"] == "admin"
               for t in listed["results"])


def test_lightweight_backups(versioned_server, versioned_admin):
    task = raw_task(versioned_admin)
    rq_id = versioned_admin.post(f"/api/tasks/{task['id']}/backup/export",
                                 params={"lightweight": "true"}).json()["rq_id"]
    operation = versioned_admin.get(f"/api/requests/{rq_id}").json()["operation"]
    if is_old(versioned_server):
        assert "lightweight" not in operation and "lightweight" not in rq_id
    else:
        assert operation["lightweight"] is True and rq_id.endswith("&lightweight=True")


@pytest.fixture
def two_orgs(cvat_server) -> Iterator[httpx.Client]:
    cvat_server.create_organization("a", "admin")
    with token_client(cvat_server, *cvat_server.admin_credentials) as client:
        yield client


def test_requests_filter_by_org_id(cvat_server, two_orgs):
    org = two_orgs.get("/api/organizations").json()["results"][0]
    raw_task(two_orgs)  # the personal workspace
    task = two_orgs.post("/api/tasks", headers={"X-Organization": "a"},
                         json={"name": "t", "labels": [{"name": "x"}]}).json()
    two_orgs.post(f"/api/tasks/{task['id']}/data/", headers={"X-Organization": "a"},
                  data={"image_quality": "70"},
                  files={"client_files[0]": ("a.png", _png_bytes(), "image/png")})
    listed = two_orgs.get("/api/requests", params={"org_id": org["id"]}).json()["results"]
    assert [r["operation"]["task_id"] for r in listed] == [task["id"]]
    assert listed[0]["operation"]["org_id"] == org["id"]


def test_a_backup_keeps_scores_and_intervals(admin):
    task = raw_task(admin)
    label_id = admin.get("/api/labels", params={"task_id": task["id"]}).json()[
        "results"][0]["id"]
    admin.put(f"/api/tasks/{task['id']}/annotations/", json={
        "shapes": [{"type": "rectangle", "frame": 0, "label_id": label_id,
                    "points": [0, 0, 1, 1], "score": 0.3}],
        "intervals": [{"label_id": label_id, "start": 0, "stop": 1, "score": 0.5}]})
    rq_id = admin.post(f"/api/tasks/{task['id']}/backup/export").json()["rq_id"]
    archive = admin.get(admin.get(f"/api/requests/{rq_id}").json()["result_url"]).content
    restore = admin.post("/api/tasks/backup/",
                         files={"task_file": ("b.zip", archive, "application/zip")})
    restored = admin.get(f"/api/requests/{restore.json()['rq_id']}").json()
    assert restored["status"] == "finished"
    data = admin.get(f"/api/tasks/{restored['result_id']}/annotations/").json()
    assert [s["score"] for s in data["shapes"]] == [0.3]
    assert [(i["start"], i["stop"], i["score"]) for i in data["intervals"]] == [(0, 1, 0.5)]
