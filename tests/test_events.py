"""The event log: client event batches, the server's own events from the domain-event stream,
and the CSV export (2.26's polling GET, the newer background request)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from cvat_sdk.api_client import models

from mockcvat.testing import MockCVATServer
from tests.conftest import STRONG_PASSWORD, token_client

LABELS = [{"name": "car"}]
COLUMNS = ["scope", "obj_name", "obj_id", "obj_val", "source", "timestamp", "count",
           "duration", "project_id", "task_id", "job_id", "user_id", "user_name", "user_email",
           "org_id", "org_slug", "payload"]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def legacy_csv(raw, **params) -> list[dict[str, str]]:
    """2.26's flow: 202 with a query_id, then 201 when ready, then ?action=download."""
    started = raw.get("/api/events", params=params)
    assert started.status_code == 202, started.text
    query_id = started.json()["query_id"]
    ready = raw.get("/api/events", params={**params, "query_id": query_id})
    assert ready.status_code == 201, ready.text
    download = raw.get("/api/events", params={**params, "query_id": query_id,
                                              "action": "download"})
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith('attachment; filename="logs_')
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == COLUMNS
    again = raw.get("/api/events", params={**params, "query_id": query_id,
                                           "action": "download"})
    assert again.status_code == 202  # served once: the same id starts over
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


def test_client_events_are_logged_with_the_servers_own(cvat_client, admin):
    sent_at = now()
    batch = models.ClientEventsRequest(timestamp=sent_at, events=[
        models.EventRequest(scope="load:job", timestamp=sent_at, duration=120,
                            job_id=5, payload=json.dumps({"a": 1})),
        models.EventRequest(scope="click:element", timestamp=sent_at)])
    answer, response = cvat_client.api_client.events_api.create(batch)
    assert response.status == 201
    assert [e.scope for e in answer.events] == ["load:job", "click:element"]
    assert answer.events[0].source == "client" and answer.events[0].user_name == "admin"

    project = cvat_client.projects.create({"name": "cars", "labels": LABELS})
    project.update({"name": "bikes"})
    rows = legacy_csv(admin)
    scopes = [(r["scope"], r["source"]) for r in rows]
    assert ("load:job", "client") in scopes and ("create:project", "server") in scopes
    created = next(r for r in rows if r["scope"] == "create:project")
    assert created["obj_id"] == str(project.id) and created["obj_name"] == "cars"
    assert created["project_id"] == str(project.id) and created["user_name"] == "admin"
    payload = json.loads(created["payload"])
    assert "request" in payload and "url" not in payload and payload["status"] == "annotation"
    renamed = [r for r in rows if r["scope"] == "update:project"]
    name = next(r for r in renamed if r["obj_name"] == "name")
    assert name["obj_val"] == "bikes" and json.loads(name["payload"])["old_value"] == "cars"
    load = next(r for r in rows if r["scope"] == "load:job")
    assert load["duration"] == "120" and load["job_id"] == "5" and load["user_id"] == "1"
    assert dt.datetime.fromisoformat(load["timestamp"])  # ClickHouse's "YYYY-MM-DD hh:mm:ss"


def test_annotation_changes_are_logged_per_kind(cvat_client, admin, tmp_path):
    from tests.media_files import make_image

    image = str(make_image(tmp_path / "a.png", (32, 24)))
    task = cvat_client.tasks.create_from_data({"name": "t", "labels": LABELS},
                                              resources=[image])
    label = task.get_labels()[0].id
    task.set_annotations(models.LabeledDataRequest(shapes=[
        models.LabeledShapeRequest(type="rectangle", frame=0, label_id=label,
                                   points=[1, 1, 5, 5]),
        models.LabeledShapeRequest(type="rectangle", frame=0, label_id=label,
                                   points=[2, 2, 6, 6]),
        models.LabeledShapeRequest(type="points", frame=0, label_id=label, points=[3, 3])]))
    rows = [r for r in legacy_csv(admin, task_id=task.id) if r["scope"].endswith(":shapes")]
    assert sorted((r["scope"], r["obj_name"], r["count"]) for r in rows) == [
        ("create:shapes", "points", "1"), ("create:shapes", "rectangle", "2")]
    assert all(r["task_id"] == str(task.id) for r in rows)


