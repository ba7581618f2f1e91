"""Webhooks: registered through cvat-sdk 2.80, delivered over real HTTP to a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import socket

import httpx
import pytest
from cvat_sdk.api_client import models

from mockcvat.testing import MockCVATServer
from tests.conftest import STRONG_PASSWORD, token_client
from tests.media_files import make_image
from tests.webhook_receiver import Receiver

LABELS = [{"name": "car"}]
SECRET = "s3cret"


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def project_webhook(client, project_id: int, url: str, events: list[str], **extra):
    hook, _ = client.api_client.webhooks_api.create(models.WebhookWriteRequest(
        target_url=url, type="project", project_id=project_id, events=events, **extra))
    return hook


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_project_webhook_hears_task_and_job_changes(cvat_client, receiver, tmp_path):
    project = cvat_client.projects.create({"name": "cars", "labels": LABELS})
    hook = project_webhook(cvat_client, project.id, receiver.url,
                           ["create:task", "update:task", "create:job", "update:job",
                            "delete:task"], secret=SECRET, description="pipeline")
    assert hook.type.value == "project" and hook.project_id == project.id
    assert [e.value for e in hook.events] == [
        "create:job", "create:task", "delete:task", "update:job", "update:task"]
    assert "secret" not in hook.to_dict() and "last_status" not in hook.to_dict()

    images = [str(make_image(tmp_path / f"{i}.png", (32, 24))) for i in range(2)]
    task = cvat_client.tasks.create_from_data({"name": "t", "project_id": project.id},
                                              resources=images)
    # immediate mode: the delivery was made before the creating request answered
    created = receiver.received[0]
    assert created.method == "POST" and created.path == "/hook"
    assert created.headers["Content-Type"] == "application/json"
    assert created.headers["User-Agent"].startswith("python-requests/")
    assert created.headers["X-Signature-256"] == signed(created.body)
    body = created.json
    assert list(body) == ["event", "task", "webhook_id", "sender"]
    assert body["event"] == "create:task" and body["webhook_id"] == hook.id
    assert body["task"]["id"] == task.id and body["task"]["project_id"] == project.id
    assert body["task"]["url"] == f"{cvat_client.api_map.host}/api/tasks/{task.id}"
    assert body["sender"]["username"] == "admin" and set(body["sender"]) == {
        "url", "id", "username", "first_name", "last_name"}
    # the data's processing (a background request) made the job and updated the task
    assert receiver.events() == ["create:task", "create:job", "update:task"]
    processed = receiver.received[2].json
    assert processed["before_update"]["size"] == 0 and processed["task"]["size"] == 2
    assert processed["before_update"]["mode"] == "" and processed["task"]["mode"] == "annotation"
    assert receiver.received[1].json["job"]["task_id"] == task.id

    task.update({"name": "renamed"})
    renamed = receiver.received[-1].json
    assert renamed["event"] == "update:task"
    assert renamed["before_update"] == {"name": "t"}
    assert renamed["task"] == cvat_client.api_client.tasks_api.retrieve(task.id)[1].json()

    job = task.get_jobs()[0]
    cvat_client.jobs.retrieve(job.id).update({"state": "completed"})
    update = receiver.received[-1].json
    assert update["event"] == "update:job" and update["job"]["state"] == "completed"
    assert update["before_update"]["state"] == "new"

    task.remove()
    assert receiver.events()[-1] == "delete:task"
    assert receiver.received[-1].json["task"]["name"] == "renamed"

    deliveries, _ = cvat_client.api_client.webhooks_api.list_deliveries(hook.id)
    assert [d.event for d in deliveries.results] == [
        "delete:task", "update:job", "update:task", "update:task", "create:job", "create:task"]
    newest = deliveries.results[0]
    assert newest.status_code == 200 and newest.response == "received"
    assert newest.redelivery is False and newest.attempt == 1
    assert newest.request["event"] == "delete:task"
    assert deliveries.results[1].changed_fields.split(",")[0] in ("state", "status", "stage")
    hook, _ = cvat_client.api_client.webhooks_api.retrieve(hook.id)
    assert hook.last_status == 200 and hook.last_delivery_date == newest.updated_date


def test_org_webhook_hears_memberships_invitations_and_projects(cvat_server, receiver):
    cvat_server.create_user("bob", STRONG_PASSWORD, email="bob@example.com")
    cvat_server.create_user("maria", STRONG_PASSWORD, email="maria@example.com")
    cvat_server.create_organization("lab", "maria")
    with cvat_server.make_client(("maria", STRONG_PASSWORD)) as client:
        client.organization_slug = "lab"
        hook, _ = client.api_client.webhooks_api.create(models.WebhookWriteRequest(
            target_url=receiver.url, type="organization",
            events=["create:membership", "update:membership", "create:invitation",
                    "create:project", "delete:membership"]))
        assert hook.organization is not None and hook.project_id is None
        client.api_client.invitations_api.create(
            models.InvitationWriteRequest(role="worker", email="bob@example.com"))
        client.projects.create({"name": "p", "labels": LABELS})
    assert receiver.events() == ["create:membership", "create:invitation",
                                 "update:membership", "create:project"]
    membership = receiver.received[0].json["membership"]
    assert membership["user"]["username"] == "bob" and membership["is_active"] is False
    accepted = receiver.received[2].json
    assert accepted["before_update"]["is_active"] is False
    assert accepted["membership"]["is_active"] is True
    assert receiver.received[1].json["invitation"]["role"] == "worker"
    assert "X-Signature-256" not in receiver.received[0].headers  # no secret, no signature


def test_personal_projects_do_not_reach_org_webhooks(cvat_server, cvat_client, receiver):
    cvat_server.create_organization("lab", "admin")
    cvat_client.organization_slug = "lab"
    cvat_client.api_client.webhooks_api.create(models.WebhookWriteRequest(
        target_url=receiver.url, type="organization", events=["create:project"]))
    cvat_client.organization_slug = ""
    cvat_client.projects.create({"name": "mine", "labels": LABELS})
    assert receiver.received == []


def test_ping_redelivery_and_delivery_details(cvat_client, admin, receiver):
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    hook = project_webhook(cvat_client, project.id, receiver.url, ["update:project"],
                           secret=SECRET)
    api = cvat_client.api_client.webhooks_api
    ping, _ = api.create_ping(hook.id)
    assert ping.event == "ping" and ping.status_code == 200 and ping.webhook_id == hook.id
    sent = receiver.received[0]
    assert sent.headers["X-Signature-256"] == signed(sent.body)
    assert sent.json["webhook"]["id"] == hook.id and set(sent.json) == {
        "event", "webhook", "sender"}

    _, response = api.create_deliveries_redelivery(str(ping.id), hook.id)
    assert response.status == 200
    again = receiver.received[1]
    assert again.body == sent.body  # the stored request, sent again
    deliveries, _ = api.list_deliveries(hook.id)
    assert [d.redelivery for d in deliveries.results] == [True, False]
    one, _ = api.retrieve_deliveries(str(ping.id), hook.id)
    assert one.id == ping.id and one.request == sent.json

    assert admin.get(f"/api/webhooks/{hook.id}/deliveries/999").status_code == 404
    assert admin.get(f"/api/webhooks/{hook.id}/deliveries/abc").status_code == 404
    assert admin.post(f"/api/webhooks/{hook.id}/deliveries/999/redelivery").status_code == 404


def test_failing_and_missing_receivers_are_recorded_and_never_fail_the_request(
        cvat_client, receiver):
    receiver.status = 500
    receiver.answer = b"boom"
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    hook = project_webhook(cvat_client, project.id, receiver.url, ["update:project"])
    cvat_client.projects.retrieve(project.id).update({"name": "q"})  # answers normally
    deliveries, _ = cvat_client.api_client.webhooks_api.list_deliveries(hook.id)
    assert [(d.status_code, d.response) for d in deliveries.results] == [(500, "boom")]
    assert len(receiver.received) == 1  # not retried

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/gone"
    cvat_client.api_client.webhooks_api.partial_update(
        hook.id, patched_webhook_write_request=models.PatchedWebhookWriteRequest(
            target_url=dead))
    cvat_client.projects.retrieve(project.id).update({"name": "r"})
    newest = cvat_client.api_client.webhooks_api.list_deliveries(hook.id)[0].results[0]
    assert newest.status_code == 502
    assert "Failed to establish a new connection" in newest.response
    hook, _ = cvat_client.api_client.webhooks_api.retrieve(hook.id)
    assert hook.last_status == 502


def test_slow_receivers_time_out(cvat_server, cvat_client):
    import threading

    release = threading.Event()
    settings = cvat_server.mock.settings
    settings.webhook_timeout = 0.2
    try:
        with Receiver(delay=release) as slow:
            project = cvat_client.projects.create({"name": "p", "labels": LABELS})
            hook = project_webhook(cvat_client, project.id, slow.url, ["update:project"])
            cvat_client.projects.retrieve(project.id).update({"name": "q"})
            release.set()
    finally:
        settings.webhook_timeout = None
    newest = cvat_client.api_client.webhooks_api.list_deliveries(hook.id)[0].results[0]
    assert newest.status_code == 504 and "Read timed out" in newest.response


def test_inactive_and_deleted_webhooks_send_nothing(cvat_client, receiver):
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    hook = project_webhook(cvat_client, project.id, receiver.url, ["update:project"],
                           is_active=False)
    cvat_client.projects.retrieve(project.id).update({"name": "q"})
    assert receiver.received == []
    api = cvat_client.api_client.webhooks_api
    api.partial_update(hook.id, patched_webhook_write_request=models.PatchedWebhookWriteRequest(
        is_active=True))
    cvat_client.projects.retrieve(project.id).update({"name": "r"})
    assert receiver.events() == ["update:project"]
    api.destroy(hook.id)
    cvat_client.projects.retrieve(project.id).update({"name": "s"})
    assert len(receiver.received) == 1
    with pytest.raises(Exception, match="404"):
        api.retrieve(hook.id)


def test_thread_mode_delivers_off_the_request_and_tests_can_wait(cvat_server, cvat_client,
                                                                 receiver):
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    project_webhook(cvat_client, project.id, receiver.url, ["update:project"])
    cvat_server.set_background_mode("thread")
    cvat_client.projects.retrieve(project.id).update({"name": "q"})
    cvat_server.wait_for_deliveries(timeout=10)
    assert receiver.events() == ["update:project"]
    cvat_client.projects.retrieve(project.id).update({"name": "r"})
    waited = httpx.post(f"{cvat_server.url}/_mockcvat/webhooks/wait", json={"timeout": 10})
    assert waited.status_code == 200 and waited.json() == {"busy": False}
    assert receiver.events() == ["update:project"] * 2


def test_bad_input_gets_cvats_400s(cvat_server, admin, receiver):
    project = admin.post("/api/projects", json={"name": "p", "labels": LABELS}).json()
    base = {"target_url": receiver.url, "type": "project", "project_id": project["id"]}
    unknown = admin.post("/api/webhooks", json={**base, "events": ["create:task", "eat:cake"]})
    assert unknown.status_code == 400
    assert unknown.json() == {"events": ['"eat:cake" is not a valid choice.']}
    wrong_type = admin.post("/api/webhooks", json={**base, "events": ["create:project"]})
    assert wrong_type.status_code == 400
    assert wrong_type.json() == {"non_field_errors": ["Invalid events list for project webhook"]}
    bad_url = admin.post("/api/webhooks", json={**base, "target_url": "not a url",
                                                 "events": ["create:task"]})
    assert bad_url.status_code == 400 and bad_url.json() == {"target_url": ["Enter a valid URL."]}
    outside = admin.post("/api/webhooks", json={"target_url": receiver.url,
                                                "type": "organization", "events": []})
    assert outside.status_code == 400 and "needs an organization" in outside.json()[0]
    # CVAT: a database constraint, answered with 500; mockcvat says what is wrong
    no_project = admin.post("/api/webhooks", json={"target_url": receiver.url,
                                                   "type": "project", "events": []})
    assert no_project.status_code == 400 and "project_id" in no_project.json()
    missing = admin.post("/api/webhooks", json={**base, "project_id": 999, "events": []})
    assert missing.status_code == 400
    assert missing.json() == ["Could not find project with provided id: 999"]
    assert admin.get("/api/webhooks").json()["count"] == 0  # nothing half-written


def test_sandbox_users_need_their_own_project(cvat_server, admin, alice, receiver):
    project = admin.post("/api/projects", json={"name": "p", "labels": LABELS}).json()
    body = {"target_url": receiver.url, "type": "project", "events": ["create:task"]}
    assert alice.post("/api/webhooks", json={**body, "project_id": project["id"]}
                      ).status_code == 403
    assert alice.post("/api/webhooks", json=body).status_code == 403  # no project: 403 first
    own = alice.post("/api/projects", json={"name": "mine", "labels": LABELS}).json()
    made = alice.post("/api/webhooks", json={**body, "project_id": own["id"]})
    assert made.status_code == 201, made.text
    assert alice.get("/api/webhooks").json()["count"] == 1
    assert admin.get("/api/webhooks").json()["count"] == 1
    assert admin.get(f"/api/webhooks/{made.json()['id']}").status_code == 200


@pytest.mark.parametrize(("version", "shape"), [("2.26.2", "keys"), ("2.80.0", "objects")])
def test_events_catalog_per_version(version, shape):
    with MockCVATServer(cvat_version=version) as server, token_client(
            server, *server.admin_credentials) as raw:
        project = raw.get("/api/webhooks/events", params={"type": "project"}).json()
        everything = raw.get("/api/webhooks/events").json()
        assert raw.get("/api/webhooks/events", params={"type": "x"}).json() == (
            "Incorrect value of type parameter")
    assert everything["webhook_type"] == "all"
    if shape == "keys":
        assert project == {"webhook_type": "project", "events": sorted([
            "create:task", "update:task", "delete:task", "create:job", "update:job",
            "delete:job", "create:issue", "update:issue", "delete:issue", "create:comment",
            "update:comment", "delete:comment", "update:project", "delete:project"])}
        assert len(everything["events"]) == 22 and "delete:organization" in everything["events"]
    else:
        keys = [e["key"] for e in project["events"]]
        assert "completed:request[create:task]" in keys and "create:project" not in keys
        assert {"key": "update:project", "group": {"display_name": "Project"}} in project[
            "events"]
        every = {e["key"] for e in everything["events"]}
        assert {"create:user", "create:organization"} <= every and len(every) == 33


def test_sdk_models_accept_every_event_the_server_lists(cvat_client):
    catalog, _ = cvat_client.api_client.webhooks_api.retrieve_events(type="all")
    allowed = set(models.EventsEnum.allowed_values[("value",)].values())
    assert {e.key for e in catalog.events} == allowed


def test_large_answers_are_dropped_and_ssrf_checks_refuse_local_targets(cvat_server,
                                                                      cvat_client, receiver):
    receiver.answer = b"x" * (1024 * 1024 + 1)  # one byte over CVAT's limit
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    hook = project_webhook(cvat_client, project.id, receiver.url, ["update:project"])
    cvat_client.projects.retrieve(project.id).update({"name": "q"})
    api = cvat_client.api_client.webhooks_api
    assert api.list_deliveries(hook.id)[0].results[0].response == ""
    cvat_server.mock.settings.webhook_ssrf_checks = True
    try:
        cvat_client.projects.retrieve(project.id).update({"name": "r"})
    finally:
        cvat_server.mock.settings.webhook_ssrf_checks = False
    refused = api.list_deliveries(hook.id)[0].results[0]
    assert refused.status_code == 502 and "Egress proxying is denied" in refused.response
    assert len(receiver.received) == 1


def test_outbound_headers_and_signature_match_what_requests_sends():
    from mockcvat import outbound
    from mockcvat.services.webhooks import signature

    body = outbound.body_of({"event": "ping", "n": [1, 2]})
    assert body == b'{"event": "ping", "n": [1, 2]}'  # json.dumps' default separators
    headers = outbound.headers_for(body, signature("mykey", b""))
    assert headers["X-Signature-256"] == (
        "sha256=e1b24265bf2e0b20c81837993b4f1415f7b68c503114d100a40601eca6a2745f")
    assert headers["Content-Length"] == str(len(body))
    assert outbound.blocked_address("http://127.0.0.1/x") is not None
    assert outbound.blocked_address("http://8.8.8.8/x") is None


def test_project_webhook_hears_issues_and_comments(cvat_client, receiver, tmp_path):
    project = cvat_client.projects.create({"name": "review", "labels": LABELS})
    images = [str(make_image(tmp_path / f"{i}.png", (32, 24))) for i in range(2)]
    task = cvat_client.tasks.create_from_data({"name": "t", "project_id": project.id},
                                              resources=images)
    hook = project_webhook(cvat_client, project.id, receiver.url,
                           ["create:issue", "update:issue", "delete:issue", "create:comment",
                            "update:comment", "delete:comment"], secret=SECRET)
    job = task.get_jobs()[0]
    issue = cvat_client.issues.create(models.IssueWriteRequest(
        frame=1, position=[1.0, 2.0, 10.0, 20.0], job=job.id, message="a car is missed"))
    created = receiver.received[0]
    assert created.headers["X-Signature-256"] == signed(created.body)
    assert list(created.json) == ["event", "issue", "webhook_id", "sender"]
    assert created.json["event"] == "create:issue" and created.json["webhook_id"] == hook.id
    assert created.json["issue"]["id"] == issue.id and created.json["issue"]["job"] == job.id
    assert created.json["issue"]["comments"]["count"] == 1

    comment = cvat_client.comments.create(models.CommentWriteRequest(
        issue=issue.id, message="agreed"))
    comment.update({"message": "agreed, fixing"})
    issue.update({"resolved": True})
    assert receiver.events() == ["create:issue", "create:comment", "update:comment",
                                 "update:issue"]
    assert receiver.received[2].json["before_update"] == {"message": "agreed"}
    resolved = receiver.received[3].json
    assert resolved["before_update"]["resolved"] is False and resolved["issue"]["resolved"]

    comment.remove()
    issue.remove()  # takes its first comment with it: announced too, as Django's cascade
    assert receiver.events()[4:] == ["delete:comment", "delete:comment", "delete:issue"]
    assert receiver.received[4].json["comment"]["id"] == comment.id

    # a cascade from the task announces the issues of its jobs
    cvat_client.issues.create(models.IssueWriteRequest(
        frame=0, position=[1.0, 1.0, 2.0, 2.0], job=job.id, message="again"))
    task.remove()
    assert receiver.events()[-2:] == ["delete:comment", "delete:issue"]
