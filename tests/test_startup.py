"""Start-up and configuration (issue 16): every bad setting is one line naming the setting and
the fix, exit status 2, no traceback; ``--admin`` on existing data; ``--version``; the access
log; ``--protect-admin``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mockcvat.settings import Settings, SettingsError
from mockcvat.testing import MockCVATServer
from tests.conftest import NO_TLS, STRONG_PASSWORD

BIN = Path(sys.executable).parent / "mockcvat"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def one_line_error(result: subprocess.CompletedProcess[str], starts: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mockcvat: error: " + starts), lines
    return lines[0]


@pytest.mark.parametrize(("args", "env", "starts", "fix"), [
    (["--port", "http"], {}, "--port (MOCKCVAT_PORT): 'http' is not a port number",
     "e.g. 8080"),
    ([], {"MOCKCVAT_PORT": "70000"}, "--port (MOCKCVAT_PORT): 70000 is not a port number",
     "from 1 to 65535"),
    (["--admin", "root"], {}, "--admin (MOCKCVAT_ADMIN): 'root' is not USER:PASSWORD",
     "--admin admin:secret"),
    (["--cvat-version", "latest"], {}, "--cvat-version (MOCKCVAT_CVAT_VERSION): mockcvat "
     "cannot emulate CVAT 'latest'", "X.Y.Z of the release lines 2.26 to 2.80"),
    (["--cvat-version", "3.1.0"], {}, "--cvat-version (MOCKCVAT_CVAT_VERSION): mockcvat "
     "cannot emulate CVAT '3.1.0'", "see docs/versions.md"),
    (["--background-mode", "async"], {}, "--background-mode (MOCKCVAT_BACKGROUND_MODE)",
     "'thread', 'immediate'"),
    (["--database-url", "oracle+nope://x"], {}, "--database-url (MOCKCVAT_DATABASE_URL): "
     "unknown database", "use sqlite://"),
    (["--database-url", "postgresql://u@localhost/cvat"], {}, "--database-url "
     "(MOCKCVAT_DATABASE_URL): the driver of 'postgresql' is not installed",
     "pip install 'mockcvat[postgresql]'"),
    (["--log-format", "xml"], {}, "--log-format (MOCKCVAT_LOG_FORMAT)", "'text', 'json'"),
    (["--journal", "perhaps"], {}, "--journal (MOCKCVAT_JOURNAL): 'perhaps' is not true or "
     "false", ""),
    (["--seed", "/nonexistent/seed"], {}, "--seed (MOCKCVAT_SEED): '/nonexistent/seed' is "
     "not a directory", "mockcvat dump"),
])
def test_bad_settings_are_one_line(tmp_path, args, env, starts, fix):
    line = one_line_error(run("serve", "--data-dir", str(tmp_path), *args, env=env), starts)
    assert fix in line


def test_a_data_dir_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    line = one_line_error(run("serve", "--data-dir", str(blocker / "data")),
                          "--data-dir (MOCKCVAT_DATA_DIR): cannot create or write")
    assert "give a folder you may write to" in line


def test_an_sqlite_file_in_a_missing_folder_creates_nothing(tmp_path):
    target = tmp_path / "missing" / "db.sqlite3"
    line = one_line_error(run("serve", "--data-dir", str(tmp_path / "data"),
                              "--database-url", f"sqlite:///{target}"),
                          "--database-url (MOCKCVAT_DATABASE_URL): the folder")
    assert "does not exist; create it first" in line
    assert not (tmp_path / "missing").exists()


def test_a_port_in_use_is_refused_before_the_banner(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(run("serve", "--port", str(port), "--data-dir", str(tmp_path)),
                              f"--port (MOCKCVAT_PORT): 127.0.0.1:{port} is already in use")
    assert "pick another port (0 picks a free one)" in line


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("mockcvat 0.1.0 (emulates CVAT 2.26.2 to 2.80.0")


def test_settings_errors_in_python_name_the_setting(tmp_path):
    with pytest.raises(SettingsError) as failure:
        MockCVATServer(Settings(data_dir=tmp_path, port=0, admin="nocolon")).start()
    assert failure.value.option == "admin"


class Served:
    """``mockcvat serve`` as a child process; stderr (the logs) kept in a file."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.log = tmp_path / f"serve-{time.monotonic_ns()}.log"
        self.out = tmp_path / f"serve-{time.monotonic_ns()}.out"
        with self.log.open("w") as err, self.out.open("w") as out:
            self.process = subprocess.Popen([str(BIN), "serve", "--port", "0", *args],
                                            stdout=out, stderr=err)
        deadline = time.monotonic() + 30
        while "on http://" not in self.out.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        banner = self.out.read_text().splitlines()[0]
        self.url = banner.split(" on ")[1].split(" ")[0]

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(20)
        return self.log.read_text()


