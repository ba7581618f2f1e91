"""Flame graphs of the server under load (py-spy), kept in ``bench/profiles/``.

Run from the repository root: ``.venv/bin/python bench/profile.py [name ...]`` after
``pip install py-spy`` (``pip install -e '.[profile]'``); as root, or where ptrace is allowed.
Each profile starts a ``mockcvat serve`` on a state of 1,000 tasks (``bench/read_path.py``
builds it), loads one endpoint with wrk (or writes/exports in a loop) and records the server
process for a few seconds into ``bench/profiles/<name>.svg``. Open the SVGs in a browser.

Profiles: ``tasks-cached`` (the repeated list, answered by the read cache), ``tasks-rebuilt``
(the same with ``--read-cache false``: what a read after a write costs), ``put-annotations``
(PUT of 5,000 shapes), ``export-coco`` (a COCO export of them).

``bench/profiles/before/*.folded.gz``: the same situations recorded before issue 17's work
(py-spy's raw "folded" stacks: ``flamegraph.pl`` or speedscope.app draw them).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from foundation import stop
from read_path import BIN, build, serve

OUT = Path(__file__).resolve().parent / "profiles"
SECONDS = 8


def record(pid: int, name: str) -> None:
    OUT.mkdir(exist_ok=True)
    subprocess.run([str(BIN / "py-spy"), "record", "-p", str(pid), "-d", str(SECONDS),
                    "-r", "250", "-f", "flamegraph", "-o", str(OUT / f"{name}.svg")],
                   check=True, capture_output=True)
    print(f"bench/profiles/{name}.svg")


def wrk(port: int, path: str, key: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["wrk", "-t1", "-c16", f"-d{SECONDS + 2}s", "-H",
                             f"Authorization: Token {key}", f"http://127.0.0.1:{port}{path}"],
                            stdout=subprocess.DEVNULL)


def in_a_loop(work: object) -> tuple[threading.Event, threading.Thread]:
    done = threading.Event()

    def run() -> None:
        while not done.is_set():
            work()  # type: ignore[operator]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return done, thread


def main(names: list[str]) -> None:
    if shutil.which(str(BIN / "py-spy")) is None or shutil.which("wrk") is None:
        sys.exit("needs py-spy (pip install py-spy) and wrk (apt-get install wrk)")
    tmp = tempfile.mkdtemp(prefix="mockcvat-profile-")
    data = str(Path(tmp) / "data")
    try:
        proc, port = serve(tmp, data)
        url = f"http://127.0.0.1:{port}"
        key = httpx.post(f"{url}/api/auth/login",
                         json={"username": "admin", "password": "admin"}).json()["key"]
        client = httpx.Client(base_url=url, headers={"Authorization": f"Token {key}"},
                              timeout=300)
        big_id, _ = build(client)
        body = client.get(f"/api/tasks/{big_id}/annotations/").json()
        for shape in body["shapes"]:
            del shape["id"], shape["elements"]
        for read_cache in ("true", "false"):
            name = "tasks-cached" if read_cache == "true" else "tasks-rebuilt"
            if read_cache == "false":
                stop(proc)
                proc, port = serve(tmp, data, "--read-cache", "false")
                client = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                                      headers=client.headers, timeout=300)
            if name in names:
                load = wrk(port, "/api/tasks?page_size=10", key)
                time.sleep(1)
                record(proc.pid, name)
                load.wait()

        def export() -> None:
            rq_id = client.post(f"/api/tasks/{big_id}/dataset/export", params={
                "format": "COCO 1.0", "save_images": "false"}).json()["rq_id"]
            while client.get(f"/api/requests/{rq_id}").json()["status"] not in (
                    "finished", "failed"):
                time.sleep(0.01)

        jobs = {
            "put-annotations": lambda: client.put(f"/api/tasks/{big_id}/annotations/",
                                                  json=body),
            "export-coco": export,
        }
        for name, work in jobs.items():
            if name in names:
                done, thread = in_a_loop(work)
                record(proc.pid, name)
                done.set()
                thread.join()
        stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["tasks-cached", "tasks-rebuilt", "put-annotations", "export-coco"])
