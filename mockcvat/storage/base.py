"""The one interface for bytes in a store: list (one level, with a prefix and pages), head, get
(ranged), put and delete, plus the bucket's and a key's status as CVAT reports them.

Implementations: ``LocalStore`` (a directory: the data dir, the share), ``S3Store`` (boto3),
``AzureStore`` (azure-storage-blob) and ``GCSStore`` (google-cloud-storage). Callers never see a
provider's exception: every failure is one of the ``StoreError`` kinds below.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

# CVAT's cloud_provider.Status
AVAILABLE = "AVAILABLE"
NOT_FOUND = "NOT_FOUND"
FORBIDDEN = "FORBIDDEN"

MAX_PAGE_SIZE = 1000  # CVAT's BUCKET_CONTENT_MAX_PAGE_SIZE


class StoreError(Exception):
    """A store operation failed; ``message`` says why, in words a client can read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ObjectNotFound(StoreError):
    """The key (or the bucket itself) does not exist."""


class AccessDenied(StoreError):
    """The credentials do not allow the operation."""


class StoreUnavailable(StoreError):
    """The store's endpoint cannot be reached."""


@dataclass
class Page:
    """One page of a one-level listing: full keys of the files, and the sub-"directories"
    (full prefixes ending with '/'), and the token of the next page, if any."""

    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    next_token: str | None = None


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: dt.datetime | None = None


class ByteStore(ABC):
    """Bytes under string keys ('a/b.jpg'); '/' delimits the levels of a listing."""

    name: str  # the bucket, container or directory, for messages

    # --- the primitives each store implements -----------------------------------------------
    @abstractmethod
    def status(self) -> str:
        """AVAILABLE, NOT_FOUND (missing or unreachable) or FORBIDDEN, as CVAT reports it."""

    @abstractmethod
    def list_page(self, prefix: str = "", *, next_token: str | None = None,
                  page_size: int = MAX_PAGE_SIZE) -> Page:
        """One level under ``prefix`` (keys starting with it, up to the next '/')."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """The object's size and date; ``ObjectNotFound`` if it is not there."""

    @abstractmethod
    def get(self, key: str, start: int = 0, stop: int | None = None) -> bytes:
        """Bytes ``[start, stop)`` of the object (all of it by default)."""

    @abstractmethod
    def put(self, key: str, data: bytes | BinaryIO) -> None:
        """Create or replace the object."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""

    # --- what every store derives from them --------------------------------------------------
    def file_status(self, key: str) -> str:
        try:
            self.head(key)
        except ObjectNotFound:
            return NOT_FOUND
        except AccessDenied:
            return FORBIDDEN
        return AVAILABLE

    def walk(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix``, recursively, level by level (CVAT's flat listing)."""
        pending = [prefix]
        while pending:
            current, token = pending.pop(0), None
            while True:
                page = self.list_page(current, next_token=token)
                yield from page.files
                pending += page.dirs
                token = page.next_token
                if not token:
                    break

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True

    def iter_bytes(self, key: str, piece: int = 8 << 20) -> Iterator[bytes]:
        """The object in pieces (a download answer, a copy to a file): one ranged read each,
        never the whole object in memory."""
        size = self.head(key).size
        for start in range(0, size, piece):
            yield self.get(key, start, min(start + piece, size))

    def download(self, key: str, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "wb") as out:
                for piece in self.iter_bytes(key):
                    out.write(piece)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def put_file(self, key: str, path: Path) -> None:
        with open(path, "rb") as source:
            self.put(key, source)

    def local_path(self, key: str) -> Path | None:
        """The key as a file (or, for a prefix ending with '/', a directory) of this machine,
        for readers that need one (video decoding); None where the bytes live elsewhere."""
        return None

    # --- moving whole objects and trees (the server's own media, mockcvat.storage.media) -----
    def delete_prefix(self, prefix: str) -> None:
        """Every object whose key starts with ``prefix`` (a "directory" when it ends in '/')."""
        for key in list(self.walk(prefix)):
            self.delete(key)

    def copy(self, key: str, target: str) -> None:
        """The object under a second key (later changes to either do not show in the other)."""
        self.put(target, self.get(key))

    def rename(self, key: str, target: str) -> None:
        self.copy(key, target)
        self.delete(key)

    def move_in(self, key: str, path: Path) -> None:
        """A local file becomes the object (the file is gone afterwards)."""
        self.put_file(key, path)
        path.unlink()

    def put_tree(self, prefix: str, directory: Path) -> None:
        """Every file under a local directory becomes an object under ``prefix`` (a key
        ending in '/'), the directory is used up."""
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            self.move_in(prefix + path.relative_to(directory).as_posix(), path)
        shutil.rmtree(directory, ignore_errors=True)

    def local_file(self, key: str, scratch: Path) -> Path:
        """The object as a file to read: its own where it is one, else a copy in ``scratch``
        (a directory the caller removes)."""
        local = self.local_path(key)
        if local is not None:
            if not local.is_file():
                raise ObjectNotFound(f"The file '{key}' not found on '{self.name}'")
            return local
        return self.download(key, scratch / key.rsplit("/", 1)[-1])

    def local_tree(self, prefix: str, scratch: Path) -> Path:
        """The objects under ``prefix`` (ending in '/') as a directory to read and add to:
        the store's own where it is one (created if missing), else copies in ``scratch``."""
        local = self.local_path(prefix)
        if local is not None:
            local.mkdir(parents=True, exist_ok=True)
            return local
        scratch.mkdir(parents=True, exist_ok=True)
        for key in self.walk(prefix):
            self.download(key, scratch.joinpath(*key[len(prefix):].split("/")))
        return scratch

    def compose(self, target: str, parts: list[str], scratch: Path) -> None:
        """The objects ``parts`` one after another become ``target``; the parts go."""
        joined = scratch / f"compose-{uuid.uuid4().hex}"
        try:
            with open(joined, "wb") as out:
                for part in parts:
                    for piece in self.iter_bytes(part):
                        out.write(piece)
            self.put_file(target, joined)
        finally:
            joined.unlink(missing_ok=True)
        for part in parts:
            self.delete(part)


def copy_stream(source: BinaryIO, target: BinaryIO) -> None:
    shutil.copyfileobj(source, target, 1 << 20)
