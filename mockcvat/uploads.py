"""The upload protocol CVAT wraps around TUS (``cvat/apps/engine/mixins.py``), for any endpoint.

An endpoint that accepts files (task data now; annotations, datasets and backups later) owns
an ``UploadArea`` (a directory) and passes its POSTs through ``dispatch``:

* ``Upload-Finish``   → the endpoint's own finish handler (it knows what the files are for);
* ``Upload-Start``    → 202, the area is emptied;
* ``Upload-Length``   → 201, a TUS upload is created at ``<endpoint>/<uuid>`` (absolute
  ``Location``, ``Upload-Filename``); its ``PATCH``/``HEAD`` go to ``tus_patch`` / ``tus_head``;
* ``Upload-Multiple`` → 200, the multipart ``client_files[N]`` are stored;

checked in that order, as CVAT's ``UploadMixin`` does.

The marker headers arrive with empty values, so only their presence counts. Client file names
are never trusted: directories are dropped (Django keeps only the base name of multipart
files) and names that could escape the area are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from mockcvat.errors import APIError, NotFound, UnsupportedMediaType
from mockcvat.http import decode_header_value, header_value

TUS_VERSION = "1.0.0"
TUS_MAX_FILE_SIZE = 26843545600  # CVAT's TUS_MAX_FILE_SIZE: 25 GiB


# every TUS answer carries these (CVAT's TusFile responses)
TUS_HEADERS = {
    "Tus-Resumable": TUS_VERSION,
    "Tus-Version": TUS_VERSION,
    "Tus-Extension": "",
    "Tus-Max-Size": str(TUS_MAX_FILE_SIZE),
    "Cache-Control": "no-store",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "PATCH,HEAD,GET,POST,OPTIONS",
    "Access-Control-Expose-Headers":
        "Tus-Resumable,upload-length,upload-metadata,Location,Upload-Offset",
    "Access-Control-Allow-Headers":
        "Tus-Resumable,upload-length,upload-metadata,Location,Upload-Offset,content-type",
}


class TusError(APIError):
    """A TUS answer: CVAT's body (a JSON string, or nothing) with the TUS headers."""

    def __init__(self, status: int, detail: str | None = None) -> None:
        super().__init__(detail, headers=dict(TUS_HEADERS))
        self.status_code = status

    def body(self) -> Any:
        return self.detail


class EmptyTusError(TusError):
    def body(self) -> Any:
        return None


