"""Azure Blob Storage containers through azure-storage-blob, as CVAT's AzureBlobCloudStorage:
a connection string, or an account name (with a SAS token, or anonymous)."""

from __future__ import annotations

from typing import Any, BinaryIO

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobPrefix, BlobServiceClient

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

# Fail fast on an unreachable endpoint instead of the SDK's ten retries with back-off
_CLIENT_OPTIONS: dict[str, Any] = {"retry_total": 1, "connection_timeout": 5,
                                   "read_timeout": 60}


class AzureStore(ByteStore):
    def __init__(self, container: str, *, account_name: str = "", sas_token: str = "",
                 connection_string: str = "", endpoint_url: str | None = None) -> None:
        self.name = container
        try:
            if connection_string:
                service = BlobServiceClient.from_connection_string(
                    connection_string, **_CLIENT_OPTIONS)
            else:
                # CVAT: https://<account>.blob.core.windows.net; endpoint_url (a mockcvat
                # extension, for emulators) replaces it
                url = endpoint_url or f"https://{account_name}.blob.core.windows.net"
                service = BlobServiceClient(account_url=url, credential=sas_token or None,
                                            **_CLIENT_OPTIONS)
        except ValueError as exc:
            raise StoreError(f"Invalid Azure credentials: {exc}") from None
        self._container = service.get_container_client(container)

    def _fail(self, exc: Exception, key: str | None = None) -> StoreError:
        if isinstance(exc, ResourceNotFoundError):
            if key is not None and "ContainerNotFound" not in str(exc):
                return ObjectNotFound(
                    f"The file '{key}' not found on the cloud storage '{self.name}'")
            return ObjectNotFound(f"The resource {self.name} not found. It may have been deleted.")
        if isinstance(exc, ClientAuthenticationError) or (
                isinstance(exc, HttpResponseError) and exc.status_code == 403):
            return AccessDenied(f"Access to the '{key or self.name}' resource is denied")
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return StoreUnavailable(f"The resource {self.name} is not available: {exc}")
        return StoreError(str(getattr(exc, "message", exc)).splitlines()[0])

    def _run(self, key: str | None, action: Any) -> Any:
        try:
            return action()
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
            raise self._fail(exc, key) from None

    def status(self) -> str:
        try:
            self._container.get_container_properties()
        except HttpResponseError as exc:
            return FORBIDDEN if exc.status_code == 403 else NOT_FOUND
        except (ServiceRequestError, ServiceResponseError):
            return NOT_FOUND
        return AVAILABLE

    def list_page(self, prefix: str = "", *, next_token: str | None = None,
                  page_size: int = MAX_PAGE_SIZE) -> Page:
        def one_page() -> Page:
            pages = self._container.walk_blobs(
                results_per_page=page_size, delimiter="/",
                **({"name_starts_with": prefix} if prefix else {}),
            ).by_page(continuation_token=next_token)
            items = list(next(pages))
            return Page(files=[i.name for i in items if not isinstance(i, BlobPrefix)],
                        dirs=[i.prefix for i in items if isinstance(i, BlobPrefix)],
                        next_token=pages.continuation_token or None)

        return self._run(None, one_page)

    def head(self, key: str) -> ObjectInfo:
        props = self._run(key, lambda: self._container.get_blob_client(key).get_blob_properties())
        return ObjectInfo(key, int(props.size), props.last_modified)

    def get(self, key: str, start: int = 0, stop: int | None = None) -> bytes:
        if stop is not None and stop <= start:
            return b""
        length = None if stop is None else stop - start
        return self._run(key, lambda: self._container.download_blob(
            key, offset=start if start or length is not None else None,
            length=length).readall())

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        self._run(key, lambda: self._container.upload_blob(key, data, overwrite=True))

    def delete(self, key: str) -> None:
        try:
            self._container.delete_blob(key)
        except ResourceNotFoundError:
            return
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
            raise self._fail(exc, key) from None
