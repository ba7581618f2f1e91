"""Organizations, memberships and invitations: through the real cvat-sdk 2.80, then the
bad input and state changes CVAT defines, over raw HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions
from sqlalchemy import update

from mockcvat.models import Invitation
from tests.conftest import STRONG_PASSWORD, token_client

ACME = {"X-Organization": "acme"}


# --- the SDK ------------------------------------------------------------------------------------
def test_sdk_creates_lists_retrieves_updates_and_removes_organizations(cvat_client):
    org = cvat_client.organizations.create({"slug": "acme", "description": "Acme Corp"})
    assert (org.slug, org.name, org.owner.username) == ("acme", "acme", "admin")
    assert org.contact == {}
    assert cvat_client.organizations.retrieve(org.id).description == "Acme Corp"
    cvat_client.organizations.create({"slug": "globex", "name": "Globex"})
    assert [o.slug for o in cvat_client.organizations.list()] == ["globex", "acme"]
    org.update({"name": "Acme", "contact": {"email": "ops@acme.test"}})
    assert cvat_client.organizations.retrieve(org.id).contact == {"email": "ops@acme.test"}
    org.remove()
    with pytest.raises(exceptions.NotFoundException):
        cvat_client.organizations.retrieve(org.id)


def test_sdk_organization_context_scopes_memberships_and_invitations(cvat_server, cvat_client):
    cvat_server.create_user("bob", STRONG_PASSWORD, email="bob@example.com")
    cvat_client.organizations.create({"slug": "acme"})
    cvat_client.organizations.create({"slug": "globex"})
    memberships = cvat_client.api_client.memberships_api
    invitations = cvat_client.api_client.invitations_api

    with cvat_client.organization_context("acme"):
        invitation, _ = invitations.create({"role": "supervisor", "email": "BOB@example.com"})
        assert invitation.organization_info.slug == "acme"
        assert invitation.expired is None  # registered users are accepted at once
        page, _ = memberships.list()
        assert sorted((m.user.username, m.role, m.is_active) for m in page.results) == [
            ("admin", "owner", True), ("bob", "supervisor", True)]
        assert page.count == 2
    cvat_client.organization_slug = "globex"
    assert memberships.list()[0].count == 1
    assert invitations.list()[0].count == 0
    cvat_client.organization_slug = ""  # the personal workspace: no memberships there
    assert memberships.list()[0].count == 0
    cvat_client.organization_slug = None  # no context: every organization
    assert memberships.list()[0].count == 3

    with make_client(cvat_server.url, credentials=("bob", STRONG_PASSWORD)) as bob:
        assert [o.slug for o in bob.organizations.list()] == ["acme"]
        mine, _ = bob.api_client.memberships_api.list()
        bob_membership = mine.results[0]
        assert bob_membership.invitation == invitation.key
        with bob.organization_context("globex"), pytest.raises(exceptions.ForbiddenException):
            bob.api_client.memberships_api.list()
        bob.api_client.memberships_api.destroy(bob_membership.id)  # leaving
        assert bob.organizations.list() == []


def test_sdk_invitation_for_a_new_user_round_trip(cvat_server, cvat_client):
    """Invite an e-mail nobody has, register with it, accept, then change the role."""
    cvat_client.organizations.create({"slug": "acme"})
    with cvat_client.organization_context("acme"):
        invitation, _ = cvat_client.api_client.invitations_api.create(
            {"role": "worker", "email": "carol@example.com"})
    assert invitation.user.username == "carol@example.com"  # a stand-in account
    assert invitation.expired is False
    mail = cvat_server.outbox()[-1]
    assert mail["to"] == "carol@example.com" and mail["key"] == invitation.key

    with make_client(cvat_server.url) as anonymous:
        anonymous.api_client.auth_api.create_register({
            "username": "carol", "email": "carol@example.com",
            "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD})
    with make_client(cvat_server.url, credentials=("carol", STRONG_PASSWORD)) as carol:
        assert carol.organizations.list() == []  # pending: not a member yet
        accepted, _ = carol.api_client.invitations_api.accept(invitation.key)
        assert accepted.organization_slug == "acme"
        assert [o.slug for o in carol.organizations.list()] == ["acme"]
        me = carol.users.retrieve_current_user()
        assert me.id == invitation.user.id  # the stand-in account was taken over

    with cvat_client.organization_context("acme"):
        page, _ = cvat_client.api_client.memberships_api.list(user="carol")
        carol_membership = page.results[0]
        changed, _ = cvat_client.api_client.memberships_api.partial_update(
            carol_membership.id, patched_membership_write_request={"role": "maintainer"})
        assert changed.role == "maintainer" and changed.joined_date is not None


# --- raw HTTP: validation ---------------------------------------------------------------------
@pytest.mark.parametrize(("slug", "message"), [
    ("has space", 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'),
    ("x" * 17, "Ensure this field has no more than 16 characters."),
    ("", "This field may not be blank."),
    (None, "This field may not be null."),
])
def test_invalid_slugs_are_400(admin, slug, message):
    response = admin.post("/api/organizations", json={"slug": slug})
    assert response.status_code == 400
    assert response.json() == {"slug": [message]}
    assert admin.get("/api/organizations").json()["count"] == 0


def test_duplicate_slug_is_400_and_case_sensitive(admin):
    assert admin.post("/api/organizations", json={"slug": "acme"}).status_code == 201
    response = admin.post("/api/organizations", json={"slug": "acme", "name": "again"})
    assert response.status_code == 400
    assert response.json() == {"slug": ["organization with this slug already exists."]}
    assert admin.post("/api/organizations", json={"slug": "ACME"}).status_code == 201
    other = admin.post("/api/organizations", json={"slug": "other"}).json()
    clash = admin.patch(f"/api/organizations/{other['id']}", json={"slug": "acme"})
    assert clash.status_code == 400
    assert admin.get("/api/organizations?slug=acme").json()["count"] == 1


def test_organization_list_filters(admin, alice):
    for slug, name in (("acme", "Acme"), ("globex", "Globex"), ("initech", "Initech")):
        admin.post("/api/organizations", json={"slug": slug, "name": name})
    alice.post("/api/organizations", json={"slug": "wonder"})
    assert admin.get("/api/organizations?owner=alice").json()["count"] == 1
    assert admin.get("/api/organizations?search=ex").json()["count"] == 1
    names = [o["slug"] for o in admin.get("/api/organizations?sort=name").json()["results"]]
    assert names == ["acme", "globex", "initech", "wonder"]
    by_owner = admin.get('/api/organizations?filter={"==":[{"var":"owner"},"alice"]}').json()
    assert [o["slug"] for o in by_owner["results"]] == ["wonder"]
    response = admin.get('/api/organizations?filter={"==":[{"var":"description"},"x"]}')
    assert response.status_code == 400


def test_unknown_org_context_is_404(admin):
    response = admin.get("/api/memberships", headers={"X-Organization": "nope"})
    assert response.status_code == 404
    assert response.json() == {"detail": "nope organization does not exist."}


# --- raw HTTP: memberships --------------------------------------------------------------------
@pytest.fixture
def acme(cvat_server, admin):
    """acme owned by alice; bob is a worker."""
    for name in ("alice", "bob"):
        cvat_server.create_user(name, STRONG_PASSWORD, email=f"{name}@example.com")
    org = cvat_server.create_organization("acme", "alice", {"bob": "worker"})
    members = admin.get("/api/memberships", headers=ACME).json()["results"]
    return {"id": org["id"], **{m["user"]["username"]: m["id"] for m in members}}


def test_owner_cannot_be_demoted_or_leave(cvat_server, acme):
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as alice:
        for response in (alice.patch(f"/api/memberships/{acme['alice']}", json={"role": "worker"}),
                         alice.delete(f"/api/memberships/{acme['alice']}")):
            assert response.status_code == 403
        assert alice.get(f"/api/memberships/{acme['alice']}").json()["role"] == "owner"


def test_patching_other_membership_fields_is_refused(cvat_server, acme):
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as alice:
        response = alice.patch(f"/api/memberships/{acme['bob']}", json={"is_active": False})
        assert response.status_code == 403
        assert response.json() == {"detail": "Attempted to update an unknown field"}
        response = alice.patch(f"/api/memberships/{acme['bob']}", json={"role": "boss"})
        assert response.status_code == 400
        assert response.json() == {"role": ['"boss" is not a valid choice.']}
        assert alice.get(f"/api/memberships/{acme['bob']}").json()["role"] == "worker"


def test_membership_role_filter_is_validated(admin, acme):
    assert admin.get("/api/memberships?role=worker").json()["count"] == 1
    response = admin.get("/api/memberships?role=boss")
    assert response.status_code == 400
    assert response.json() == {
        "role": ["Select a valid choice. boss is not one of the available choices."]}


def test_memberships_have_no_post(admin):
    assert admin.post("/api/memberships", json={}).status_code == 405


def test_deleting_an_organization_removes_memberships_and_invitations(cvat_server, admin, acme):
    assert admin.get("/api/invitations").json()["count"] == 1
    assert admin.delete(f"/api/organizations/{acme['id']}").status_code == 204
    assert admin.get("/api/memberships").json()["count"] == 0
    assert admin.get("/api/invitations").json()["count"] == 0
    assert admin.get("/api/users?username=bob").json()["count"] == 1  # people stay


def test_deleting_the_owner_user_leaves_the_org_ownerless(admin, acme, cvat_server):
    alice_id = admin.get("/api/users?username=alice").json()["results"][0]["id"]
    assert admin.delete(f"/api/users/{alice_id}").status_code == 204
    assert admin.get(f"/api/organizations/{acme['id']}").json()["owner"] is None


# --- raw HTTP: invitations --------------------------------------------------------------------
def test_inviting_an_existing_member_is_400(cvat_server, acme):
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as alice:
        response = alice.post("/api/invitations", headers=ACME,
                              json={"role": "worker", "email": "bob@example.com"})
        assert response.status_code == 400
        assert response.json() == ["The user is a member of the organization already."]
        assert alice.get("/api/invitations", headers=ACME).json()["count"] == 1


def test_invitation_validation(cvat_server, acme):
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as alice:
        response = alice.post("/api/invitations", headers=ACME, json={"email": "x@example.com"})
        assert response.status_code == 400
        assert response.json() == {"role": ["This field is required."]}
        response = alice.post("/api/invitations", headers=ACME,
                              json={"role": "worker", "email": "not-an-email"})
        assert response.json() == {"email": ["Enter a valid email address."]}
        assert alice.get("/api/users", headers=ACME).json()["count"] == 2  # no stand-in made


def test_accepting_someone_elses_invitation(cvat_server, acme):
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as alice:
        key = alice.post("/api/invitations", headers=ACME,
                         json={"role": "worker", "email": "dave@example.com"}).json()["key"]
        # the inviter sees it, but only the invitee (or an admin) may accept
        response = alice.post(f"/api/invitations/{key}/accept")
        assert response.status_code == 403
    with token_client(cvat_server, "bob", STRONG_PASSWORD) as bob:
        assert bob.post(f"/api/invitations/{key}/accept").status_code == 404
        assert bob.post(f"/api/invitations/{key}/decline").status_code == 404


def test_expired_invitation_cannot_be_accepted_until_resent(cvat_server, acme, http):
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as alice:
        key = alice.post("/api/invitations", headers=ACME,
                         json={"role": "worker", "email": "erin@example.com"}).json()["key"]
        registered = http.post("/api/auth/register", json={
            "username": "erin1", "email": "erin@example.com",
            "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD})
        assert registered.status_code == 201, registered.text
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
        with cvat_server.mock.db.session() as db:
            db.execute(update(Invitation).where(Invitation.key == key)
                       .values(sent_date=long_ago))
        with token_client(cvat_server, "erin1", STRONG_PASSWORD) as erin:
            assert erin.get(f"/api/invitations/{key}").json()["expired"] is True
            response = erin.post(f"/api/invitations/{key}/accept")
            assert response.status_code == 400
            assert response.json() == (
                "Your invitation is expired. Please contact organization owner to renew it.")
            assert alice.post(f"/api/invitations/{key}/resend").status_code == 204
            assert erin.post(f"/api/invitations/{key}/accept").status_code == 200
            assert alice.post(f"/api/invitations/{key}/resend").json() == (
                "This invitation is already accepted.")


def test_decline_removes_the_membership(cvat_server, acme):
    with token_client(cvat_server, "bob", STRONG_PASSWORD) as bob:
        key = bob.get("/api/invitations").json()["results"][0]["key"]
        assert bob.post(f"/api/invitations/{key}/decline").status_code == 204
        assert bob.get("/api/organizations").json()["count"] == 0
        assert bob.get(f"/api/invitations/{key}").status_code == 404


def test_deleting_an_invitation_keeps_the_pending_membership(cvat_server, acme):
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as alice:
        invite = {"role": "worker", "email": "frank@example.com"}
        key = alice.post("/api/invitations", headers=ACME, json=invite).json()["key"]
        assert alice.delete(f"/api/invitations/{key}").status_code == 204
        members = alice.get("/api/memberships", headers=ACME).json()["results"]
        pending = [m for m in members if m["user"]["username"] == "frank@example.com"]
        assert pending[0]["is_active"] is False and pending[0]["invitation"] is None
        again = alice.post("/api/invitations", headers=ACME, json=invite)
        assert again.json() == ["The user is a member of the organization already."]


def test_patch_invitation_changes_nothing_unless_accepted_flag(mockcvat_server_old):
    """PATCH /api/invitations/{key} exists until 2.70 (cvat-sdk 2.70 lacks it): checked on a
    2.26 server."""
    server = mockcvat_server_old
    server.reset()
    for name in ("alice", "bob"):
        server.create_user(name, STRONG_PASSWORD, email=f"{name}@example.com")
    server.create_organization("acme", "alice", {"bob": "worker"})
    with token_client(server, "alice", STRONG_PASSWORD) as alice:
        created = alice.post("/api/invitations", headers=ACME,
                             json={"role": "worker", "email": "gina@example.com"}).json()
        key = created["key"]
        same = alice.patch(f"/api/invitations/{key}", json={"role": "maintainer"})
        assert same.status_code == 200 and same.json()["role"] == "worker"
        assert alice.patch(f"/api/invitations/{key}?accepted", json={}).status_code == 403
    with token_client(server, *server.admin_credentials) as admin:
        assert admin.patch(f"/api/invitations/{key}?accepted=1", json={}).status_code == 200
        member = admin.get("/api/memberships?user=gina@example.com").json()["results"][0]
        assert member["is_active"] is True


def test_patch_invitation_is_gone_from_2_70(cvat_server, acme, admin):
    key = admin.post("/api/invitations", headers=ACME,
                     json={"role": "worker", "email": "gina@example.com"}).json()["key"]
    response = admin.patch(f"/api/invitations/{key}", json={"role": "maintainer"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, DELETE, HEAD, OPTIONS"


def test_a_bad_org_context_fails_even_where_it_is_ignored(admin):
    response = admin.post("/api/organizations", json={"slug": "acme"},
                          headers={"X-Organization": "nope"})
    assert response.status_code == 404
    assert admin.get("/api/organizations").json()["count"] == 0
    response = admin.get("/api/organizations?org=a&org_id=1")
    assert response.status_code == 400
