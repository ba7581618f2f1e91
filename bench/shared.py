"""A shared instance's throughput: ``GET /api/tasks`` and task creation (``POST /api/tasks``)
in requests per second, for ``mockcvat serve`` on PostgreSQL with 1, 2 and 4 workers, next to
one process on SQLite (its default).

Run from the repository root: ``.venv/bin/python bench/shared.py`` (needs PostgreSQL's
``initdb``/``pg_ctl``, as the tests do). 16 client threads with keep-alive connections and a
token each, for ``SECONDS`` per measure; the servers run as subprocesses. Prints a table.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mockcvat import pgcluster  # noqa: E402
from tests.cloud_servers import free_port  # noqa: E402

CLIENTS, SECONDS = 16, float(os.environ.get("BENCH_SECONDS", "10"))


def serve(args: list[str], data_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockcvat", "serve", "--port", str(port),
                                "--data-dir", data_dir, *args], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/server/about", timeout=2).status_code == 200:
                time.sleep(2)  # every worker up
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def rate(url: str, token: str, call: str) -> float:
    done, stop = [0] * CLIENTS, time.monotonic() + SECONDS

    def run(index: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"},
                          timeout=60) as http:
            n = 0
            while time.monotonic() < stop:
                if call == "list":
                    answer = http.get("/api/tasks?page_size=10")
                else:
                    answer = http.post("/api/tasks", json={
                        "name": f"b{index}-{n}", "labels": [{"name": "car"}]})
                assert answer.status_code in (200, 201), answer.text
                n += 1
            done[index] = n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def measure(args: list[str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = serve(args, data_dir)
        try:
            token = httpx.post(url + "/api/auth/login", json={
                "username": "admin", "password": "admin"}).json()["key"]
            for i in range(200):  # something to list
                httpx.post(url + "/api/tasks", json={"name": f"seed{i}"},
                           headers={"Authorization": f"Token {token}"})
            created = rate(url, token, "create")
            listed = rate(url, token, "list")
            return listed, created
        finally:
            process.terminate()
            process.wait(60)


def main() -> None:
    rows = [("SQLite, 1 process", measure([]))]
    with pgcluster.TempCluster() as cluster:
        for workers in (1, 2, 4):
            url = cluster.create_database(f"bench_{workers}")
            rows.append((f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}",
                         measure(["--workers", str(workers), "--database-url", url])))
    print(f"{CLIENTS} clients, {SECONDS:.0f} s per measure, {os.cpu_count()} CPUs")
    print("| server | GET /api/tasks (req/s) | POST /api/tasks (req/s) |")
    print("|---|---|---|")
    for name, (listed, created) in rows:
        print(f"| {name} | {listed:,.0f} | {created:,.0f} |")


if __name__ == "__main__":
    main()