def test_filters_and_who_sees_what(cvat_server, cvat_client, admin):
    cvat_server.create_user("alice", STRONG_PASSWORD)
    with cvat_server.make_client(("alice", STRONG_PASSWORD)) as client:
        mine = client.projects.create({"name": "hers", "labels": LABELS})
    theirs = cvat_client.projects.create({"name": "admins", "labels": LABELS})
    only_theirs = legacy_csv(admin, project_id=theirs.id)
    assert {r["project_id"] for r in only_theirs} == {str(theirs.id)}
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as alice:
        own = legacy_csv(alice)  # a user's dump shows only their own events
        assert {r["user_name"] for r in own} == {"alice"}
        assert any(r["obj_id"] == str(mine.id) for r in own)
        assert alice.get("/api/events", params={"user_id": 1}).status_code == 403
    later = (now() + dt.timedelta(hours=1)).isoformat()
    assert legacy_csv(admin, **{"from": later}) == []
    bad = admin.get("/api/events", params={"from": "yesterday"})
    assert bad.status_code == 400
    assert bad.json() == ["Cannot parse 'from' datetime parameter: yesterday"]
    order = admin.get("/api/events", params={"from": later, "to": now().isoformat()})
    assert order.status_code == 400 and order.json() == ["'from' must be before than 'to'"]
    assert admin.get("/api/events", params={"action": "x"}).status_code == 400


def test_bad_batches_get_400_and_log_nothing(admin):
    stamp = now().isoformat()
    not_a_list = admin.post("/api/events", json={"timestamp": stamp, "events": {"a": 1}})
    assert not_a_list.status_code == 400
    assert not_a_list.json() == {"events": {"non_field_errors": [
        'Expected a list of items but got type "dict".']}}
    server_scope = admin.post("/api/events", json={"timestamp": stamp, "events": [
        {"scope": "load:job", "timestamp": stamp}, {"scope": "create:task", "timestamp": stamp}]})
    assert server_scope.status_code == 400
    assert server_scope.json() == {"scope": "Event scope **create:task** is not allowed from "
                                             "client"}
    bad_payload = admin.post("/api/events", json={"timestamp": stamp, "events": [
        {"scope": "load:job", "timestamp": stamp, "payload": "{no json"}]})
    assert bad_payload.json() == {"payload": "JSON payload is not valid in passed event"}
    assert admin.post("/api/events", json={"events": []}).json() == {
        "timestamp": ["This field is required."]}
    assert [r for r in legacy_csv(admin) if r["source"] == "client"] == []


def test_the_newer_export_is_a_background_request(cvat_client, admin):
    cvat_client.projects.create({"name": "cars", "labels": LABELS})
    api = cvat_client.api_client
    rq, response = api.events_api.create_export(filename="mine.csv")
    assert response.status == 202
    assert rq.rq_id.startswith("action=export&target=events&id=")
    request, _ = api.requests_api.retrieve(rq.rq_id)
    assert request.status.value == "finished" and request.operation.type == "export:events"
    got = admin.get(request.result_url)
    assert got.status_code == 200
    assert got.headers["content-disposition"] == 'attachment; filename="mine.csv"'
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0] == COLUMNS and any(r[0] == "create:project" for r in rows[1:])
    assert admin.get(request.result_url).status_code == 404  # served once


def test_226_has_no_newer_export():
    with MockCVATServer(cvat_version="2.26.2") as server, token_client(
            server, *server.admin_credentials) as raw:
        assert raw.post("/api/events/export").status_code == 404
        assert legacy_csv(raw) == []


@pytest.mark.parametrize("path", ["/api/events", "/api/events/export"])
def test_workers_dump_only_their_own(cvat_server, path):
    cvat_server.create_user("w", STRONG_PASSWORD, groups=["worker"])
    with token_client(cvat_server, "w", STRONG_PASSWORD) as worker:
        method = worker.get if path == "/api/events" else worker.post
        assert method(path).status_code == 202
