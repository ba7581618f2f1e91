"""Bytes in a store, behind one interface (``ByteStore``): the data dir and the share
(``LocalStore``) and the cloud providers CVAT supports (``S3Store``, ``AzureStore``,
``GCSStore``). Media, exports, backups and imports that touch a bucket go through it.

The provider modules import their SDKs (boto3, azure-storage-blob, google-cloud-storage), which
take a noticeable part of a second to load; ``cloud_store`` imports them on first use so a
server that never sees a cloud storage starts as fast as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

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
from .local import LocalStore

AWS_S3 = "AWS_S3_BUCKET"
AZURE_CONTAINER = "AZURE_CONTAINER"
GOOGLE_CLOUD_STORAGE = "GOOGLE_CLOUD_STORAGE"
GOOGLE_DRIVE = "GOOGLE_DRIVE"  # in CVAT's enum until 2.x, never implemented by CVAT either


def parse_specific_attributes(text: str | None) -> dict[str, str]:
    """CVAT's ``parse_specific_attributes``: ``region=eu-central-1&endpoint_url=...``."""
    return dict(parse_qsl(text or ""))


def cloud_store(provider_type: str, resource: str, credentials_type: str,
                credentials: Mapping[str, str], attributes: Mapping[str, str]) -> ByteStore:
    """The store of a cloud storage definition (CVAT's ``get_cloud_storage_instance``)."""
    endpoint = attributes.get("endpoint_url") or None
    if provider_type == AWS_S3:
        from .s3 import S3Store

        return S3Store(resource, access_key_id=credentials.get("key", ""),
                       secret_key=credentials.get("secret_key", ""),
                       session_token=credentials.get("session_token", ""),
                       region=attributes.get("region"), endpoint_url=endpoint)
    if provider_type == AZURE_CONTAINER:
        from .azure import AzureStore

        return AzureStore(resource, account_name=credentials.get("account_name", ""),
                          sas_token=credentials.get("session_token", ""),
                          connection_string=credentials.get("connection_string", ""),
                          endpoint_url=endpoint)
    if provider_type == GOOGLE_CLOUD_STORAGE:
        from .gcs import GCSStore

        return GCSStore(resource, service_account_json=credentials.get("key_file", ""),
                        anonymous=credentials_type == "ANONYMOUS_ACCESS",
                        project=attributes.get("project"), endpoint_url=endpoint)
    raise StoreError(f"The {provider_type} provider is not supported")


__all__ = [
    "AVAILABLE", "AWS_S3", "AZURE_CONTAINER", "FORBIDDEN", "GOOGLE_CLOUD_STORAGE",
    "GOOGLE_DRIVE", "MAX_PAGE_SIZE", "NOT_FOUND", "AccessDenied", "ByteStore", "LocalStore",
    "ObjectInfo", "ObjectNotFound", "Page", "StoreError", "StoreUnavailable", "cloud_store",
    "parse_specific_attributes",
]
