"""Users: creation, representation, listing, update and deletion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select
from sqlmodel import Session

from mockcvat import iam, listing
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import User, UserGroup
from mockcvat.passwords import make_password
from mockcvat.schemas.users import BasicUser
from mockcvat.schemas.users import User as UserSerializer

if TYPE_CHECKING:
    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

# CVAT's privilege groups, highest first (settings.IAM_ROLES)
GROUPS = ("admin", "user", "worker")  # "business" went in CVAT 2.22

LISTING = listing.Listing(
    fields={
        "id": FilterField("id", User.id, "int"),
        "username": FilterField("username", User.username),
        "first_name": FilterField("first_name", User.first_name),
        "last_name": FilterField("last_name", User.last_name),
        "is_active": FilterField("is_active", User.is_active, "bool"),
    },
    filter_fields=("username", "first_name", "last_name", "id", "is_active"),
    search_fields=("username", "first_name", "last_name"),
    ordering_fields=("username", "first_name", "last_name", "id", "is_active"),
    simple_filters=("username", "first_name", "last_name", "is_active"),
    default_ordering=("-id",),
)


def create_user(
    mock: MockCVAT,
    session: Session,
    *,
    username: str,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    groups: Iterable[str] = ("user",),
    is_superuser: bool = False,
    is_staff: bool = False,
    is_active: bool = True,
    created_via: str | None = None,
) -> User:
    """Create a user (tests, seeds, registration); ``password=None`` makes it unusable.
    ``created_via``: ``registration`` or ``invitation``; ``None`` (an admin's doing) for the
    rest."""
    groups = list(groups)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValidationFailed({"groups": [f"Unknown group {g!r}" for g in unknown]})
    if session.exec(select(User.id).where(User.username == username)).first():
        raise ValidationFailed({"username": ["A user with that username already exists."]})
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        password=(make_password(password, mock.settings.password_iterations)
                  if password is not None else "!"),
        is_superuser=is_superuser,
        is_staff=is_staff,
        is_active=is_active,
        created_via=created_via,
        # allauth records a registered e-mail as unverified (CVAT does not make users verify)
        email_verified=False if created_via == "registration" and email else None,
    )
    session.add(user)
    session.flush()
    set_groups(session, user, groups)
    return user


def set_groups(session: Session, user: User, groups: Iterable[str]) -> None:
    session.execute(delete(UserGroup).where(UserGroup.user_id == user.id))
    for group in dict.fromkeys(groups):
        session.add(UserGroup(user_id=user.id, group=group))
    session.flush()


def groups_of(session: Session, user_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(user_ids)
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(UserGroup.user_id, UserGroup.group).where(UserGroup.user_id.in_(ids))
    )
    for user_id, group in rows:
        found[user_id].append(group)
    for names in found.values():
        names.sort(key=GROUPS.index)
    return found


# the user's groups as one "a,b" string, fetched with the user row itself
GROUPS_COLUMN = (
    select(func.aggregate_strings(UserGroup.group, ","))
    .where(UserGroup.user_id == User.id)
    .correlate(User)
    .scalar_subquery()
    .label("groups")
)


def represent(ctx: Context, rows: Iterable[Mapping[str, Any]], *, full: bool
              ) -> list[dict[str, Any]]:
    """User rows (with a ``groups`` column) as ``User`` or ``BasicUser`` payloads."""
    serializer = UserSerializer if full else BasicUser
    base = ctx.absolute("/api/users/")
    out = []
    for row in rows:
        names = (row["groups"] or "").split(",") if row["groups"] else []
        out.append(serializer.dump({
            **row,
            "url": f"{base}{row['id']}",
            "groups": sorted(names, key=GROUPS.index),
            "has_analytics_access": False,  # CVAT's profile default
        }))
    return out


# built once (a reused statement skips SQLAlchemy's construction and cache-key work)
_BASIC_USERS = select(User.id, User.username, User.first_name, User.last_name).where(
    User.id.in_(bindparam("ids", expanding=True)))


def basic_users(ctx: Context, connection: Any, ids: Iterable[int | None]
                ) -> dict[int, dict[str, Any]]:
    """``BasicUser`` payloads by id, for the owners, assignees and members other resources
    embed (one query for a whole page)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = connection.execute(_BASIC_USERS, {"ids": list(wanted)})
    base = ctx.absolute("/api/users/")
    return {row.id: BasicUser.dump({**row._mapping, "url": f"{base}{row.id}"}) or {}
            for row in rows}


def dummy_user(session: Session, email: str) -> User | None:
    """The stand-in account an invitation to an unregistered e-mail creates (CVAT's
    ``get_dummy_user``): username = e-mail, no usable password. Registering with that e-mail
    takes the account over, keeping its pending memberships."""
    user = session.execute(
        select(User).where(func.lower(User.email) == email.lower())
    ).scalars().first()
    if user is not None and user.username == user.email and not is_usable(user.password):
        return user
    return None


def is_usable(password: str) -> bool:
    return not password.startswith("!")


def _row(session: Session, user: User) -> dict[str, Any]:
    groups = groups_of(session, [user.id or 0])[user.id or 0]
    return {**user.model_dump(), "groups": ",".join(groups)}


def _full_profile(ctx: Context, user: User) -> bool:
    """CVAT's ``get_serializer_class``: staff always see full profiles; others only their
    own, and only when reading."""
    if ctx.user.is_staff:
        return True
    return user.id == ctx.user.id and ctx.request.method in ("GET", "HEAD")


def get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No User matches the given query.")
    return user


def list_users(ctx: Context) -> dict[str, Any]:
    policy = iam.users(ctx)
    visibility = policy.visibility()

    def query() -> Any:
        return select(*User.__table__.columns, GROUPS_COLUMN).where(policy.visible())

    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, LISTING, ctx.params, ctx.url, pk=User.id,
                                cache=ctx.mock.db.cache, cache_key=("users", visibility))
        rows = [row._mapping for row in page.rows]
    return page.body(represent(ctx, rows, full=ctx.user.is_staff))