def test_admin_on_existing_data_sets_its_password(tmp_path):
    data = str(tmp_path / "data")
    first = Served(tmp_path, "--data-dir", data, "--admin", "boss:Old-Passw0rd")
    first.stop()
    second = Served(tmp_path, "--data-dir", data, "--admin", "boss:New-Passw0rd")
    try:
        assert "(admin: boss:New-Passw0rd," in second.out.read_text()
        login = httpx.post(f"{second.url}/api/auth/login",
                           json={"username": "boss", "password": "New-Passw0rd"}, **NO_TLS)
        assert login.status_code == 200
        old = httpx.post(f"{second.url}/api/auth/login",
                         json={"username": "boss", "password": "Old-Passw0rd"}, **NO_TLS)
        assert old.status_code == 400
    finally:
        log = second.stop()
    assert "set the password of the admin 'boss' from the settings" in log


def test_access_log_as_json_lines(tmp_path):
    served = Served(tmp_path, "--data-dir", str(tmp_path / "data"), "--log-format", "json",
                    "--background-mode", "thread")
    try:
        with httpx.Client(base_url=served.url, auth=("admin", "admin"), **NO_TLS) as http:
            http.get("/api/users", params={"page_size": 1})
            task = http.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()
            from tests.media_files import make_image

            image = make_image(tmp_path / "a.png", (8, 6))
            http.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                      files={"client_files[0]": ("a.png", image.read_bytes())})
            deadline = time.monotonic() + 20
            while http.get(f"/api/tasks/{task['id']}").json().get("size") != 1:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        log = served.stop()
    records = [json.loads(line) for line in log.splitlines()]
    access = [r for r in records if r["logger"] == "mockcvat.access"]
    users = next(r for r in access if r["path"] == "/api/users")
    assert users["method"] == "GET" and users["status"] == 200 and users["user"] == "admin"
    assert users["query"] == "page_size=1" and users["duration_ms"] > 0
    assert users["operation_id"] == "users_list" and users["level"] == "info"
    background = [r for r in records if r["logger"] == "mockcvat.background"]
    assert [r["event"] for r in background] == ["started", "finished"]
    assert background[1]["rq_id"] == "action=create&target=task&target_id=1"


def test_text_log_and_level(tmp_path):
    served = Served(tmp_path, "--data-dir", str(tmp_path / "data"))
    httpx.get(f"{served.url}/api/server/about", **NO_TLS)
    log = served.stop()
    line = next(line for line in log.splitlines() if "mockcvat.access" in line)
    assert line.endswith("INFO mockcvat.access: GET /api/server/about 200 "
                         + line.split(" 200 ")[1])
    assert line.endswith("ms user=-")
    quiet = Served(tmp_path, "--data-dir", str(tmp_path / "data2"), "--log-level", "warning")
    httpx.get(f"{quiet.url}/api/server/about", **NO_TLS)
    assert "mockcvat.access" not in quiet.stop()


def test_protect_admin():
    with MockCVATServer(protect_admin=True) as server, httpx.Client(
            base_url=server.url, auth=("admin", "admin"), **NO_TLS) as http:
        server.create_user("alice", STRONG_PASSWORD)
        for request in (("DELETE", "/api/users/1", None),
                        ("PATCH", "/api/users/1", {"is_active": False}),
                        ("PATCH", "/api/users/1", {"is_superuser": False}),
                        ("PATCH", "/api/users/1", {"groups": ["user"]}),
                        ("PATCH", "/api/users/1", {"username": "other"}),
                        ("POST", "/api/auth/password/change",
                         {"old_password": "admin", "new_password1": STRONG_PASSWORD,
                          "new_password2": STRONG_PASSWORD})):
            answer = http.request(request[0], request[1], json=request[2])
            assert answer.status_code == 403, request
            assert "the admin is protected (--protect-admin)" in answer.json()["detail"]
        assert http.patch("/api/users/1", json={"first_name": "Ada"}).status_code == 200
        assert http.delete("/api/users/2").status_code == 204  # other users are not
        assert http.get("/api/users/self").json()["first_name"] == "Ada"
