"""/api/users over raw HTTP: who sees what, who may change what, and the list engine."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import STRONG_PASSWORD

BASIC_FIELDS = {"url", "id", "username", "first_name", "last_name"}
FULL_FIELDS = BASIC_FIELDS | {"email", "groups", "is_staff", "is_superuser", "is_active",
                              "last_login", "date_joined", "has_analytics_access",
                              # the profile of 2.75-2.79 (the 2.80 default)
                              "created_via", "email_verified", "cvat_usage_reason",
                              "primary_role", "planned_activities", "data_types",
                              "discovery_source"}


@pytest.fixture
def many_users(cvat_server):
    """admin (id 1) and user01..user11 (ids 2..12), every third inactive."""
    for n in range(1, 12):
        cvat_server.create_user(f"user{n:02d}", STRONG_PASSWORD, first_name=f"First{n}",
                                last_name="Odd" if n % 2 else "Even", is_active=n % 3 != 0)


def usernames(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [u["username"] for u in response.json()["results"]]


# --- visibility and shapes ---------------------------------------------------------------------
def test_admin_lists_everyone_with_full_profiles(admin, alice):
    page = admin.get("/api/users").json()
    assert page["count"] == 2 and [u["username"] for u in page["results"]] == ["alice", "admin"]
    assert set(page["results"][0]) == FULL_FIELDS


def test_regular_user_lists_only_themselves_in_the_basic_shape(alice, admin):
    page = alice.get("/api/users").json()
    assert page["count"] == 1
    assert set(page["results"][0]) == BASIC_FIELDS  # even for oneself, as CVAT does


def test_self_and_own_id_give_the_full_profile_others_are_forbidden(alice):
    me = alice.get("/api/users/self").json()
    assert set(me) == FULL_FIELDS and me["groups"] == ["user"]
    assert alice.get(f"/api/users/{me['id']}").json() == me
    assert alice.get("/api/users/1").status_code == 403
    assert alice.get("/api/users/999").json() == {"detail": "No User matches the given query."}
    assert alice.get("/api/users/abc").json() == {"detail": "Not found."}


def test_regular_user_may_only_patch_basic_fields_of_themselves(alice):
    me = alice.get("/api/users/self").json()
    renamed = alice.patch(f"/api/users/{me['id']}", json={"first_name": "Ally"})
    assert renamed.status_code == 200 and set(renamed.json()) == BASIC_FIELDS
    escalate = alice.patch(f"/api/users/{me['id']}", json={"is_staff": True})
    assert escalate.json() == {"non_field_errors": [
        "You do not have permissions to access some of these fields: {'is_staff'}"]}
    email = alice.patch(f"/api/users/{me['id']}", json={"email": "x@example.com"})
    assert email.json() == {"non_field_errors": ["Got unknown fields: {'email'}"]}
    assert alice.patch("/api/users/1", json={"first_name": "X"}).status_code == 403
    assert alice.delete("/api/users/1").status_code == 403


def test_admin_patch_validation(admin, alice):
    me = admin.get("/api/users/self").json()
    assert admin.patch("/api/users/2", json={"groups": ["wizard"]}).json() == {
        "groups": ["Object with name=wizard does not exist."]}
    assert admin.patch("/api/users/2", json={"groups": ["business"]}).json() == {
        "groups": ["Object with name=business does not exist."]}  # gone since CVAT 2.22
    assert admin.patch("/api/users/2", json={"username": "admin"}).json() == {
        "username": ["A user with that username already exists."]}
    assert admin.patch("/api/users/2", json={"username": "bad name!"}).json() == {
        "username": ["Enter a valid username. This value may contain only letters, numbers, "
                     "and @/./+/-/_ characters."]}
    assert admin.patch("/api/users/2", json={"is_active": "perhaps"}).json() == {
        "is_active": ["Must be a valid boolean."]}
    assert admin.patch("/api/users/2", json=[1]).json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    promoted = admin.patch("/api/users/2", json={"groups": ["admin", "user"], "is_staff": "true"})
    assert promoted.json()["groups"] == ["admin", "user"] and promoted.json()["is_staff"] is True
    assert me["username"] == "admin"


def test_users_can_delete_themselves(alice, admin):
    assert alice.delete("/api/users/2").status_code == 204
    assert admin.get("/api/users/2").status_code == 404


def test_method_not_allowed_and_unknown_paths(admin):
    put = admin.put("/api/users/1", json={})
    assert (put.status_code, put.json()) == (405, {"detail": 'Method "PUT" not allowed.'})
    assert admin.post("/api/users", json={}).status_code == 405
    unknown = admin.get("/api/users/")
    assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"]


def test_content_negotiation_is_strict_like_drf(admin):
    refused = admin.get("/api/users", headers={"Accept": "application/json"})
    assert (refused.status_code, refused.json()) == (
        406, {"detail": "Could not satisfy the request Accept header."})
    old = admin.get("/api/users", headers={"Accept": "application/vnd.cvat+json; version=1.0"})
    assert old.json() == {"detail": 'Invalid version in "Accept" header.'}
    ok = admin.get("/api/users", headers={"Accept": "application/vnd.cvat+json; version=2.0"})
    assert ok.status_code == 200


# --- the list engine through /api/users ----------------------------------------------------------
def test_default_page_is_ten_newest_first_with_absolute_links(admin, many_users, cvat_server):
    page = admin.get("/api/users").json()
    assert page["count"] == 12 and len(page["results"]) == 10
    assert [u["id"] for u in page["results"]] == list(range(12, 2, -1))
    assert page["previous"] is None
    assert page["next"] == f"{cvat_server.url}/api/users?page=2"
    second = admin.get(page["next"]).json()
    assert [u["id"] for u in second["results"]] == [2, 1] and second["next"] is None
    assert second["previous"] == f"{cvat_server.url}/api/users"  # page 1 drops the parameter


@pytest.mark.parametrize(
    ("query", "count", "shown"),
    [
        ("page_size=5", 12, 5),
        ("page_size=all", 12, 12),
        ("page_size=0", 12, 10),
        ("page_size=-3", 12, 10),
        ("page_size=abc", 12, 10),
        ("page_size=100000", 12, 12),
        ("page=last&page_size=5", 12, 2),
        ("page=", 12, 10),
    ],
)
def test_page_and_page_size(admin, many_users, query, count, shown):
    page = admin.get(f"/api/users?{query}").json()
    assert (page["count"], len(page["results"])) == (count, shown)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "3", "99"])
def test_invalid_pages_are_drf_404s(admin, many_users, page):
    response = admin.get(f"/api/users?page={page}")
    assert (response.status_code, response.json()) == (404, {"detail": "Invalid page."})


def test_next_link_keeps_other_parameters_sorted(admin, many_users, cvat_server):
    page = admin.get("/api/users?sort=username&page_size=3&search=user").json()
    query = parse_qs(urlsplit(page["next"]).query)
    assert query == {"page": ["2"], "page_size": ["3"], "search": ["user"], "sort": ["username"]}
    assert page["next"].startswith(f"{cvat_server.url}/api/users?page=2&page_size=3")


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("username", ["admin", "user01", "user02"]),
        ("-username", ["user11", "user10", "user09"]),
        ("last_name,-id", ["admin", "user10", "user08"]),  # "" < "Even" < "Odd"
        ("nonsense", ["user11", "user10", "user09"]),  # unknown fields: default order
        ("nonsense,username", ["admin", "user01", "user02"]),
    ],
)
def test_sort(admin, many_users, sort, first):
    assert usernames(admin.get(f"/api/users?sort={sort}&page_size=3")) == first


def test_search_terms_and_simple_filters(admin, many_users):
    assert usernames(admin.get("/api/users?search=first1&sort=id")) == ["user01", "user10",
                                                                        "user11"]
    assert usernames(admin.get("/api/users?search=first1,odd&sort=id")) == ["user01", "user11"]
    assert usernames(admin.get("/api/users?search=FIRST7")) == ["user07"]
    assert usernames(admin.get("/api/users?username=user05")) == ["user05"]
    assert usernames(admin.get("/api/users?username=USER05")) == []  # exact, case-sensitive
    inactive = admin.get("/api/users?is_active=false&sort=id")
    assert usernames(inactive) == ["user03", "user06", "user09"]
    # unrecognised booleans are ignored, as by django-filter
    assert admin.get("/api/users?is_active=maybe").json()["count"] == 12
    assert admin.get("/api/users?username=").json()["count"] == 12


def test_json_logic_filter(admin, many_users):
    rules = {"and": [{"==": [{"var": "last_name"}, "Even"]}, {"<=": [4, {"var": "id"}, 9]}]}
    response = admin.get("/api/users", params={"filter": json.dumps(rules), "sort": "id"})
    assert usernames(response) == ["user04", "user06", "user08"]
    assert response.json()["count"] == 3


@pytest.mark.parametrize(
    ("value", "body"),
    [
        ("{", ["filter: Json syntax should be used"]),
        ('{"!=":[{"var":"id"},1]}',
         ["filter: != operation with [{'var': 'id'}, 1] arguments is not implemented"]),
        ('{"==":[{"var":"email"},"x"]}', ["filter: 'email' term is not supported"]),
    ],
)
def test_bad_filters_are_cvats_400s(admin, value, body):
    response = admin.get("/api/users", params={"filter": value})
    assert (response.status_code, response.json()) == (400, body)


def test_null_character_in_search(admin):
    response = admin.get("/api/users", params={"search": "a\x00b"})
    assert (response.status_code, response.json()) == (
        400, {"search": ["Null characters are not allowed."]})
