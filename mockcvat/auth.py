"""Authentication: who is calling, by every means CVAT accepts.

The authenticators run in CVAT's order (``REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']``):
Token, then Bearer access tokens (2.48+) or signed URLs (before 2.47), then the session
cookie, then Basic. The first that recognises its kind of credentials decides; one that
recognises them but finds them wrong fails the request with 401, whatever the endpoint, as in
DRF. Every 401 carries ``WWW-Authenticate: Token`` (the first authenticator's challenge).
With no credentials at all the caller is anonymous, and the operation decides.

* ``Authorization: Token <key>`` — the legacy key returned by login;
* ``Authorization: Bearer <prefix>.<secret>`` — personal access tokens;
* ``?sign=`` — a URL signed by ``POST /api/auth/signing``;
* the ``sessionid`` cookie, with Django's CSRF check on unsafe methods (403 on failure);
* ``Authorization: Basic`` — username (or e-mail) and password.

Facts and messages: docs/research/cvat-foundation-facts.md §2, §9.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select, update
from sqlmodel import Session as DBSession

from mockcvat import compat
from mockcvat.errors import AuthenticationFailed, PermissionDenied
from mockcvat.http import origin
from mockcvat.models import AccessToken, AuthToken, Session, User, UserGroup
from mockcvat.passwords import check_password

if TYPE_CHECKING:
    from starlette.requests import Request

    from mockcvat.server import MockCVAT

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALPHANUMERIC = string.ascii_letters + string.digits
CSRF_SECRET_LENGTH = 32
SESSION_AGE = dt.timedelta(weeks=2)  # Django's SESSION_COOKIE_AGE
CSRF_AGE = dt.timedelta(weeks=52)  # Django's CSRF_COOKIE_AGE
SESSION_REFRESH = dt.timedelta(days=1)  # CVAT's SessionRefreshMiddleware cookie
SIGNATURE_TTL = 30  # seconds a signed URL stays valid
ACCESS_TOKEN_STALE = dt.timedelta(days=180)  # unused this long: no longer usable
ACCESS_TOKEN_USE_INTERVAL = dt.timedelta(hours=2)  # last_used_date granularity


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Identity:
    user: User
    method: str  # token | access_token | signature | session | basic
    privilege: str | None = None  # highest group: admin > user > worker
    access_token_id: int | None = None
    read_only: bool = False  # a read-only personal access token


# CVAT's IAM_ROLES, highest first ("business" was removed in CVAT 2.22)
PRIVILEGES = ("admin", "user", "worker")


def privilege_of(db: Any, user_id: int | None) -> str | None:
    groups = set(db.execute(select(UserGroup.group).where(UserGroup.user_id == user_id)).scalars())
    return next((g for g in PRIVILEGES if g in groups), None)


def _identity(db: Any, user: User, method: str, **extra: Any) -> Identity:
    return Identity(user, method, privilege_of(db, user.id), **extra)


def authenticate(mock: MockCVAT, request: Request) -> Identity | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    if scheme == "token":
        return _token(mock, credentials)
    if mock.compat.has(since=compat.ACCESS_TOKENS):
        if scheme == "bearer":
            return _access_token(mock, request, credentials)
    else:
        sign = request.query_params.get("sign")
        if sign is not None and mock.compat.has(until=compat.NO_SIGNATURE_AUTH):
            return _signature(mock, request, sign)
    session_key = request.cookies.get("sessionid")
    if session_key:
        identity = _session(mock, session_key)
        if identity is not None:
            if request.method not in SAFE_METHODS:
                check_csrf(request)
            return identity
    if scheme == "basic":
        return _basic(mock, credentials)
    return None


def authenticate_bearer(mock: MockCVAT, request: Request) -> Identity | None:
    """Only ``Authorization: Bearer`` (views that accept nothing else)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return _access_token(mock, request, credentials, challenge="Bearer")


def _credentials(credentials: str, kind: str, challenge: str = "Token") -> str:
    """DRF's header checks: one non-empty word after the keyword."""
    label = "Token string" if kind == "token" else "Credentials string"
    if not credentials.strip():
        raise AuthenticationFailed(f"Invalid {kind} header. No credentials provided.",
                                   challenge=challenge)
    if len(credentials.split()) > 1:
        raise AuthenticationFailed(f"Invalid {kind} header. {label} should not contain spaces.",
                                   challenge=challenge)
    return credentials.strip()


def _active(user: User) -> User:
    if not user.is_active:
        raise AuthenticationFailed("User inactive or deleted.")
    return user


