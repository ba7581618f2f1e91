"""The pytest plugin and MockCVATServer as a user of mockcvat sees them."""

from __future__ import annotations

import httpx

from mockcvat.testing import MockCVATServer
from tests.conftest import STRONG_PASSWORD

INNER_TESTS = '''
import pytest
from cvat_sdk import make_client

def test_first_creates_state(cvat_server, cvat_client):
    cvat_server.create_user("temp", "Unusual-Passw0rd!")
    assert len(cvat_client.users.list()) == 2

def test_second_starts_from_the_seed(cvat_server, cvat_client):
    assert [u.username for u in cvat_client.users.list()] == ["root"]
    assert cvat_client.api_client.server_api.retrieve_about()[0].version == "2.30.0"
'''

INNER_CONFTEST = '''
import pytest

@pytest.fixture(scope="session")
def mockcvat_settings():
    return {"cvat_version": "2.30.0", "admin": "root:toor"}
'''


def test_plugin_fixtures_reset_between_tests(pytester):
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore")
    result.assert_outcomes(passed=2)


def test_reset_restores_the_seed_and_clears_sessions(cvat_server):
    cvat_server.create_user("gone", STRONG_PASSWORD)
    with httpx.Client(base_url=cvat_server.url) as http:
        key = http.post("/api/auth/login",
                        json={"username": "admin", "password": "admin"}).json()["key"]
        seconds = cvat_server.reset()
        assert 0 <= seconds < 5
        assert http.get("/api/users/self",
                        headers={"Authorization": f"Token {key}"}).status_code == 401
        again = http.post("/api/auth/login", json={"username": "gone", "password": STRONG_PASSWORD})
        assert again.status_code == 400


def test_reset_over_http(cvat_server, http):
    cvat_server.create_user("gone", STRONG_PASSWORD)
    response = http.post("/_mockcvat/reset")
    assert response.status_code == 200 and response.json()["reset_ms"] >= 0
    created = http.post("/_mockcvat/users", json={"username": "made", "password": STRONG_PASSWORD})
    assert created.status_code == 201
    assert http.post("/api/auth/login",
                     json={"username": "made", "password": STRONG_PASSWORD}).status_code == 200


def test_journal_records_requests(cvat_server, http):
    cvat_server.record_requests()
    http.get("/api/server/about")
    http.get("/api/users")
    assert [(e["method"], e["path"], e["status"]) for e in cvat_server.journal] == [
        ("GET", "/api/server/about", 200), ("GET", "/api/users", 401)]
    assert http.get("/_mockcvat/journal").json()["entries"][1]["status"] == 401
    cvat_server.record_requests(False)


def test_context_manager_with_a_file_database(tmp_path):
    settings = {"data_dir": tmp_path, "database_url": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                "port": 0}
    from mockcvat.settings import Settings

    with MockCVATServer(Settings(**settings)) as server:
        server.create_user("kept", STRONG_PASSWORD)
    # a second server on the same file keeps the state (local development)
    with MockCVATServer(Settings(**settings)) as server:
        with server.make_client(("kept", STRONG_PASSWORD)) as client:
            assert client.users.retrieve_current_user().username == "kept"
        server.reset()  # back to the state found at start-up
        with server.make_client(("kept", STRONG_PASSWORD)) as client:
            assert client.users.retrieve_current_user().username == "kept"


SEEDED_CONFTEST = '''
import json
import pytest

@pytest.fixture(scope="session")
def mockcvat_seed(tmp_path_factory):
    seed = tmp_path_factory.mktemp("seed")
    (seed / "users.json").write_text(json.dumps({"results": [
        {"id": 42, "username": "carol", "password": "Unusual-Passw0rd!"}]}))
    (seed / "projects.json").write_text(json.dumps([
        {"id": 7, "name": "seeded", "owner": {"id": 42}, "labels": [{"name": "car"}]}]))
    return seed
'''

SEEDED_TESTS = '''
import pytest
from cvat_sdk.api_client.exceptions import ApiException

@pytest.mark.mockcvat_fault("projects_list", status=500, times=1)
def test_marked_and_seeded(cvat_server, cvat_client):
    with pytest.raises(ApiException):
        cvat_client.projects.list()
    assert [p.name for p in cvat_client.projects.list()] == ["seeded"]
    cvat_client.projects.retrieve(7).remove()

def test_back_to_the_seed_without_the_fault(cvat_server, cvat_client):
    assert cvat_server.faults.list() == []
    assert [(p.id, p.owner.username) for p in cvat_client.projects.list()] == [(7, "carol")]
'''


def test_plugin_seed_fixture_and_fault_marker(pytester):
    pytester.makeconftest(SEEDED_CONFTEST)
    pytester.makepyfile(test_inner=SEEDED_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore")
    result.assert_outcomes(passed=2)
    fixtures = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    text = fixtures.stdout.str()
    for name in ("mockcvat_settings", "mockcvat_seed", "mockcvat_server", "cvat_server",
                 "cvat_client"):
        assert name in text
    assert "A seed directory (users.json, tasks.json" in text
    assert "no docstring available" not in text.split("mockcvat.pytest_plugin")[-1]
