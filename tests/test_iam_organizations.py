"""The policy, table-driven: role x action on users, organizations, memberships and
invitations -> the status CVAT answers and, for lists, exactly the rows it shows.

The world (built once per module, every case starting from it):
* organization ``acme``, owned by olga, with max (maintainer), sue (supervisor) and walt
  (worker), each invited by olga and accepted; olga also invited ghost@example.com, who has
  no account, so a stand-in user with a pending membership exists;
* organization ``other``, owned by nina (so for acme she is a non-member with an org);
* paul, a plain user in no organization; the admin.

Every row cites the rule of docs/iam.md it checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import OLD_VERSION, STRONG_PASSWORD, token_client
from tests.policy_table import Expected, check

ROLES = ("admin", "owner", "maintainer", "supervisor", "worker", "non-member", "plain")
USERNAMES = {"owner": "olga", "maintainer": "max", "supervisor": "sue", "worker": "walt",
             "non-member": "nina", "plain": "paul"}
ACME = {"X-Organization": "acme"}


@dataclass
class World:
    server: Any
    ids: dict[str, int]  # username -> user id
    orgs: dict[str, int]  # slug -> id
    memberships: dict[str, int]  # username -> membership id in acme
    invitations: dict[str, str]  # invitee username -> key (acme)

    def client(self, role: str) -> httpx.Client:
        if role == "admin":
            return token_client(self.server, *self.server.admin_credentials)
        return token_client(self.server, USERNAMES[role], STRONG_PASSWORD)


def _world_server(**settings: Any) -> Iterator[World]:
    """A server of the module's own whose start-up state is the world: built once through
    the API, then every case resets to it (``MockCVAT.take_snapshot``, on either database)."""
    from mockcvat.testing import MockCVATServer

    with MockCVATServer(**settings) as server:
        world = build_world(server)
        server.mock.take_snapshot()
        yield world


@pytest.fixture(scope="module")
def built_org_world() -> Iterator[World]:
    yield from _world_server()


@pytest.fixture(scope="module")
def built_org_world_2_26() -> Iterator[World]:
    yield from _world_server(cvat_version=OLD_VERSION)


@pytest.fixture
def world(built_org_world: World) -> World:
    built_org_world.server.reset()
    return built_org_world


@pytest.fixture
def world_2_26(built_org_world_2_26: World) -> World:
    """The same world on a 2.26.2 server: for what left CVAT later (PATCH invitations, 2.70)."""
    built_org_world_2_26.server.reset()
    return built_org_world_2_26


def build_world(cvat_server: Any) -> World:
    ids = {}
    for username in USERNAMES.values():
        ids[username] = cvat_server.create_user(
            username, STRONG_PASSWORD, email=f"{username}@example.com")["id"]
    acme = cvat_server.create_organization(
        "acme", "olga", {"max": "maintainer", "sue": "supervisor", "walt": "worker"})
    other = cvat_server.create_organization("other", "nina")
    with token_client(cvat_server, "olga", STRONG_PASSWORD) as olga:
        ghost = olga.post("/api/invitations", headers=ACME,
                          json={"role": "worker", "email": "ghost@example.com"})
        assert ghost.status_code == 201, ghost.text
        members = olga.get("/api/memberships", headers=ACME).json()["results"]
        invitations = olga.get("/api/invitations", headers=ACME).json()["results"]
    ids["ghost@example.com"] = ghost.json()["user"]["id"]
    return World(
        server=cvat_server,
        ids=ids,
        orgs={"acme": acme["id"], "other": other["id"]},
        memberships={m["user"]["username"]: m["id"] for m in members},
        invitations={i["user"]["username"]: i["key"] for i in invitations},
    )


Action = Callable[[httpx.Client, World], httpx.Response]


def case(name: str, action: Action, expected: tuple[Expected, ...]) -> Any:
    return [pytest.param(action, role, want, id=f"{name}-{role}")
            for role, want in zip(ROLES, expected, strict=True)]


def get(path: str, headers: dict[str, str] | None = None) -> Action:
    return lambda c, w: c.get(path.format(**_names(w)), headers=headers)


def patch(path: str, body: Any, headers: dict[str, str] | None = None) -> Action:
    return lambda c, w: c.patch(path.format(**_names(w)), json=body, headers=headers)


def post(path: str, body: Any = None, headers: dict[str, str] | None = None) -> Action:
    return lambda c, w: c.post(path.format(**_names(w)), json=body, headers=headers)


def delete(path: str, headers: dict[str, str] | None = None) -> Action:
    return lambda c, w: c.delete(path.format(**_names(w)), headers=headers)


def _names(w: World) -> dict[str, Any]:
    """Placeholders the paths use: {acme}, {m_walt}, {i_ghost}, {u_nina}, ..."""
    names: dict[str, Any] = {"acme": w.orgs["acme"], "other": w.orgs["other"]}
    names.update({f"m_{u}": i for u, i in w.memberships.items() if "@" not in u})
    names["m_ghost"] = w.memberships["ghost@example.com"]
    names.update({f"i_{u}": k for u, k in w.invitations.items() if "@" not in u})
    names["i_ghost"] = w.invitations["ghost@example.com"]
    names.update({f"u_{u}": i for u, i in w.ids.items()})
    return names


#            admin      owner      maint.     superv.    worker     non-member plain
CASES = [
    # --- users (users.rego) ---
    *case("users-list-in-acme", get("/api/users", ACME),
          ((200, 5), (200, 5), (200, 5), (200, 5), (200, 5), 403, 403)),
    *case("users-view-paul-in-acme", get("/api/users/{u_paul}", ACME),
          (200, 200, 200, 200, 200, 403, 200)),
    *case("users-view-nina-no-org", get("/api/users/{u_nina}"),
          (200, 403, 403, 403, 403, 200, 403)),
    # --- organizations (organizations.rego) ---
    *case("orgs-list", get("/api/organizations"),
          ((200, 2), (200, 1), (200, 1), (200, 1), (200, 1), (200, 1), (200, 0))),
    *case("orgs-list-header-ignored", get("/api/organizations", ACME),
          ((200, 2), (200, 1), (200, 1), (200, 1), (200, 1), (200, 1), (200, 0))),
    *case("orgs-create", post("/api/organizations", {"slug": "new"}),
          (201, 201, 201, 201, 201, 201, 201)),
    *case("orgs-view", get("/api/organizations/{acme}"),
          (200, 200, 200, 200, 200, 404, 404)),
    *case("orgs-update", patch("/api/organizations/{acme}", {"description": "d"}),
          (200, 200, 200, 403, 403, 404, 404)),
    *case("orgs-delete", delete("/api/organizations/{acme}"),
          (204, 204, 403, 403, 403, 404, 404)),
    # --- memberships (memberships.rego) ---
    *case("memberships-list-in-acme", get("/api/memberships", ACME),
          ((200, 5), (200, 5), (200, 5), (200, 4), (200, 4), 403, 403)),
    *case("memberships-list-no-org", get("/api/memberships"),
          ((200, 6), (200, 1), (200, 1), (200, 1), (200, 1), (200, 1), (200, 0))),
    *case("memberships-list-personal", get("/api/memberships?org="),
          ((200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0))),
    *case("memberships-view-active", get("/api/memberships/{m_walt}"),
          (200, 200, 200, 200, 200, 403, 403)),
    *case("memberships-view-pending", get("/api/memberships/{m_ghost}"),
          (200, 200, 200, 403, 403, 403, 403)),
    *case("memberships-role-of-worker", patch("/api/memberships/{m_walt}", {"role": "supervisor"}),
          (200, 200, 200, 403, 403, 403, 403)),
    *case("memberships-role-of-maintainer",
          patch("/api/memberships/{m_max}", {"role": "worker"}),
          (200, 200, 403, 403, 403, 403, 403)),
    *case("memberships-role-of-owner", patch("/api/memberships/{m_olga}", {"role": "worker"}),
          (200, 403, 403, 403, 403, 403, 403)),
    *case("memberships-empty-patch", patch("/api/memberships/{m_walt}", {}),
          (200, 200, 200, 200, 200, 403, 403)),
    *case("memberships-delete-worker", delete("/api/memberships/{m_walt}"),
          (204, 204, 204, 403, 204, 403, 403)),
    *case("memberships-delete-supervisor", delete("/api/memberships/{m_sue}"),
          (204, 204, 204, 204, 403, 403, 403)),
    *case("memberships-delete-maintainer", delete("/api/memberships/{m_max}"),
          (204, 204, 204, 403, 403, 403, 403)),
    *case("memberships-delete-owner", delete("/api/memberships/{m_olga}"),
          (204, 403, 403, 403, 403, 403, 403)),
    # --- invitations (invitations.rego) ---
    *case("invitations-list-in-acme", get("/api/invitations", ACME),
          ((200, 4), (200, 4), (200, 4), (200, 1), (200, 1), 403, 403)),
    *case("invitations-list-no-org", get("/api/invitations"),
          ((200, 4), (200, 4), (200, 1), (200, 1), (200, 1), (200, 0), (200, 0))),
    *case("invitations-create-worker",
          post("/api/invitations", {"role": "worker", "email": "paul@example.com"}, ACME),
          (201, 201, 201, 403, 403, 403, 403)),
    *case("invitations-create-maintainer",
          post("/api/invitations", {"role": "maintainer", "email": "paul@example.com"}, ACME),
          (201, 201, 403, 403, 403, 403, 403)),
    *case("invitations-create-owner",
          post("/api/invitations", {"role": "owner", "email": "paul@example.com"}, ACME),
          (201, 403, 403, 403, 403, 403, 403)),
    *case("invitations-create-no-org",
          post("/api/invitations", {"role": "worker", "email": "paul@example.com"}),
          (400, 403, 403, 403, 403, 403, 403)),
    *case("invitations-view-pending-no-org", get("/api/invitations/{i_ghost}"),
          (200, 200, 404, 404, 404, 404, 404)),
    *case("invitations-view-pending-in-acme", get("/api/invitations/{i_ghost}", ACME),
          (200, 200, 200, 404, 404, 404, 404)),
    *case("invitations-view-own", get("/api/invitations/{i_walt}"),
          (200, 200, 404, 404, 200, 404, 404)),
    *case("invitations-resend-pending", post("/api/invitations/{i_ghost}/resend", None, ACME),
          (204, 204, 204, 404, 404, 404, 404)),
    *case("invitations-resend-accepted", post("/api/invitations/{i_walt}/resend"),
          (400, 400, 404, 404, 403, 404, 404)),
    *case("invitations-accept-accepted", post("/api/invitations/{i_walt}/accept"),
          (400, 403, 404, 404, 400, 404, 404)),
    *case("invitations-decline", post("/api/invitations/{i_walt}/decline"),
          (204, 403, 404, 404, 204, 404, 404)),
    *case("invitations-delete-pending", delete("/api/invitations/{i_ghost}", ACME),
          (204, 204, 204, 404, 404, 404, 404)),
]


@pytest.mark.parametrize(("action", "role", "expected"), CASES)
def test_policy(world: World, action: Action, role: str, expected: Expected) -> None:
    with world.client(role) as client:
        check(action(client, world), expected)


# operations CVAT has removed since 2.26, checked on a 2.26.2 server
CASES_2_26 = [
    *case("invitations-patch", patch("/api/invitations/{i_ghost}", {"role": "worker"}, ACME),
          (200, 200, 200, 404, 404, 404, 404)),
]


@pytest.mark.parametrize(("action", "role", "expected"), CASES_2_26)
def test_policy_2_26(world_2_26: World, action: Action, role: str,
                     expected: Expected) -> None:
    with world_2_26.client(role) as client:
        check(action(client, world_2_26), expected)


def test_worker_privilege_cannot_create_organizations(world: World) -> None:
    """organizations.rego: create needs the ``user`` privilege."""
    world.server.create_user("wanda", STRONG_PASSWORD, groups=["worker"])
    with token_client(world.server, "wanda", STRONG_PASSWORD) as wanda:
        assert wanda.post("/api/organizations", json={"slug": "w"}).status_code == 403
        assert wanda.get("/api/organizations").json()["count"] == 0


def test_worker_privilege_owner_cannot_invite(world: World) -> None:
    """invitations.rego: org staff need the ``user`` privilege to invite."""
    world.server.create_user("wanda", STRONG_PASSWORD, groups=["worker"])
    world.server.create_organization("wands", "wanda", {"paul": "worker"})
    with token_client(world.server, "wanda", STRONG_PASSWORD) as wanda:
        response = wanda.post("/api/invitations", headers={"X-Organization": "wands"},
                              json={"role": "worker", "email": "walt@example.com"})
        assert response.status_code == 403
        # ...but may still update and delete the organization it owns (privilege >= worker)
        org = wanda.get("/api/organizations").json()["results"][0]
        assert wanda.patch(f"/api/organizations/{org['id']}", json={"name": "W"}).status_code == 200
