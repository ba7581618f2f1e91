"""The webhook and event-log policy, table-driven (webhooks.rego, events.rego), in the world of
``test_iam_organizations`` plus:

* ``p_walt``: a project of acme owned by walt (a worker there), with ``h_walt``, a project
  webhook walt made; ``h_org``: an organization webhook of acme made by olga;
* ``p_paul``: paul's personal project, with ``h_paul``, his project webhook.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_iam_organizations as organizations
from tests.conftest import STRONG_PASSWORD, token_client
from tests.policy_table import Expected, check
from tests.test_iam_organizations import ACME, Action, World, case

# the same world, as fixtures of this module (a server of its own, built once)
world, built_org_world = organizations.world, organizations.built_org_world

DEAD = "http://127.0.0.1:9/hook"  # nothing listens: deliveries fail fast with a 502
LABELS = [{"name": "car"}]


@pytest.fixture
def hooks(world: World) -> dict[str, int]:
    server = world.server
    with token_client(server, "olga", STRONG_PASSWORD) as olga, \
            token_client(server, "walt", STRONG_PASSWORD) as walt, \
            token_client(server, "paul", STRONG_PASSWORD) as paul:
        p_walt = olga.post("/api/projects", headers=ACME, json={
            "name": "walts", "labels": LABELS, "owner_id": world.ids["walt"]}).json()["id"]
        h_org = olga.post("/api/webhooks", headers=ACME, json={
            "target_url": DEAD, "type": "organization", "events": ["create:task"]})
        h_walt = walt.post("/api/webhooks", headers=ACME, json={
            "target_url": DEAD, "type": "project", "project_id": p_walt,
            "events": ["create:task"]})
        p_paul = paul.post("/api/projects", json={"name": "pauls", "labels": LABELS}).json()
        h_paul = paul.post("/api/webhooks", json={
            "target_url": DEAD, "type": "project", "project_id": p_paul["id"],
            "events": ["create:task"]})
    for made in (h_org, h_walt, h_paul):
        assert made.status_code == 201, made.text
    return {"p_walt": p_walt, "h_org": h_org.json()["id"], "h_walt": h_walt.json()["id"],
            "p_paul": p_paul["id"], "h_paul": h_paul.json()["id"]}


def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
         ) -> Any:
    def run(client: Any, ids: dict[str, int]) -> Any:
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = {k: (v.format(**ids) if isinstance(v, str) and "{" in v else v)
                              for k, v in body.items()}
            if "project_id" in kwargs["json"]:
                kwargs["json"]["project_id"] = int(kwargs["json"]["project_id"])
        return client.request(method, path.format(**ids), **kwargs)
    return run


ORG_HOOK = {"target_url": DEAD, "type": "organization", "events": ["create:task"]}
WALT_HOOK = {"target_url": DEAD, "type": "project", "project_id": "{p_walt}",
             "events": ["create:task"]}

#            admin      owner      maint.     superv.    worker     non-member plain
CASES = [
    *case("list-in-acme", call("GET", "/api/webhooks", headers=ACME),
          ((200, 2), (200, 2), (200, 2), (200, 0), (200, 1), 403, 403)),
    *case("list-no-org", call("GET", "/api/webhooks"),
          ((200, 3), (200, 1), (200, 0), (200, 0), (200, 1), (200, 0), (200, 1))),
    *case("list-personal", call("GET", "/api/webhooks?org="),
          ((200, 1), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 1))),
    *case("view-org-hook-in-acme", call("GET", "/api/webhooks/{h_org}", headers=ACME),
          (200, 200, 200, 403, 403, 403, 403)),
    *case("view-org-hook-no-org", call("GET", "/api/webhooks/{h_org}"),
          (200, 200, 403, 403, 403, 403, 403)),
    *case("view-project-hook-in-acme", call("GET", "/api/webhooks/{h_walt}", headers=ACME),
          (200, 200, 200, 403, 200, 403, 403)),
    *case("view-personal-hook", call("GET", "/api/webhooks/{h_paul}"),
          (200, 403, 403, 403, 403, 403, 200)),
    *case("create-org-hook", call("POST", "/api/webhooks", ORG_HOOK, ACME),
          (201, 201, 201, 403, 403, 403, 403)),
    *case("create-project-hook-in-acme", call("POST", "/api/webhooks", WALT_HOOK, ACME),
          (201, 201, 201, 403, 201, 403, 403)),
    *case("update-project-hook", call("PATCH", "/api/webhooks/{h_walt}",
                                      {"description": "d"}, ACME),
          (200, 200, 200, 403, 200, 403, 403)),
    *case("delete-org-hook", call("DELETE", "/api/webhooks/{h_org}", headers=ACME),
          (204, 204, 204, 403, 403, 403, 403)),
    *case("ping-personal-hook", call("POST", "/api/webhooks/{h_paul}/ping"),
          (200, 403, 403, 403, 403, 403, 200)),
    *case("deliveries-of-org-hook", call("GET", "/api/webhooks/{h_org}/deliveries",
                                         headers=ACME),
          (200, 200, 200, 403, 403, 403, 403)),
    # --- events.rego: dump:events ---
    *case("events-dump-in-acme", call("GET", "/api/events", headers=ACME),
          (202, 202, 202, 202, 202, 403, 403)),
    *case("events-dump-no-org", call("GET", "/api/events"),
          (202, 202, 202, 202, 202, 202, 202)),
    *case("events-send", call("POST", "/api/events", {"timestamp": "2026-01-01T00:00:00Z"}),
          (201, 201, 201, 201, 201, 201, 201)),
]


@pytest.mark.parametrize(("action", "role", "expected"), CASES)
def test_policy(world: World, hooks: dict[str, int], action: Action, role: str,
                expected: Expected) -> None:
    with world.client(role) as client:
        check(action(client, hooks), expected)


def test_worker_privilege_cannot_make_personal_project_webhooks(world: World) -> None:
    """webhooks.rego: create@project in the personal workspace needs the ``user`` privilege."""
    world.server.create_user("wanda", STRONG_PASSWORD, groups=["worker"])
    with token_client(world.server, "admin", "admin") as admin:
        project = admin.post("/api/projects", json={
            "name": "w", "labels": LABELS, "owner_id": world.ids["paul"]}).json()
    with token_client(world.server, "wanda", STRONG_PASSWORD) as wanda:
        made = wanda.post("/api/webhooks", json={**WALT_HOOK, "project_id": project["id"]})
        assert made.status_code == 403
