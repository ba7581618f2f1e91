"""/api/auth: login, logout, registration, passwords, signed URLs, rules, access tokens."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mockcvat import auth as authn
from mockcvat import compat, iam
from mockcvat.api import Api, Body, Context, Reply
from mockcvat.errors import NotAuthenticated, ValidationFailed
from mockcvat.http import CvatJSONResponse
from mockcvat.openapi import paginated
from mockcvat.schemas.auth import (
    AccessTokenRead,
    AccessTokenWrite,
    LoginSerializerEx,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetSerializerEx,
    RegisterSerializerEx,
    RestAuthDetail,
    Signing,
    Token,
)
from mockcvat.services import auth

api = Api("auth")
_SESSION_COOKIE = {"path": "/", "samesite": "Lax"}


def _with_session(response: Response, result: auth.LoginResult) -> Response:
    """Django's login cookies (each with attributes, which cvat-sdk's cookie parsing needs)."""
    cookies = (("csrftoken", result.csrf_secret, False, authn.CSRF_AGE),
               ("sessionid", result.session_key, True, authn.SESSION_AGE),
               ("sessionfresh", "1", True, authn.SESSION_REFRESH))
    for name, value, httponly, age in cookies:
        seconds = int(age.total_seconds())
        response.set_cookie(name, value, max_age=seconds, expires=seconds, httponly=httponly,
                            **_SESSION_COOKIE)
    return response


def _detail(text: str) -> dict[str, str]:
    return {"detail": text}


@api.operation(
    "POST", "/api/auth/login", "auth_create_login", public=True,
    body=Body(LoginSerializerEx), responses={200: Reply(Token)},
)
async def auth_create_login(ctx: Context) -> Response:
    result = auth.login(ctx, await ctx.json())
    return _with_session(CvatJSONResponse({"key": result.key}), result)


@api.operation(
    "POST", "/api/auth/logout", "auth_create_logout", public=True,
    responses={200: Reply(RestAuthDetail)},
)
async def auth_create_logout(ctx: Context) -> Response:
    auth.logout(ctx)
    response = CvatJSONResponse(_detail("Successfully logged out."))
    if "sessionid" in ctx.request.cookies:
        response.delete_cookie("sessionid", **_SESSION_COOKIE)
    if "sessionfresh" in ctx.request.cookies:
        response.delete_cookie("sessionfresh", **_SESSION_COOKIE)
    return response


@api.operation(
    "POST", "/api/auth/register", "auth_create_register", public=True, status=201,
    body=Body(RegisterSerializerEx), responses={201: Reply(RegisterSerializerEx)},
)
async def auth_create_register(ctx: Context) -> Response:
    body, result = auth.register(ctx, await ctx.json())
    return _with_session(CvatJSONResponse(body, status_code=201), result)


@api.operation(
    "POST", "/api/auth/password/change", "auth_create_password_change",
    body=Body(PasswordChange), responses={200: Reply(RestAuthDetail)}, access_tokens=False,
)
async def auth_create_password_change(ctx: Context) -> Any:
    if ctx.identity is not None and ctx.identity.method == "access_token":
        raise NotAuthenticated()  # this view does not accept access tokens (access_tokens=False)
    auth.change_password(ctx, PasswordChange.validate(await ctx.json()))
    return _detail("New password has been saved.")


@api.operation(
    "POST", "/api/auth/password/reset", "auth_create_password_reset", public=True,
    body=Body(PasswordResetSerializerEx), responses={200: Reply(RestAuthDetail)},
)
async def auth_create_password_reset(ctx: Context) -> Any:
    data = PasswordResetSerializerEx.validate(await ctx.json())
    auth.request_password_reset(ctx, data["email"])
    return _detail("Password reset e-mail has been sent.")


@api.operation(
    "POST", "/api/auth/password/reset/confirm", "auth_create_password_reset_confirm", public=True,
    body=Body(PasswordResetConfirm), responses={200: Reply(RestAuthDetail)},
)
async def auth_create_password_reset_confirm(ctx: Context) -> Any:
    auth.confirm_password_reset(ctx, PasswordResetConfirm.validate(await ctx.json()))
    return _detail("Password has been reset with the new password.")


@api.operation(
    "POST", "/api/auth/signing", "auth_create_signing", until=compat.NO_SIGNATURE_AUTH,
    summary="This method signs URL for access to the server",
    body=Body(Signing), responses={200: Reply(schema={"type": "string"}, description="text URL")},
)
async def auth_create_signing(ctx: Context) -> Any:
    body = await ctx.json()
    url = body.get("url") if isinstance(body, dict) else None
    if not url or not isinstance(url, str):
        raise ValidationFailed("Please provide `url` parameter")
    target = url if "://" in url else ctx.absolute("/" + url.lstrip("/"))
    return authn.sign_url(ctx.mock, ctx.user, target)


@api.operation(
    "GET", "/api/auth/rules", "auth_retrieve_rules", public=True, authenticate=False,
    negotiate=False, responses={200: Reply()},
)
async def auth_retrieve_rules(ctx: Context) -> Response:
    bundle, etag = iam.rules_bundle()
    if ctx.request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(bundle, media_type="application/x-tar", headers={"ETag": etag})


# --- personal access tokens (2.48+) ----------------------------------------------------------
_PAT = {"since": compat.ACCESS_TOKENS}


@api.operation(
    "GET", "/api/auth/access_tokens", "auth_list_access_tokens",
    parameters=auth.ACCESS_TOKEN_LISTING.parameters(),
    responses={200: Reply(paginated(AccessTokenRead))}, **_PAT,
)
async def auth_list_access_tokens(ctx: Context) -> Any:
    return auth.list_access_tokens(ctx)


@api.operation(
    "POST", "/api/auth/access_tokens", "auth_create_access_tokens", status=201,
    body=Body(AccessTokenWrite), responses={201: Reply(AccessTokenRead)}, **_PAT,
)
async def auth_create_access_tokens(ctx: Context) -> Any:
    return auth.create_access_token(ctx, AccessTokenWrite.validate(await ctx.json()))


@api.operation(
    "GET", "/api/auth/access_tokens/self", "auth_retrieve_access_tokens_self",
    authenticate="bearer", responses={200: Reply(AccessTokenRead)}, **_PAT,
)
async def auth_retrieve_access_tokens_self(ctx: Context) -> Any:
    return auth.current_access_token(ctx)


@api.operation(
    "GET", "/api/auth/access_tokens/{id:pk}", "auth_retrieve_access_tokens",
    responses={200: Reply(AccessTokenRead)}, **_PAT,
)
async def auth_retrieve_access_tokens(ctx: Context) -> Any:
    return auth.retrieve_access_token(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/auth/access_tokens/{id:pk}", "auth_partial_update_access_tokens",
    body=Body(AccessTokenWrite, partial=True), responses={200: Reply(AccessTokenRead)}, **_PAT,
)
async def auth_partial_update_access_tokens(ctx: Context) -> Any:
    data = AccessTokenWrite.validate(await ctx.json(), partial=True)
    return auth.update_access_token(ctx, ctx.pk(), data)


@api.operation(
    "DELETE", "/api/auth/access_tokens/{id:pk}", "auth_destroy_access_tokens", status=204,
    responses={204: Reply(description="The token has been revoked")}, **_PAT,
)
async def auth_destroy_access_tokens(ctx: Context) -> None:
    auth.delete_access_token(ctx, ctx.pk())
