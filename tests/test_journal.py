"""The request journal (issue 16): complete entries, recorded before the answer leaves, and the
helpers that select and verify them, from Python and over the control plane."""

from __future__ import annotations

import io
import threading

import httpx
import pytest
from PIL import Image

from mockcvat.journal import BODY_LIMIT, Journal
from mockcvat.testing import MockCVATServer
from tests.conftest import NO_TLS, STRONG_PASSWORD, token_client


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


def test_an_entry_holds_the_whole_exchange(cvat_server, cvat_client):
    cvat_server.create_organization("acme", "admin")
    cvat_client.organization_slug = "acme"
    cvat_client.projects.create({"name": "cars", "labels": [{"name": "car"}]})
    entry = cvat_server.journal.last("projects_create")
    assert entry["method"] == "POST" and entry["path"] == "/api/projects"
    assert entry["status"] == 201 and entry["user"] == "admin" and entry["org"] == "acme"
    assert entry["request_body"] == {"name": "cars", "labels": [{"name": "car"}]}
    assert entry["response_body"]["name"] == "cars" and entry["response_size"] > 100
    assert entry["duration_ms"] > 0 and entry["time"].endswith("Z")
    headers = entry["request_headers"]
    assert headers["x-organization"] == "acme" and headers["x-csrftoken"] == "***"
    assert all(part.endswith("=***") for part in headers["cookie"].split("; "))
    login = cvat_server.journal.last("auth_create_login")
    assert login["request_body"] == {"username": "admin", "password": "***"}
    assert login["user"] is None  # anonymous until the login answers


def test_redacts_authorization_and_signed_urls(cvat_server, admin):
    admin.get("/api/users/self", params={"org": ""})
    entry = cvat_server.journal.last("users_retrieve_self")
    assert entry["request_headers"]["authorization"] == "Token ***"
    assert entry["org"] == "" and entry["user"] == "admin"
    admin.get("/api/users", params={"sign": "secret-value", "org_id": "7"})
    entry = cvat_server.journal.last("users_list")
    assert "secret-value" not in entry["query"] and entry["org_id"] == "7"


def test_multipart_is_summarised_with_file_names_and_sizes(cvat_server, admin):
    task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}]}).json()
    image = _png()
    answer = admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                        files={"client_files[0]": ("a.png", image, "image/png")})
    assert answer.status_code == 202
    body = cvat_server.journal.last("tasks_create_data")["request_body"]
    assert body == {"fields": {"image_quality": "70"},
                    "files": [{"field": "client_files[0]", "filename": "a.png",
                               "size": len(image)}]}


def test_large_bodies_are_truncated_at_the_stated_limit(cvat_server, admin):
    name = "x" * (BODY_LIMIT * 2)
    admin.post("/api/projects", json={"name": name, "labels": []})
    body = cvat_server.journal.last("projects_create")["request_body"]
    assert body["size"] > BODY_LIMIT and len(body["truncated"]) == BODY_LIMIT
    admin.get("/api/server/annotation/formats")
    small = cvat_server.journal.last("server_retrieve_annotation_formats")
    assert isinstance(small["response_body"], dict | str)


def test_no_request_is_missing_under_concurrency(cvat_server):
    """1,000 requests on 8 keep-alive connections: each one's entry is there as soon as its
    client has the answer."""
    missing: list[int] = []
    errors: list[BaseException] = []

    def worker(first: int) -> None:
        try:
            with httpx.Client(base_url=cvat_server.url, **NO_TLS) as client:
                for n in range(first, 1000, 8):
                    assert client.get("/api/server/about", params={"n": n}).status_code == 200
                    # the whole journal: under load, one thread may sleep while the others
                    # answer a hundred requests
                    if not any(e["query"] == f"n={n}" for e in cvat_server.journal.entries()):
                        missing.append(n)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and missing == []
    entries = cvat_server.journal.find("server_retrieve_about")
    assert sorted(int(e["query"][2:]) for e in entries) == list(range(1000))
    assert len({e["id"] for e in entries}) == 1000


