"""pytest fixtures for testing code against a fake CVAT (registered through ``pytest11``).

* ``mockcvat_settings`` (session): keyword overrides for ``Settings``; override it in a
  ``conftest.py`` to change e.g. ``cvat_version`` or ``admin``.
* ``mockcvat_server`` (session): one live server for the whole test session.
* ``cvat_server`` (function): that server, reset to its seeded state before the test.
* ``cvat_client`` (function): a ``cvat_sdk.Client`` logged in as the admin.

Imports of the server happen inside the fixtures, so merely having the plugin installed
costs a test session nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import cvat_sdk

    from mockcvat.testing import MockCVATServer

_started: list[MockCVATServer] = []


@pytest.fixture(scope="session")
def mockcvat_settings() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="session")
def mockcvat_server(mockcvat_settings: dict[str, Any]) -> Iterator[MockCVATServer]:
    from mockcvat.testing import MockCVATServer

    server = MockCVATServer(**mockcvat_settings).start()
    _started.append(server)
    try:
        yield server
    finally:
        server.stop()
        _started.remove(server)


@pytest.fixture
def cvat_server(mockcvat_server: MockCVATServer) -> MockCVATServer:
    mockcvat_server.reset()
    return mockcvat_server


@pytest.fixture
def cvat_client(cvat_server: MockCVATServer) -> Iterator[cvat_sdk.Client]:
    client = cvat_server.make_client()
    try:
        yield client
    finally:
        client.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for server in list(_started):
        server.stop()
