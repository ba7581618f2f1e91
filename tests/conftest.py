"""Shared test helpers. The server fixtures (cvat_server, cvat_client) come from mockcvat's
own pytest plugin, registered through its pytest11 entry point."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockcvat.testing import MockCVATServer

# session fixtures s3_server, azure_server, gcs_server: real object-storage servers
pytest_plugins = ["tests.cloud_servers"]

STRONG_PASSWORD = "Unusual-Passw0rd!"
# The server speaks plain HTTP; skipping TLS set-up saves ~40 ms (loading CA certificates)
# per client, which adds up over hundreds of table-driven cases.
NO_TLS: dict[str, Any] = {"verify": False}


@pytest.fixture
def http(cvat_server: MockCVATServer) -> Iterator[httpx.Client]:
    """An anonymous raw HTTP client for the server."""
    with httpx.Client(base_url=cvat_server.url, **NO_TLS) as client:
        yield client


def token_client(server: MockCVATServer, username: str, password: str) -> httpx.Client:
    """A raw HTTP client authenticated with the legacy token from a password login."""
    response = httpx.post(f"{server.url}/api/auth/login",
                          json={"username": username, "password": password}, **NO_TLS)
    assert response.status_code == 200, response.text
    return httpx.Client(base_url=server.url, **NO_TLS,
                        headers={"Authorization": f"Token {response.json()['key']}"})


@pytest.fixture
def admin(cvat_server: MockCVATServer) -> Iterator[httpx.Client]:
    with token_client(cvat_server, *cvat_server.admin_credentials) as client:
        yield client


@pytest.fixture
def alice(cvat_server: MockCVATServer) -> Iterator[httpx.Client]:
    """A regular user (group "user")."""
    cvat_server.create_user("alice", STRONG_PASSWORD, email="alice@example.com",
                            first_name="Alice", last_name="Liddell")
    with token_client(cvat_server, "alice", STRONG_PASSWORD) as client:
        yield client
