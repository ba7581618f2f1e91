"""Errors raised by services and rendered once, in Django REST Framework's shapes.

Services raise these; ``install_handlers`` turns them into responses. Nothing else in the
code base builds an error body, so every error a client sees has the same shape as CVAT's.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

logger = logging.getLogger("mockcvat")


class APIError(Exception):
    """An error with an HTTP status and a DRF-style body."""

    status_code = 500
    default_detail: Any = "A server error occurred."

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = self.default_detail if detail is None else detail
        self.headers = headers or {}
        super().__init__(str(self.detail))

    def body(self) -> Any:
        # DRF wraps a plain-string detail in {"detail": ...}; lists and dicts go out as they are
        if isinstance(self.detail, str):
            return {"detail": self.detail}
        return self.detail


class ValidationFailed(APIError):
    """400. ``detail`` is a list of messages or a mapping field -> messages, as in DRF."""

    status_code = 400
    default_detail = ["Invalid input."]

    def __init__(self, detail: Any = None, **kwargs: Any) -> None:
        if isinstance(detail, str):  # DRF's ValidationError("msg") renders as ["msg"]
            detail = [detail]
        super().__init__(detail, **kwargs)


class BadRequestBody(APIError):
    """400 whose body is the detail itself (CVAT views that answer ``Response("...", 400)``)."""

    status_code = 400

    def body(self) -> Any:
        return self.detail


class ParseError(APIError):
    status_code = 400
    default_detail = "Malformed request."


class _Unauthorized(APIError):
    """401s carry the first authenticator's challenge (CVAT's first is Token auth)."""

    status_code = 401

    def __init__(self, detail: Any = None, *, challenge: str = "Token") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class NotAuthenticated(_Unauthorized):
    default_detail = "Authentication credentials were not provided."


class AuthenticationFailed(_Unauthorized):
    default_detail = "Incorrect authentication credentials."


class PermissionDenied(APIError):
    status_code = 403
    default_detail = "You do not have permission to perform this action."


class NotFound(APIError):
    status_code = 404
    default_detail = "Not found."


class MethodNotAllowed(APIError):
    status_code = 405

    def __init__(self, method: str) -> None:
        super().__init__(f'Method "{method}" not allowed.')


class NotAcceptable(APIError):
    status_code = 406
    default_detail = "Could not satisfy the request Accept header."


class Conflict(APIError):
    status_code = 409
    default_detail = "Conflict."


class PlainError(APIError):
    """An answer CVAT gives as a plain Django response (``HttpResponseGone`` & co.): the
    detail is the text body, served as ``text/html; charset=utf-8``, not JSON."""

    def body(self) -> Any:
        return self.detail


class Gone(PlainError):
    """410: a request form the emulated CVAT version no longer supports, with CVAT's text
    (``cvat/apps/engine/view_utils.py``)."""

    status_code = 410


def gone_for_export_api(path: str) -> Gone:
    """``get_410_response_for_export_api``: a legacy export endpoint (2.32+); ``path`` is
    CVAT's own wording, e.g. ``/api/tasks/id/dataset/export?save_images=True``."""
    return Gone(
        "This endpoint is no longer supported.\n"
        f"To initiate the export process, use POST {path}.\n"
        "To check the process status, use GET /api/requests/rq_id,\n"
        "where rq_id is obtained from the response of the previous request.\n"
        "To download the prepared file, use the result_url obtained from the response of the "
        "previous request.\n")


def gone_when_checking_process_status(process_type: str) -> Gone:
    """``get_410_response_when_checking_process_status``: a legacy status check (2.38+)."""
    return Gone(
        "This endpoint no longer supports checking the status of the "
        f"{process_type} process.\n"
        "The common requests API should be used instead: GET /api/requests/rq_id,\n"
        "where rq_id is obtained from the response of the initializing request.\n")


class UnsupportedMediaType(APIError):
    status_code = 415

    def __init__(self, media_type: str) -> None:
        super().__init__(f'Unsupported media type "{media_type}" in request.')


class NotImplementedByMock(APIError):
    """An operation mockcvat cannot do honestly yet; listed in the README."""

    status_code = 501
    default_detail = "This operation is not implemented by mockcvat."


# Django's page for a URL that matches no route (DEBUG off): HTML, not JSON.
DJANGO_NOT_FOUND_PAGE = (
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n'
    "<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    "</body>\n</html>\n"
)


def render(exc: APIError) -> Response:
    from mockcvat.http import CvatJSONResponse, PlainResponse

    body = exc.body()
    if body is None:  # answers CVAT sends without a body (e.g. a TUS 409)
        return Response(status_code=exc.status_code, headers=exc.headers)
    if isinstance(exc, PlainError):
        return PlainResponse(str(body), exc.status_code, headers=exc.headers)
    return CvatJSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, APIError)
        return render(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:  # Django's Allow: every method of the URL, in its order
            from starlette.routing import Match

            from mockcvat.metadata import allow

            methods = {m for route in request.app.routes
                       if route.matches(request.scope)[0] != Match.NONE
                       for m in getattr(route, "methods", None) or ()}
            response = render(MethodNotAllowed(request.method))
            response.headers["Allow"] = allow(methods)
            return response
        return render(APIError(str(exc.detail)) if exc.status_code >= 500 else _generic(exc))

    async def request_validation(_: Request, exc: Exception) -> Response:
        # Routes parse their own input; this only guards against a FastAPI-level slip.
        return render(ValidationFailed([str(exc)]))

    async def unexpected(request: Request, exc: Exception) -> Response:
        # Never a stack trace in a body; the log keeps it.
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return render(APIError())

    app.add_exception_handler(APIError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(Exception, unexpected)


def _generic(exc: StarletteHTTPException) -> APIError:
    error = APIError(str(exc.detail))
    error.status_code = exc.status_code
    return error
