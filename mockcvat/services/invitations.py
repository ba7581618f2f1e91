"""Invitations (``cvat/apps/organizations``): a key pointing at a pending membership.

CVAT's defaults, kept here: an invitation to a registered user is accepted at once
(``ORG_INVITATION_CONFIRM = 'No'``), with no mail and ``expired: null``; an invitation to an
unknown e-mail creates a stand-in account (username = e-mail, no usable password) and mails a
registration link. CVAT has no mail backend configured and answers that case with a 500; the
mock "sends" it into the outbox (``GET /_mockcvat/outbox``) instead, so the flow can be tested.
Mailed invitations expire 7 days after sending (``ORG_INVITATION_EXPIRY_DAYS``).
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlmodel import Session

from mockcvat import compat, iam, listing
from mockcvat.errors import BadRequestBody, NotFound, ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import Invitation, Membership, Organization, OutboxMessage, User
from mockcvat.models.users import utcnow
from mockcvat.schemas.organizations import InvitationRead, InvitationWrite
from mockcvat.services import organizations, users
from mockcvat.services.organizations import username_of

if TYPE_CHECKING:
    from mockcvat.api import Context

EXPIRY = dt.timedelta(days=7)
KEY_ALPHABET = string.ascii_letters + string.digits

INVITATIONS = listing.Listing(
    fields={
        "owner": FilterField("owner", username_of(Invitation.owner_id), nullable=True),
        "user_id": FilterField("user_id", Membership.user_id, "int", nullable=True),
        "accepted": FilterField("accepted", Membership.is_active, "bool"),
        "created_date": FilterField("created_date", Invitation.created_date, "datetime"),
    },
    filter_fields=("owner", "user_id", "accepted"),
    search_fields=("owner",),
    ordering_fields=("owner", "created_date"),
    simple_filters=("owner", "accepted", "user_id"),
    # cvat-sdk 2.65: simple filters too
    simple_filter_since={"accepted": compat.RELEASE_2_65, "user_id": compat.RELEASE_2_65},
    default_ordering=("-created_date",),
)

# an invitation row carries its membership's fields and its organization's slug
COLUMNS = (
    *Invitation.__table__.columns,
    Membership.user_id, Membership.organization_id, Membership.role, Membership.is_active,
    Organization.slug,
)


def _query(*conditions: Any) -> Any:
    return (
        select(*COLUMNS)
        .join(Membership, Membership.id == Invitation.membership_id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(*conditions)
    )


def new_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(64))


def expired(sent_date: dt.datetime | None) -> bool | None:
    if sent_date is None:
        return None
    return sent_date + EXPIRY <= utcnow()


def _represent(ctx: Context, connection: Any, rows: Iterable[Any]) -> list[dict[str, Any]]:
    rows = list(rows)
    people = users.basic_users(
        ctx, connection, [r.owner_id for r in rows] + [r.user_id for r in rows])
    return [
        InvitationRead.dump({
            "key": row.key,
            "created_date": row.created_date,
            "owner": people.get(row.owner_id),
            "role": row.role,
            "user": people.get(row.user_id),
            "organization": row.organization_id,
            "expired": expired(row.sent_date),
            "accepted": row.is_active,
            "organization_info": {"id": row.organization_id, "slug": row.slug},
        }) or {}
        for row in rows
    ]


def list_invitations(ctx: Context) -> dict[str, Any]:
    query = _query(iam.invitations(ctx).visible(listing=True))
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, INVITATIONS, ctx.params, ctx.url,
                                pk=Invitation.key)
        return page.body(_represent(ctx, connection, page.rows))


def _one(ctx: Context, db: Session, key: str) -> dict[str, Any]:
    return _represent(ctx, db, [db.execute(_query(Invitation.key == key)).one()])[0]


def _send(ctx: Context, db: Session, invitation: Invitation, email: str, slug: str) -> None:
    """What CVAT would mail: a link to register (or log in) and accept."""
    invitation.sent_date = utcnow()
    db.add(invitation)
    query = urlencode({"email": email, "key": invitation.key})
    link = ctx.absolute(f"/auth/register/invitation?{query}")
    db.add(OutboxMessage(
        to=email,
        subject=f"Invitation to join the {slug} organization",
        body=f"You have been invited to the {slug} organization on CVAT.\n\n{link}\n",
        data={"key": invitation.key, "organization": slug, "link": link},
    ))


def create_invitation(ctx: Context, raw: Any) -> dict[str, Any]:
    policy = iam.invitations(ctx)
    policy.check_create(raw.get("role") if isinstance(raw, Mapping) else None)
    with ctx.mock.db.session() as db:
        data = InvitationWrite.validate(raw)
        organization = ctx.org.organization
        if organization is None:  # only admins get here; CVAT fails with a 500
            raise ValidationFailed([
                "An invitation needs an organization: pass X-Organization, org or org_id."])
        email = data["email"]
        invitee = db.execute(
            select(User).where(func.lower(User.email) == email.lower())
        ).scalars().first()
        if invitee is None:
            invitee = users.create_user(ctx.mock, db, username=email, email=email, password=None,
                                        created_via="invitation")
        stand_in = users.dummy_user(db, email) is not None
        taken = db.execute(select(Membership.id).where(
            Membership.user_id == invitee.id, Membership.organization_id == organization.id,
        )).first()
        if taken is not None:
            raise ValidationFailed(["The user is a member of the organization already."])
        membership = Membership(user_id=invitee.id, organization_id=organization.id or 0,
                                role=data["role"], is_active=False)
        db.add(membership)
        db.flush()
        organizations.announce_membership(ctx, db, membership)
        invitation = Invitation(
            key=new_key(),
            owner_id=ctx.user.id, membership_id=membership.id or 0,
        )
        db.add(invitation)
        if stand_in:
            _send(ctx, db, invitation, email, organization.slug)
        db.flush()
        created = _one(ctx, db, invitation.key)
        ctx.mock.events.emit(ctx, db, "create:invitation", created)
        if not stand_in:  # accepted at once (the invitee is registered)
            _accept(ctx, db, membership)
            created = _one(ctx, db, invitation.key)
        return created


def _accept(ctx: Context, db: Session, membership: Membership) -> None:
    before = organizations.membership_payload(ctx, db, membership)
    membership.is_active = True
    membership.joined_date = utcnow()
    db.add(membership)
    db.flush()
    organizations.announce_membership(ctx, db, membership, before)


def invitation_payload(ctx: Context, db: Session, key: str) -> dict[str, Any]:
    return _one(ctx, db, key)


def _visible(ctx: Context, db: Session, key: str, action: str
             ) -> tuple[Invitation, Membership, Organization]:
    """The invitation if the caller's rows include it (404 otherwise) and the action is
    allowed in its organization (403 otherwise)."""
    policy = iam.invitations(ctx)
    found = db.execute(
        select(Invitation.key)
        .join(Membership, Membership.id == Invitation.membership_id)
        .where(Invitation.key == key, policy.visible(listing=False))
    ).first()
    if found is None:
        raise NotFound("No Invitation matches the given query.")
    invitation = db.get(Invitation, key)
    assert invitation is not None
    membership = db.get(Membership, invitation.membership_id)
    assert membership is not None
    organization = db.get(Organization, membership.organization_id)
    assert organization is not None
    policy.check(action, invitation, membership,
                 iam.role_in(db, ctx.user.id, organization.id or 0))
    return invitation, membership, organization


def retrieve_invitation(ctx: Context, key: str) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        _visible(ctx, db, key, "view")
        return _one(ctx, db, key)


def update_invitation(ctx: Context, key: str, raw: Any) -> dict[str, Any]:
    """CVAT validates the body and changes nothing; ``?accepted`` (any value) accepts it the
    legacy way, without the checks of ``/accept``."""
    accepting = "accepted" in ctx.params
    with ctx.mock.db.session() as db:
        _, membership, _ = _visible(ctx, db, key, "accept" if accepting else "resend")
        InvitationWrite.validate(raw, partial=True)
        if accepting and not membership.is_active:
            _accept(ctx, db, membership)
        return _one(ctx, db, key)


def accept_invitation(ctx: Context, key: str) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        invitation, membership, organization = _visible(ctx, db, key, "accept")
        if expired(invitation.sent_date):
            raise BadRequestBody(
                "Your invitation is expired. Please contact organization owner to renew it.")
        if membership.is_active:
            raise BadRequestBody("Your invitation is already accepted.")
        _accept(ctx, db, membership)
        return {"organization_slug": organization.slug}


def decline_invitation(ctx: Context, key: str) -> None:
    """Deletes the membership, accepted or not (and with it the invitation)."""
    with ctx.mock.db.session() as db:
        _, membership, _ = _visible(ctx, db, key, "decline")
        organizations.delete_membership(ctx, db, membership)


def resend_invitation(ctx: Context, key: str) -> None:
    with ctx.mock.db.session() as db:
        invitation, membership, organization = _visible(ctx, db, key, "resend")
        if membership.is_active:
            raise BadRequestBody("This invitation is already accepted.")
        user = db.get(User, membership.user_id)
        assert user is not None
        _send(ctx, db, invitation, user.email, organization.slug)


def destroy_invitation(ctx: Context, key: str) -> None:
    """Only the invitation goes; a pending membership stays (as in CVAT)."""
    with ctx.mock.db.session() as db:
        invitation, _, _ = _visible(ctx, db, key, "delete")
        snapshot = _one(ctx, db, key)
        db.delete(invitation)
        db.flush()
        ctx.mock.events.emit(ctx, db, "delete:invitation", snapshot)
