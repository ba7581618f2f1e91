"""PostgreSQL for the tests: the suite's second database.

``MOCKCVAT_TEST_POSTGRES=1 pytest`` (``make test-postgres``) starts one throwaway cluster
(``mockcvat.pgcluster.TempCluster``: Debian's PostgreSQL, a temp dir, a free port) for the
session and points ``MOCKCVAT_TEST_DATABASE_URL`` at it, so every ``MockCVATServer`` the tests
make (the plugin's included) gets a fresh PostgreSQL database instead of in-memory SQLite.

The fixture ``postgres_url`` gives tests that need PostgreSQL whatever the run (several
processes on one database) a server URL: the session's cluster, or one started for them.
Where PostgreSQL cannot run at all those tests fail, saying why: nothing is skipped silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from mockcvat import pgcluster
from mockcvat.testing import TEST_DATABASE_URL

_session_cluster: list[pgcluster.TempCluster] = []


def on_postgres() -> bool:
    return os.environ.get("MOCKCVAT_TEST_POSTGRES") == "1"


def pytest_configure(config: pytest.Config) -> None:
    if on_postgres() and not os.environ.get(TEST_DATABASE_URL):
        cluster = pgcluster.TempCluster().start()
        _session_cluster.append(cluster)
        os.environ[TEST_DATABASE_URL] = cluster.server_url


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(TEST_DATABASE_URL)
    return f"mockcvat database: {'PostgreSQL at ' + url if url else 'SQLite (in memory)'}"


def pytest_unconfigure(config: pytest.Config) -> None:
    while _session_cluster:
        _session_cluster.pop().stop()
        os.environ.pop(TEST_DATABASE_URL, None)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server URL (of its ``postgres`` database) for this session."""
    if os.environ.get(TEST_DATABASE_URL):
        yield os.environ[TEST_DATABASE_URL]
        return
    why = pgcluster.available()
    if why:
        pytest.fail(f"PostgreSQL is needed here: {why}")
    with pgcluster.TempCluster() as cluster:
        yield cluster.server_url
