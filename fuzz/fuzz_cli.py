"""`make fuzz-cli`: schemathesis's own command line, as users run it, against `mockcvat serve`.

1. start `mockcvat serve` on a free port: in memory, from `fuzz/seed`, with `--protect-admin`
   (no generated request can lock the admin out: deleting, deactivating, demoting it or changing
   its password answer 403);
2. `schemathesis run` over every operation, Basic auth as the admin (no token a generated
   logout could delete), all phases (examples, coverage, fuzzing, stateful);
3. reset the server (`POST /_mockcvat/reset`, back to the seed) and run again over the GET
   operations with every `{id}` pinned to the seed's objects (`fuzz/deep.toml`), to reach task
   data, annotations and exports;
4. stop the server; the exit status is schemathesis's (non-zero if any run failed).

Environment: FUZZ_EXAMPLES (per operation, default 10), FUZZ_SEED (default 1), FUZZ_CHECKS
(default not_a_server_error).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
# what schemathesis cannot generate (a multipart body with a binary file) or need not fetch
EXCLUDED = ("schema_retrieve", "jobs_update_annotations", "tasks_update_annotations")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/server/about", timeout=2):
                return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("fuzz-cli: mockcvat serve did not start") from None
            time.sleep(0.1)


def schemathesis(schema: str, *extra: str, config: Path | None = None) -> int:
    command = [str(BIN / "schemathesis")]
    if config is not None:
        command += ["--config-file", str(config)]
    command += ["run", schema, "--auth", "admin:admin",
                "--checks", os.environ.get("FUZZ_CHECKS", "not_a_server_error"),
                "--max-examples", os.environ.get("FUZZ_EXAMPLES", "10"),
                "--seed", os.environ.get("FUZZ_SEED", "1"), "--request-timeout", "30"]
    for operation_id in EXCLUDED:
        command += ["--exclude-operation-id", operation_id]
    command += list(extra)
    print("fuzz-cli:", " ".join(command), flush=True)
    return subprocess.call(command)


def main() -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    schema = f"{url}/api/schema/?scheme=json"
    with tempfile.TemporaryDirectory(prefix="mockcvat-fuzz-") as data:
        server = subprocess.Popen([
            str(BIN / "mockcvat"), "serve", "--port", str(port), "--data-dir", data,
            "--database-url", "sqlite://", "--seed", str(HERE / "seed"),
            "--protect-admin", "true", "--log-level", "warning"])
        try:
            wait_until_up(url, server)
            broad = schemathesis(schema, "--phases", "examples,coverage,fuzzing,stateful")
            urllib.request.urlopen(urllib.request.Request(f"{url}/_mockcvat/reset",
                                                          method="POST"), timeout=30)
            deep = schemathesis(schema, "--include-method", "GET", "--phases",
                                "examples,coverage,fuzzing", config=HERE / "deep.toml")
        finally:
            server.terminate()
            server.wait(30)
    return broad or deep


if __name__ == "__main__":
    raise SystemExit(main())