def retrieve(ctx: Context, user_id: int | None) -> dict[str, Any]:
    """One user; ``None`` means the caller (``/api/users/self``)."""
    policy = iam.users(ctx)
    with ctx.mock.db.session() as session:
        user = get(session, ctx.user.id if user_id is None else user_id)
        policy.check_view(user)
        return represent(ctx, [_row(session, user)], full=_full_profile(ctx, user))[0]


PRIVILEGED_FIELDS = {"is_staff", "is_superuser", "groups"}


def unique_username(session: Session, name: str, user: User | None = None) -> str:
    """The model's unique constraint, as DRF's UniqueValidator reports it."""
    clash = session.execute(select(User.id).where(User.username == name)).scalar_one_or_none()
    if clash is not None and (user is None or clash != user.id):
        raise ValidationFailed(["A user with that username already exists."])
    return name


def known_groups(names: list[str]) -> list[str]:
    for name in names:
        if name not in GROUPS:
            raise ValidationFailed([f"Object with name={name} does not exist."])
    return names


PROTECTED = ("mockcvat: the admin is protected (--protect-admin): it cannot be deleted, "
             "renamed, deactivated, demoted or given another password through the API")


def refuse_if_protected(mock: MockCVAT, user: User, changes: Mapping[str, Any] | None) -> None:
    """``Settings.protect_admin`` (not CVAT behaviour: for fuzzers, so that no request can lock
    the admin out): 403 for deleting the admin (``changes`` None), or changing its password,
    username, active/superuser/staff flags or dropping its ``admin`` group."""
    if not mock.settings.protect_admin or user.username != mock.settings.admin_username:
        return
    if changes is not None:
        keep = {"username": user.username, "is_active": True, "is_superuser": True,
                "is_staff": True}
        harmless = all(changes[key] == value for key, value in keep.items() if key in changes)
        groups = changes.get("groups")
        if harmless and "password" not in changes and (groups is None or "admin" in groups):
            return
    raise PermissionDenied(PROTECTED)


def update(ctx: Context, user_id: int, raw: Any) -> dict[str, Any]:
    policy = iam.users(ctx)
    with ctx.mock.db.session() as session:
        user = get(session, user_id)
        policy.check_change(user)
        refuse_if_protected(ctx.mock, user, raw if isinstance(raw, Mapping) else {})
        full = _full_profile(ctx, user)
        checks = {"username": lambda name: unique_username(session, name, user),
                  "groups": known_groups}
        data = (UserSerializer if full else BasicUser).validate(raw, partial=True, checks=checks)
        if not full:
            _refuse_unknown_fields(raw)
        groups = data.pop("groups", None)
        before = user_event_payload(ctx, user)
        if groups is not None:
            set_groups(session, user, groups)
        for key, value in data.items():
            setattr(user, key, value)
        session.add(user)
        session.flush()
        ctx.mock.events.emit(ctx, session, "update:user", user_event_payload(ctx, user),
                             before=before, obj_name=user.username)
        return represent(ctx, [_row(session, user)], full=full)[0]


def _refuse_unknown_fields(raw: Mapping[str, Any]) -> None:
    """BasicUserSerializer.validate: keys outside url/id/username/first_name/last_name."""
    unknown = sorted(set(raw) - set(BasicUser.fields))
    if not unknown:
        return
    shown = "{" + ", ".join(repr(k) for k in unknown) + "}"
    if PRIVILEGED_FIELDS & set(unknown):
        message = f"You do not have permissions to access some of these fields: {shown}"
    else:
        message = f"Got unknown fields: {shown}"
    raise ValidationFailed({"non_field_errors": [message]})


def destroy(ctx: Context, user_id: int) -> None:
    policy = iam.users(ctx)
    with ctx.mock.db.session() as session:
        user = get(session, user_id)
        policy.check_change(user)
        snapshot = user_event_payload(ctx, user)
        refuse_if_protected(ctx.mock, user, None)
        session.delete(user)
        session.flush()
        ctx.mock.events.emit(ctx, session, "delete:user", snapshot, obj_name=user.username)


def user_event_payload(ctx: Context, user: User) -> dict[str, Any]:
    """The shape events carry for a user (``BasicUserSerializer`` in CVAT's event handlers)."""
    return BasicUser.dump({"url": ctx.absolute(f"/api/users/{user.id}"), "id": user.id,
                           "username": user.username, "first_name": user.first_name,
                           "last_name": user.last_name}) or {}
