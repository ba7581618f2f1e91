"""Test helpers shared by the test modules (re-exported by ``conftest``): the password of
the test users and a raw HTTP client logged in with one."""

from __future__ import annotations

from typing import Any

import httpx

from mockcvat.testing import MockCVATServer

STRONG_PASSWORD = "Unusual-Passw0rd!"
# The server speaks plain HTTP; skipping TLS set-up saves ~40 ms (loading CA certificates)
# per client, which adds up over hundreds of table-driven cases.
NO_TLS: dict[str, Any] = {"verify": False}


def token_client(server: MockCVATServer, username: str, password: str) -> httpx.Client:
    """A raw HTTP client authenticated with the legacy token from a password login."""
    response = httpx.post(f"{server.url}/api/auth/login",
                          json={"username": username, "password": password}, **NO_TLS)
    assert response.status_code == 200, response.text
    return httpx.Client(base_url=server.url, **NO_TLS,
                        headers={"Authorization": f"Token {response.json()['key']}"})