def _token(mock: MockCVAT, credentials: str) -> Identity:
    key = _credentials(credentials, "token")
    identity: Identity | None = mock.db.cache.get(("token", key))
    if identity is None:
        with mock.db.session() as db:
            user = db.execute(
                select(User).join(AuthToken, AuthToken.user_id == User.id)
                .where(AuthToken.key == key)
            ).scalar_one_or_none()
            if user is None:
                raise AuthenticationFailed("Invalid token.")
            identity = mock.db.cache.put(("token", key), _identity(db, user, "token"))
    _active(identity.user)
    return identity


def _basic(mock: MockCVAT, credentials: str) -> Identity:
    encoded = _credentials(credentials, "basic")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed(
            "Invalid basic header. Credentials not correctly base64 encoded."
        ) from None
    username, _, password = decoded.partition(":")
    with mock.db.session() as db:
        user = authenticate_password(db, username=username, password=password)
        if user is None:  # inactive users fail here too: Django's backends refuse them
            raise AuthenticationFailed("Invalid username/password.")
        return _identity(db, user, "basic")


# --- password checks (Django's ModelBackend + allauth's backend, in that order) ---------------
def authenticate_password(db: DBSession, *, username: str | None = None,
                          email: str | None = None, password: str) -> User | None:
    """``django.contrib.auth.authenticate``: the exact username; then (allauth) the e-mail,
    from ``email`` or else the ``username`` value; then the username case-insensitively."""
    candidates: list[User | None] = []
    if username is not None:
        candidates.append(_one(db, User.username == username))
    lookup = email if email is not None else username
    if lookup:
        candidates.extend(_many(db, func.lower(User.email) == lookup.lower()))
    if username is not None:
        candidates.append(_one(db, func.lower(User.username) == username.lower()))
    for user in candidates:
        if user is not None and user.is_active and check_password(password, user.password):
            return user
    return None


def _one(db: DBSession, condition: object) -> User | None:
    return db.execute(select(User).where(condition).order_by(User.id)).scalars().first()


def _many(db: DBSession, condition: object) -> list[User | None]:
    return list(db.execute(select(User).where(condition).order_by(User.id)).scalars())


# --- sessions and CSRF (Django's CsrfViewMiddleware, as SessionAuthentication runs it) -------
def _session(mock: MockCVAT, session_key: str) -> Identity | None:
    cached = mock.db.cache.get(("session", session_key))
    if cached is None:
        with mock.db.session() as db:
            row = db.execute(
                select(User, Session.auth_hash, Session.expire_date)
                .join(Session, Session.user_id == User.id)
                .where(Session.session_key == session_key)
            ).one_or_none()
            if row is None:
                return None  # an unknown session is no session
            user, auth_hash, expires = row
            valid = user.is_active and hmac.compare_digest(auth_hash,
                                                           session_auth_hash(mock, user))
            # inactive, or the password changed since this login: no session either
            identity = _identity(db, user, "session") if valid else None
            cached = mock.db.cache.put(("session", session_key), (identity, expires))
    identity, expires = cached
    return identity if expires > utcnow() else None


def session_auth_hash(mock: MockCVAT, user: User) -> str:
    return hmac.new(mock.secret_key.encode(), user.password.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request) -> None:
    reason = csrf_failure(request)
    if reason:
        raise PermissionDenied(f"CSRF Failed: {reason}")


def csrf_failure(request: Request) -> str | None:
    request_origin = request.headers.get("origin")
    if request_origin is not None and request_origin != origin(request):
        return f"Origin checking failed - {request_origin} does not match any trusted origins."
    cookie = request.cookies.get("csrftoken")
    if not cookie:
        return "CSRF cookie not set."
    if len(cookie) not in (CSRF_SECRET_LENGTH, 2 * CSRF_SECRET_LENGTH):
        return "CSRF cookie has incorrect length."
    if not set(cookie) <= set(ALPHANUMERIC):
        return "CSRF cookie has invalid characters."
    supplied = request.headers.get("x-csrftoken")
    if not supplied:
        return "CSRF token missing."
    source = "CSRF token from the 'X-Csrftoken' HTTP header"
    if len(supplied) not in (CSRF_SECRET_LENGTH, 2 * CSRF_SECRET_LENGTH):
        return f"{source} has incorrect length."
    if not set(supplied) <= set(ALPHANUMERIC):
        return f"{source} has invalid characters."
    if not hmac.compare_digest(_unmask(cookie), _unmask(supplied)):
        return f"{source} incorrect."
    return None


