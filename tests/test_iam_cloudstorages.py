"""The cloud storage policy, table-driven (``cvat/apps/engine/rules/cloudstorages.rego``):
role x action -> the status CVAT answers and, for lists, the rows it shows.

The world: organization ``acme`` owned by olga, with max (maintainer), sue (supervisor) and walt
(worker); max's storage S_ACME in acme; paul's storage S_PAUL in his personal workspace; nina
owns another organization and is no member of acme. Storages point at one moto bucket.
"""

from __future__ import annotations

import pytest

from tests.conftest import STRONG_PASSWORD, token_client
from tests.policy_table import check

ACME = {"X-Organization": "acme"}
USERS = ("olga", "max", "sue", "walt", "nina", "paul")


@pytest.fixture
def world(cvat_server, admin, s3_server):
    for name in USERS:
        cvat_server.create_user(name, STRONG_PASSWORD)
    cvat_server.create_organization("acme", "olga", members={
        "max": "maintainer", "sue": "supervisor", "walt": "worker"})
    cvat_server.create_organization("other", "nina")
    bucket = s3_server.make_bucket()
    spec = {"provider_type": "AWS_S3_BUCKET", "resource": bucket, "display_name": "b",
            "credentials_type": "KEY_SECRET_KEY_PAIR", "key": "k", "secret_key": "s",
            "specific_attributes": f"endpoint_url={s3_server.endpoint}"}
    clients = {"admin": admin}
    for name in USERS:
        clients[name] = token_client(cvat_server, name, STRONG_PASSWORD)
    acme = clients["max"].post("/api/cloudstorages", json=spec, headers=ACME)
    paul = clients["paul"].post("/api/cloudstorages", json=spec)
    assert acme.status_code == paul.status_code == 201
    yield clients, spec, acme.json()["id"], paul.json()["id"]
    for name in USERS:
        clients[name].close()


# (who, org header?, expected status or (200, rows))
LIST_IN_ACME = [("admin", 1), ("olga", 1), ("max", 1), ("sue", 1), ("walt", 0),
                ("nina", 403), ("paul", 403)]
LIST_NO_ORG = [("admin", 2), ("olga", 0), ("max", 1), ("walt", 0), ("paul", 1)]
VIEW_ACME = [("admin", 200), ("olga", 200), ("max", 200), ("sue", 200), ("walt", 403),
             ("nina", 403), ("paul", 403)]
UPDATE_ACME = [("admin", 200), ("olga", 200), ("max", 200), ("sue", 403), ("walt", 403),
               ("nina", 403)]
VIEW_PAUL = [("admin", 200), ("paul", 200), ("max", 403), ("olga", 403)]
CREATE_IN_ACME = [("admin", 201), ("olga", 201), ("max", 201), ("sue", 403), ("walt", 403),
                  ("nina", 403)]


def test_lists(world):
    clients, _, _, _ = world
    for who, rows in LIST_IN_ACME:
        expected = rows if rows == 403 else (200, rows)
        check(clients[who].get("/api/cloudstorages", headers=ACME), expected)
    for who, rows in LIST_NO_ORG:
        check(clients[who].get("/api/cloudstorages"), (200, rows))


def test_detail_actions_are_judged_in_the_storage_s_organization(world):
    clients, _, acme, paul = world
    for who, expected in VIEW_ACME:
        for path in ("", "/status", "/content-v2"):
            check(clients[who].get(f"/api/cloudstorages/{acme}{path}"), expected)
    for who, expected in UPDATE_ACME:
        check(clients[who].patch(f"/api/cloudstorages/{acme}", json={"description": who}),
              expected)
    for who, expected in VIEW_PAUL:
        check(clients[who].get(f"/api/cloudstorages/{paul}"), expected)
    check(clients["sue"].delete(f"/api/cloudstorages/{acme}"), 403)
    check(clients["max"].delete(f"/api/cloudstorages/{acme}"), 204)


def test_create(world):
    clients, spec, _, _ = world
    for who, expected in CREATE_IN_ACME:
        check(clients[who].post("/api/cloudstorages", json=spec, headers=ACME), expected)
    check(clients["walt"].post("/api/cloudstorages", json=spec), 201)


def test_a_task_may_use_only_storages_of_its_workspace(world):
    """The view of the storage is judged in the task's workspace: a personal task may use its
    owner's storages (an org one too, as the rego's sandbox rule allows), an org task only
    the org's storages."""
    clients, _, acme, paul = world
    body = {"name": "t", "labels": [{"name": "a"}]}
    for who, storage_id, headers, expected in (
            ("paul", paul, {}, 201), ("max", acme, {}, 201), ("max", acme, ACME, 201),
            ("paul", acme, {}, 403), ("max", paul, ACME, 403), ("sue", acme, ACME, 201)):
        response = clients[who].post("/api/tasks", headers=headers, json={
            **body, "source_storage": {"location": "cloud_storage",
                                       "cloud_storage_id": storage_id}})
        check(response, expected)
