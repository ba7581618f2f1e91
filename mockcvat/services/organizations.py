"""Organizations and memberships (``cvat/apps/organizations``).

Creating an organization makes the caller its ``owner`` member. Memberships are made only by
that and by invitations (``mockcvat.services.invitations``); here they are listed, re-roled and
deleted (which is also how a member leaves). Who may do what is ``mockcvat.iam``'s business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session

from mockcvat import iam, listing
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import Invitation, Membership, Organization, User
from mockcvat.models.users import utcnow
from mockcvat.schemas.organizations import (
    ROLES,
    MembershipRead,
    MembershipWrite,
    OrganizationRead,
    OrganizationWrite,
)
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from mockcvat.api import Context


def username_of(user_id: Any) -> Any:
    """A filter/sort field reading a user's username from an id column (CVAT's lookups such
    as ``owner`` → ``owner__username``)."""
    return select(User.username).where(User.id == user_id).scalar_subquery()


# --- organizations ------------------------------------------------------------------------------
ORGANIZATIONS = listing.Listing(
    fields={
        "id": FilterField("id", Organization.id, "int"),
        "name": FilterField("name", Organization.name),
        "slug": FilterField("slug", Organization.slug),
        "owner": FilterField("owner", username_of(Organization.owner_id), nullable=True),
    },
    filter_fields=("name", "owner", "slug", "id"),
    search_fields=("name", "owner", "slug"),
    ordering_fields=("name", "owner", "slug", "id"),
    simple_filters=("name", "owner", "slug"),
    org_scoped=False,
)


def _represent_organizations(ctx: Context, connection: Any, rows: Iterable[Any]
                             ) -> list[dict[str, Any]]:
    rows = list(rows)
    owners = basic_users(ctx, connection, (row.owner_id for row in rows))
    return [OrganizationRead.dump({**_mapping(row), "owner": owners.get(row.owner_id)}) or {}
            for row in rows]


def _mapping(row: Any) -> Mapping[str, Any]:
    if hasattr(row, "_mapping"):
        return row._mapping
    return {column.name: getattr(row, column.name) for column in Organization.__table__.columns}


def list_organizations(ctx: Context) -> dict[str, Any]:
    policy = iam.organizations(ctx)
    query = select(*Organization.__table__.columns).where(policy.visible())
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, ORGANIZATIONS, ctx.params, ctx.url,
                                pk=Organization.id)
        return page.body(_represent_organizations(ctx, connection, page.rows))


def _visible_organization(ctx: Context, db: Session, organization_id: int) -> Organization:
    found = db.execute(
        select(Organization).where(Organization.id == organization_id,
                                   iam.organizations(ctx).visible())
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("No Organization matches the given query.")
    return found


def _unique_slug(db: Session, slug: str, organization: Organization | None = None) -> str:
    clash = db.execute(select(Organization.id).where(Organization.slug == slug)).scalar()
    if clash is not None and (organization is None or clash != organization.id):
        raise ValidationFailed(["organization with this slug already exists."])
    return slug


def create_organization(ctx: Context, raw: Any) -> dict[str, Any]:
    iam.organizations(ctx).check_create()
    with ctx.mock.db.session() as db:
        data = OrganizationWrite.validate(raw, checks={"slug": lambda s: _unique_slug(db, s)})
        now = utcnow()
        organization = Organization(
            slug=data["slug"],
            name=data.get("name") or data["slug"],  # CVAT names a nameless org by its slug
            description=data.get("description", ""),
            contact=data.get("contact", {}),
            owner_id=ctx.user.id,
            created_date=now,
            updated_date=now,
        )
        db.add(organization)
        db.flush()
        db.add(Membership(user_id=ctx.user.id, organization_id=organization.id or 0,
                          is_active=True, joined_date=now, role="owner"))
        db.flush()
        created = _represent_organizations(ctx, db, [organization])[0]
        ctx.mock.events.emit(ctx, db, "create:organization", created, org_id=organization.id,
                             obj_name=organization.name)
        return created


def retrieve_organization(ctx: Context, organization_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        organization = _visible_organization(ctx, db, organization_id)
        return _represent_organizations(ctx, db, [organization])[0]


def update_organization(ctx: Context, organization_id: int, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        organization = _visible_organization(ctx, db, organization_id)
        iam.organizations(ctx).check_update(
            organization, iam.role_in(db, ctx.user.id, organization_id))
        data = OrganizationWrite.validate(
            raw, partial=True, checks={"slug": lambda s: _unique_slug(db, s, organization)})
        before = _represent_organizations(ctx, db, [organization])[0]
        for key, value in data.items():
            setattr(organization, key, value)
        organization.updated_date = utcnow()
        db.add(organization)
        db.flush()
        updated = _represent_organizations(ctx, db, [organization])[0]
        ctx.mock.events.emit(ctx, db, "update:organization", updated, before=before,
                             org_id=organization.id, obj_name=organization.name)
        return updated


def destroy_organization(ctx: Context, organization_id: int) -> None:
    """Memberships and their invitations go with the organization (CASCADE in CVAT's models);
    resources in it will fall back to their owners' personal workspaces (SET_NULL)."""
    with ctx.mock.db.session() as db:
        organization = _visible_organization(ctx, db, organization_id)
        iam.organizations(ctx).check_delete(organization)
        snapshot = _represent_organizations(ctx, db, [organization])[0]
        db.delete(organization)
        db.flush()
        # the org's own webhooks went with it: only server webhooks hear this
        ctx.mock.events.emit(ctx, db, "delete:organization", snapshot, org_id=organization.id,
                             obj_id=organization.id, obj_name=organization.name)


# --- memberships --------------------------------------------------------------------------------
MEMBERSHIPS = listing.Listing(
    fields={
        "id": FilterField("id", Membership.id, "int"),
        "user": FilterField("user", username_of(Membership.user_id), nullable=True),
        "role": FilterField("role", Membership.role),
    },
    filter_fields=("user", "role", "id"),
    search_fields=("user", "role"),
    ordering_fields=("user", "role", "id"),
    simple_filters=("role", "user"),
    simple_filter_choices={"role": ROLES},
)

INVITATION_KEY = (
    select(Invitation.key).where(Invitation.membership_id == Membership.id)
    .correlate(Membership).scalar_subquery().label("invitation")
)


def _represent_memberships(ctx: Context, connection: Any, rows: Iterable[Any]
                           ) -> list[dict[str, Any]]:
    rows = list(rows)
    members = basic_users(ctx, connection, (row.user_id for row in rows))
    return [MembershipRead.dump({**row._mapping, "organization": row.organization_id,
                                 "user": members.get(row.user_id)}) or {}
            for row in rows]


def list_memberships(ctx: Context) -> dict[str, Any]:
    query = select(*Membership.__table__.columns, INVITATION_KEY).where(
        iam.memberships(ctx).visible())
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, MEMBERSHIPS, ctx.params, ctx.url,
                                pk=Membership.id)
        return page.body(_represent_memberships(ctx, connection, page.rows))


