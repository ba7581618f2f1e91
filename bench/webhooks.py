"""Webhook delivery benchmark: the cost a webhook adds to the request that causes an event, and
how fast deliveries drain, with a local receiver answering at once.

Run from the repository root: ``.venv/bin/python bench/webhooks.py`` (or ``make bench``). 200
``PATCH /api/projects/{id}`` requests over one keep-alive connection, without a webhook, with
two webhooks in ``thread`` mode (deliveries off the request) and in ``immediate`` mode
(delivered before the request answers). Prints figures; never fails on timing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mockcvat.testing import MockCVATServer  # noqa: E402
from tests.webhook_receiver import Receiver  # noqa: E402

UPDATES = 200


def run(server: MockCVATServer, client: httpx.Client, project: int, mode: str) -> float:
    server.set_background_mode(mode)
    timings = []
    for i in range(UPDATES):
        started = time.perf_counter()
        response = client.patch(f"/api/projects/{project}", json={"name": f"{mode}-{i}"})
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return statistics.median(timings) * 1000


def main() -> None:
    with MockCVATServer() as server, Receiver() as receiver:
        key = httpx.post(f"{server.url}/api/auth/login",
                         json={"username": "admin", "password": "admin"}).json()["key"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Token {key}"}) as c:
            project = c.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}
                             ).json()["id"]
            run(server, c, project, "thread")  # warm-up
            bare = run(server, c, project, "thread")
            for _ in range(2):
                c.post("/api/webhooks", json={"target_url": receiver.url, "type": "project",
                                              "project_id": project,
                                              "events": ["update:project"]})
            threaded = run(server, c, project, "thread")
            started = time.perf_counter()
            server.wait_for_deliveries(timeout=120)
            drained = time.perf_counter() - started
            immediate = run(server, c, project, "immediate")
        delivered = len(receiver.received)
    print(f"PATCH /api/projects/{{id}}, median of {UPDATES}:")
    print(f"  no webhook                      {bare:6.2f} ms")
    print(f"  2 webhooks, thread mode         {threaded:6.2f} ms (deliveries drained "
          f"{drained * 1000:.0f} ms after the last request)")
    print(f"  2 webhooks, immediate mode      {immediate:6.2f} ms")
    print(f"  deliveries received: {delivered} (expected {4 * UPDATES})")


if __name__ == "__main__":
    main()