def _unmask(token: str) -> str:
    """Django's masked 64-character form back to the 32-character secret."""
    if len(token) == CSRF_SECRET_LENGTH:
        return token
    mask, masked = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    pairs = zip(masked, mask, strict=True)
    return "".join(ALPHANUMERIC[ALPHANUMERIC.index(x) - ALPHANUMERIC.index(y)] for x, y in pairs)


def new_csrf_secret() -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(CSRF_SECRET_LENGTH))


# --- signed URLs (CVAT before 2.47) ------------------------------------------------------------
def sign_url(mock: MockCVAT, user: User, url: str) -> str:
    """``url`` with a ``sign`` parameter that authenticates ``user`` for 30 seconds.

    The signature covers the whole URL (scheme, host, path, other parameters) and the user's
    id and username, as CVAT's ``Signer`` does; its encoding is mockcvat's own.
    """
    assert user.id is not None
    expires = int(time.time()) + SIGNATURE_TTL
    payload = base64.urlsafe_b64encode(f"{user.id}:{user.username}".encode()).decode()
    sign = f"{payload}:{expires}:{_signature_mac(mock, payload, expires, _unsigned(url))}"
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("sign", sign)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _unsigned(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "sign"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _signature_mac(mock: MockCVAT, payload: str, expires: int, url: str) -> str:
    message = f"{payload}:{expires}:{url}".encode()
    return hmac.new(mock.secret_key.encode(), message, hashlib.sha256).hexdigest()[:40]


def _signature(mock: MockCVAT, request: Request, sign: str) -> Identity:
    from mockcvat.http import absolute_url

    try:
        payload, expires_text, mac = sign.split(":")
        expires = int(expires_text)
        user_id_text, _, username = base64.urlsafe_b64decode(payload).decode().partition(":")
        user_id = int(user_id_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("Invalid signature.") from None
    expected = _signature_mac(mock, payload, expires, _unsigned(absolute_url(request)))
    if not hmac.compare_digest(mac, expected):
        raise AuthenticationFailed("Invalid signature.")
    if expires < time.time():
        raise AuthenticationFailed("This URL has expired.")
    with mock.db.session() as db:
        user = db.get(User, user_id)
        if user is None or user.username != username:
            raise AuthenticationFailed("Invalid signature.")
        return _identity(db, _active(user), "signature")


# --- personal access tokens (CVAT 2.48+) -------------------------------------------------------
def new_access_token() -> tuple[str, str]:
    """A token value ``<prefix>.<secret>`` (8 + 32 alphanumerics) and its prefix."""
    prefix = "".join(secrets.choice(ALPHANUMERIC) for _ in range(8))
    secret = "".join(secrets.choice(ALPHANUMERIC) for _ in range(32))
    return f"{prefix}.{secret}", prefix


def token_digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def usable_access_tokens(now: dt.datetime | None = None) -> object:
    """SQL condition: not revoked, not expired, used (or created) within the stale period."""
    now = now or utcnow()
    last_use = func.coalesce(AccessToken.last_used_date, AccessToken.created_date)
    return (
        AccessToken.revoked.is_(False)
        & ((AccessToken.expiry_date.is_(None)) | (AccessToken.expiry_date > now))
        & (last_use > now - ACCESS_TOKEN_STALE)
    )


def _access_token(mock: MockCVAT, request: Request, credentials: str,
                  challenge: str = "Token") -> Identity:
    value = _credentials(credentials, "token", challenge)
    prefix = value.partition(".")[0]
    now = utcnow()
    with mock.db.session() as db:
        row = db.execute(
            select(AccessToken, User)
            .join(User, User.id == AccessToken.owner_id)
            .where(AccessToken.prefix == prefix, usable_access_tokens(now))
        ).one_or_none()
        if row is None or not hmac.compare_digest(row[0].digest, token_digest(value)):
            raise AuthenticationFailed("Invalid token.", challenge=challenge)
        token, user = row
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.", challenge=challenge)
        if token.last_used_date is None or now - token.last_used_date >= ACCESS_TOKEN_USE_INTERVAL:
            db.execute(update(AccessToken).where(AccessToken.id == token.id)
                       .values(last_used_date=now))
        identity = _identity(db, user, "access_token", access_token_id=token.id,
                             read_only=token.read_only)
    if token.read_only and request.method not in SAFE_METHODS:
        raise PermissionDenied()
    return identity
