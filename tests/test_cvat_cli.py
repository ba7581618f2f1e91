"""The real cvat-cli 2.80, run as a user runs it, against the session's server."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.media_files import make_image

CLI = Path(sys.executable).parent / "cvat-cli"
LABELS = json.dumps([{"name": "car"}, {"name": "person"}])


@pytest.fixture
def cli(cvat_server, tmp_path):
    """``cli("task", "ls")``: cvat-cli logged in as the admin, with its own HOME."""
    url = urlsplit(cvat_server.url)
    user, password = cvat_server.admin_credentials
    env = dict(os.environ, HOME=str(tmp_path), PASS=password)
    env.pop("CVAT_ACCESS_TOKEN", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(CLI), "--server-host", f"{url.scheme}://{url.hostname}",
             "--server-port", str(url.port), "--auth", user, *args],
            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result

    return run


def test_task_create_ls_frames_delete(cli, tmp_path, cvat_client):
    files = [str(make_image(tmp_path / f"f{i}.jpg", (20 + i, 10))) for i in range(3)]
    created = cli("task", "create", "from-cli", "local", *files, "--labels", LABELS,
                  "--segment_size", "2", "--completion_verification_period", "0.05")
    task_id = int(created.stdout.strip().splitlines()[-1])
    task = cvat_client.tasks.retrieve(task_id)
    assert (task.name, task.size, task.jobs.count) == ("from-cli", 3, 2)

    listed = json.loads(cli("task", "ls", "--json").stdout)
    assert [t["id"] for t in listed] == [task_id]

    cli("task", "frames", str(task_id), "0", "2", "--outdir", str(tmp_path / "out"))
    sizes = []
    for path in sorted((tmp_path / "out").iterdir()):
        with Image.open(path) as image:
            sizes.append(image.size)
    assert sizes == [(20, 10), (22, 10)]

    cli("task", "delete", str(task_id))
    assert cvat_client.tasks.list() == []


@pytest.fixture
def web_server(tmp_path) -> Iterator[str]:
    """A plain HTTP server of tmp_path/www, for ``remote`` resources."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_task_create_from_remote_urls(cli, tmp_path, web_server, cvat_client):
    for i in range(2):
        make_image(tmp_path / "www" / f"r{i}.png", (16, 12))
    created = cli("task", "create", "remote", "remote",
                  f"{web_server}/r0.png", f"{web_server}/r1.png", "--labels", LABELS,
                  "--completion_verification_period", "0.05")
    task = cvat_client.tasks.retrieve(int(created.stdout.strip().splitlines()[-1]))
    assert [f.name for f in task.get_frames_info()] == ["r0.png", "r1.png"]


def test_project_commands(cli, tmp_path, cvat_client):
    files = [str(make_image(tmp_path / f"p{i}.png", (24, 18))) for i in range(2)]
    project_id = int(cli("project", "create", "fleet", "--labels", LABELS).stdout.split()[-1])
    created = cli("task", "create", "t", "local", *files, "--project_id", str(project_id),
                  "--completion_verification_period", "0.05")
    task_id = int(created.stdout.strip().splitlines()[-1])
    assert cvat_client.tasks.retrieve(task_id).project_id == project_id
    listed = json.loads(cli("project", "ls", "--json").stdout)
    assert [p["id"] for p in listed] == [project_id]

    cli("project", "export-dataset", str(project_id), "ds.zip", "--format", "CVAT for images 1.1",
        "--with-images", "true")
    copy = cli("project", "create", "copy", "--labels", LABELS, "--dataset_path", "ds.zip",
               "--completion_verification_period", "0.05")
    copy_id = int(copy.stdout.split()[-1])
    assert [t.size for t in cvat_client.projects.retrieve(copy_id).get_tasks()] == [2]

    cli("project", "backup", str(project_id), "backup.zip")
    restored = int(cli("project", "create-from-backup", "backup.zip").stdout.split()[-1])
    assert cvat_client.projects.retrieve(restored).name == "fleet"
    cli("project", "delete", str(project_id), str(copy_id), str(restored))
    assert cvat_client.projects.list() == []


def test_task_create_from_a_cloud_storage(cli, cvat_client, s3_server):
    """``task create NAME share KEYS --cloud_storage_id N``, against a moto bucket."""
    import io

    from cvat_sdk.api_client import models

    bucket = s3_server.make_bucket()
    for i in range(3):
        out = io.BytesIO()
        Image.new("RGB", (20 + i, 10), (i * 60, 0, 0)).save(out, format="PNG")
        s3_server.put(bucket, f"frames/{i}.png", out.getvalue())
    storage, _ = cvat_client.api_client.cloudstorages_api.create(
        models.CloudStorageWriteRequest(
            provider_type="AWS_S3_BUCKET", resource=bucket, display_name="frames",
            credentials_type="KEY_SECRET_KEY_PAIR", key=s3_server.key,
            secret_key=s3_server.secret,
            specific_attributes=f"endpoint_url={s3_server.endpoint}"))
    created = cli("task", "create", "from-bucket", "share", "frames/", "--labels", LABELS,
                  "--cloud_storage_id", str(storage.id), "--use_cache",
                  "--completion_verification_period", "0.05")
    task = cvat_client.tasks.retrieve(int(created.stdout.strip().splitlines()[-1]))
    assert task.size == 3
    assert [f.width for f in task.get_meta().frames] == [20, 21, 22]
