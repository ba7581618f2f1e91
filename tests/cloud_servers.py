"""Real object-storage servers for the cloud-storage tests, started on free 127.0.0.1 ports:

* S3: moto in server mode (``ThreadedMotoServer``), spoken to with boto3;
* Azure: Azurite, the official emulator (npm), installed into ``.azurite/`` by the Makefile;
  the Azure tests skip, saying why, where it is missing and cannot be installed;
* GCS: gcp-storage-emulator (PyPI), an in-process JSON-API server. It lists a bucket in one page
  (no ``maxResults``/``pageToken``), so GCS pagination is not exercised.

Registered as a plugin from ``conftest.py``; each server starts on first use, once per session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
             "K1SZFPTOtr/KBHBeksoGMGw==")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_bucket(stem: str = "bucket") -> str:
    """A bucket name valid for S3, Azure and GCS (lowercase letters, digits, dashes)."""
    return f"{stem}-{uuid.uuid4().hex[:12]}"


def _wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None,
                   timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# --- S3 (moto) -------------------------------------------------------------------------------
@dataclass
class S3Server:
    endpoint: str
    key: str = "testing"
    secret: str = "testing"

    def client(self, service: str = "s3", **credentials: Any) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=credentials.get("key", self.key),
                            aws_secret_access_key=credentials.get("secret", self.secret))

    def make_bucket(self, name: str | None = None) -> str:
        name = name or unique_bucket()
        self.client().create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=body)

    def get(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def delete_bucket(self, bucket: str) -> None:
        client = self.client()
        for key in self.keys(bucket):
            client.delete_object(Bucket=bucket, Key=key)
        client.delete_bucket(Bucket=bucket)

    def require_auth(self, enabled: bool) -> None:
        """moto checks signatures and IAM policies only when told to (its reset-auth API):
        from then on every request needs an access key moto's IAM knows."""
        import httpx

        count = "0" if enabled else "inf"
        httpx.post(f"{self.endpoint}/moto-api/reset-auth", content=count).raise_for_status()

    def iam_user(self, bucket: str) -> tuple[str, str, str]:
        """A user allowed s3:* on ``bucket``: (user name, access key, secret)."""
        import json

        iam = self.client("iam")
        user = f"user-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="bucket", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*",
                           "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}],
        }))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return user, key["AccessKeyId"], key["SecretAccessKey"]


def start_moto() -> tuple[Any, S3Server]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, S3Server(f"http://127.0.0.1:{port}")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server, s3 = start_moto()
    try:
        yield s3
    finally:
        server.stop()


# --- the suite with S3 media: MOCKCVAT_TEST_S3_MEDIA=1 ------------------------------------------
# Every MockCVATServer of the session keeps its media under a prefix of one bucket of a moto
# server of its own (not the s3_server above, whose tests turn authentication on and off),
# through the variables mockcvat.testing reads.
_media_moto: list[Any] = []
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                  "AWS_DEFAULT_REGION": "us-east-1"}


def media_environment(s3: S3Server, bucket: str) -> dict[str, str]:
    """The variables that put a server's media into ``bucket`` (credentials included)."""
    return {**S3_CREDENTIALS, "MOCKCVAT_MEDIA_URL": f"s3://{bucket}/media-root",
            "MOCKCVAT_MEDIA_ENDPOINT": s3.endpoint}


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("MOCKCVAT_TEST_S3_MEDIA") != "1":
        return
    from mockcvat.testing import TEST_MEDIA_ENDPOINT, TEST_MEDIA_URL

    server, s3 = start_moto()
    _media_moto.append(server)
    os.environ.update(S3_CREDENTIALS)
    os.environ[TEST_MEDIA_URL] = f"s3://{s3.make_bucket('media')}"
    os.environ[TEST_MEDIA_ENDPOINT] = s3.endpoint


def pytest_report_header(config: pytest.Config) -> str:
    from mockcvat.testing import TEST_MEDIA_URL

    url = os.environ.get(TEST_MEDIA_URL)
    return f"mockcvat media: {'S3 (moto) at ' + url if url else 'the data dir'}"


def pytest_unconfigure(config: pytest.Config) -> None:
    while _media_moto:
        _media_moto.pop().stop()


# --- Azure (Azurite) -------------------------------------------------------------------------
@dataclass
class AzureServer:
    blob_endpoint: str

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};"
                f"AccountKey={AZURE_KEY};BlobEndpoint={self.blob_endpoint};")

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def make_container(self, name: str | None = None) -> str:
        name = name or unique_bucket("container")
        self.service().create_container(name)
        return name

    def put(self, container: str, key: str, body: bytes) -> None:
        self.service().get_blob_client(container, key).upload_blob(body, overwrite=True)

    def keys(self, container: str) -> list[str]:
        return sorted(b.name for b in self.service().get_container_client(container).list_blobs())

    def sas_token(self, **permissions: bool) -> str:
        """An account SAS for containers and blobs (CVAT checks a container with Get Container
        Properties, which a container SAS does not allow)."""
        import datetime as dt

        from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

        allowed = permissions or {"read": True, "write": True, "list": True, "delete": True}
        return generate_account_sas(
            AZURE_ACCOUNT, AZURE_KEY, ResourceTypes(container=True, object=True),
            AccountSasPermissions(**allowed), expiry=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))

    def sas_connection_string(self, **permissions: bool) -> str:
        sas = self.sas_token(**permissions)
        return f"BlobEndpoint={self.blob_endpoint};SharedAccessSignature={sas}"


def _azurite_command() -> Path | None:
    if AZURITE.exists():
        return AZURITE
    found = shutil.which("azurite-blob")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureServer]:
    command = _azurite_command()
    if command is None:
        pytest.skip("Azurite is not installed (make install-test puts it in .azurite/ with npm; "
                    "node and npm were not available)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("azurite")  # its debug log and lock files
    process = subprocess.Popen(
        [str(command), "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--inMemoryPersistence", "--silent", "--loose",
         "--skipApiVersionCheck", "--disableTelemetry"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, env={**os.environ})
    try:
        _wait_for_port(port, process)
        yield AzureServer(f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# --- GCS (gcp-storage-emulator) --------------------------------------------------------------
@dataclass
class GCSServer:
    endpoint: str

    def client(self) -> Any:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project="test", credentials=AnonymousCredentials(),
                              client_options=ClientOptions(api_endpoint=self.endpoint))

    def make_bucket(self, name: str | None = None) -> str:
        name = name or unique_bucket()
        self.client().create_bucket(name)
        return name

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.client().bucket(bucket).blob(key).upload_from_string(body)

    def keys(self, bucket: str) -> list[str]:
        return sorted(b.name for b in self.client().list_blobs(bucket))


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSServer]:
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    try:
        yield GCSServer(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
