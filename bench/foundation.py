"""Foundation benchmarks: cold start, per-test reset, list throughput against hello-world.

Run from the repository root: ``.venv/bin/python bench/foundation.py`` (or ``make bench``).
It prints figures next to the targets of the issue; it never fails on timing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import insert

from mockcvat.models import User, UserGroup
from mockcvat.passwords import make_password
from mockcvat.server import MockCVAT
from mockcvat.settings import Settings
from mockcvat.testing import MockCVATServer

BIN = Path(sys.executable).parent  # the virtualenv's bin/
USERS = 10_000
CONNECTIONS, WARMUP, DURATION = 16, 1.0, 5.0
FILTERS = {
    "id>=5000 and active": {"and": [{"==": [{"var": "is_active"}, True]},
                                    {">=": [{"var": "id"}, 5000]}]},
    "username contains 77": {"in": ["77", {"var": "username"}]},
}
DISTINCT = "a new filter each time"
HELLO_APP = """from fastapi import FastAPI
app = FastAPI()
@app.get("/hello")
async def hello():
    return {"hello": "world"}
"""  # served by the same uvicorn, with the same settings as `mockcvat serve`


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_status(port: int, path: str) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:  # not listening yet
        return None
    finally:
        conn.close()


def spawn(args: list[str], port: int, probe: str) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server process; return it and the seconds until ``probe`` answers 200."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while get_status(port, probe) != 200:
        if proc.poll() is not None or time.perf_counter() - started > 30:
            raise RuntimeError(f"server did not start: {' '.join(args)}")
        time.sleep(0.002)
    return proc, time.perf_counter() - started


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()  # SIGKILL: no graceful shutdown to wait for
    proc.wait()


def serve_mockcvat(port: int, data_dir: str, database_url: str = "sqlite://") -> list[str]:
    return [str(BIN / "mockcvat"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--database-url", database_url, "--data-dir", data_dir]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- 1. cold start ------------------------------------------------------------------------
def cold_start(tmp: str, runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        port = free_port()
        proc, seconds = spawn(serve_mockcvat(port, tmp), port, "/api/server/about")
        stop(proc)
        times.append(seconds)
    print(f"cold start to first 200 ({runs} runs): median {ms(statistics.median(times))}, "
          f"min {ms(min(times))}")
    return times


# --- 2. per-test reset ----------------------------------------------------------------------
def reset_times(runs: int = 200) -> list[float]:
    with MockCVATServer() as server:
        for i in range(50):
            server.create_user(f"user{i}", "Unusual-Passw0rd!", email=f"user{i}@example.com")
        for i in range(5):
            httpx.post(f"{server.url}/api/auth/login",
                       json={"username": f"user{i}", "password": "Unusual-Passw0rd!"}
                       ).raise_for_status()
        times = []
        for i in range(runs):  # the first reset drops the 50 users and 5 sessions
            times.append(server.reset())
            server.create_user(f"between{i}")
    print(f"reset ({runs} runs, 1 user created between): median {ms(statistics.median(times))}, "
          f"p95 {ms(percentile(times, 0.95))}, max {ms(max(times))}, first {ms(times[0])}")
    return times


# --- 3. list throughput -----------------------------------------------------------------------
def build_database(path: Path) -> str:
    """A SQLite file with the seeded admin and USERS bulk-inserted users; returns its URL."""
    url = f"sqlite:///{path}"
    mock = MockCVAT(Settings(database_url=url, data_dir=path.parent))
    password = make_password("Unusual-Passw0rd!", mock.settings.password_iterations)
    now = dt.datetime.now(dt.UTC)
    ids = range(2, USERS + 2)  # the admin is 1
    users = [{"id": i, "username": f"user{i:05d}", "email": f"user{i:05d}@example.com",
              "first_name": "First", "last_name": f"Last{i % 97}", "password": password,
              "is_staff": False, "is_superuser": False, "is_active": i % 10 != 0,
              "last_login": None, "date_joined": now} for i in ids]
    with mock.db.session() as session:
        session.execute(insert(User), users)
        session.execute(insert(UserGroup), [{"user_id": i, "group": "user"} for i in ids])
    mock.close()
    return url


async def _connection(port: int, requests: Iterator[bytes], deadline: float,
                      measure_from: float, results: list[tuple[float, int]],
                      bad: list[bytes]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (now := time.perf_counter()) < deadline:
            writer.write(next(requests))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0  # every response here carries Content-Length (none is chunked)
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            if now >= measure_from:
                results.append((time.perf_counter() - now, status))
            if status != 200 and not bad:
                bad.append(head + body[:500])
    finally:
        writer.close()


async def _load(port: int, requests: Iterator[bytes]
                ) -> tuple[list[tuple[float, int]], list[bytes]]:
    measure_from = time.perf_counter() + WARMUP
    deadline = measure_from + DURATION
    results: list[tuple[float, int]] = []
    bad: list[bytes] = []
    await asyncio.gather(*(_connection(port, requests, deadline, measure_from, results, bad)
                           for _ in range(CONNECTIONS)))
    return results, bad


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(label: str, proc: subprocess.Popen[bytes], port: int, target: str | Iterator[str],
         headers: dict[str, str]) -> float:
    """Saturate one server with keep-alive GETs of ``target`` (one path, or a different path
    per request); print and return requests/second."""
    targets = itertools.repeat(target) if isinstance(target, str) else target

    def requests() -> Iterator[bytes]:
        for path in targets:
            lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                     *(f"{k}: {v}" for k, v in headers.items())]
            yield ("\r\n".join(lines) + "\r\n\r\n").encode()

    cpu = cpu_seconds(proc.pid)
    results, bad = asyncio.run(_load(port, requests()))
    cpu = (cpu_seconds(proc.pid) - cpu) / (WARMUP + DURATION)
    latencies = [latency for latency, _ in results]
    rps = len(results) / DURATION
    print(f"  {label:<28} {rps:8.0f} req/s   p50 {ms(percentile(latencies, 0.5))}   "
          f"p99 {ms(percentile(latencies, 0.99))}   server CPU {cpu:4.0%}")
    errors = sum(status != 200 for _, status in results)
    if errors or bad:
        print(f"  WARNING: {errors} non-200 responses; first:\n{bad[0].decode(errors='replace')}")
    return rps


def throughput(tmp: str) -> dict[str, float]:
    started = time.perf_counter()
    url = build_database(Path(tmp) / "bench.sqlite3")
    admin = Settings()  # the admin build_database seeded
    print(f"seeded {USERS} users into a SQLite file in {time.perf_counter() - started:.2f} s; "
          f"each server a subprocess; {CONNECTIONS} keep-alive connections, "
          f"{WARMUP:.0f} s warm-up + {DURATION:.0f} s; latency includes queueing")
    rates = {}
    (Path(tmp) / "hello_app.py").write_text(HELLO_APP)
    port = free_port()
    proc, _ = spawn([str(BIN / "python"), "-m", "uvicorn", "hello_app:app", "--app-dir", tmp,
                     "--port", str(port), "--no-access-log", "--log-level", "warning"],
                    port, "/hello")
    try:
        rates["hello-world"] = load("hello-world GET /hello", proc, port, "/hello", {})
    finally:
        stop(proc)
    port = free_port()
    proc, _ = spawn(serve_mockcvat(port, tmp, url), port, "/api/server/about")
    try:
        login = httpx.post(f"http://127.0.0.1:{port}/api/auth/login",
                           json={"username": admin.admin_username,
                                 "password": admin.admin_password})
        login.raise_for_status()
        auth = {"Authorization": f"Token {login.json()['key']}"}
        for label, rules in FILTERS.items():
            target = "/api/users?page_size=10&filter=" + quote(json.dumps(rules))
            rates[label] = load(f"users: {label}", proc, port, target, auth)
        # every request a filter never seen before: no statement reuse, no cached count
        rates[DISTINCT] = load(f"users: {DISTINCT}", proc, port, (
            "/api/users?page_size=10&filter="
            + quote(json.dumps({">=": [{"var": "id"}, n % USERS], "!": {"==": [
                {"var": "username"}, f"x{n}"]}}))
            for n in itertools.count()), auth)
    finally:
        stop(proc)
    for label, rate in rates.items():
        if label != "hello-world":
            print(f"  ratio {label!r} / hello-world: {rate / rates['hello-world']:.2f}")
    return rates


def main() -> None:
    print(f"mockcvat foundation benchmark (python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs)\n")
    tmp = tempfile.mkdtemp(prefix="mockcvat-bench-")
    try:
        start = cold_start(tmp)
        reset = reset_times()
        print(f"\nlist throughput ({USERS} users, GET /api/users?page_size=10&filter=...)")
        rates = throughput(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    hello = rates.pop("hello-world")
    rows = [("cold start (median)", "< 1 s", f"{statistics.median(start):.3f} s",
             statistics.median(start) < 1),
            ("reset (p95)", "< 20 ms", f"{percentile(reset, 0.95) * 1000:.2f} ms",
             percentile(reset, 0.95) < 0.020)]
    rows += [(f"list: {label}", ">= 0.5 x hello", f"{rate / hello:.2f} x ({rate:.0f} req/s)",
              rate >= 0.5 * hello) for label, rate in rates.items()]
    print(f"\n{'measure':<32} {'target':<16} {'measured':<24} verdict")
    for name, target, measured, ok in rows:
        print(f"{name:<32} {target:<16} {measured:<24} {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
