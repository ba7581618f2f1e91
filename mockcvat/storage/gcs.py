"""Google Cloud Storage through google-cloud-storage, as CVAT's GcsCloudStorage: a service
account key, or anonymous access; ``endpoint_url`` (a mockcvat extension) points the client at
another server, such as an emulator."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

import requests
from google.api_core import exceptions as google_errors
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import GoogleAuthError
from google.cloud import storage

from .base import (
    AVAILABLE,
    FORBIDDEN,
    MAX_PAGE_SIZE,
    NOT_FOUND,
    AccessDenied,
    ByteStore,
    ObjectInfo,
    ObjectNotFound,
    Page,
    StoreError,
    StoreUnavailable,
)

_TIMEOUT = 30
_UNREACHABLE = (requests.ConnectionError, requests.Timeout, google_errors.RetryError)


class GCSStore(ByteStore):
    def __init__(self, bucket: str, *, service_account_json: str = "",
                 anonymous: bool = False, project: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self.name = bucket
        options = ClientOptions(api_endpoint=endpoint_url) if endpoint_url else None
        try:
            if service_account_json:
                client = storage.Client.from_service_account_info(
                    json.loads(service_account_json), client_options=options)
            else:
                # CVAT falls back to the environment's credentials; a test fake has none, so
                # anything but a key file is anonymous here
                client = storage.Client(project=project or "<none>",
                                        credentials=AnonymousCredentials(),
                                        client_options=options)
        except (ValueError, GoogleAuthError) as exc:
            raise StoreError(f"Invalid Google Cloud Storage key file: {exc}") from None
        self._client = client
        self._bucket = client.bucket(bucket, user_project=project)

    def _fail(self, exc: Exception, key: str | None = None) -> StoreError:
        if isinstance(exc, google_errors.NotFound):
            if key is not None and "bucket" not in str(exc).lower():
                return ObjectNotFound(
                    f"The file '{key}' not found on the cloud storage '{self.name}'")
            return ObjectNotFound(f"The resource {self.name} not found. It may have been deleted.")
        if isinstance(exc, google_errors.Forbidden | google_errors.Unauthorized):
            return AccessDenied(f"Access to the '{key or self.name}' resource is denied")
        if isinstance(exc, _UNREACHABLE):
            return StoreUnavailable(f"The resource {self.name} is not available: {exc}")
        return StoreError(str(exc))

    def _run(self, key: str | None, action: Any) -> Any:
        try:
            return action()
        except (google_errors.GoogleAPIError, *_UNREACHABLE) as exc:
            raise self._fail(exc, key) from None

    def status(self) -> str:
        try:
            self._client.get_bucket(self.name, timeout=_TIMEOUT, retry=None)
        except (google_errors.Forbidden, google_errors.Unauthorized):
            return FORBIDDEN
        except (google_errors.GoogleAPIError, *_UNREACHABLE):
            return NOT_FOUND
        return AVAILABLE

    def list_page(self, prefix: str = "", *, next_token: str | None = None,
                  page_size: int = MAX_PAGE_SIZE) -> Page:
        def one_page() -> Page:
            blobs = self._client.list_blobs(
                self.name, prefix=prefix or None, delimiter="/", page_size=page_size,
                page_token=next_token, timeout=_TIMEOUT, retry=None)
            page = next(blobs.pages)
            files = [b.name for b in page if not b.name.endswith("/")]
            return Page(files=files, dirs=sorted(page.prefixes),
                        next_token=blobs.next_page_token or None)

        return self._run(None, one_page)

    def head(self, key: str) -> ObjectInfo:
        blob = self._run(key, lambda: self._bucket.get_blob(key, timeout=_TIMEOUT, retry=None))
        if blob is None:
            raise ObjectNotFound(f"The file '{key}' not found on the cloud storage '{self.name}'")
        return ObjectInfo(key, int(blob.size or 0), blob.updated)

    def get(self, key: str, start: int = 0, stop: int | None = None) -> bytes:
        if stop is not None and stop <= start:
            return b""
        blob = self._bucket.blob(key)
        return self._run(key, lambda: blob.download_as_bytes(
            start=start or None, end=None if stop is None else stop - 1,
            timeout=_TIMEOUT, retry=None))

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        blob = self._bucket.blob(key)
        if isinstance(data, bytes):
            self._run(key, lambda: blob.upload_from_string(data, timeout=_TIMEOUT, retry=None))
        else:
            self._run(key, lambda: blob.upload_from_file(data, timeout=_TIMEOUT, retry=None))

    def delete(self, key: str) -> None:
        try:
            self._bucket.blob(key).delete(timeout=_TIMEOUT, retry=None)
        except google_errors.NotFound:
            return
        except (google_errors.GoogleAPIError, *_UNREACHABLE) as exc:
            raise self._fail(exc, key) from None
