"""Raw HTTP edge cases of authentication: what CVAT answers, byte for byte where it matters."""

from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile

import httpx
import pytest

from tests.conftest import STRONG_PASSWORD

UNABLE = {"non_field_errors": ["Unable to log in with provided credentials."]}
MUST_INCLUDE = ['Must include either "username" or "email" and "password".']


def login(http: httpx.Client, keep_session: bool = False, **body) -> httpx.Response:
    """POST /api/auth/login; the client forgets the session cookies unless asked to keep them
    (with them, a later unsafe request would need the CSRF header, as in CVAT)."""
    response = http.post("/api/auth/login", json=body)
    if not keep_session:
        http.cookies.clear()
    return response


# --- login ------------------------------------------------------------------------------
def test_login_sets_django_cookies_and_returns_the_same_key_each_time(http):
    first = login(http, username="admin", password="admin")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/vnd.cvat+json"
    key = first.json()["key"]
    assert len(key) == 40 and int(key, 16) >= 0
    cookies = {c.split("=", 1)[0]: c for c in first.headers.get_list("set-cookie")}
    assert set(cookies) == {"csrftoken", "sessionid", "sessionfresh"}
    assert "Path=/" in cookies["csrftoken"] and "HttpOnly" not in cookies["csrftoken"]
    assert "HttpOnly" in cookies["sessionid"] and "Max-Age=1209600" in cookies["sessionid"]
    assert "expires=" in cookies["sessionid"].lower()
    assert login(http, username="admin", password="admin").json()["key"] == key


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"username": "admin", "password": "wrong"}, UNABLE),
        ({"username": "nobody", "password": "x"}, UNABLE),
        ({"username": "admin"}, MUST_INCLUDE),
        ({"username": "admin", "password": ""}, MUST_INCLUDE),
        ({"password": "admin"}, MUST_INCLUDE),
        ({"email": "nobody@example.com", "password": "x"},
         ["Unable to login with provided credentials"]),
        ({"email": "not-an-email", "password": "x"}, ["Unable to login with provided credentials"]),
        ({"email": "admin@localhost.com", "password": "wrong"}, UNABLE),
    ],
)
def test_login_failures_have_cvats_bodies(http, body, expected):
    response = login(http, **body)
    assert response.status_code == 400
    assert response.json() == expected


def test_login_by_email_in_either_field_and_username_case_insensitively(http):
    assert login(http, email="ADMIN@localhost.com", password="admin").status_code == 200
    assert login(http, username="admin@localhost.com", password="admin").status_code == 200
    assert login(http, username="ADMIN", password="admin").status_code == 200


def test_inactive_user_fails_like_a_wrong_password(cvat_server, http):
    cvat_server.create_user("sleepy", STRONG_PASSWORD, is_active=False)
    response = login(http, username="sleepy", password=STRONG_PASSWORD)
    assert (response.status_code, response.json()) == (400, UNABLE)


def test_login_body_must_be_json(http):
    bad = http.post("/api/auth/login", content=b"{oops",
                    headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("JSON parse error - ")
    form = http.post("/api/auth/login", data={"username": "admin", "password": "admin"})
    assert form.status_code == 415
    assert form.json() == {
        "detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'
    }
    listed = http.post("/api/auth/login", json=["admin"])
    assert (listed.status_code, listed.json()) == (400, MUST_INCLUDE)


def admin_key(server) -> str:
    with httpx.Client(base_url=server.url) as client:
        return login(client, username="admin", password="admin").json()["key"]


# --- the authenticators -------------------------------------------------------------------
def assert_401(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Token"


def test_no_credentials(http):
    assert_401(http.get("/api/users/self"), "Authentication credentials were not provided.")


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
        ("Token 0123456789abcdef", "Invalid token."),
        ("Basic", "Invalid basic header. No credentials provided."),
        ("Basic a b", "Invalid basic header. Credentials string should not contain spaces."),
        ("Basic !!!", "Invalid basic header. Credentials not correctly base64 encoded."),
        ("Basic " + base64.b64encode(b"admin:wrong").decode(), "Invalid username/password."),
    ],
)
def test_bad_credentials_fail_even_on_public_endpoints(http, header, detail):
    for path in ("/api/users/self", "/api/server/about"):
        assert_401(http.get(path, headers={"Authorization": header}), detail)


def test_token_keyword_is_case_insensitive_and_basic_takes_an_email(http):
    key = login(http, username="admin", password="admin").json()["key"]
    assert http.get("/api/users/self", headers={"Authorization": f"token {key}"}).status_code == 200
    basic = base64.b64encode(b"admin@localhost.com:admin").decode()
    me = http.get("/api/users/self", headers={"Authorization": f"Basic {basic}"})
    assert me.json()["username"] == "admin"


