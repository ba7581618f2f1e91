"""The policy: who may do what, and which rows a caller sees — one module for every resource.

CVAT decides permissions with OPA rules (``cvat/apps/iam/rules/*.rego``) fed with the caller's
privilege group (admin > business > user > worker), the organization context and the caller's
role in it. This module encodes the same rules in Python; list visibility is returned as a
SQL condition so that counts and pages stay right. See ``docs/iam.md`` for the rule table.

Later resources add their own ``<resource>(ctx)`` policy object here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select, true

from mockcvat.auth import PRIVILEGES
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.models import Membership, Organization, User

if TYPE_CHECKING:
    from mockcvat.api import Context



# --- organization context (cvat/apps/iam/middleware.py: get_organization) ------------------
@dataclass(frozen=True)
class OrgContext:
    organization: Organization | None  # None: no org was named (or the personal workspace)
    explicit: bool  # an org or the personal workspace ("") was named
    role: str | None  # the caller's role in the organization, if a member


def resolve_org_context(ctx: Context) -> OrgContext:
    params = ctx.params
    slug = params.get("org")
    org_id = params.get("org_id")
    header = ctx.request.headers.get("x-organization")
    if org_id is not None and (slug is not None or header is not None):
        raise ValidationFailed(
            'You cannot specify "org_id" query parameter with "org" query parameter or '
            '"X-Organization" HTTP header at the same time.'
        )
    if slug is not None and header is not None and slug != header:
        raise ValidationFailed(
            'You cannot specify "org" query parameter and "X-Organization" HTTP header with '
            "different values."
        )
    slug = slug if slug is not None else header
    explicit = slug is not None or org_id is not None
    if not slug and not org_id:
        return OrgContext(None, explicit, None)
    organization = None
    with ctx.mock.db.session() as db:
        if slug:
            organization = db.execute(
                select(Organization).where(Organization.slug == slug)
            ).scalar_one_or_none()
        elif org_id:
            try:
                organization = db.get(Organization, int(org_id))
            except (ValueError, OverflowError):
                organization = None
        if (slug or org_id) and organization is None:
            raise NotFound(f"{slug or org_id} organization does not exist.")
        role = None
        if organization is not None and ctx.identity is not None:
            role = db.execute(
                select(Membership.role).where(
                    Membership.organization_id == organization.id,
                    Membership.user_id == ctx.identity.user.id,
                    Membership.is_active.is_(True),
                )
            ).scalar_one_or_none()
    return OrgContext(organization, explicit, role)


def privilege_of(ctx: Context) -> str | None:
    """The caller's highest privilege group (read at authentication)."""
    if ctx.identity is None:
        return None
    return ctx.identity.privilege


def is_admin(ctx: Context) -> bool:
    return privilege_of(ctx) == "admin"


def has_privilege(ctx: Context, least: str) -> bool:
    """The caller's group is ``least`` or higher (admin > business > user > worker)."""
    privilege = privilege_of(ctx)
    return privilege is not None and PRIVILEGES.index(privilege) <= PRIVILEGES.index(least)


# --- server (cvat/apps/engine/rules/server.rego) ----------------------------------------------
def check_share_listing(ctx: Context) -> None:
    """Browsing the share needs the ``user`` privilege or higher: workers get 403."""
    if not has_privilege(ctx, "user"):
        raise PermissionDenied()


# --- users (cvat/apps/engine/rules/users.rego) ---------------------------------------------
class UsersPolicy:
    """list: anyone; admins see everyone, others only themselves; in an organization, its
    members (the caller must be one, or an admin). view: admin, oneself, or any user when the
    caller is a member of the organization in context. update/delete: admin or oneself.
    Clients authenticated by an access token may only read users."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)
        self.org = ctx.org

    def visibility(self) -> tuple[Any, ...]:
        """A key naming the set of users this caller may list (checks membership)."""
        organization = self.org.organization
        if organization is not None:
            if not self.admin and self.org.role is None:
                raise PermissionDenied()
            return ("org", organization.id)
        return ("sandbox", None if self.admin else self.me.id, self.org.explicit)

    def visible(self) -> Any:
        """SQL condition selecting the users this caller may list."""
        kind, *rest = self.visibility()
        if kind == "org":
            return exists().where(Membership.user_id == User.id,
                                  Membership.organization_id == rest[0])
        condition = true() if self.admin else User.id == self.me.id
        if self.org.explicit:  # org="" : the personal workspace, users of no organization
            condition = condition & ~exists().where(Membership.user_id == User.id)
        return condition

    def check_view(self, user: User) -> None:
        if self.admin or user.id == self.me.id:
            return
        if self.org.organization is not None and self.org.role is not None:
            return
        raise PermissionDenied()

    def check_change(self, user: User) -> None:
        """update and delete"""
        if self.ctx.identity is not None and self.ctx.identity.method == "access_token":
            raise PermissionDenied()
        if not (self.admin or user.id == self.me.id):
            raise PermissionDenied()


def users(ctx: Context) -> UsersPolicy:
    return UsersPolicy(ctx)


# --- the rule table (served by GET /api/auth/rules, documented in docs/iam.md) -----------------
RULES: tuple[dict[str, str], ...] = (
    {"resource": "users", "scope": "list", "allow": "any user",
     "rows": "admin: all; others: themselves; in an org: its members (caller must be one)",
     "source": "cvat/apps/engine/rules/users.rego"},
    {"resource": "users", "scope": "view", "allow": "admin, oneself, org members (any user)",
     "rows": "", "source": "cvat/apps/engine/rules/users.rego"},
    {"resource": "users", "scope": "update", "allow": "admin, oneself (not via access token)",
     "rows": "", "source": "cvat/apps/engine/rules/users.rego"},
    {"resource": "users", "scope": "delete", "allow": "admin, oneself (not via access token)",
     "rows": "", "source": "cvat/apps/engine/rules/users.rego"},
    {"resource": "server", "scope": "list:content", "allow": "user privilege or higher",
     "rows": "", "source": "cvat/apps/engine/rules/server.rego"},
    {"resource": "access_tokens", "scope": "list/view/update/delete", "allow": "the owner",
     "rows": "own usable tokens (admins too)",
     "source": "cvat/apps/access_tokens/rules/access_tokens.rego"},
)


def rules_bundle() -> tuple[bytes, str]:
    """The policy as a gzip'ed tar (CVAT serves its OPA bundle here) and its ETag.

    mockcvat's rules are Python, not Rego; the bundle holds them as ``rules/mockcvat.json``.
    """
    import gzip
    import hashlib
    import io
    import json
    import tarfile

    payload = json.dumps({"rules": list(RULES)}, indent=2).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("rules/mockcvat.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    bundle = gzip.compress(raw.getvalue(), mtime=0)
    return bundle, '"' + hashlib.blake2b(bundle).hexdigest() + '"'
