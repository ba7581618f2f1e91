"""HTTP-level fault and latency injection (issue 16) as cvat-sdk sees it: its urllib3 retries
(3, on 502/503/504 and on broken connections of idempotent requests, honouring Retry-After)
and its exceptions; the rules' validation; the control plane and the pytest marker."""

from __future__ import annotations

import pytest
import urllib3
from cvat_sdk.api_client.exceptions import ApiException

from mockcvat.faults import FaultError
from tests.conftest import STRONG_PASSWORD


def statuses(server, operation_id: str) -> list[int]:
    return [e["status"] for e in server.journal.find(operation_id)]


def test_503_with_retry_after_is_retried_by_the_sdk(cvat_server, cvat_client):
    rule = cvat_server.faults.add("users_list", status=503, headers={"Retry-After": "0"},
                                  times=2)
    assert [u.username for u in cvat_client.users.list()] == ["admin"]
    assert statuses(cvat_server, "users_list") == [503, 503, 200]
    assert rule.hits == 2 and cvat_server.faults.list() == []  # spent rules go
    first = cvat_server.journal.find("users_list")[0]
    assert first["fault"] == rule.id
    assert first["response_body"] == {
        "detail": "Service Unavailable (a fault injected by mockcvat)"}


def test_500_and_429_reach_the_caller(cvat_server, cvat_client):
    with cvat_server.faults.add("projects_create", status=500, body={"detail": "boom"}):
        with pytest.raises(ApiException) as failure:
            cvat_client.projects.create({"name": "p", "labels": [{"name": "car"}]})
        assert failure.value.status == 500 and '"boom"' in failure.value.body
    assert cvat_client.projects.list() == []  # the operation never ran
    cvat_server.faults.add(method="GET", path="/api/projects", status=429, times=1)
    with pytest.raises(ApiException) as failure:
        cvat_client.projects.list()
    assert failure.value.status == 429
    # with Retry-After, urllib3 retries a 429 too (after sleeping that long)
    cvat_server.faults.add(method="GET", path="/api/projects", status=429,
                           headers={"Retry-After": "0"}, times=1)
    assert cvat_client.projects.list() == []
    assert statuses(cvat_server, "projects_list") == [200, 429, 429, 200]


def test_reset_connection(cvat_server, cvat_client):
    cvat_server.faults.add("users_retrieve_self", reset=True, times=1)
    assert cvat_client.users.retrieve_current_user().username == "admin"  # retried
    assert statuses(cvat_server, "users_retrieve_self") == [0, 200]
    with cvat_server.faults.add("users_retrieve_self", reset=True):
        with pytest.raises(urllib3.exceptions.MaxRetryError) as failure:
            cvat_client.users.retrieve_current_user()
    assert "Connection reset by peer" in str(failure.value.reason)
    assert statuses(cvat_server, "users_retrieve_self").count(0) == 5  # 1 + 4 attempts


def test_truncated_body(cvat_server, cvat_client):
    cvat_server.faults.add("users_list", truncate=True, times=1)
    assert len(cvat_client.users.list()) == 1
    with cvat_server.faults.add("users_list", truncate=True):
        with pytest.raises(urllib3.exceptions.MaxRetryError) as failure:
            cvat_client.users.list()
    assert isinstance(failure.value.reason, urllib3.exceptions.ProtocolError)
    # a POST is not retried: the broken answer reaches the caller at once
    with cvat_server.faults.add("projects_create", truncate=True) as rule:
        with pytest.raises(urllib3.exceptions.ProtocolError):
            cvat_client.projects.create({"name": "p", "labels": [{"name": "car"}]})
    assert rule.hits == 1
    assert [p.name for p in cvat_client.projects.list()] == ["p"]  # it did run


def test_latency(cvat_server, cvat_client):
    with cvat_server.faults.add("server_retrieve_about", delay=0.3):
        cvat_client.api_client.server_api.retrieve_about()
    assert cvat_server.journal.last("server_retrieve_about")["duration_ms"] >= 300
    with cvat_server.faults.add("users_list", delay=2):
        with pytest.raises(urllib3.exceptions.MaxRetryError) as failure:
            cvat_client.api_client.users_api.list(_request_timeout=0.2)
    assert isinstance(failure.value.reason, urllib3.exceptions.ReadTimeoutError)


