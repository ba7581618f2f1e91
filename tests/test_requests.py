"""Background requests: the engine (``mockcvat.background``) driven directly with dummy work,
``/api/requests`` over raw HTTP, the timing controls for test authors, and the real SDK's
poller (``Client.wait_for_completion``)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from cvat_sdk.core.exceptions import BackgroundRequestException

from mockcvat.background import (
    Reporter,
    RequestConflict,
    RequestFailed,
    Result,
    Work,
    render_rq_id,
    rq_status,
)
from mockcvat.errors import Conflict
from mockcvat.testing import MockCVATServer
from tests.conftest import NO_TLS, STRONG_PASSWORD, token_client

ADMIN_ID = 1
REQUEST_KEYS = {"status", "message", "id", "operation", "progress", "created_date",
                "started_date", "finished_date", "expiry_date", "owner", "result_url",
                "result_id"}


def work(*, action: str = "create", target: str = "task", target_id: int = 1,
         owner_id: int = ADMIN_ID, run=None, **extra) -> Work:  # type: ignore[no-untyped-def]
    if "task_id" not in extra and target == "task":
        extra["task_id"] = target_id
    return Work(action=action, target=target, target_id=target_id, owner_id=owner_id,
                organization_id=extra.pop("organization_id", None),
                run=run or (lambda reporter: None), **extra)


def url(rq_id: str) -> str:
    return f"/api/requests/{quote(rq_id, safe='')}"


def parse_date(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Gate:
    """A work function that blocks until released (deterministic "started" states)."""

    def __init__(self, *, progress: float | None = None, status: str | None = None) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.progress, self.status = progress, status

    def __call__(self, reporter: Reporter) -> None:
        if self.progress is not None:
            reporter.progress(self.progress, self.status)
        self.started.set()
        assert self.release.wait(5)


@pytest.fixture
def engine(cvat_server: MockCVATServer) -> Iterator:  # type: ignore[type-arg]
    """The engine in CVAT's own mode (test servers default to "immediate")."""
    cvat_server.set_background_mode("thread")
    yield cvat_server.mock.background
    cvat_server.mock.background.reset()  # never leave a gate closed for the next test


@pytest.fixture
def alice_id(cvat_server: MockCVATServer, alice: httpx.Client) -> int:
    return alice.get("/api/users/self").json()["id"]


# --- shapes -------------------------------------------------------------------------------------
def test_a_finished_request_has_cvats_shape(cvat_server, admin, engine):
    rq_id = engine.submit(work(target_id=7, project_id=3))
    assert rq_id == "action=create&target=task&target_id=7"  # 2.80's id format
    cvat_server.wait_for_requests()

    response = admin.get(url(rq_id))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.cvat+json"
    assert "no-store" in response.headers["cache-control"]
    body = response.json()
    assert set(body) == REQUEST_KEYS
    assert body["id"] == rq_id
    assert (body["status"], body["message"], body["progress"]) == ("finished", "", 0.0)
    assert body["operation"] == {
        "type": "create:task", "target": "task", "project_id": 3, "task_id": 7, "job_id": None,
        "org_id": None, "format": None, "function_id": None, "lightweight": None}
    assert body["owner"] == {"id": ADMIN_ID, "username": "admin"}
    assert (body["result_url"], body["result_id"]) == (None, None)
    created, started, finished = (parse_date(body[k]) for k in
                                  ("created_date", "started_date", "finished_date"))
    assert created <= started <= finished
    # task creation: rq's default result TTL (500 s), as CVAT passes none
    assert parse_date(body["expiry_date"]) - finished == dt.timedelta(seconds=500)


def test_progress_and_status_line_while_started(cvat_server, admin, engine):
    gate = Gate(progress=0.25, status="Images are being compressed")
    rq_id = engine.submit(work(run=gate))
    assert gate.started.wait(5)
    body = admin.get(url(rq_id)).json()
    assert (body["status"], body["progress"]) == ("started", 0.25)
    assert body["message"] == "Images are being compressed"
    assert body["started_date"] is not None
    assert (body["finished_date"], body["expiry_date"]) == (None, None)
    gate.release.set()
    cvat_server.wait_for_requests()
    body = admin.get(url(rq_id)).json()
    assert (body["status"], body["message"], body["progress"]) == ("finished", "", 0.25)


