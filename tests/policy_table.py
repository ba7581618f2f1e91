"""Shared by the table-driven policy tests: what an expected cell means and how it is checked."""

from __future__ import annotations

import httpx

# a status, or (200, n) for a list that must show exactly n rows
Expected = int | tuple[int, int]
DENIED = {"detail": "You do not have permission to perform this action."}


def check(response: httpx.Response, expected: Expected) -> None:
    status, count = expected if isinstance(expected, tuple) else (expected, None)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json() == DENIED
    if count is not None:
        page = response.json()
        assert page["count"] == count == len(page["results"])
