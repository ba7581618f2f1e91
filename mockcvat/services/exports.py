"""Where a finished export is downloaded from, per emulated version (datasets and backups alike).

CVAT 2.26 (``compat.EXPORT_DOWNLOAD_ENDPOINT`` not reached): ``result_url`` is the legacy GET
endpoint with the request's query and ``action=download``; that download serves the file once
and deletes the request (the services' ``legacy_export``).

From 2.32.0 (PR 9075, ``redis_handler/background.py: AbstractExporter``): ``result_url`` is
``/api/<kind>s/<id>/<dataset|backup>/download?rq_id=<rq_id>``, a private endpoint absent from the
schema. Its ``Downloader.download_file`` deletes nothing: the file can be fetched again and the
request stays in ``/api/requests`` until its TTL (``expiry_date``) passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.responses import Response

from mockcvat import compat
from mockcvat.errors import PermissionDenied, ValidationFailed
from mockcvat.http import CvatJSONResponse, PlainResponse, content_disposition, stored_file
from mockcvat.storage import ObjectNotFound

if TYPE_CHECKING:
    from mockcvat.api import Context
    from mockcvat.background import RequestView
    from mockcvat.server import MockCVAT


def has_download_endpoint() -> bool:
    return compat.current().has(since=compat.EXPORT_DOWNLOAD_ENDPOINT)


def result_url_maker(ctx: Context, kind: str, pk: int, what: str,
                     legacy: Callable[[], str]) -> Callable[[str], str]:
    """``rq_id -> result_url`` for the emulated version; ``what`` is dataset or backup."""
    if not has_download_endpoint():
        url = legacy()
        return lambda rq_id: url
    base = ctx.absolute(f"/api/{kind}s/{pk}/{what}/download")
    return lambda rq_id: f"{base}?rq_id={quote(rq_id, safe='')}"


def name_key(key: str) -> str:
    """Beside a finished export (``….zip``), the file name its download carries."""
    return key.removesuffix(".zip") + ".name"


def store(mock: MockCVAT, key: str, archive: Path, name: str) -> None:
    """A finished export goes to the media store under ``key`` (the local ``archive`` is
    used up), with the name its download carries."""
    mock.media.put(name_key(key), name.encode())
    mock.media.move_in(key, archive)


def stored_name(mock: MockCVAT, key: str) -> str:
    try:
        return mock.media.get(name_key(key)).decode()
    except ObjectNotFound:
        return ""


def serve_once(mock: MockCVAT, key: str, disposition: Callable[[str], str], *,
               media_type: str = "application/zip") -> Response:
    """The legacy download: the export's file is served and gone (CVAT deletes it), the next
    request finds nothing. ``disposition``: the stored name -> ``Content-Disposition``."""
    name = stored_name(mock, key)
    served = f"{key}.{uuid.uuid4().hex}.served"
    mock.media.rename(key, served)
    mock.media.delete(name_key(key))
    return stored_file(mock.media, served, media_type=media_type,
                       headers={"Content-Disposition": disposition(name)},
                       then=lambda: mock.media.delete(served))


def download(ctx: Context, what: str, matches: Callable[[RequestView], bool],
             locate: Callable[[RequestView], str]) -> Response:
    """``GET …/<what>/download?rq_id=``: the finished export's file, as often as asked.
    ``matches`` says whether the request is an export of this object and subresource;
    ``locate`` gives its key in the media store (its ``Content-Disposition`` is built from
    the stored name as the service's legacy download builds it)."""
    rq_id = ctx.params.get("rq_id")
    if not rq_id:
        raise ValidationFailed(["Missing request id in the query parameters"])
    view = ctx.mock.background.get(rq_id)
    if view is not None and not matches(view):
        raise ValidationFailed(["Invalid export request id"])
    if view is None:
        return PlainResponse("Unknown export request id", 400)
    if view.owner_id != ctx.user.id:  # requests.rego: only the owner downloads
        raise PermissionDenied()
    if view.status != "finished":
        return PlainResponse("The export process is not finished", 400)
    key = locate(view)
    if not ctx.mock.media.exists(key):
        return CvatJSONResponse("The exported file has expired, please retry exporting",
                                status_code=404)
    return stored_file(ctx.mock.media, key, media_type="application/zip", headers={
        "Content-Disposition": content_disposition(stored_name(ctx.mock, key))})


def is_export_of(kind: str, pk: int, subresources: tuple[str, ...]) -> Callable[[Any], bool]:
    def matches(view: RequestView) -> bool:
        return (view.action == "export" and view.target == kind and view.target_id == pk
                and view.subresource in subresources)

    return matches
