"""The upload protocol CVAT wraps around TUS (``cvat/apps/engine/mixins.py``), for any endpoint.

An endpoint that accepts files (task data, annotations, datasets, backups) owns an
``UploadArea`` (a prefix of the media store) and passes its POSTs through ``dispatch``:

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
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO, cast

import anyio.to_thread
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from mockcvat.errors import APIError, NotFound, UnsupportedMediaType
from mockcvat.http import decode_header_value, header_value
from mockcvat.storage import ByteStore, ObjectNotFound

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
    """Files received for one endpoint and one object (e.g. task 7's data), under a prefix of
    the media store (``uploads/task-7-data/``), so that any process can take the next piece
    of an upload: the files under ``files/``, the protocol's bookkeeping under ``state/``
    (arrival order, one marker per request that received files; TUS offsets; the pieces of
    a TUS upload in progress, joined into the file when its last piece arrives).

    ``scratch``: a directory of this host for joining pieces (``MockCVAT.tmp_dir``)."""

    def __init__(self, store: ByteStore, prefix: str, scratch: Path) -> None:
        self.store, self.prefix, self.scratch = store, prefix, scratch
        self.files_prefix = prefix + "files/"
        self.state_prefix = prefix + "state/"

    # --- the area ---------------------------------------------------------------------------
    def start(self) -> None:
        self.store.delete_prefix(self.prefix)

    def clear(self) -> None:
        self.store.delete_prefix(self.prefix)

    def files(self) -> list[str]:
        """Completely received files, in the order they arrived."""
        markers = sorted(self.store.walk(self.state_prefix + "order/"))
        names = [name for key in markers for name in json.loads(self.store.get(key))]
        return list(dict.fromkeys(names))

    def _received(self, names: list[str]) -> None:
        # a new marker, never a rewrite: requests handled by other processes cannot clash
        marker = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        self.store.put(f"{self.state_prefix}order/{marker}", json.dumps(names).encode())

    def key(self, name: str) -> str:
        """The key of a received file (checked as a client's file name)."""
        return self.files_prefix + safe_name(name)

    def uploaded(self, name: str | None) -> str | None:
        """The key of the received file an ``Upload-Finish`` names (its ``filename``
        parameter), or None. Clients echo the ``Upload-Filename`` header, which carries a
        non-Latin name MIME-encoded (as Django sends it); the encoded form names the same file."""
        if not name:
            return None
        key = self.key(decode_header_value(name))
        return key if self.store.exists(key) else None

    def local_files(self, scratch: Path) -> Path:
        """The received files as a local directory (the area's own on a local store, copies
        in ``scratch`` otherwise), for readers of files; what is added there is not kept."""
        return self.store.local_tree(self.files_prefix, scratch)

    async def store_stream(self, name: str, source: BinaryIO) -> str:
        """One file from a stream (a multipart part, a bucket's object): its key."""
        key = self.key(name)
        await anyio.to_thread.run_sync(self.store.put, key, source)
        self._received([safe_name(name)])
        return key

    # --- multipart ----------------------------------------------------------------------------
    async def store_multipart(self, request: Request, field_prefix: str = "client_files"
                              ) -> tuple[list[str], dict[str, str]]:
        """Stores every file part named ``<prefix>[N]``; returns their names and the plain
        form fields (e.g. ``image_quality``)."""
        form = await request.form(max_files=100000, max_fields=100000)
        names, fields, parts = [], {}, []
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if not key.startswith(field_prefix):
                        continue
                    name = safe_name(value.filename or "")
                    parts.append((self.files_prefix + name, value.file))
                    names.append(name)
                else:
                    fields[key] = value

            def put_all() -> None:  # off the event loop: a bucket answers in milliseconds
                for file_key, file in parts:
                    self.store.put(file_key, file)

            await anyio.to_thread.run_sync(put_all)
        finally:
            await form.close()
        if names:
            self._received(names)
        return names, fields

    # --- TUS ------------------------------------------------------------------------------------
    def _meta_key(self, file_id: str) -> str:
        try:
            uuid.UUID(file_id)
        except ValueError:
            raise NotFound() from None
        return f"{self.state_prefix}tus-{file_id}.json"

    def _meta(self, file_id: str) -> dict[str, Any]:
        try:
            return json.loads(self.store.get(self._meta_key(file_id)))
        except ObjectNotFound:
            raise EmptyTusError(404) from None

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
        if self.store.exists(self.key(name)):
            raise TusError(409, "File with same name already exists")
        file_id = str(uuid.uuid4())
        self.store.put(self.key(name), b"")  # the name is taken from now on
        self.store.put(self._meta_key(file_id), json.dumps(
            {"name": name, "length": length, "offset": 0}).encode())
        if length == 0:
            self._received([name])
        return file_id, name

    def tus_name(self, file_id: str) -> str:
        return str(self._meta(file_id)["name"])

    def tus_offset(self, file_id: str) -> tuple[int, int]:
        meta = self._meta(file_id)
        return meta["offset"], meta["length"]

    async def tus_patch(self, file_id: str, offset_header: str | None, request: Request) -> int:
        """Stores the body as the piece at ``Upload-Offset``; returns the new offset."""
        meta = self._meta(file_id)
        try:
            offset = int(offset_header or "0")
        except ValueError:
            raise TusError(400, "Upload-Offset header is invalid") from None
        if offset != meta["offset"]:
            raise EmptyTusError(409)
        self.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.SpooledTemporaryFile(PIECE_IN_MEMORY, dir=self.scratch) as piece:
            written = 0
            try:
                async for chunk in request.stream():
                    written += len(chunk)
                    if offset + written > meta["length"]:
                        # CVAT writes past the declared length; TUS asks to refuse
                        raise TusError(
                            413, "The uploaded data exceed the Upload-Length of the file.")
                    piece.write(chunk)
            except ClientDisconnect:
                # an interrupted PATCH: keep the acknowledged offset, the client resumes (HEAD)
                raise EmptyTusError(400) from None
            piece.seek(0)
            pieces = f"{self.state_prefix}tus-{file_id}/"
            await anyio.to_thread.run_sync(
                self.store.put, f"{pieces}{offset:020d}", cast(BinaryIO, piece))
        meta["offset"] = offset + written
        if meta["offset"] == meta["length"]:
            await anyio.to_thread.run_sync(
                self.store.compose, self.key(meta["name"]),
                sorted(self.store.walk(pieces)), self.scratch)
            self._received([meta["name"]])
            self.store.delete(self._meta_key(file_id))  # finished uploads are gone for HEAD
        else:
            self.store.put(self._meta_key(file_id), json.dumps(meta).encode())
        return int(meta["offset"])


PIECE_IN_MEMORY = 8 << 20  # a TUS piece up to this size is not written to disk before storing


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
