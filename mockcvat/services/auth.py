"""Accounts: login/logout sessions, registration, passwords, signed URLs, access tokens.

CVAT builds these on dj-rest-auth and django-allauth; the behaviour and messages here are
theirs (see docs/research/cvat-foundation-facts.md). No mail is ever sent: what would have
been mailed is stored in the outbox, which tests read (``GET /_mockcvat/outbox``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlmodel import Session as DBSession

from mockcvat import auth, compat, listing
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import AccessToken, AuthToken, OutboxMessage, Session, User
from mockcvat.passwords import check_password, make_password, password_problems
from mockcvat.schemas.auth import AccessTokenRead, LoginSerializerEx, RegisterSerializerEx
from mockcvat.services import users

if TYPE_CHECKING:
    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

RESET_TIMEOUT = 3 * 24 * 3600  # Django's PASSWORD_RESET_TIMEOUT


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class LoginResult:
    key: str  # the legacy API token
    session_key: str
    csrf_secret: str


# --- login / logout ------------------------------------------------------------------------
UNABLE_TO_LOG_IN = "Unable to log in with provided credentials."
MUST_INCLUDE = 'Must include either "username" or "email" and "password".'


def login(ctx: Context, raw: Any) -> LoginResult:
    """CVAT's LoginViewEx: validate, authenticate; on any failure look the user up again from
    the raw input, whose own error (a top-level list) wins over the first one."""
    with ctx.mock.db.session() as db:
        try:
            data = LoginSerializerEx.validate(raw)
            user = _login_user(db, data)
            if user is None:
                raise ValidationFailed({"non_field_errors": [UNABLE_TO_LOG_IN]})
        except ValidationFailed:
            _login_user(db, raw if isinstance(raw, dict) else {})
            raise
        user.last_login = _now()
        db.add(user)
        return start_session(ctx.mock, db, user)


def _login_user(db: DBSession, data: dict[str, Any]) -> User | None:
    """dj-rest-auth's ``get_auth_user`` as CVAT extends it (an e-mail must match one user)."""
    username, email, password = (_text(data.get(k)) for k in ("username", "email", "password"))
    if email:
        matches = db.execute(select(User.id).where(func.lower(User.email) == email.lower()))
        if len(matches.all()) != 1:
            raise ValidationFailed("Unable to login with provided credentials")
    if email and password:
        return auth.authenticate_password(db, email=email, password=password)
    if username and password:
        return auth.authenticate_password(db, username=username, password=password)
    raise ValidationFailed(MUST_INCLUDE)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    # a lone surrogate matches no stored name (none can hold one) and no SQL text can carry it
    return str(value).encode("utf-8", "replace").decode()


def start_session(mock: MockCVAT, db: DBSession, user: User) -> LoginResult:
    token = db.execute(select(AuthToken).where(AuthToken.user_id == user.id)).scalar_one_or_none()
    if token is None:  # one key per user, kept across logins (get_or_create)
        token = AuthToken(key=secrets.token_hex(20), user_id=user.id)
        db.add(token)
    session = Session(
        session_key=secrets.token_hex(16),
        user_id=user.id,
        expire_date=_now() + auth.SESSION_AGE,
        auth_hash=auth.session_auth_hash(mock, user),
    )
    db.add(session)
    return LoginResult(token.key, session.session_key, auth.new_csrf_secret())


def logout(ctx: Context) -> None:
    session_key = ctx.request.cookies.get("sessionid")
    with ctx.mock.db.session() as db:
        if ctx.identity is not None:
            db.execute(delete(AuthToken).where(AuthToken.user_id == ctx.identity.user.id))
        if session_key:
            db.execute(delete(Session).where(Session.session_key == session_key))


# --- registration -----------------------------------------------------------------------------
def register(ctx: Context, raw: Any) -> tuple[dict[str, Any], LoginResult]:
    """dj-rest-auth's RegisterView with allauth: field checks (unique username and e-mail,
    password validators), then the two passwords, then similarity to the new user's data."""
    with ctx.mock.db.session() as db:
        def email_free(email: str) -> str:
            if email and users.dummy_user(db, email) is not None:
                return email  # an invitee's stand-in account, taken over below
            return _free(db, User.email, email,
                         "A user is already registered with this e-mail address.")

        data = RegisterSerializerEx.validate(raw, checks={
            "username": lambda name: _free(db, User.username, name,
                                           "A user with that username already exists."),
            "email": email_free,
            "password1": _strong_enough,
        })
        email = data.get("email", "")
        candidate = User(username=data["username"], email=email,
                         first_name=data.get("first_name", ""), last_name=data.get("last_name", ""))
        problems = password_problems(data["password1"], candidate)
        if problems:  # allauth's save(): the validators again, now knowing the user
            raise ValidationFailed({"non_field_errors": problems})
        user = users.dummy_user(db, email) if email else None
        if user is None:
            user = users.create_user(
                ctx.mock, db, username=data["username"], password=data["password1"],
                email=email, first_name=candidate.first_name, last_name=candidate.last_name,
                created_via="registration",
            )
        else:  # keeps the id, so the invitations' pending memberships stay
            user.username, user.first_name, user.last_name = (
                data["username"], candidate.first_name, candidate.last_name)
            user.password = make_password(data["password1"], ctx.mock.settings.password_iterations)
            user.email_verified = False  # registering records the e-mail (created_via stays)
        user.last_login = _now()
        db.flush()
        ctx.mock.events.emit(ctx, db, "create:user", users.user_event_payload(ctx, user),
                             user=user, obj_name=user.username)
        result = start_session(ctx.mock, db, user)
        body = RegisterSerializerEx.dump(
            {**user.model_dump(), "email_verification_required": False, "key": result.key}
        )
        assert body is not None
        return body, result


