"""The `mockcvat` command line, run as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent / "mockcvat"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_explains_every_option():
    assert run("--help").returncode == 0
    text = run("serve", "--help").stdout
    for flag, variable in [("--host", "MOCKCVAT_HOST"), ("--port", "MOCKCVAT_PORT"),
                           ("--data-dir", "MOCKCVAT_DATA_DIR"),
                           ("--database-url", "MOCKCVAT_DATABASE_URL"),
                           ("--admin", "MOCKCVAT_ADMIN"),
                           ("--cvat-version", "MOCKCVAT_CVAT_VERSION")]:
        assert flag in text and variable in text


def test_serve_reads_its_settings_from_the_environment(tmp_path):
    port = free_port()
    env = dict(os.environ, MOCKCVAT_PORT=str(port), MOCKCVAT_ADMIN="boss:Boss-Passw0rd",
               MOCKCVAT_DATA_DIR=str(tmp_path), MOCKCVAT_CVAT_VERSION="2.31.4")
    process = subprocess.Popen([str(BIN), "serve"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                about = httpx.get(f"{url}/api/server/about")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.02)
        assert about.json()["version"] == "2.31.4"
        login = httpx.post(f"{url}/api/auth/login",
                           json={"username": "boss", "password": "Boss-Passw0rd"})
        assert login.status_code == 200
        assert (tmp_path / "mockcvat.sqlite3").exists()
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=20)
    assert "boss:Boss-Passw0rd" in out and f"127.0.0.1:{port}" in out


def test_schema_diff_command():
    result = run("schema", "diff", "--brief")
    assert result.returncode == 0
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("summary: same ") and "different 0, extra 0" in summary


def test_unknown_versions_are_refused_with_the_known_ones(capsys):
    from mockcvat import cli
    from mockcvat.settings import Settings

    assert cli.main(["serve", "--cvat-version", "3.1.0", "--port", "0"]) == 2
    message = capsys.readouterr().err
    assert "cannot emulate CVAT '3.1.0'" in message and "2.26 to 2.80" in message
    assert cli.main(["schema", "dump", "--cvat-version", "2.25.0"]) == 2
    for bad in ("2.81.0", "v2.80", "2.80"):
        with pytest.raises(ValueError, match="docs/versions.md"):
            Settings(cvat_version=bad)
    assert Settings(cvat_version="2.31.4").cvat_version == "2.31.4"  # nearest: 2.31 facts