def test_only_for_one_user(cvat_server, cvat_client):
    cvat_server.create_user("alice", STRONG_PASSWORD)
    cvat_server.faults.add("users_retrieve_self", user="alice", status=500)
    assert cvat_client.users.retrieve_current_user().username == "admin"
    with cvat_server.make_client(("alice", STRONG_PASSWORD)) as alice:
        with pytest.raises(ApiException) as failure:
            alice.users.retrieve_current_user()
    assert failure.value.status == 500
    entry = cvat_server.journal.last("users_retrieve_self", status=500)
    assert entry["user"] is None  # answered by the fault, before the operation


def test_percentage_with_a_seed_is_repeatable(cvat_server, http):
    def pattern() -> list[int]:
        cvat_server.reset()
        cvat_server.faults.add("server_retrieve_about", status=502, percent=30, seed=7)
        return [http.get("/api/server/about").status_code for _ in range(40)]

    first = pattern()
    assert first == pattern()
    assert 0 < first.count(502) < 40


@pytest.mark.parametrize(("rule", "message"), [
    ({"operation_id": "tasks_crate", "status": 500},
     "unknown operation 'tasks_crate' in the emulated CVAT version; did you mean "
     "'tasks_create'?"),
    ({"method": "FETCH", "status": 500}, "'FETCH' is not one of GET"),
    ({"path": "api/tasks", "status": 500}, "is not a path pattern"),
    ({"status": 700}, "700 is not an HTTP status"),
    ({"status": 500, "reset": True}, "status and reset cannot be combined"),
    ({"operation_id": "tasks_list"}, "the rule does nothing"),
    ({"delay": -1}, "-1 is not a number of seconds"),
    ({"status": 500, "times": 0}, "0 is not a number of calls"),
    ({"status": 500, "percent": 150}, "150 is not a percentage"),
    ({"status": 500, "stauts": 1}, "unknown key; did you mean 'status'?"),
    ({"body": {}, "delay": 1}, "a body needs a status"),
])
def test_rules_are_checked(cvat_server, rule, message):
    with pytest.raises(FaultError) as failure:
        cvat_server.faults.add_spec(rule)
    assert message in str(failure.value)
    assert cvat_server.faults.list() == []


def test_operations_of_the_emulated_version_only():
    from mockcvat.testing import MockCVATServer

    with MockCVATServer(cvat_version="2.26.2") as server:  # personal access tokens: 2.48+
        with pytest.raises(FaultError, match="unknown operation 'auth_list_access_tokens'"):
            server.faults.add("auth_list_access_tokens", status=500)


def test_control_plane(cvat_server, http):
    made = http.post("/_mockcvat/faults", json={"operation_id": "server_retrieve_about",
                                                "status": 503, "times": 1})
    assert made.status_code == 201 and made.json()["kind"] == "status"
    assert http.get("/_mockcvat/faults").json()[0]["id"] == made.json()["id"]
    assert http.get("/api/server/about").status_code == 503
    assert http.get("/api/server/about").status_code == 200
    several = http.post("/_mockcvat/faults", json=[{"path": "/api/users", "delay": 0.01},
                                                   {"operation_id": "nope", "status": 500}])
    assert several.status_code == 400
    assert several.json() == {"operation_id": [
        "operation_id: unknown operation 'nope' in the emulated CVAT version"]}
    assert http.get("/_mockcvat/faults").json() == []  # all or none
    rule = http.post("/_mockcvat/faults", json={"path": "/api/users", "reset": True}).json()
    assert http.delete(f"/_mockcvat/faults/{rule['id']}").status_code == 204
    assert http.delete(f"/_mockcvat/faults/{rule['id']}").status_code == 404
    http.post("/_mockcvat/faults", json={"path": "/api/**", "status": 500})
    assert http.get("/_mockcvat/journal").status_code == 200  # the control plane is exempt
    http.post("/_mockcvat/reset")
    assert http.get("/_mockcvat/faults").json() == []


def test_fail_next_refuses_an_action_or_target_that_never_comes(cvat_server, http):
    with pytest.raises(ValueError, match="unknown target 'taks'; did you mean 'task'"):
        cvat_server.fail_next("x", action="create", target="taks")
    with pytest.raises(ValueError, match="unknown action 'upload'"):
        cvat_server.fail_next("x", action="upload")
    answer = http.post("/_mockcvat/background",
                       json={"fail_next": {"message": "x", "action": "exprot"}})
    assert answer.status_code == 400 and "did you mean 'export'" in answer.text
    assert cvat_server.background.pending_faults == []