def _free(db: DBSession, column: Any, value: str, message: str) -> str:
    """Case-insensitive uniqueness, as allauth checks usernames and e-mails."""
    if value and db.execute(select(User.id).where(func.lower(column) == value.lower())).first():
        raise ValidationFailed([message])
    return value


def _strong_enough(password: str) -> str:
    problems = password_problems(password)
    if problems:
        raise ValidationFailed(problems)
    return password


# --- passwords ---------------------------------------------------------------------------------
def change_password(ctx: Context, data: dict[str, Any]) -> str | None:
    """Returns the caller's refreshed session key, if it came with a session."""
    with ctx.mock.db.session() as db:
        user = db.get(User, ctx.user.id)
        assert user is not None
        if not check_password(data["old_password"], user.password):
            raise ValidationFailed({"old_password": [
                "Your old password was entered incorrectly. Please enter it again."]})
        _set_password(ctx.mock, db, user, data["new_password1"], data["new_password2"])
        session_key = ctx.request.cookies.get("sessionid")
        if session_key and ctx.identity is not None and ctx.identity.method == "session":
            # update_session_auth_hash: this session survives, the others end
            row = db.get(Session, session_key)
            if row is not None:
                row.auth_hash = auth.session_auth_hash(ctx.mock, user)
                db.add(row)
                return session_key
    return None


def _set_password(mock: MockCVAT, db: DBSession, user: User, new1: str, new2: str) -> None:
    """Django's SetPasswordForm: both fields equal and passing the validators."""
    users.refuse_if_protected(mock, user, {"password": new1})
    if new1 != new2:
        raise ValidationFailed({"new_password2": ["The two password fields didn’t match."]})
    problems = password_problems(new2, user)
    if problems:
        raise ValidationFailed({"new_password2": problems})
    user.password = make_password(new1, mock.settings.password_iterations)
    db.add(user)


def request_password_reset(ctx: Context, email: str) -> None:
    with ctx.mock.db.session() as db:
        matches = db.execute(
            select(User).where(func.lower(User.email) == email.lower(), User.is_active.is_(True))
        ).scalars().all()
        for user in matches:
            uid, token = _base36(user.id or 0), reset_token(ctx.mock, user)
            link = ctx.absolute(f"/auth/password/reset/confirm?uid={uid}&token={token}")
            db.add(OutboxMessage(
                to=user.email,
                subject="Password Reset E-mail",
                body=f"You're receiving this e-mail because you or someone else has "
                f"requested a password reset for your user account.\n\n{link}\n",
                data={"uid": uid, "token": token, "username": user.username},
            ))


def confirm_password_reset(ctx: Context, data: dict[str, Any]) -> None:
    """dj-rest-auth's order of checks: the uid, then the token, then the new password."""
    with ctx.mock.db.session() as db:
        try:
            user = db.get(User, int(data["uid"], 36))
        except (ValueError, OverflowError):
            user = None
        if user is None:
            raise ValidationFailed({"uid": ["Invalid value"]})
        if not _reset_token_valid(ctx.mock, user, data["token"]):
            raise ValidationFailed({"token": ["Invalid value"]})
        _set_password(ctx.mock, db, user, data["new_password1"], data["new_password2"])


def reset_token(mock: MockCVAT, user: User, now: float | None = None) -> str:
    """Like Django's default token generator: timestamp + HMAC over the user's state, so a
    token dies when the password changes or the user logs in again."""
    stamp = int(now or time.time())
    return f"{_base36(stamp)}-{_reset_mac(mock, user, stamp)}"


def _reset_mac(mock: MockCVAT, user: User, stamp: int) -> str:
    state = f"{user.id}{user.password}{user.last_login}{stamp}{user.email}"
    return hmac.new(mock.secret_key.encode(), state.encode(), hashlib.sha256).hexdigest()[:32]


def _reset_token_valid(mock: MockCVAT, user: User, token: str) -> bool:
    stamp_text, _, mac = token.partition("-")
    try:
        stamp = int(stamp_text, 36)
    except ValueError:
        return False
    if not hmac.compare_digest(mac, _reset_mac(mock, user, stamp)):
        return False
    return time.time() - stamp <= RESET_TIMEOUT


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def outbox(db: DBSession) -> list[dict[str, Any]]:
    rows = db.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
    return [
        {"to": m.to, "subject": m.subject, "body": m.body, **m.data} for m in rows
    ]