def test_deactivated_user_token_is_refused(cvat_server, http, admin):
    created = cvat_server.create_user("temp", STRONG_PASSWORD)
    key = login(http, username="temp", password=STRONG_PASSWORD).json()["key"]
    admin.patch(f"/api/users/{created['id']}", json={"is_active": False})
    assert_401(http.get("/api/users/self", headers={"Authorization": f"Token {key}"}),
               "User inactive or deleted.")


# --- session + CSRF ---------------------------------------------------------------------------
@pytest.fixture
def session(cvat_server, http) -> httpx.Client:
    """``http`` holding the admin's session cookies (no Authorization header)."""
    assert login(http, keep_session=True, username="admin", password="admin").status_code == 200
    return http


def test_session_reads_need_no_csrf(session):
    assert session.get("/api/users/self").json()["username"] == "admin"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "CSRF token missing."),
        ({"X-CSRFToken": "x" * 32}, "CSRF token from the 'X-Csrftoken' HTTP header incorrect."),
        ({"X-CSRFToken": "short"},
         "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."),
        ({"X-CSRFToken": "!" * 32},
         "CSRF token from the 'X-Csrftoken' HTTP header has invalid characters."),
        ({"Origin": "http://evil.example"},
         "Origin checking failed - http://evil.example does not match any trusted origins."),
    ],
)
def test_session_writes_need_csrf(session, headers, reason):
    response = session.patch("/api/users/1", json={"first_name": "X"}, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": f"CSRF Failed: {reason}"}


def test_session_write_with_csrf_header_and_origin(session, cvat_server):
    token = session.cookies["csrftoken"]
    response = session.patch("/api/users/1", json={"first_name": "Ada"},
                             headers={"X-CSRFToken": token, "Origin": cvat_server.url})
    assert response.status_code == 200 and response.json()["first_name"] == "Ada"


def test_token_beats_session_so_no_csrf_is_checked(cvat_server, session):
    key = admin_key(cvat_server)
    response = session.patch("/api/users/1", json={"first_name": "B"},
                             headers={"Authorization": f"Token {key}"})
    assert response.status_code == 200


def test_second_login_with_a_session_cookie_needs_csrf(session):
    again = session.post("/api/auth/login", json={"username": "admin", "password": "admin"})
    assert again.json() == {"detail": "CSRF Failed: CSRF token missing."}


def test_logout_deletes_token_and_session(cvat_server, session):
    key = admin_key(cvat_server)
    out = session.post("/api/auth/logout", headers={"X-CSRFToken": session.cookies["csrftoken"]})
    assert (out.status_code, out.json()) == (200, {"detail": "Successfully logged out."})
    assert any(c.startswith('sessionid=""') or c.startswith("sessionid=;")
               for c in out.headers.get_list("set-cookie"))
    assert_401(session.get("/api/users/self", headers={"Authorization": f"Token {key}"}),
               "Invalid token.")
    session.cookies.clear()
    anonymous = session.post("/api/auth/logout")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"detail": "Successfully logged out."}


# --- registration and passwords ----------------------------------------------------------------
def test_register_creates_a_logged_in_user(http):
    response = http.post("/api/auth/register", json={
        "username": "newbie", "email": "newbie@example.com",
        "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD,
    })
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "newbie" and body["email_verification_required"] is False
    assert set(body) == {"username", "email", "first_name", "last_name",
                         "email_verification_required", "key"}
    me = http.get("/api/users/self", headers={"Authorization": f"Token {body['key']}"}).json()
    assert me["groups"] == ["user"] and me["is_staff"] is False


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"username": "abc", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
         {"username": ["Ensure this field has at least 5 characters."]}),
        ({"username": "admin", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
         {"username": ["A user with that username already exists."]}),
        ({"username": "new comer!", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
         {"username": ["Enter a valid username. This value may contain only letters, numbers, "
                       "and @/./+/-/_ characters."]}),
        ({"username": "other", "email": "ADMIN@localhost.com", "password1": STRONG_PASSWORD,
          "password2": STRONG_PASSWORD},
         {"email": ["A user is already registered with this e-mail address."]}),
        ({"username": "other", "password1": STRONG_PASSWORD, "password2": "different-Pass1"},
         {"non_field_errors": ["The two password fields didn't match."]}),
        ({"username": "longusername", "password1": "longusername1",
          "password2": "longusername1"},
         {"non_field_errors": ["The password is too similar to the username."]}),
    ],
)
def test_register_validation(http, body, expected):
    response = http.post("/api/auth/register", json=body)
    assert (response.status_code, response.json()) == (400, expected)


SHORT = "Ensure this field has at least 8 characters."


