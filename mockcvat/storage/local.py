"""A directory of this machine as a byte store (the data dir, the share)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .base import (
    AVAILABLE,
    MAX_PAGE_SIZE,
    NOT_FOUND,
    ByteStore,
    ObjectInfo,
    ObjectNotFound,
    Page,
    StoreError,
    copy_stream,
)


class LocalStore(ByteStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.name = str(self.root)

    def _path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not key or key.startswith("/") or ".." in parts:
            raise StoreError(f"Unsafe key: '{key}'")
        return self.root.joinpath(*parts)

    def status(self) -> str:
        return AVAILABLE if self.root.is_dir() else NOT_FOUND

    def list_page(self, prefix: str = "", *, next_token: str | None = None,
                  page_size: int = MAX_PAGE_SIZE) -> Page:
        # the names of one level, sorted as S3 sorts keys; the token is the last name sent
        directory, _, start = prefix.rpartition("/")
        base = self._path(directory) if directory else self.root
        try:
            entries = sorted((e.name + ("/" if e.is_dir() else ""), e) for e in os.scandir(base)
                             if e.name.startswith(start))
        except (FileNotFoundError, NotADirectoryError):
            entries = []
        lead = f"{directory}/" if directory else ""
        names = [name for name, _ in entries if next_token is None or lead + name > next_token]
        chunk, rest = names[:page_size], names[page_size:]
        return Page(files=[lead + n for n in chunk if not n.endswith("/")],
                    dirs=[lead + n for n in chunk if n.endswith("/")],
                    next_token=lead + chunk[-1] if rest else None)

    def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(f"The file '{key}' not found on '{self.name}'")
        stat = path.stat()
        return ObjectInfo(key, stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))

    def get(self, key: str, start: int = 0, stop: int | None = None) -> bytes:
        path = self._path(key)
        try:
            with open(path, "rb") as source:
                source.seek(start)
                return source.read() if stop is None else source.read(max(stop - start, 0))
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(f"The file '{key}' not found on '{self.name}'") from None

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    copy_stream(data, out)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