def test_find_count_and_patterns(cvat_server, admin, alice):
    mark = cvat_server.journal.mark()
    admin.get("/api/users/1")
    alice.get("/api/users/1")
    admin.get("/api/projects/99")
    journal = cvat_server.journal
    assert journal.count("users_retrieve", since=mark) == 2
    assert journal.count(path="/api/users/{id}", user="alice", since=mark) == 1
    assert journal.count(path="/api/*/99", status=404, since=mark) == 1
    assert journal.count(path="/api/**", status="4xx", since=mark) == 2  # alice: 403
    assert journal.count(method="get", status=[200, 404], since=mark) == 2
    assert journal.count(where=lambda e: e["path"].endswith("/99")) == 1
    assert journal.find(since=journal.mark()) == []


def test_assert_called_shows_the_closest_requests(cvat_server, admin):
    admin.post("/api/projects", json={"name": "car", "labels": []})
    admin.get("/api/projects")
    cvat_server.assert_called("projects_create", times=1, with_body={"name": "car"})
    with pytest.raises(AssertionError) as failure:
        cvat_server.assert_called("projects_create", with_body={"name": "cars"})
    message = str(failure.value)
    assert message.startswith("Expected projects_create with body")
    assert "it was called 0 times" in message and "Closest requests:" in message
    closest = message.split("Closest requests:")[1].splitlines()[1]
    assert "POST /api/projects -> 201 [projects_create]" in closest
    assert "body.name is 'car', not 'cars'" in closest
    with pytest.raises(AssertionError, match="exactly 2 times"):
        cvat_server.assert_called("projects_create", times=2)
    cvat_server.assert_not_called("tasks_create")
    with pytest.raises(AssertionError, match="Matching requests"):
        cvat_server.assert_not_called("projects_list")


def test_the_journal_is_a_bounded_ring_and_reset_clears_it():
    with MockCVATServer(journal_size=10) as server, httpx.Client(base_url=server.url) as http:
        for n in range(25):
            http.get("/api/server/about", params={"n": n})
        assert len(server.journal) == 10
        assert [e["query"] for e in server.journal][0] == "n=15"
        assert server.journal[-1]["id"] == 25
        server.reset()
        assert len(server.journal) == 0
        http.get("/api/server/about")
        assert server.journal[0]["id"] == 26  # ids are never reused


def test_recording_can_be_switched_off_and_on(cvat_server, http):
    cvat_server.record_requests(False)
    http.get("/api/server/about")
    assert len(cvat_server.journal) == 0
    cvat_server.record_requests()
    http.get("/api/server/about")
    assert len(cvat_server.journal) == 1
    cvat_server.reset()
    http.get("/api/server/about")
    assert len(cvat_server.journal) == 1  # recording survives a reset


def test_control_plane(cvat_server, http):
    http.get("/api/users")
    http.get("/api/server/about")
    http.get("/_mockcvat/state")  # the control plane itself is never journaled
    page = http.get("/_mockcvat/journal", params={"status": "401"}).json()
    assert page["enabled"] is True and page["size"] == 5000
    assert [e["operation_id"] for e in page["entries"]] == ["users_list"]
    assert len(http.get("/_mockcvat/journal", params={"limit": "1"}).json()["entries"]) == 1
    found = http.post("/_mockcvat/journal/find", json={"path": "/api/server/*"}).json()
    assert found["count"] == 1
    ok = http.post("/_mockcvat/journal/verify",
                   json={"operation_id": "users_list", "times": 1, "status": 401})
    assert ok.status_code == 200 and ok.json()["count"] == 1
    failed = http.post("/_mockcvat/journal/verify", json={"operation_id": "users_list",
                                                          "status": 200})
    assert failed.status_code == 417 and "status is 401" in failed.json()["detail"]
    bad = http.post("/_mockcvat/journal/find", json={"operation": "users_list"})
    assert bad.status_code == 400 and "did you mean 'operation_id'" in bad.text
    assert http.delete("/_mockcvat/journal").status_code == 204
    assert http.get("/_mockcvat/journal").json()["entries"] == []


def test_unit_verify_on_an_empty_journal_says_so():
    journal = Journal(3, enabled=False)
    found, message = journal.verify("tasks_create")
    assert found == [] and message is not None
    assert "The journal is empty (recording is off)." in message


def test_users_found_by_name(cvat_server):
    cvat_server.create_user("bob", STRONG_PASSWORD)
    with token_client(cvat_server, "bob", STRONG_PASSWORD) as bob:
        bob.get("/api/users/self")
    assert cvat_server.journal.last(user="bob")["operation_id"] == "users_retrieve_self"
