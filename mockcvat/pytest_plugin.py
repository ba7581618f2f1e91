"""pytest fixtures for testing code against a fake CVAT (registered through ``pytest11``).

* ``mockcvat_settings`` (session): keyword overrides for ``Settings``; override it in a
  ``conftest.py`` to change e.g. ``admin`` or ``cvat_version``.
* ``mockcvat_seed`` (session): a seed directory to start from; override it to load one.
* ``mockcvat_server`` (session): one live server for the whole test session.
* ``cvat_server`` (function): that server, reset to its seeded state before the test, with the
  fault rules of the test's ``@pytest.mark.mockcvat_fault(...)`` markers.
* ``cvat_client`` (function): a ``cvat_sdk.Client`` logged in as the admin.

Imports of the server happen inside the fixtures, so merely having the plugin installed
costs a test session nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import cvat_sdk

    from mockcvat.testing import MockCVATServer

_started: list[MockCVATServer] = []

FAULT_MARKER = "mockcvat_fault"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{FAULT_MARKER}(operation_id=None, **rule): an HTTP fault rule of mockcvat for this "
        "test (the keywords of MockCVATServer.faults.add: status, body, headers, delay, reset, "
        "truncate, method, path, user, times, percent, seed); applied by the cvat_server "
        "fixture after its reset")


@pytest.fixture(scope="session")
def mockcvat_settings() -> dict[str, Any]:
    """Keyword overrides for ``mockcvat.settings.Settings`` of the session's server, e.g.
    ``{"admin": "root:toor", "cvat_version": "2.80.0"}``. Override this fixture (session
    scope) in your ``conftest.py``; the default is ``{}``."""
    return {}


@pytest.fixture(scope="session")
def mockcvat_seed() -> str | Path | None:
    """A seed directory (users.json, tasks.json, ..., media/; see ``mockcvat dump`` and
    ``mockcvat snapshot``) the session's server starts from and every reset returns to.
    Override this fixture (session scope) in your ``conftest.py``; the default, None, starts
    from the admin alone."""
    return None


@pytest.fixture(scope="session")
def mockcvat_server(mockcvat_settings: dict[str, Any],
                    mockcvat_seed: str | Path | None) -> Iterator[MockCVATServer]:
    """The session's ``mockcvat.testing.MockCVATServer``: in memory, on a free port of
    127.0.0.1, background requests finished before the request that started them answers.
    Not reset between tests; use ``cvat_server`` for that."""
    from mockcvat.testing import MockCVATServer

    server = MockCVATServer(seed=mockcvat_seed, **mockcvat_settings).start()
    _started.append(server)
    try:
        yield server
    finally:
        server.stop()
        _started.remove(server)


@pytest.fixture
def cvat_server(mockcvat_server: MockCVATServer, request: pytest.FixtureRequest
                ) -> MockCVATServer:
    """The session's server, reset to its seeded state (journal and fault rules cleared),
    then given the fault rules of the test's ``@pytest.mark.mockcvat_fault(...)`` markers."""
    mockcvat_server.reset()
    for marker in reversed(list(request.node.iter_markers(FAULT_MARKER))):
        mockcvat_server.faults.add(*marker.args, **marker.kwargs)
    return mockcvat_server


@pytest.fixture
def cvat_client(cvat_server: MockCVATServer) -> Iterator[cvat_sdk.Client]:
    """A ``cvat_sdk.Client`` logged in as the admin of ``cvat_server`` (closed afterwards)."""
    client = cvat_server.make_client()
    try:
        yield client
    finally:
        client.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for server in list(_started):
        server.stop()
