"""/api/server and the version emulation, over raw HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockcvat.testing import MockCVATServer
from tests.conftest import STRONG_PASSWORD, token_client


@pytest.fixture(scope="module")
def cvat_2_26() -> Iterator[MockCVATServer]:
    with MockCVATServer(cvat_version="2.26.2") as server:
        yield server


def test_about_is_anonymous_and_follows_the_version(http, cvat_2_26):
    about = http.get("/api/server/about").json()
    assert about["name"] == "Computer Vision Annotation Tool" and about["version"] == "2.80.0"
    assert about["logo_url"].endswith("/static/logo.svg")
    assert http.get(about["logo_url"]).headers["content-type"].startswith("image/svg")
    old = httpx.get(f"{cvat_2_26.url}/api/server/about").json()
    assert set(old) == {"name", "description", "version"} and old["version"] == "2.26.2"


def test_plugins_follow_the_version(admin, cvat_2_26):
    assert admin.get("/api/server/plugins").json() == {"ANALYTICS": False, "MODELS": False}
    with token_client(cvat_2_26, "admin", "admin") as old:
        assert old.get("/api/server/plugins").json() == {
            "GIT_INTEGRATION": False, "ANALYTICS": False, "MODELS": False, "PREDICT": False}


def test_plugins_need_authentication(http):
    assert http.get("/api/server/plugins").status_code == 401


def test_annotation_formats(admin):
    formats = admin.get("/api/server/annotation/formats").json()
    exporters = {f["name"]: f for f in formats["exporters"]}
    importers = {f["name"]: f for f in formats["importers"]}
    assert len(exporters) == 32 and len(importers) == 30
    assert formats["exporters"][0]["name"] == "COCO 1.0"
    assert exporters["CVAT for images 1.1"] == {
        "name": "CVAT for images 1.1", "ext": "ZIP", "version": "1.1", "enabled": True,
        "dimension": "2d"}
    assert importers["CVAT 1.1"]["ext"] == "XML, ZIP"
    assert exporters["Kitti Raw Format 1.0"]["dimension"] == "3d"
    assert "CVAT for images 1.1" not in importers


@pytest.fixture
def share(share_dir):
    root = share_dir
    (root / "images" / "nested").mkdir(parents=True, exist_ok=True)
    for name in ("b.jpg", "a.png", "clip.mp4", "data.zip", "doc.pdf", "notes.txt", "Z.jpeg"):
        (root / "images" / name).write_bytes(b"x")
    (root / "top.jpg").write_bytes(b"x")
    return root


def test_share_listing(admin, share):
    root = admin.get("/api/server/share").json()
    assert root == [{"name": "images", "type": "DIR", "mime_type": "DIR"},
                    {"name": "top.jpg", "type": "REG", "mime_type": "image"}]
    listed = admin.get("/api/server/share", params={"directory": "/images"}).json()
    assert [(e["name"], e["mime_type"]) for e in listed] == [
        ("nested", "DIR"), ("Z.jpeg", "image"), ("a.png", "image"), ("b.jpg", "image"),
        ("clip.mp4", "video"), ("data.zip", "archive"), ("doc.pdf", "pdf"),
        ("notes.txt", "unknown")]
    found = admin.get("/api/server/share", params={"directory": "images", "search": "b"}).json()
    assert [e["name"] for e in found] == ["b.jpg"]


@pytest.mark.parametrize("directory",
                         ["missing", "/top.jpg", "../", "images/../../etc", "ima\x00ges"])
def test_share_refuses_what_is_not_a_directory_inside_it(admin, share, directory):
    response = admin.get("/api/server/share", params={"directory": directory})
    assert response.status_code == 400
    assert response.json() == f"{directory.removeprefix('/')} is an invalid directory"


def test_workers_may_not_browse_the_share(cvat_server, share):
    cvat_server.create_user("wendy", STRONG_PASSWORD, groups=["worker"])
    with token_client(cvat_server, "wendy", STRONG_PASSWORD) as worker:
        assert worker.get("/api/server/share").status_code == 403


def test_signed_urls_before_2_47(cvat_2_26, cvat_server):
    with token_client(cvat_2_26, "admin", "admin") as admin:
        signed = admin.post("/api/auth/signing", json={"url": "/api/users/self"})
        assert signed.status_code == 200
        url = signed.json()
        assert url.startswith(f"{cvat_2_26.url}/api/users/self?sign=")
        assert admin.post("/api/auth/signing", json={}).json() == [
            "Please provide `url` parameter"]
    assert httpx.get(url).json()["username"] == "admin"
    tampered = httpx.get(url.replace("/self", "/1"))
    assert (tampered.status_code, tampered.json()) == (401, {"detail": "Invalid signature."})
    with token_client(cvat_server, "admin", "admin") as newer:
        assert newer.post("/api/auth/signing", json={"url": "/x"}).status_code == 404


def test_access_tokens_only_from_2_48(cvat_2_26):
    with token_client(cvat_2_26, "admin", "admin") as admin:
        assert admin.get("/api/auth/access_tokens").status_code == 404
        bearer = admin.get("/api/users/self", headers={"Authorization": "Bearer abc.def"})
    # a Bearer header means nothing to CVAT 2.26: the caller is anonymous
    assert bearer.json() == {"detail": "Authentication credentials were not provided."}


def test_schema_endpoint_serves_yaml_and_json(admin):
    yaml_response = admin.get("/api/schema/")
    assert yaml_response.headers["content-type"].startswith("application/vnd.oai.openapi")
    assert yaml_response.text.startswith("openapi: 3.0.3")
    as_json = admin.get("/api/schema/?scheme=json").json()
    assert "/api/auth/access_tokens" in as_json["paths"]
    assert as_json["info"]["version"] == "2.80.0"
    negotiated = admin.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert negotiated.json() == as_json
    assert admin.get("/api/docs").status_code == 200


def test_append_slash_redirects_like_django(admin):
    response = admin.get("/api/schema?scheme=json", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "/api/schema/?scheme=json"


def test_405_carries_allow_and_options_answers_drf_metadata(versioned_server, versioned_admin):
    with httpx.Client(base_url=versioned_server.url) as anonymous:
        _check_allow_and_options(anonymous, versioned_admin)


def _check_allow_and_options(anonymous, versioned_admin):
    refused = anonymous.post("/api/server/about")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, OPTIONS"
    assert refused.json() == {"detail": 'Method "POST" not allowed.'}
    wrong = versioned_admin.delete("/api/tasks")
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET, POST, HEAD, OPTIONS")
    # every answer of a view carries its Allow (DRF's finalize_response)
    assert versioned_admin.get("/api/tasks").headers["allow"] == "GET, POST, HEAD, OPTIONS"
    assert anonymous.options("/api/tasks").status_code == 401
    meta = versioned_admin.options("/api/tasks")
    assert meta.status_code == 200
    assert meta.headers["allow"] == "GET, POST, HEAD, OPTIONS"
    body = meta.json()
    assert (body["name"], body["renders"]) == ("Task List", ["application/vnd.cvat+json"])
    assert "multipart/form-data" in body["parses"]
    name = body["actions"]["POST"]["name"]
    assert (name["type"], name["required"], name["max_length"]) == ("string", True, 256)
    detail = versioned_admin.options("/api/tasks/1").json()
    assert detail["name"] == "Task Instance" and "actions" not in detail
    about = anonymous.options("/api/server/about")
    assert about.status_code == 200 and about.headers["allow"] == "GET, HEAD, OPTIONS"
