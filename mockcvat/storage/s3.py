"""AWS S3 (and S3-compatible servers) through boto3, configured as CVAT's S3CloudStorage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.handlers import disable_signing

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

_DENIED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
           "ExpiredToken", "InvalidToken", "AllAccessDisabled"}
_MISSING = {"404", "NoSuchBucket", "NoSuchKey", "NotFound"}


class S3Store(ByteStore):
    """``environment_credentials``: without credentials given, boto3's own chain (the
    ``AWS_*`` variables, ``~/.aws``, an instance role) instead of anonymous access (the
    server's media store, ``--media-url``; a cloud storage never reads the server's)."""

    def __init__(self, bucket: str, *, access_key_id: str = "", secret_key: str = "",
                 session_token: str = "", region: str | None = None,
                 endpoint_url: str | None = None, environment_credentials: bool = False
                 ) -> None:
        given = [c for c in (access_key_id, secret_key, session_token) if c]
        if len(given) == 1:  # CVAT raises this (a 500 there; a 400 here)
            raise StoreError("Insufficient data for authentication")
        self.name = bucket
        session = boto3.session.Session(
            aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_key or None,
            aws_session_token=session_token or None, region_name=region or None)
        config = Config(connect_timeout=5, read_timeout=60,
                        retries={"total_max_attempts": 2, "mode": "standard"})
        self._client = session.client("s3", endpoint_url=endpoint_url or None, config=config)
        if not given and not environment_credentials:  # anonymous: unsigned, as CVAT sends
            self._client.meta.events.register("choose-signer.s3.*", disable_signing)

    def _fail(self, exc: Exception, key: str | None = None) -> StoreError:
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _DENIED:
                return AccessDenied(f"Access to the '{key or self.name}' resource is denied")
            if code in _MISSING:
                if key is not None and code != "NoSuchBucket":
                    return ObjectNotFound(
                        f"The file '{key}' not found on the cloud storage '{self.name}'")
                return ObjectNotFound(
                    f"The resource {self.name} not found. It may have been deleted.")
            return StoreError(str(exc))
        return StoreUnavailable(f"The resource {self.name} is not available: {exc}")

    def _call(self, method: str, key: str | None = None, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, method)(Bucket=self.name, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, key) from None

    def status(self) -> str:
        try:
            self._client.head_bucket(Bucket=self.name)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            return FORBIDDEN if code in _DENIED else NOT_FOUND
        except BotoCoreError:  # unreachable endpoint: CVAT reports it as not found
            return NOT_FOUND
        return AVAILABLE

    def list_page(self, prefix: str = "", *, next_token: str | None = None,
                  page_size: int = MAX_PAGE_SIZE) -> Page:
        response = self._call(
            "list_objects_v2", MaxKeys=page_size, Delimiter="/",
            **({"Prefix": prefix} if prefix else {}),
            **({"ContinuationToken": next_token} if next_token else {}))
        return Page(
            files=[o["Key"] for o in response.get("Contents", []) if not o["Key"].endswith("/")],
            dirs=[p["Prefix"] for p in response.get("CommonPrefixes", [])],
            next_token=response.get("NextContinuationToken"))

    def head(self, key: str) -> ObjectInfo:
        response = self._call("head_object", key, Key=key)
        return ObjectInfo(key, int(response.get("ContentLength", 0)),
                          response.get("LastModified"))

    def get(self, key: str, start: int = 0, stop: int | None = None) -> bytes:
        if stop is not None and stop <= start:
            return b""
        ranged = {"Range": f"bytes={start}-{'' if stop is None else stop - 1}"} \
            if start or stop is not None else {}
        body = self._call("get_object", key, Key=key, **ranged)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        if isinstance(data, bytes):
            self._call("put_object", key, Key=key, Body=data)
            return
        try:
            self._client.upload_fileobj(data, self.name, key)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, key) from None
        except boto3.exceptions.S3UploadFailedError as exc:
            raise StoreError(str(exc)) from None

    def delete(self, key: str) -> None:
        self._call("delete_object", key, Key=key)

    def iter_bytes(self, key: str, piece: int = 8 << 20) -> Iterator[bytes]:
        body = self._call("get_object", key, Key=key)["Body"]
        try:
            yield from body.iter_chunks(piece)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, key) from None
        finally:
            body.close()

    def delete_prefix(self, prefix: str) -> None:
        """A flat listing and batch deletes (1,000 keys a request), not one call per key."""
        token: str | None = None
        while True:
            response = self._call("list_objects_v2", Prefix=prefix,
                                  **({"ContinuationToken": token} if token else {}))
            keys = [{"Key": o["Key"]} for o in response.get("Contents", [])]
            if keys:
                self._call("delete_objects", Delete={"Objects": keys, "Quiet": True})
            token = response.get("NextContinuationToken")
            if not token:
                return

    def copy(self, key: str, target: str) -> None:
        """Server-side (boto3's managed copy: multipart above its threshold)."""
        try:
            self._client.copy({"Bucket": self.name, "Key": key}, self.name, target)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, key) from None

    def allowed_actions(self) -> list[str]:
        """CVAT's ``supported_actions``: read/write from the bucket policy's Allow statements;
        both when the bucket has no policy."""
        import json

        try:
            policy = self._client.get_bucket_policy(Bucket=self.name)["Policy"]
        except ClientError as exc:
            if "NoSuchBucketPolicy" in str(exc):
                return ["read", "write"]
            raise self._fail(exc) from None
        except BotoCoreError as exc:
            raise self._fail(exc) from None
        allowed: set[str] = set()
        for statement in json.loads(policy).get("Statement", []):
            if statement.get("Effect") == "Allow":
                actions = statement.get("Action", [])
                allowed.update([actions] if isinstance(actions, str) else actions)
        mapping = {"s3:GetObject": "read", "s3:PutObject": "write"}
        return sorted({mapping[a] for a in allowed if a in mapping})
