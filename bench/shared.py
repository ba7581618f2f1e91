"""A shared instance's throughput: ``GET /api/tasks``, task creation (``POST /api/tasks``) and
whole tasks with data (create, upload 3 images, wait for the background request) per second,
for ``mockcvat serve`` on PostgreSQL with 1, 2 and 4 workers, next to one process on SQLite
(its default).

Run from the repository root: ``.venv/bin/python bench/shared.py`` (needs PostgreSQL's
``initdb``/``pg_ctl``, as the tests do). The servers run as subprocesses in ``thread`` mode
(as ``mockcvat serve`` does by default); 200 tasks exist before the first measure.

* ``GET /api/tasks?page_size=10`` and ``POST /api/tasks``: 16 keep-alive connections for
  ``BENCH_SECONDS`` (default 10) each, driven by ``wrk`` (C, 2 threads) when it is installed
  (Debian: ``apt-get install wrk``), else by 16 Python threads (which then measure the client
  as much as the server: the table says which);
* tasks with data: 8 Python clients, each creating a task, sending 3 PNGs of 64x48 as one
  multipart request and polling ``/api/requests/<id>`` every 20 ms until it finishes.

Every figure is a median of ``BENCH_RUNS`` (default 3) runs. Prints a table.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mockcvat import pgcluster  # noqa: E402
from tests.cloud_servers import free_port  # noqa: E402

CONNECTIONS, DATA_CLIENTS = 16, 8
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WRK = shutil.which("wrk")
CREATE_BODY = '{"name": "bench", "labels": [{"name": "car"}]}'


def serve(args: list[str], data_dir: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockcvat", "serve", "--port", str(port),
                                "--data-dir", data_dir, "--log-level", "warning", *args],
                               stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/server/about", timeout=2).status_code == 200:
                # every worker answers (uvicorn hands connections out as they come)
                for _ in range(workers * 8):
                    httpx.get(url + "/api/server/about", timeout=10)
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _wrk(url: str, token: str, path: str, post: bool) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.headers["Authorization"] = "Token ' + token + '"\n')
        if post:
            script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = '
                         '"application/json"\nwrk.body = \'' + CREATE_BODY + "'\n")
        script.write('function response(status, headers, body)\n'
                     '  if status ~= 200 and status ~= 201 then\n'
                     '    io.stderr:write("status " .. status .. "\\n") end\nend\n')
    try:
        result = subprocess.run(
            [WRK or "wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS:.0f}s", "-s", script.name,
             url + path], capture_output=True, text=True, check=True)
    finally:
        os.unlink(script.name)
    if "status" in result.stderr:
        raise RuntimeError(f"unexpected answers: {result.stderr[:300]}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def _threads(url: str, token: str, path: str, post: bool) -> float:
    def step(http: httpx.Client) -> None:
        answer = (http.post(path, content=CREATE_BODY,
                            headers={"Content-Type": "application/json"})
                  if post else http.get(path))
        assert answer.status_code in (200, 201), answer.text

    return _clients(url, token, CONNECTIONS, step)


def _clients(url: str, token: str, count: int, step: Callable[[httpx.Client], None]) -> float:
    """``count`` threads, each with a connection of its own, doing ``step`` over and over for
    ``SECONDS``: steps per second, all threads together."""
    done, stop = [0] * count, time.monotonic() + SECONDS

    def run(index: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"},
                          timeout=60) as http:
            while time.monotonic() < stop:
                step(http)
                done[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


PNGS = []
for _i in range(3):
    _out = io.BytesIO()
    Image.new("RGB", (64, 48), (40 * _i, 90, 200)).save(_out, format="PNG")
    PNGS.append(_out.getvalue())


def _tasks_with_data(url: str, token: str) -> float:
    def step(http: httpx.Client) -> None:
        task = http.post("/api/tasks", content=CREATE_BODY,
                         headers={"Content-Type": "application/json"}).json()
        answer = http.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                           files=[(f"client_files[{i}]", (f"{i}.png", png))
                                  for i, png in enumerate(PNGS)])
        rq_id = answer.json()["rq_id"]
        while (status := http.get(f"/api/requests/{rq_id}").json()["status"]) not in (
                "finished", "failed"):
            time.sleep(0.02)
        assert status == "finished"

    return _clients(url, token, DATA_CLIENTS, step)


def measure(args: list[str], workers: int = 1) -> tuple[float, float, float]:
    load = _wrk if WRK else _threads
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = serve(args, data_dir, workers)
        try:
            token = httpx.post(url + "/api/auth/login", json={
                "username": "admin", "password": "admin"}).json()["key"]
            for i in range(200):  # something to list
                httpx.post(url + "/api/tasks", json={"name": f"seed{i}"},
                           headers={"Authorization": f"Token {token}"})
            runs = [(load(url, token, "/api/tasks?page_size=10", False),
                     load(url, token, "/api/tasks", True),
                     _tasks_with_data(url, token)) for _ in range(RUNS)]
            return tuple(statistics.median(r[i] for r in runs) for i in range(3))
        finally:
            process.terminate()
            process.wait(60)


def main() -> None:
    rows = [("SQLite, 1 process", measure([]))]
    with pgcluster.TempCluster() as cluster:
        for workers in (1, 2, 4):
            url = cluster.create_database(f"bench_{workers}")
            rows.append((f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}",
                         measure(["--workers", str(workers), "--database-url", url], workers)))
    load = "wrk -t2" if WRK else "16 Python threads"
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; "
          f"{CONNECTIONS} connections ({load}) for the first two columns, {DATA_CLIENTS} "
          f"Python clients for the third; {SECONDS:.0f} s per measure, median of {RUNS}")
    print("| server | `GET /api/tasks` (req/s) | `POST /api/tasks` (req/s) "
          "| tasks with 3 images (tasks/s) |")
    print("|---|---|---|---|")
    for name, (listed, created, whole) in rows:
        print(f"| {name} | {listed:,.0f} | {created:,.0f} | {whole:,.1f} |")


if __name__ == "__main__":
    main()