# --- personal access tokens (CVAT 2.48+) --------------------------------------------------------
MAX_ACCESS_TOKENS_PER_USER = 50

ACCESS_TOKEN_FIELDS = ("created_date", "expiry_date", "id", "last_used_date", "name", "read_only",
                       "updated_date")
ACCESS_TOKEN_LISTING = listing.Listing(
    fields={
        "id": FilterField("id", AccessToken.id, "int"),
        "name": FilterField("name", AccessToken.name),
        "read_only": FilterField("read_only", AccessToken.read_only, "bool"),
        # cvat-sdk 2.48 only: the owner's id (every listed token is the caller's own)
        "owner": FilterField("owner", AccessToken.owner_id, "int", until="2.49.0"),
        "created_date": FilterField("created_date", AccessToken.created_date, "datetime"),
        "updated_date": FilterField("updated_date", AccessToken.updated_date, "datetime"),
        "expiry_date": FilterField("expiry_date", AccessToken.expiry_date, "datetime", True),
        "last_used_date": FilterField("last_used_date", AccessToken.last_used_date, "datetime",
                                      True),
    },
    filter_fields=ACCESS_TOKEN_FIELDS,
    search_fields=("name",),
    ordering_fields=ACCESS_TOKEN_FIELDS,
    simple_filters=("name", "owner", "read_only"),
    simple_filter_since={"read_only": compat.RELEASE_2_65},  # cvat-sdk 2.65
    default_ordering=("-id",),
    org_scoped=False,
)


def _token_payload(ctx: Context, token: AccessToken, value: str | None = None) -> dict[str, Any]:
    owner = ctx.user
    body = AccessTokenRead.dump({
        **token.model_dump(),
        "owner": {**owner.model_dump(), "url": ctx.absolute(f"/api/users/{owner.id}")},
        "value": value,
    })
    assert body is not None
    if value is None:
        del body["value"]  # the raw value appears only in the creation response
    return body


def _refuse_token_clients(ctx: Context) -> None:
    """A client authenticated by an access token may only read tokens (CVAT's plugin rule)."""
    if ctx.identity is not None and ctx.identity.method == "access_token":
        raise PermissionDenied()


def _own_usable(ctx: Context) -> Any:
    return select(AccessToken).where(
        AccessToken.owner_id == ctx.user.id, auth.usable_access_tokens()
    )


def create_access_token(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    _refuse_token_clients(ctx)
    value, prefix = auth.new_access_token()
    expiry = data.get("expiry_date")
    with ctx.mock.db.session() as db:
        count = db.execute(
            select(func.count()).select_from(_own_usable(ctx).subquery())
        ).scalar_one()
        if MAX_ACCESS_TOKENS_PER_USER >= 0 and count >= MAX_ACCESS_TOKENS_PER_USER:
            raise ValidationFailed(
                "You have reached the maximum allowed number of Personal Access Tokens for a user"
            )
        token = AccessToken(
            name=data["name"],
            prefix=prefix,
            digest=auth.token_digest(value),
            owner_id=ctx.user.id,
            expiry_date=_naive_utc(expiry),
            read_only=data.get("read_only", True),
        )
        db.add(token)
        db.flush()
        return _token_payload(ctx, token, value)


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.UTC) if value is not None else None


def _own_token(ctx: Context, db: DBSession, token_id: int) -> AccessToken:
    token = db.execute(
        _own_usable(ctx).where(AccessToken.id == token_id)
    ).scalar_one_or_none()
    if token is None:
        raise NotFound("No AccessToken matches the given query.")
    return token


def list_access_tokens(ctx: Context) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        page = listing.paginate(db, _own_usable(ctx), ACCESS_TOKEN_LISTING, ctx.params,
                                ctx.url, pk=AccessToken.id)
        return page.body([_token_payload(ctx, row[0]) for row in page.rows])


def retrieve_access_token(ctx: Context, token_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return _token_payload(ctx, _own_token(ctx, db, token_id))


def current_access_token(ctx: Context) -> dict[str, Any]:
    """``/access_tokens/self``: the token this request came with (Bearer only)."""
    assert ctx.identity is not None and ctx.identity.access_token_id is not None
    with ctx.mock.db.session() as db:
        return _token_payload(ctx, _own_token(ctx, db, ctx.identity.access_token_id))


def update_access_token(ctx: Context, token_id: int, data: dict[str, Any]) -> dict[str, Any]:
    _refuse_token_clients(ctx)
    with ctx.mock.db.session() as db:
        token = _own_token(ctx, db, token_id)
        for key in ("name", "read_only"):
            if key in data:
                setattr(token, key, data[key])
        if "expiry_date" in data:
            token.expiry_date = _naive_utc(data["expiry_date"])
        token.updated_date = _now()
        db.add(token)
        return _token_payload(ctx, token)


def delete_access_token(ctx: Context, token_id: int) -> None:
    _refuse_token_clients(ctx)
    with ctx.mock.db.session() as db:
        token = _own_token(ctx, db, token_id)
        token.revoked = True  # CVAT revokes rather than deletes
        db.add(token)
