"""Shared test fixtures; the helpers are in ``tests/clients.py`` (re-exported here). The server
fixtures (cvat_server, cvat_client) come from mockcvat's own pytest plugin, registered through
its pytest11 entry point."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockcvat.testing import MockCVATServer
from tests.clients import NO_TLS, STRONG_PASSWORD, token_client
from tests.engine_world import built_world, world  # noqa: F401  (the policy tables' world)


@pytest.fixture
def http(cvat_server: MockCVATServer) -> Iterator[httpx.Client]:
    """An anonymous raw HTTP client for the server."""
    with httpx.Client(base_url=cvat_server.url, **NO_TLS) as client:
        yield client


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

