"""The reference shared deployment (``deploy/``): its compose file and container image.

No container engine runs on the machines this suite runs on (a ``docker`` client may exist,
without a daemon), so these check the files themselves: the compose file's services, their
wiring and settings; the Dockerfile's instructions and what it copies. Where a daemon answers,
the image is also built.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mockcvat.settings import OPTIONS, env_name
from mockcvat.storage.media import parse_media_url

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# the media store's credentials (boto3 reads them; mockcvat has no settings of its own for them)
AWS_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
DOCKERFILE_INSTRUCTIONS = {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "VOLUME", "EXPOSE",
                           "HEALTHCHECK", "ENTRYPOINT", "CMD", "ARG", "LABEL"}


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


def test_compose_has_two_servers_behind_a_proxy_with_postgresql_and_s3() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "s3", "s3-bucket", "mockcvat-1", "mockcvat-2", "proxy"}
    for name in ("mockcvat-1", "mockcvat-2"):
        server = services[name]
        assert server["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert (DEPLOY / server["build"]["context"] / server["build"]["dockerfile"]).exists()
        env = server["environment"]
        known = {env_name(option) for option in OPTIONS} | AWS_VARIABLES
        assert set(env) <= known, set(env) - known  # every variable is a real setting
        assert env["MOCKCVAT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["MOCKCVAT_DATABASE_URL"]
        assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
        # the media in the S3 stand-in's bucket, made before the servers start
        assert "volumes" not in server  # nothing shared on disk
        bucket, _ = parse_media_url(env["MOCKCVAT_MEDIA_URL"])
        assert env["MOCKCVAT_MEDIA_ENDPOINT"] == "http://s3:5000"
        assert server["depends_on"]["s3-bucket"]["condition"] == \
            "service_completed_successfully"
        maker = services["s3-bucket"]
        assert maker["command"][-3:] == ["s3", "mb", f"s3://{bucket}"]
        assert maker["command"][:2] == ["--endpoint-url", env["MOCKCVAT_MEDIA_ENDPOINT"]]
        assert {k: env[k] for k in AWS_VARIABLES} == maker["environment"]
    assert services["mockcvat-1"] == services["mockcvat-2"]  # one definition, twice
    postgres = services["postgres"]["environment"]
    url = services["mockcvat-1"]["environment"]["MOCKCVAT_DATABASE_URL"]
    assert f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@" in url
    assert url.endswith("/" + postgres["POSTGRES_DB"])
    assert services["proxy"]["depends_on"] == ["mockcvat-1", "mockcvat-2"]
    assert set(_compose()["volumes"]) == {"pgdata"}


def test_the_proxy_sends_to_both_servers() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream mockcvat \{(.*?)\}", conf, re.S)
    assert upstream is not None
    assert re.findall(r"server (\S+);", upstream.group(1)) == [
        "mockcvat-1:8080", "mockcvat-2:8080"]
    assert "proxy_pass http://mockcvat;" in conf
    assert conf.count("{") == conf.count("}")
    mount = _compose()["services"]["proxy"]["volumes"][0]
    assert mount.startswith("./nginx.conf:")


def test_the_dockerfile_is_well_formed() -> None:
    lines, current = [], ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        current += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(current.strip())
            current = ""
    assert not current, "a continued line never ends"
    instructions = [line.split()[0] for line in lines]
    assert set(instructions) <= DOCKERFILE_INSTRUCTIONS, set(instructions)
    assert instructions[0] == "FROM"
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    entry = next(line for line in lines if line.startswith("ENTRYPOINT"))
    assert entry == 'ENTRYPOINT ["mockcvat", "serve"]'
    assert "'.[postgres]'" in next(line for line in lines if line.startswith("RUN "))
    port = next(line for line in lines if line.startswith("EXPOSE")).split()[1]
    assert f"MOCKCVAT_PORT={port}" in next(line for line in lines if line.startswith("ENV"))


def _daemon() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    return subprocess.run([docker, "info"], capture_output=True, check=False).returncode == 0


def test_the_image_builds_where_a_container_builder_runs() -> None:
    if not _daemon():
        pytest.skip("no container engine on this machine: the Dockerfile is checked for "
                    "syntax above, the image is not built (README: A shared team instance)")
    subprocess.run(["docker", "build", "-f", str(DEPLOY / "Dockerfile"), "-t",
                    "mockcvat:test", str(ROOT)], check=True)