def test_failures_report_a_message_never_a_stack_trace(cvat_server, admin, engine):
    def refuse(reporter: Reporter) -> None:
        raise RequestFailed("No media data found")

    def crash(reporter: Reporter) -> None:
        raise ValueError("boom")

    refused = engine.submit(work(target_id=1, run=refuse))
    crashed = engine.submit(work(target_id=2, run=crash))
    cvat_server.wait_for_requests()

    body = admin.get(url(refused)).json()
    assert (body["status"], body["message"]) == ("failed", "No media data found")
    finished = parse_date(body["finished_date"])
    assert parse_date(body["expiry_date"]) - finished == dt.timedelta(days=30)
    body = admin.get(url(crashed)).json()
    assert (body["status"], body["message"]) == ("failed", "ValueError: boom\n")
    assert "Traceback" not in body["message"]


def test_results_show_as_cvat_shows_them(cvat_server, admin, engine):
    result = Result(result_url="http://testserver/api/tasks/1/dataset/download?rq_id=x",
                    result_id=9)
    exported = engine.submit(work(action="export", subresource="dataset",
                                  format="CVAT for images 1.1", run=lambda r: result))
    restored = engine.submit(work(action="import", subresource="backup", target_id=0,
                                  task_id=None, run=lambda r: Result(result_id=42)))
    cvat_server.wait_for_requests()

    assert exported == ("action=export&target=task&target_id=1&user_id=1"
                        "&format=CVAT_for_images_1~1&subresource=dataset")
    body = admin.get(url(exported)).json()
    assert (body["result_url"], body["result_id"]) == (result.result_url, None)
    assert body["operation"]["type"] == "export:dataset"
    assert body["operation"]["format"] == "CVAT for images 1.1"
    assert parse_date(body["expiry_date"]) - parse_date(body["finished_date"]) == dt.timedelta(
        hours=24)

    assert restored.startswith("action=import&target=task&id=")
    assert restored.endswith("&subresource=backup")
    body = admin.get(url(restored)).json()
    assert (body["result_url"], body["result_id"]) == (None, 42)
    assert body["operation"]["type"] == "import:backup"


def test_rq_ids_in_2_26_format():
    def rq(**kwargs: object) -> str:
        return render_rq_id(work(**kwargs), new_format=False)  # type: ignore[arg-type]

    assert rq(target_id=5) == "create:task-5"
    assert rq(action="autoannotate", target_id=5) == "autoannotate:task-5"
    assert rq(action="import", target="job", target_id=3,
              subresource="annotations") == "import:job-3-annotations"
    assert rq(action="import", target="project", subresource="backup",
              target_uuid="1c7e1cbb-4e38-4c39-8d4a-1f4b1dbe4e42") == (
        "import:project-1c7e1cbb-4e38-4c39-8d4a-1f4b1dbe4e42-backup")
    assert rq(action="export", target="project", target_id=2, owner_id=4,
              subresource="dataset", format="YOLO 1.1") == (
        "export:project-2-dataset-in-YOLO_1@1-format-by-4")
    assert rq(action="export", target_id=2, owner_id=4, subresource="backup") == (
        "export:task-2-backup-by-4")


# --- conflicts ------------------------------------------------------------------------------------
def test_a_request_still_running_cannot_be_started_again(cvat_server, admin, engine):
    gate = Gate()
    rq_id = engine.submit(work(action="export", subresource="dataset", format="COCO 1.0",
                               run=gate))
    assert gate.started.wait(5)
    with pytest.raises(Conflict) as caught:
        engine.submit(work(action="export", subresource="dataset", format="COCO 1.0"))
    assert isinstance(caught.value, RequestConflict)
    assert caught.value.status_code == 409
    assert caught.value.body() == "Export request is being processed"
    gate.release.set()
    cvat_server.wait_for_requests()
    # once it has ended, the same id starts afresh (CVAT deletes the old job)
    assert engine.submit(work(action="export", subresource="dataset", format="COCO 1.0")) == rq_id
    cvat_server.wait_for_requests()
    assert admin.get("/api/requests").json()["count"] == 1