@pytest.mark.parametrize(
    ("body", "expected_2_26", "expected_2_80"),
    [
        # 2.26: Django's validators (on password1 only); 2.63+: the serializer's 8..256 first
        ({"username": "other", "password1": "1234", "password2": "1234"},
         {"password1": ["This password is too short. It must contain at least 8 characters.",
                        "This password is too common.", "This password is entirely numeric."]},
         {"password1": [SHORT], "password2": [SHORT]}),
        ({"password1": "x"},
         {"username": ["This field is required."], "password2": ["This field is required."],
          "password1": ["This password is too short. It must contain at least 8 characters.",
                        "This password is too common."]},
         {"username": ["This field is required."], "password2": ["This field is required."],
          "password1": [SHORT]}),
    ],
)
def test_register_password_lengths_per_version(versioned_server, body, expected_2_26,
                                               expected_2_80):
    old = versioned_server.settings.cvat_version == "2.26.2"
    response = httpx.post(f"{versioned_server.url}/api/auth/register", json=body)
    assert (response.status_code, response.json()) == (
        400, expected_2_26 if old else expected_2_80)


def test_a_long_password_is_refused_from_2_63(versioned_server):
    body = {"username": "other", "password1": "Aa1!" * 65, "password2": "Aa1!" * 65}
    response = httpx.post(f"{versioned_server.url}/api/auth/register", json=body)
    if versioned_server.settings.cvat_version == "2.26.2":
        assert response.status_code == 201
    else:
        too_long = ["Ensure this field has no more than 256 characters."]
        assert (response.status_code, response.json()) == (
            400, {"password1": too_long, "password2": too_long})


def test_password_change(cvat_server, http, alice):
    wrong = alice.post("/api/auth/password/change", json={
        "old_password": "nope", "new_password1": "Another-Passw0rd",
        "new_password2": "Another-Passw0rd"})
    assert wrong.json() == {"old_password": [
        "Your old password was entered incorrectly. Please enter it again."]}
    mismatch = alice.post("/api/auth/password/change", json={
        "old_password": STRONG_PASSWORD, "new_password1": "Another-Passw0rd",
        "new_password2": "Another-Passw0rd2"})
    assert mismatch.json() == {"new_password2": ["The two password fields didn’t match."]}
    ok = alice.post("/api/auth/password/change", json={
        "old_password": STRONG_PASSWORD, "new_password1": "Another-Passw0rd",
        "new_password2": "Another-Passw0rd"})
    assert (ok.status_code, ok.json()) == (200, {"detail": "New password has been saved."})
    assert login(http, username="alice", password="Another-Passw0rd").status_code == 200
    assert login(http, username="alice", password=STRONG_PASSWORD).status_code == 400


def test_password_change_ends_other_sessions(cvat_server, alice):
    with httpx.Client(base_url=cvat_server.url) as other:
        login(other, keep_session=True, username="alice", password=STRONG_PASSWORD)
        assert other.get("/api/users/self").status_code == 200
        alice.post("/api/auth/password/change", json={
            "old_password": STRONG_PASSWORD, "new_password1": "Another-Passw0rd",
            "new_password2": "Another-Passw0rd"})
        assert other.get("/api/users/self").status_code == 401


def test_password_reset_through_the_outbox(cvat_server, http, alice):
    unknown = http.post("/api/auth/password/reset", json={"email": "ghost@example.com"})
    assert (unknown.status_code, unknown.json()) == (
        200, {"detail": "Password reset e-mail has been sent."})
    assert cvat_server.outbox() == []
    http.post("/api/auth/password/reset", json={"email": "alice@example.com"})
    (mail,) = cvat_server.outbox()
    assert mail["to"] == "alice@example.com" and mail["uid"] == base36(2)
    assert http.get("/_mockcvat/outbox").json() == [mail]

    def confirm(**overrides):
        body = {"uid": mail["uid"], "token": mail["token"],
                "new_password1": "Reset-Passw0rd!", "new_password2": "Reset-Passw0rd!"}
        return http.post("/api/auth/password/reset/confirm", json={**body, **overrides})

    assert confirm(uid="zzzz").json() == {"uid": ["Invalid value"]}
    assert confirm(token="1-abc").json() == {"token": ["Invalid value"]}
    assert confirm(new_password2="Reset-Passw0rd?").json() == {
        "new_password2": ["The two password fields didn’t match."]}
    assert confirm(new_password1="x", new_password2="x").json() == {  # 2.63+: 8..256
        "new_password1": [SHORT], "new_password2": [SHORT]}
    done = confirm()
    assert (done.status_code, done.json()) == (
        200, {"detail": "Password has been reset with the new password."})
    assert login(http, username="alice", password="Reset-Passw0rd!").status_code == 200
    assert confirm().json() == {"token": ["Invalid value"]}  # used up with the old password


def base36(number: int) -> str:
    return "0123456789abcdefghijklmnopqrstuvwxyz"[number] if number < 36 else "?"


# --- rules ------------------------------------------------------------------------------------
def test_rules_bundle_needs_no_auth_and_supports_etag(http):
    response = http.get("/api/auth/rules", headers={"Authorization": "Token bogus"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(response.content))) as tar:
        rules = json.load(tar.extractfile("rules/mockcvat.json"))
    assert {r["resource"] for r in rules["rules"]} >= {"users", "server"}
    again = http.get("/api/auth/rules", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
