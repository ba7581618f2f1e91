"""The read path against a bare endpoint (issue 17): wrk ratios, big annotations, memory.

Run from the repository root: ``.venv/bin/python bench/read_path.py`` (or ``make bench``).

* State: 1,000 tasks with one label each, 100 of them with a one-frame image (so 100 jobs),
  100 projects, and one task of 100 frames holding 5,000 shapes; then shapes up to 100,000.
  Everything is made over the API of a ``mockcvat serve`` subprocess (a SQLite file).
* Throughput: ``wrk -t1 -c16`` with token auth, each endpoint measured right after a bare
  FastAPI hello-world served by the same uvicorn (interleaved, so that the load other programs
  put on the machine weighs on both sides of each ratio). Each endpoint twice: with the read
  cache (the same request again: the answer is kept until the state changes) and on a server
  started with ``--read-cache false`` (every answer rebuilt, as after a write).
* ``GET /api/tasks/{id}/annotations`` of 5,000 shapes: median time of a request against the
  time ``json.dumps`` alone takes to write the same payload.
* Reads right after a write (a task PATCHed before each): the latency a test suite pays for
  the first read after each step, on one keep-alive connection, next to the same read repeated
  and to the hello-world's.
* Server RSS after 1,000 tasks and 100,000 shapes, and after reading them all.

Without wrk (Debian: ``apt-get install wrk``), the Python load generator of
``bench/foundation.py`` stands in and the bench says so. It prints figures next to their
targets; it never fails on timing.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from foundation import BIN, HELLO_APP, free_port, load, spawn, stop
from PIL import Image

TASKS, PROJECTS, TASKS_WITH_DATA = 1000, 100, 100
FRAMES, SHAPES_PER_FRAME, TOTAL_SHAPES = 100, 50, 100_000
DURATION = os.environ.get("BENCH_WRK_DURATION", "3s")
FILTER = {"and": [{">=": [{"var": "id"}, 500]}, {"==": [{"var": "status"}, "annotation"]}]}


def jpeg(size: tuple[int, int] = (64, 48), shade: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (shade % 256, 100, 200)).save(out, "JPEG")
    return out.getvalue()


def shapes_for(rng: random.Random, frames: int, per_frame: int, labels: list[int]
               ) -> list[dict]:
    shapes = []
    for frame in range(frames):
        for _ in range(per_frame):
            x, y = rng.uniform(0, 280), rng.uniform(0, 200)
            kind = rng.choice(("rectangle", "polygon"))
            points = ([x, y, x + 30, y + 20] if kind == "rectangle"
                      else [x, y, x + 30, y, x + 15, y + 25])
            shapes.append({"type": kind, "frame": frame, "label_id": rng.choice(labels),
                           "points": points})
    return shapes


def wait_done(client: httpx.Client, task_id: int) -> None:
    for _ in range(2000):
        if client.get(f"/api/tasks/{task_id}").json().get("size"):
            return
        time.sleep(0.01)
    raise RuntimeError(f"task {task_id} has no data")


def build(client: httpx.Client) -> tuple[int, list[int]]:
    """The state; returns the big task's id and the ids of the tasks with one frame."""
    rng = random.Random(17)
    started = time.perf_counter()
    for i in range(PROJECTS):
        client.post("/api/projects", json={"name": f"project {i}", "labels": [{"name": "car"}]}
                    ).raise_for_status()
    with_data = []
    for i in range(TASKS):
        task = client.post("/api/tasks", json={"name": f"task {i}",
                                               "labels": [{"name": "car"}]})
        task.raise_for_status()
        if i % (TASKS // TASKS_WITH_DATA) == 0:
            with_data.append(task.json()["id"])
            client.post(f"/api/tasks/{task.json()['id']}/data/", data={"image_quality": "70"},
                        files={"client_files[0]": ("0.jpg", jpeg(shade=i), "image/jpeg")}
                        ).raise_for_status()
    big = client.post("/api/tasks", json={"name": "5,000 shapes",
                                          "labels": [{"name": "car"}, {"name": "person"}]})
    big.raise_for_status()
    big_id = big.json()["id"]
    client.post(f"/api/tasks/{big_id}/data/", data={"image_quality": "70"},
                files={f"client_files[{i}]": (f"{i:03d}.jpg", jpeg((320, 240), i), "image/jpeg")
                       for i in range(FRAMES)}).raise_for_status()
    for task_id in [*with_data, big_id]:
        wait_done(client, task_id)
    labels = [label["id"] for label in client.get(
        "/api/labels", params={"task_id": big_id}).json()["results"]]
    client.put(f"/api/tasks/{big_id}/annotations/", json={
        "shapes": shapes_for(rng, FRAMES, SHAPES_PER_FRAME, labels)}).raise_for_status()
    print(f"state built over the API in {time.perf_counter() - started:.1f} s")
    return big_id, with_data


def add_shapes(client: httpx.Client, task_ids: list[int], total: int) -> None:
    """Shapes over the one-frame tasks until ``total`` shapes exist (with the big task's)."""
    rng = random.Random(18)
    per_task = -(-(total - FRAMES * SHAPES_PER_FRAME) // len(task_ids))
    for task_id in task_ids:
        label = client.get("/api/labels", params={"task_id": task_id}).json()["results"][0]
        client.put(f"/api/tasks/{task_id}/annotations/", json={
            "shapes": shapes_for(rng, 1, per_task, [label["id"]])}).raise_for_status()


def _timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    client.get(path)
    return time.perf_counter() - started


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wrk_rate(port: int, path: str, headers: dict[str, str]) -> float:
    args = ["wrk", "-t1", "-c16", f"-d{DURATION}", f"http://127.0.0.1:{port}{path}"]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        print(f"  WARNING: non-2xx answers for {path}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def rate(port: int, proc: subprocess.Popen[bytes], path: str, headers: dict[str, str]) -> float:
    if shutil.which("wrk"):
        return wrk_rate(port, path, headers)
    return load(path, proc, port, path, headers)


def ratio_row(hello: tuple[subprocess.Popen[bytes], int], server: tuple[subprocess.Popen[bytes],
              int], path: str, headers: dict[str, str]) -> tuple[float, float]:
    """(endpoint req/s, hello-world req/s measured just before it)."""
    base = rate(hello[1], hello[0], "/hello", {})
    return rate(server[1], server[0], path, headers), base


def annotation_times(url: str, headers: dict[str, str], task_id: int, cached: bool
                     ) -> tuple[float, float, int]:
    """(median request seconds, median json.dumps seconds, body bytes)."""
    path = f"/api/tasks/{task_id}/annotations/"
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        body = client.get(path).content
        payload = json.loads(body)
        requests, dumps = [], []
        for _ in range(15):
            if not cached:  # a write between reads: every answer built afresh
                client.patch(f"/api/tasks/{task_id}", json={"name": "5,000 shapes"})
            started = time.perf_counter()
            client.get(path).raise_for_status()
            requests.append(time.perf_counter() - started)
            started = time.perf_counter()
            json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            dumps.append(time.perf_counter() - started)
    return statistics.median(requests), statistics.median(dumps), len(body)


def after_a_write(url: str, headers: dict[str, str], path: str, task_id: int
                  ) -> tuple[float, float]:
    """Median seconds of ``path`` when a write comes before every read (so no kept answer or
    count serves it), and of the same read repeated; one keep-alive connection."""
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        fresh, again = [], []
        for n in range(200):
            client.patch(f"/api/tasks/{task_id}", json={"bug_tracker": f"b{n % 2}"})
            started = time.perf_counter()
            client.get(path).raise_for_status()
            fresh.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.get(path).raise_for_status()
            again.append(time.perf_counter() - started)
    return statistics.median(fresh), statistics.median(again)


def serve(tmp: str, data: str, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc, _ = spawn([str(BIN / "mockcvat"), "serve", "--port", str(port), "--data-dir", data,
                     "--log-level", "warning", *extra], port, "/api/server/about")
    return proc, port


def main() -> None:
    print(f"mockcvat read-path benchmark (python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    if not shutil.which("wrk"):
        print("wrk not found (Debian: `apt-get install wrk`; `make bench` installs it as "
              "root): using the Python load generator of bench/foundation.py instead")
    tmp = tempfile.mkdtemp(prefix="mockcvat-bench-")
    data = str(Path(tmp) / "data")
    rows: list[tuple[str, str, str]] = []
    try:
        (Path(tmp) / "hello_app.py").write_text(HELLO_APP)
        hello_port = free_port()
        hello, _ = spawn([str(BIN / "python"), "-m", "uvicorn", "hello_app:app", "--app-dir",
                          tmp, "--port", str(hello_port), "--no-access-log", "--log-level",
                          "warning"], hello_port, "/hello")
        proc, port = serve(tmp, data)
        url = f"http://127.0.0.1:{port}"
        key = httpx.post(f"{url}/api/auth/login",
                         json={"username": "admin", "password": "admin"}).json()["key"]
        auth = {"Authorization": f"Token {key}"}
        with httpx.Client(base_url=url, headers=auth, timeout=300) as client:
            big_id, with_data = build(client)
        one_task = with_data[len(with_data) // 2]
        targets = [
            ("GET /api/server/about", "/api/server/about", 0.90),
            ("GET /api/users/self", "/api/users/self", 0.70),
            ("GET /api/tasks?page_size=10", "/api/tasks?page_size=10", 0.50),
            ("GET /api/tasks?page_size=10&filter=id>=500 and status==annotation",
             "/api/tasks?page_size=10&filter=" + quote(json.dumps(FILTER)), 0.50),
            ("GET /api/jobs?page_size=10", "/api/jobs?page_size=10", 0.50),
            ("GET /api/projects?page_size=10", "/api/projects?page_size=10", 0.50),
            ("GET /api/labels?task_id=", f"/api/labels?task_id={one_task}", 0.50),
        ]
        results: dict[str, dict[str, float]] = {}
        for label, path, _ in targets:
            got, base = ratio_row((hello, hello_port), (proc, port), path, auth)
            results[label] = {"cached": got / base, "cached_rps": got, "hello": base}
        times = {"cached": annotation_times(url, auth, big_id, cached=True)}
        written = {label: after_a_write(url, auth, path, one_task)
                   for label, path, _ in targets[1:4]}
        with httpx.Client(base_url=f"http://127.0.0.1:{hello_port}") as client:
            hello_once = statistics.median([_timed(client, "/hello") for _ in range(200)])
        stop(proc)

        proc, port = serve(tmp, data, "--read-cache", "false")
        url = f"http://127.0.0.1:{port}"
        for label, path, _ in targets:
            got, base = ratio_row((hello, hello_port), (proc, port), path, auth)
            results[label]["uncached"] = got / base
            results[label]["uncached_rps"] = got
        times["uncached"] = annotation_times(url, auth, big_id, cached=False)
        stop(hello)

        with httpx.Client(base_url=url, headers=auth, timeout=300) as client:
            started = time.perf_counter()
            add_shapes(client, with_data, TOTAL_SHAPES)
            print(f"shapes up to {TOTAL_SHAPES:,} in {time.perf_counter() - started:.1f} s")
            rss_written = rss_mib(proc.pid)
            for task_id in [*with_data, big_id]:
                client.get(f"/api/tasks/{task_id}/annotations/").raise_for_status()
            rss_read = rss_mib(proc.pid)
        stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    for (label, _, target) in targets:
        r = results[label]
        rows.append((label, f">= {target:.2f} x hello",
                     f"{r['cached']:.2f} x cached ({r['cached_rps']:.0f}/{r['hello']:.0f} "
                     f"req/s), {r['uncached']:.2f} x rebuilt ({r['uncached_rps']:.0f} req/s)"))
    for kind, (request, dumps, size) in times.items():
        rows.append((f"GET annotations, 5,000 shapes ({size / 2**20:.1f} MiB), {kind}",
                     ">= 0.5 x json.dumps",
                     f"{dumps / request:.2f} x (request {request * 1000:.0f} ms, "
                     f"json.dumps {dumps * 1000:.0f} ms)"))
    for label, (fresh, again) in written.items():
        rows.append((f"{label}, right after a write", "(latency)",
                     f"{fresh * 1000:.2f} ms; repeated {again * 1000:.2f} ms; hello-world "
                     f"{hello_once * 1000:.2f} ms (one connection)"))
    rows.append((f"server RSS, {TASKS:,} tasks + {TOTAL_SHAPES:,} shapes", "< 300 MB",
                 f"{rss_written:.0f} MiB written, {rss_read:.0f} MiB after reading all"))
    tool = "wrk -t1 -c16" if shutil.which("wrk") else "python load generator, 16 connections"
    print(f"\n{'measure':<66} {'target':<22} measured ({tool})")
    for name, target, measured in rows:
        print(f"{name:<66} {target:<22} {measured}")


if __name__ == "__main__":
    main()