def test_task_creation_has_no_guard_the_new_request_replaces_the_old(cvat_server, engine):
    first = Gate(progress=0.5)
    rq_id = engine.submit(work(run=first))
    assert first.started.wait(5)
    assert engine.submit(work(run=lambda r: Result(result_id=2))) == rq_id
    first.release.set()  # the old work ends, and writes nowhere
    cvat_server.wait_for_requests()
    view = engine.get(rq_id)
    assert (view.status, view.result_id, view.progress) == ("finished", 2, None)


# --- the list -------------------------------------------------------------------------------------
def test_list_filters_sorts_and_counts(cvat_server, admin, alice, alice_id, engine):
    org = cvat_server.create_organization("acme", owner="admin")
    engine.submit(work(target_id=1))
    engine.submit(work(target_id=2, organization_id=org["id"]))
    engine.submit(work(action="export", target_id=2, subresource="annotations",
                       format="COCO 1.0", organization_id=org["id"]))
    engine.submit(work(target="job", target_id=5, job_id=5, run=lambda r: 1 / 0))
    engine.submit(work(target_id=9, owner_id=alice_id))
    cvat_server.wait_for_requests()

    def ids(client: httpx.Client, **params: object) -> list[str]:
        response = client.get("/api/requests", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == len(body["results"]) or "page_size" in params
        return [r["id"] for r in body["results"]]

    everything = ids(admin)
    assert len(everything) == 4  # admins too see only their own requests
    assert everything[0].startswith("action=create&target=job")  # newest first
    assert ids(alice) == ["action=create&target=task&target_id=9"]
    assert len(ids(admin, action="create")) == 3
    assert ids(admin, action="export") == [everything[1]]
    assert len(ids(admin, task_id=2)) == 2
    assert ids(admin, task_id="x") == []  # a type mismatch matches nothing (no 400)
    assert ids(admin, target="job", status="failed") == [everything[0]]
    assert ids(admin, status="") == []  # present but empty: compared, not ignored
    assert ids(admin, subresource="annotations", format="COCO 1.0") == [everything[1]]
    assert len(ids(admin, org="acme")) == 2
    assert len(ids(admin, org="")) == 2  # requests made outside organizations
    assert ids(admin, filter='{"!=":[{"var":"status"},"finished"]}') == [everything[0]]
    assert len(ids(admin, filter='{"==":[{"var":"target"},"task"]}')) == 3
    assert ids(admin, sort="created_date") == everything[::-1]
    # one descending term makes every term descending: "export" before "create"
    assert ids(admin, sort="action,-created_date")[0] == everything[1]
    assert ids(admin, sort="-action,created_date")[1:] == everything[0:1] + everything[2:]
    page = admin.get("/api/requests", params={"page_size": 3, "page": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 1 and page["next"] is None

    unknown = admin.get("/api/requests", params={"org": "nope"})
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "nope organization does not exist."}
    assert admin.get("/api/requests", headers={"X-Organization": "acme"}).json()["count"] == 4


# --- detail views: visibility and errors ----------------------------------------------------------
def test_unknown_ids_and_other_peoples_requests(cvat_server, admin, alice, alice_id, engine):
    mine = engine.submit(work(target_id=1))
    hers = engine.submit(work(target_id=2, owner_id=alice_id))
    cvat_server.wait_for_requests()

    missing = admin.get(url("action=create&target=task&target_id=404"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "text/html; charset=utf-8"
    assert missing.text == "There is no request with specified id"
    assert admin.get("/api/requests/a.b").status_code == 404  # no route: Django's page
    denied = alice.get(url(mine))
    assert denied.status_code == 403
    assert denied.json() == {"detail": "You do not have permission to perform this action."}
    assert alice.post(url(mine) + "/cancel").status_code == 403
    assert alice.get(url(hers)).status_code == 200
    assert admin.get(url(hers)).status_code == 200  # newer CVAT: admins may look (requests.rego)
    assert httpx.get(cvat_server.url + url(mine), **NO_TLS).status_code == 401


def test_cancel_only_what_has_not_started(cvat_server, admin, engine):
    gates = [Gate(), Gate()]  # the two workers, busy
    running = [engine.submit(work(target_id=i, run=g)) for i, g in enumerate(gates)]
    assert all(g.started.wait(5) for g in gates)
    ran = threading.Event()
    queued = engine.submit(work(target_id=7, run=lambda r: ran.set()))
    assert admin.get(url(queued)).json()["status"] == "queued"

    refused = admin.post(url(running[0]) + "/cancel")
    assert refused.status_code == 400
    assert refused.text == "Only requests that have not yet been started can be cancelled"
    cancelled = admin.post(url(queued) + "/cancel")
    assert cancelled.status_code == 200 and cancelled.content == b""
    assert admin.get(url(queued)).status_code == 404  # CVAT deletes the job
    assert admin.post(url(queued) + "/cancel").status_code == 404
    assert admin.get(url(queued) + "/cancel").status_code == 405
    for gate in gates:
        gate.release.set()
    cvat_server.wait_for_requests()
    assert not ran.is_set()
    assert admin.get("/api/requests").json()["count"] == 2


# --- timing controls ----------------------------------------------------------------------------
def test_hold_polls_shows_queued_then_started_first(cvat_server, admin, engine):
    cvat_server.set_background_mode("immediate")
    cvat_server.hold_polls(3)
    rq_id = engine.submit(work())
    assert engine.get(rq_id).status == "queued"  # not a poll
    assert admin.get("/api/requests").json()["results"][0]["status"] == "queued"
    polls = [admin.get(url(rq_id)).json() for _ in range(4)]
    assert [p["status"] for p in polls] == ["queued", "started", "started", "finished"]
    assert polls[0]["started_date"] is None and polls[1]["started_date"] is not None
    assert all(p["finished_date"] is None for p in polls[:3])
    assert admin.get("/api/requests", params={"status": "finished"}).json()["count"] == 1

    # the legacy status endpoints poll through latest()
    other = engine.submit(work(target_id=2))
    seen = [rq_status(engine.latest(action="create", target="task", target_id=2))["state"]
            for _ in range(4)]
    assert seen == ["Queued", "Started", "Started", "Finished"]
    assert engine.get(other).status == "finished"
    assert rq_status(None) == {"state": "Finished", "message": "", "progress": 0.0}


def test_fail_next_fails_without_running_the_work(cvat_server, admin, engine):
    ran: list[int] = []
    cvat_server.fail_next("Injected failure", action="export")
    cvat_server.fail_next("Creation refused", target="task")
    first = engine.submit(work(target_id=1, run=lambda r: ran.append(1)))
    second = engine.submit(work(target_id=2, run=lambda r: ran.append(2)))
    exported = engine.submit(work(action="export", subresource="backup",
                                  run=lambda r: ran.append(3)))
    cvat_server.wait_for_requests()
    assert ran == [2]
    assert admin.get(url(first)).json()["message"] == "Creation refused"
    assert admin.get(url(second)).json()["status"] == "finished"
    body = admin.get(url(exported)).json()
    assert (body["status"], body["message"]) == ("failed", "Injected failure")


def test_immediate_mode_finishes_inside_submit(cvat_server, engine):
    cvat_server.set_background_mode("immediate")
    rq_id = engine.submit(work(run=lambda r: r.progress(1.0)))
    view = engine.get(rq_id)
    assert (view.status, view.progress) == ("finished", 1.0)
    assert not engine.busy()


def test_submitting_inside_a_transaction(cvat_server, engine):
    cvat_server.set_background_mode("immediate")
    seen: list[str | None] = []
    with cvat_server.mock.db.session() as db:
        rq_id = engine.submit(work(run=lambda r: seen.append(engine.get(rq_id).status)),
                              session=db)
        assert seen == []  # runs once the caller's transaction has committed
    assert seen == ["started"]
    assert engine.get(rq_id).status == "finished"


def test_requests_expire_with_their_result(cvat_server, admin, engine):
    rq_id = engine.submit(work(result_ttl=0.05))
    cvat_server.wait_for_requests()
    assert admin.get(url(rq_id)).status_code == 200
    time.sleep(0.1)
    assert admin.get(url(rq_id)).status_code == 404  # Redis forgot the job
    assert admin.get("/api/requests").json()["count"] == 0
    assert engine.submit(work()) == rq_id  # and the id is free again


def test_reset_forgets_requests_and_controls(cvat_server, engine):
    cvat_server.set_background_mode("immediate")
    cvat_server.hold_polls(2)
    cvat_server.fail_next("never used", action="export")
    old = engine.submit(work(run=lambda r: None))
    cvat_server.reset()
    assert engine.get(old) is None
    with token_client(cvat_server, *cvat_server.admin_credentials) as admin:
        assert admin.get("/api/requests").json()["count"] == 0
    assert (engine.mode, engine.held_polls, engine.pending_faults) == (
        cvat_server.settings.background_mode, 0, [])
    rq_id = engine.submit(work())
    cvat_server.wait_for_requests()
    assert engine.get(rq_id).status == "finished"


def test_reset_waits_for_running_work_and_drops_its_late_writes(cvat_server, engine):
    gate = Gate()
    engine.submit(work(target_id=1, run=gate))
    assert gate.started.wait(5)
    resetting = threading.Thread(target=cvat_server.reset)
    resetting.start()
    resetting.join(0.1)
    assert resetting.is_alive()  # waiting for the running work
    gate.release.set()
    resetting.join(5)
    assert not resetting.is_alive()

    gate = Gate(progress=0.5)
    late = engine.submit(work(target_id=2, run=gate))
    assert gate.started.wait(5)
    engine.reset(timeout=0.05)  # gives up waiting: the work's later writes are dropped
    gate.release.set()
    engine.wait()
    assert engine.get(late) is None


def test_control_plane(cvat_server, http):
    answer = http.post("/_mockcvat/background", json={
        "mode": "immediate", "hold_polls": 1,
        "fail_next": {"message": "Injected", "action": "create"}})
    assert answer.status_code == 200
    assert answer.json() == {"mode": "immediate", "hold_polls": 1, "busy": False, "fail_next": [
        {"message": "Injected", "action": "create", "target": None}]}
    assert http.post("/_mockcvat/background", json={"mode": "later"}).status_code == 400
    assert http.post("/_mockcvat/background", json={"hold_polls": -1}).status_code == 400
    assert http.post("/_mockcvat/background", json={"wait": 1}).json()["busy"] is False
    assert http.post("/_mockcvat/reset").status_code == 200
    assert http.get("/_mockcvat/background").json()["mode"] == (
        cvat_server.settings.background_mode)


# --- the real SDK's poller ----------------------------------------------------------------------
def test_sdk_waits_for_completion(cvat_server, cvat_client, engine):
    cvat_server.hold_polls(2)
    finished = engine.submit(work(target_id=1))
    request, _ = cvat_client.wait_for_completion(finished, status_check_period=0)
    assert request.status.value == "finished"
    assert request.operation.type == "create:task"

    failed = engine.submit(work(target_id=2, run=lambda r: (_ for _ in ()).throw(
        RequestFailed("Could not read the video"))))
    with pytest.raises(BackgroundRequestException, match="Could not read the video"):
        cvat_client.wait_for_completion(failed, status_check_period=0)


# --- CVAT 2.26 ------------------------------------------------------------------------------------
def test_cvat_2_26_ids_and_owner_only_rules():
    with MockCVATServer(cvat_version="2.26.2") as server:
        user = server.create_user("bob", STRONG_PASSWORD)
        engine = server.mock.background
        mine = engine.submit(work(target_id=5))
        bobs = engine.submit(work(target_id=6, owner_id=user["id"]))
        server.wait_for_requests()
        assert mine == "create:task-5"
        with token_client(server, *server.admin_credentials) as admin:
            body = admin.get(url(mine)).json()
            assert body["operation"] == {"type": "create:task", "target": "task",
                                         "project_id": None, "task_id": 5, "job_id": None,
                                         "format": None, "function_id": None}
            denied = admin.get(url(bobs))  # not even an admin, in 2.26
            assert denied.status_code == 403
            assert denied.json() == {"detail": "You don't have permission to perform this action"}
