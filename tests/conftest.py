"""Shared test fixtures; the helpers are in ``tests/clients.py`` (re-exported here). The server
fixtures (cvat_server, cvat_client) come from mockcvat's own pytest plugin, registered through
its pytest11 entry point."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockcvat.testing import MockCVATServer
from tests.clients import NO_TLS, STRONG_PASSWORD, token_client
from tests.engine_world import built_world, world  # noqa: F401  (the policy tables' world)

# session fixtures s3_server, azure_server, gcs_server: real object-storage servers;
# postgres_url, and the PostgreSQL run of the suite (MOCKCVAT_TEST_POSTGRES=1)
pytest_plugins = ["tests.cloud_servers", "tests.postgres_server"]


@pytest.fixture
def http(cvat_server: MockCVATServer) -> Iterator[httpx.Client]:
    """An anonymous raw HTTP client for the server."""
    with httpx.Client(base_url=cvat_server.url, **NO_TLS) as client:
        yield client


@pytest.fixture
def share_dir(cvat_server: MockCVATServer) -> Iterator[Path]:
    """The server's share, empty, and emptied again after the test (a reset leaves the share
    alone, as CVAT's is a mounted folder outside its state)."""
    root = Path(cvat_server.mock.share_dir)

    def empty() -> None:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)

    empty()
    yield root
    empty()


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


# --- both emulated versions the suite checks -------------------------------------------------
OLD_VERSION, NEW_VERSION = "2.26.2", "2.80.0"


@pytest.fixture(scope="session")
def mockcvat_server_old() -> Iterator[MockCVATServer]:
    """A second session server, emulating CVAT 2.26.2 (the plugin's emulates 2.80.0)."""
    with MockCVATServer(cvat_version=OLD_VERSION) as server:
        yield server


@pytest.fixture(params=[NEW_VERSION, OLD_VERSION])
def versioned_server(request: pytest.FixtureRequest, mockcvat_server: MockCVATServer
                     ) -> MockCVATServer:
    """Each test using it runs against 2.80.0 and 2.26.2, on a freshly reset server."""
    server = (mockcvat_server if request.param == NEW_VERSION
              else request.getfixturevalue("mockcvat_server_old"))
    server.reset()
    return server


@pytest.fixture
def versioned_admin(versioned_server: MockCVATServer) -> Iterator[httpx.Client]:
    with token_client(versioned_server, *versioned_server.admin_credentials) as client:
        yield client


def png_bytes(size: tuple[int, int] = (16, 12), color: tuple[int, int, int] = (200, 0, 0)
              ) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def raw_task(client: httpx.Client, name: str = "cars", labels: tuple[str, ...] = ("car",),
             frames: int = 2, project_id: int | None = None) -> dict[str, Any]:
    """A task with ``frames`` PNGs, made over raw HTTP (any emulated version; the server's
    background mode is "immediate")."""
    spec: dict[str, Any] = {"name": name}
    if project_id is None:
        spec["labels"] = [{"name": label} for label in labels]
    else:
        spec["project_id"] = project_id
    task = client.post("/api/tasks", json=spec)
    assert task.status_code == 201, task.text
    files = {f"client_files[{i}]": (f"img{i}.png", png_bytes(), "image/png")
             for i in range(frames)}
    data = client.post(f"/api/tasks/{task.json()['id']}/data/", data={"image_quality": "70"},
                       files=files)
    assert data.status_code == 202, data.text
    return client.get(f"/api/tasks/{task.json()['id']}").json()


@pytest.fixture
def alice_on() -> Iterator[Any]:
    """``alice_on(server)``: a token client for a new regular user "alice" on that server."""
    clients: list[httpx.Client] = []

    def make(server: MockCVATServer) -> httpx.Client:
        server.create_user("alice", STRONG_PASSWORD, email="alice@example.com")
        clients.append(token_client(server, "alice", STRONG_PASSWORD))
        return clients[-1]

    yield make
    for client in clients:
        client.close()
