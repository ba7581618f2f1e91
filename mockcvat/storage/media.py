"""The server's own files: task data (the media as received, manifests, chunks, previews),
uploads in progress, exports, backups, guide assets, event-log exports. What the data dir's
``media/`` held, behind the byte-store interface, so that it can live in an S3-compatible
bucket (``--media-url s3://bucket/prefix``) which every process on every host reads.

The root of the media (the data dir, or the bucket's prefix) holds two areas, as the data
dir always did:

* ``media/``: the state's files, keyed ``<area>/<object>…`` (``data/7/raw/a.jpg``,
  ``exports/task-3-….zip``, ``uploads/task-5-data/files/v.mp4``);
* ``reset-media/``: copies (hard links, server-side copies) of the files the start-up state
  owns, from which a reset brings back what a deleted object took with it.

Scratch work stays on local disk (``MockCVAT.temp_dir()``); results go to the store.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from .base import MAX_PAGE_SIZE, ByteStore, ObjectInfo, Page, StoreError
from .local import LocalStore

MEDIA, KEPT = "media/", "reset-media/"
SCRATCH_AREA = "tmp"  # media/tmp: running work's scratch on a local store, never state


class PrefixedStore(ByteStore):
    """The keys under ``prefix`` of another store, as a store of their own."""

    def __init__(self, inner: ByteStore, prefix: str) -> None:
        self.inner, self.prefix = inner, prefix
        self.name = f"{inner.name}/{prefix}"

    def _key(self, key: str) -> str:
        return self.prefix + key

    def status(self) -> str:
        return self.inner.status()

    def list_page(self, prefix: str = "", *, next_token: str | None = None,
                  page_size: int = MAX_PAGE_SIZE) -> Page:
        page = self.inner.list_page(self._key(prefix), next_token=next_token,
                                    page_size=page_size)
        cut = len(self.prefix)
        return Page(files=[k[cut:] for k in page.files], dirs=[d[cut:] for d in page.dirs],
                    next_token=page.next_token)

    def head(self, key: str) -> ObjectInfo:
        info = self.inner.head(self._key(key))
        return ObjectInfo(key, info.size, info.last_modified)

    def get(self, key: str, start: int = 0, stop: int | None = None) -> bytes:
        return self.inner.get(self._key(key), start, stop)

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        self.inner.put(self._key(key), data)

    def delete(self, key: str) -> None:
        self.inner.delete(self._key(key))

    def iter_bytes(self, key: str, piece: int = 8 << 20) -> Iterator[bytes]:
        return self.inner.iter_bytes(self._key(key), piece)

    def local_path(self, key: str) -> Path | None:
        return self.inner.local_path(self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        self.inner.delete_prefix(self._key(prefix))

    def copy(self, key: str, target: str) -> None:
        self.inner.copy(self._key(key), self._key(target))

    def rename(self, key: str, target: str) -> None:
        self.inner.rename(self._key(key), self._key(target))

    def move_in(self, key: str, path: Path) -> None:
        self.inner.move_in(self._key(key), path)

    def put_tree(self, prefix: str, directory: Path) -> None:
        self.inner.put_tree(self._key(prefix), directory)

    def compose(self, target: str, parts: list[str], scratch: Path) -> None:
        self.inner.compose(self._key(target), [self._key(p) for p in parts], scratch)


class MediaStore(PrefixedStore):
    """``media/`` of the root (see the module docstring), with the reset's copies beside it.

    ``cache_dir``: this host's copies of remote objects that a reader needs as files (a video
    decoder seeks in its file), each named by the object's key, size and date so that an
    object replaced under the same key (ids come back after a reset) is fetched again."""

    def __init__(self, root: ByteStore, cache_dir: Path) -> None:
        super().__init__(root, MEDIA)
        self.root = root
        self.remote = root.local_path(MEDIA) is None
        self.cache_dir = cache_dir

    def check(self) -> str | None:
        """None when the store answers, else why not (for the start-up message)."""
        status = self.root.status()
        return None if status == "AVAILABLE" else status

    # --- one entry per object and kind: what a reset keeps or removes ------------------------
    def entries(self) -> list[str]:
        """``data/7/``, ``exports/task-3-….zip``, …: one per object (directories end in '/')."""
        found = []
        for area in self.list_page("").dirs:
            if area.rstrip("/") == SCRATCH_AREA:
                continue
            for page in self.pages(area):
                found += page.files + page.dirs
        return found

    def pages(self, prefix: str) -> Iterator[Page]:
        """The pages of a one-level listing."""
        token = None
        while True:
            page = self.list_page(prefix, next_token=token)
            yield page
            token = page.next_token
            if not token:
                return

    def remove(self, entry: str) -> None:
        self.delete_prefix(entry) if entry.endswith("/") else self.delete(entry)

    def _present(self, entry: str) -> bool:
        if not entry.endswith("/"):
            return self.exists(entry)
        page = self.list_page(entry, page_size=1)
        return bool(page.files or page.dirs)

    def _each(self, entry: str, area: str) -> list[str]:
        """The keys (under ``media/`` or ``reset-media/``) of an entry."""
        if not entry.endswith("/"):
            return [entry]
        store = self if area == MEDIA else PrefixedStore(self.root, KEPT)
        return list(store.walk(entry))

    def keep(self, entries: list[str]) -> None:
        """``reset-media/`` becomes a copy of these entries (and nothing else)."""
        self.root.delete_prefix(KEPT)
        for entry in entries:
            for key in self._each(entry, MEDIA):
                self.root.copy(MEDIA + key, KEPT + key)

    def restore(self, entries: list[str]) -> None:
        """The kept entries that are missing come back (a deleted object's files)."""
        for entry in entries:
            if self._present(entry):
                continue
            for key in self._each(entry, KEPT):
                self.root.copy(KEPT + key, MEDIA + key)

    # --- files for readers that need one -------------------------------------------------------
    def cached_file(self, key: str) -> Path:
        """The object as a file of this host, kept for the next reader (see the class)."""
        local = self.local_path(key)
        if local is not None:
            return self.local_file(key, self.cache_dir)
        info = self.head(key)
        stamp = f"{key}\0{info.size}\0{info.last_modified}".encode()
        path = self.cache_dir / hashlib.sha256(stamp).hexdigest()[:32] / key.rsplit("/", 1)[-1]
        if not path.is_file():
            partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
            self.download(key, partial)
            partial.replace(path)
        return path


def media_store(url: str | None, data_dir: Path, *, endpoint: str | None = None) -> MediaStore:
    """The media of a server: the data dir's (``url`` None), or ``s3://bucket/prefix``'s
    (credentials from boto3's chain: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``…)."""
    cache = Path(data_dir) / "media" / SCRATCH_AREA / "remote"
    if not url:
        return MediaStore(LocalStore(Path(data_dir)), cache)
    bucket, prefix = parse_media_url(url)
    from .s3 import S3Store

    root: ByteStore = S3Store(bucket, endpoint_url=endpoint, environment_credentials=True)
    return MediaStore(PrefixedStore(root, prefix) if prefix else root, cache)


def parse_media_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (bucket, 'some/prefix/'); ``StoreError`` if it is not
    one."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise StoreError(f"{url!r} is not s3://BUCKET[/PREFIX] (the only kind of media URL "
                         "mockcvat takes)")
    prefix = parts.path.strip("/")
    return parts.netloc, prefix + "/" if prefix else ""
