"""A directory of this machine as a byte store (the data dir, the share)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
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

    def _target(self, key: str) -> Path:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

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

    # the moves of whole objects and trees as the filesystem does them: renames and hard links
    def delete_prefix(self, prefix: str) -> None:
        if not prefix.endswith("/"):
            super().delete_prefix(prefix)
            return
        shutil.rmtree(self._path(prefix), ignore_errors=True)

    def copy(self, key: str, target: str) -> None:
        source, copy = self._path(key), self._target(target)
        if not source.is_file():
            raise ObjectNotFound(f"The file '{key}' not found on '{self.name}'")
        copy.unlink(missing_ok=True)
        try:  # a hard link: no bytes copied, and every write here replaces a file whole
            os.link(source, copy)
        except OSError:
            shutil.copy2(source, copy)

    def rename(self, key: str, target: str) -> None:
        try:
            os.replace(self._path(key), self._target(target))
        except FileNotFoundError:
            raise ObjectNotFound(f"The file '{key}' not found on '{self.name}'") from None

    def move_in(self, key: str, path: Path) -> None:
        shutil.move(path, self._target(key))

    def put_tree(self, prefix: str, directory: Path) -> None:
        target = self._path(prefix)
        if target.exists():
            super().put_tree(prefix, directory)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(directory, target)

    def compose(self, target: str, parts: list[str], scratch: Path) -> None:
        if not parts:
            self.put(target, b"")
            return
        joined = self._target(target)
        os.replace(self._path(parts[0]), joined)
        with open(joined, "ab") as out:
            for part in parts[1:]:
                with open(self._path(part), "rb") as source:
                    copy_stream(source, out)
                self.delete(part)