def safe_name(name: str) -> str:
    """A client's file name as a plain base name inside the area (Django keeps only the base
    name of uploaded files); names that cannot be a file are CVAT's 400."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    # control characters (NUL, CR, LF, ...) cannot go back out in an Upload-Filename header
    # (CVAT fails there with a 500) and no client means them
    if not base or base in (".", "..") or any(not ch.isprintable() for ch in base):
        raise TusError(400, f"File name {name} is not allowed")
    return base


class UploadArea:
    """Files received for one endpoint and one object (e.g. task 7's data): the files in
    ``files/``, the protocol's bookkeeping (arrival order, TUS offsets) in ``state/``."""

    _lock = threading.Lock()

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files_dir = directory / "files"
        self.state_dir = directory / "state"

    # --- the area ---------------------------------------------------------------------------
    def start(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        self._ensure()

    def _ensure(self) -> None:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def files(self) -> list[str]:
        """Completely received files, in the order they arrived."""
        order = self.state_dir / "order"
        if not order.exists():
            return []
        return [name for name in order.read_text().splitlines() if name]

    def _received(self, name: str) -> None:
        with self._lock:
            listed = self.files()
            if name not in listed:
                with (self.state_dir / "order").open("a") as handle:
                    handle.write(name + "\n")

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def uploaded(self, name: str | None) -> Path | None:
        """The received file an ``Upload-Finish`` names (its ``filename`` parameter), or None.
        Clients echo the ``Upload-Filename`` header, which carries a non-Latin name MIME-encoded
        (as Django sends it); the encoded form names the same file."""
        if not name:
            return None
        path = self.files_dir / safe_name(decode_header_value(name))
        return path if path.is_file() else None

    # --- multipart ----------------------------------------------------------------------------
    async def store_multipart(self, request: Request, field_prefix: str = "client_files"
                              ) -> tuple[list[str], dict[str, str]]:
        """Stores every file part named ``<prefix>[N]``; returns their names and the plain
        form fields (e.g. ``image_quality``)."""
        self._ensure()
        form = await request.form(max_files=100000, max_fields=100000)
        names, fields = [], {}
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if not key.startswith(field_prefix):
                        continue
                    name = safe_name(value.filename or "")
                    with (self.files_dir / name).open("wb") as out:
                        shutil.copyfileobj(value.file, out, 1 << 20)
                    self._received(name)
                    names.append(name)
                else:
                    fields[key] = value
        finally:
            await form.close()
        return names, fields

    # --- TUS ------------------------------------------------------------------------------------
    def _meta_path(self, file_id: str) -> Path:
        try:
            uuid.UUID(file_id)
        except ValueError:
            raise NotFound() from None
        return self.state_dir / f"tus-{file_id}.json"

    def _meta(self, file_id: str) -> dict[str, Any]:
        path = self._meta_path(file_id)
        if not path.exists():
            raise EmptyTusError(404)
        return json.loads(path.read_text())

    def tus_create(self, length_header: str | None, metadata_header: str | None
                   ) -> tuple[str, str]:
        """A new TUS upload: returns (file id, stored file name)."""
        try:
            length = int(length_header or "")
        except ValueError:
            raise TusError(400, "Upload-Length header is invalid") from None
        if length < 0:
            raise TusError(400, "Upload-Length header is invalid")
        if length > TUS_MAX_FILE_SIZE:
            raise TusError(413, f"File size exceeds max limit of {TUS_MAX_FILE_SIZE} bytes")
        metadata = parse_metadata(metadata_header or "")
        name = safe_name(metadata.get("filename", ""))
        if (self.files_dir / name).exists():
            raise TusError(409, "File with same name already exists")
        file_id = str(uuid.uuid4())
        self._ensure()
        (self.files_dir / name).write_bytes(b"")
        self._meta_path(file_id).write_text(
            json.dumps({"name": name, "length": length, "offset": 0}))
        if length == 0:
            self._received(name)
        return file_id, name

    def tus_name(self, file_id: str) -> str:
        return str(self._meta(file_id)["name"])

    def tus_offset(self, file_id: str) -> tuple[int, int]:
        meta = self._meta(file_id)
        return meta["offset"], meta["length"]

    async def tus_patch(self, file_id: str, offset_header: str | None, request: Request) -> int:
        """Appends the body at ``Upload-Offset``; returns the new offset."""
        meta = self._meta(file_id)
        try:
            offset = int(offset_header or "0")
        except ValueError:
            raise TusError(400, "Upload-Offset header is invalid") from None
        if offset != meta["offset"]:
            raise EmptyTusError(409)
        target = self.files_dir / meta["name"]
        written = 0
        with target.open("r+b") as out:
            out.seek(offset)
            try:
                async for piece in request.stream():
                    written += len(piece)
                    if offset + written > meta["length"]:
                        # CVAT writes past the declared length; TUS asks to refuse
                        out.truncate(offset)
                        raise TusError(
                            413, "The uploaded data exceed the Upload-Length of the file.")
                    out.write(piece)
            except ClientDisconnect:
                # an interrupted PATCH: keep the acknowledged offset, the client resumes (HEAD)
                raise EmptyTusError(400) from None
        meta["offset"] = offset + written
        self._meta_path(file_id).write_text(json.dumps(meta))
        if meta["offset"] == meta["length"]:
            self._received(meta["name"])
            self._meta_path(file_id).unlink()  # finished uploads are gone for HEAD (404)
        return int(meta["offset"])


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (a bare key is "")."""
    result = {}
    for pair in header.split(","):
        key, _, encoded = pair.strip().partition(" ")
        if not key:
            continue
        try:
            result[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(400, f"Upload-Metadata value of {key} is not base64") from None
    return result


# --- the endpoint's side ------------------------------------------------------------------------
Finish = Callable[[], Awaitable[Any]]
FieldCheck = Callable[[dict[str, str]], Any]


def wants(request: Request, header: str) -> bool:
    return header in request.headers  # values are empty: presence is the message


async def dispatch(request: Request, area: UploadArea, endpoint_url: str,
                   on_finish: Finish, check_fields: FieldCheck | None = None) -> Any | None:
    """Answers the wrapper's messages; ``None`` means "none of them": the endpoint handles
    the request itself (a plain multipart or JSON body). ``check_fields`` validates the form
    fields of an ``Upload-Multiple`` batch (CVAT runs the whole data serializer on each)."""
    if wants(request, "upload-finish"):
        return await on_finish()
    if wants(request, "upload-start"):
        area.start()
        return Response(status_code=202)
    if wants(request, "upload-length"):
        file_id, name = area.tus_create(request.headers.get("upload-length"),
                                        request.headers.get("upload-metadata"))
        return tus_created(endpoint_url, file_id, name)
    if wants(request, "upload-multiple"):
        _, fields = await area.store_multipart(request)
        if check_fields is not None:
            check_fields(fields)
        return Response(status_code=200)
    return None


def tus_created(endpoint_url: str, file_id: str, name: str) -> Response:
    """201 for a new TUS upload: its absolute ``Location`` and the stored file's name."""
    return Response(status_code=201, headers={
        **TUS_HEADERS, "Location": endpoint_url.rstrip("/") + "/" + file_id,
        "Upload-Filename": header_value(name)})


async def tus_patch(request: Request, area: UploadArea, file_id: str) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/offset+octet-stream"):
        raise UnsupportedMediaType(request.headers.get("content-type", ""))
    name = area.tus_name(file_id)
    offset = await area.tus_patch(file_id, request.headers.get("upload-offset"), request)
    return Response(status_code=204, headers={
        **TUS_HEADERS, "Upload-Offset": str(offset), "Upload-Filename": header_value(name)})


def tus_head(area: UploadArea, file_id: str) -> Response:
    offset, length = area.tus_offset(file_id)
    return Response(status_code=200, headers={
        **TUS_HEADERS, "Upload-Offset": str(offset), "Upload-Length": str(length)})


def is_inside(root: Path, candidate: Path) -> bool:
    """``candidate`` resolves to a path under ``root`` (symlinks followed)."""
    try:
        return os.path.commonpath([root.resolve(), candidate.resolve()]) == str(root.resolve())
    except ValueError:
        return False