def _membership(db: Session, membership_id: int) -> tuple[Membership, Organization]:
    membership = db.get(Membership, membership_id)
    if membership is None:
        raise NotFound("No Membership matches the given query.")
    organization = db.get(Organization, membership.organization_id)
    assert organization is not None
    return membership, organization


def _one_membership(ctx: Context, db: Session, membership: Membership) -> dict[str, Any]:
    row = db.execute(
        select(*Membership.__table__.columns, INVITATION_KEY)
        .where(Membership.id == membership.id)
    ).one()
    return _represent_memberships(ctx, db, [row])[0]


def retrieve_membership(ctx: Context, membership_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        membership, organization = _membership(db, membership_id)
        role = iam.role_in(db, ctx.user.id, organization.id or 0)
        iam.memberships(ctx).check_view(membership, role)
        return _one_membership(ctx, db, membership)


def update_membership(ctx: Context, membership_id: int, raw: Any) -> dict[str, Any]:
    policy = iam.memberships(ctx)
    with ctx.mock.db.session() as db:
        membership, organization = _membership(db, membership_id)
        role = iam.role_in(db, ctx.user.id, organization.id or 0)
        if isinstance(raw, Mapping) and set(raw) - {"role"}:
            # CVAT maps each PATCHed field to a permission scope; others have none
            raise PermissionDenied("Attempted to update an unknown field")
        policy.check_view(membership, role)
        if isinstance(raw, Mapping) and "role" in raw:
            policy.check_change_role(membership, role, organization)
        data = MembershipWrite.validate(raw, partial=True)
        before = _one_membership(ctx, db, membership)
        if "role" in data:
            membership.role = data["role"]
            db.add(membership)
            db.flush()
        updated = _one_membership(ctx, db, membership)
        ctx.mock.events.emit(ctx, db, "update:membership", updated, before=before)
        return updated


def destroy_membership(ctx: Context, membership_id: int) -> None:
    """Removing a member or leaving; the invitation goes too. Their resources stay."""
    with ctx.mock.db.session() as db:
        membership, organization = _membership(db, membership_id)
        role = iam.role_in(db, ctx.user.id, organization.id or 0)
        iam.memberships(ctx).check_delete(membership, role, organization)
        delete_membership(ctx, db, membership)


def delete_membership(ctx: Context, db: Session, membership: Membership) -> None:
    """The membership and its invitation go; both deletions are announced."""
    from mockcvat.services.invitations import invitation_payload

    snapshot = _one_membership(ctx, db, membership)
    invitation = db.execute(select(Invitation).where(
        Invitation.membership_id == membership.id)).scalar_one_or_none()
    invited = invitation_payload(ctx, db, invitation.key) if invitation else None
    db.delete(membership)
    db.flush()
    if invited is not None:
        ctx.mock.events.emit(ctx, db, "delete:invitation", invited)
    ctx.mock.events.emit(ctx, db, "delete:membership", snapshot)


def announce_membership(ctx: Context, db: Session, membership: Membership,
                        before: dict[str, Any] | None = None) -> None:
    """create:membership, or update:membership when ``before`` is its earlier read shape."""
    now = _one_membership(ctx, db, membership)
    scope = "create:membership" if before is None else "update:membership"
    ctx.mock.events.emit(ctx, db, scope, now, before=before)


def membership_payload(ctx: Context, db: Session, membership: Membership) -> dict[str, Any]:
    return _one_membership(ctx, db, membership)


# --- seeding (tests, the control plane) ----------------------------------------------------------
def seed_organization(db: Session, *, slug: str, owner: str,
                      members: Mapping[str, str] | None = None, name: str = "") -> Organization:
    """An organization as CVAT would hold it after ``owner`` created it and invited
    ``members`` (username -> role) who accepted: active memberships with invitations."""
    from mockcvat.services.invitations import new_key

    def user_id(username: str) -> int:
        found = db.execute(select(User.id).where(User.username == username)).scalar()
        if found is None:
            raise ValidationFailed({"users": [f"No user named {username!r}."]})
        return int(found)

    data = OrganizationWrite.validate({"slug": slug, "name": name},
                                      checks={"slug": lambda s: _unique_slug(db, s)})
    owner_id, now = user_id(owner), utcnow()
    organization = Organization(slug=data["slug"], name=data.get("name") or data["slug"],
                                owner_id=owner_id, created_date=now, updated_date=now)
    db.add(organization)
    db.flush()
    db.add(Membership(user_id=owner_id, organization_id=organization.id or 0, is_active=True,
                      joined_date=now, role="owner"))
    for username, role in (members or {}).items():
        if role not in ROLES:
            raise ValidationFailed({"role": [f'"{role}" is not a valid choice.']})
        membership = Membership(user_id=user_id(username), organization_id=organization.id or 0,
                                is_active=True, joined_date=now, role=role)
        db.add(membership)
        db.flush()
        db.add(Invitation(key=new_key(), owner_id=owner_id, membership_id=membership.id or 0))
    db.flush()
    return organization
