"""The same cvat-sdk flow (tests/clients/sdk_flow.py) through cvat-sdk 2.80 against the default
emulation and through cvat-sdk 2.26.1 against 2.26.2, each as a subprocess in its own
interpreter. The 2.26 virtualenv is made here on first use and cached under ``.cache/`` (keyed
by the pinned versions), so ``make test`` on a clean clone installs it."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from mockcvat import cli, schema_diff

ROOT = Path(__file__).resolve().parent.parent
FLOW = Path(__file__).parent / "clients" / "sdk_flow.py"
OLD_SDK = ("cvat-sdk==2.26.1", "tuspy==0.2.5")  # 2.26.1 needs tuspy 0.2.5
EXPECTED = {"user": "admin", "org": "flow", "task_size": 3,
            "shapes_after_import": [[1, [1.0, 2.0, 10.0, 12.0]]],
            "restored": ["flow task", 3, 1], "org_project_org": True,
            "org_projects": ["in org"]}


@pytest.fixture(scope="session")
def old_sdk_python() -> str:
    where = ROOT / ".cache" / ("venv-" + "-".join(p.replace("==", "-") for p in OLD_SDK))
    python = where / "bin" / "python"
    stamp = where / ".installed"
    where.parent.mkdir(exist_ok=True)
    # pytest-xdist workers (and parallel runs) may all want it: one makes it, the others wait
    with open(where.parent / f"{where.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(where)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", *OLD_SDK], check=True, timeout=900)
            stamp.touch()
    return str(python)


def _run_flow(python: str, url: str, tmp_path: Path) -> dict:
    done = subprocess.run([python, str(FLOW), url, "admin", "admin", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary.pop("exported_bytes") > 0
    return summary


def test_flow_with_cvat_sdk_280_against_280(cvat_server, tmp_path):
    assert _run_flow(sys.executable, cvat_server.url, tmp_path) == EXPECTED


def test_flow_with_cvat_sdk_226_against_226(old_sdk_python, mockcvat_server_old, tmp_path):
    mockcvat_server_old.reset()
    assert _run_flow(old_sdk_python, mockcvat_server_old.url, tmp_path) == EXPECTED


def test_the_sdk_view_of_cvats_226_schema_is_cvat_sdk_226(old_sdk_python):
    """The reduction of an OpenAPI document to what openapi-generator keeps, checked on CVAT's
    own pair: the 2.26.2 schema against cvat-sdk 2.26.1 differs only where 2.26.2 added
    consensus fields (the reader keeps ``?from=``, which the client names ``_from``, and drops
    ``convMaskToPoly``, whose snake-case name the generator gave to ``conv_mask_to_poly``)."""
    sdk = schema_diff.read_sdk(old_sdk_python)
    assert sdk["version"] == "2.26.1"
    cvat = schema_diff.sdk_view(schema_diff.load(ROOT / "openapi" / "cvat-openapi-2.26.2.yml"))
    results = schema_diff.diff_sdk(cvat, sdk)
    assert {r.status for r in results} == {"same", "different"}
    differences = {d for r in results for d in r.differences}
    assert differences == {
        "model JobRead.consensus_replicas: extra", "model JobRead.parent_job_id: extra",
        "model TaskRead.consensus_enabled: extra",
        "model TaskWriteRequest.consensus_replicas: extra",
        "parameter query parent_job_id: extra",
        'parameter query type.enum: ours ["annotation", "consensus_replica", "ground_truth"], '
        'SDK ["annotation", "ground_truth"]',
        'model JobType.enum: ours ["annotation", "consensus_replica", "ground_truth"], '
        'SDK ["annotation", "ground_truth"]'}


def test_the_cli_reads_another_interpreters_sdk(old_sdk_python, capsys):
    cli.main(["schema", "diff", "--against", "cvat-sdk", "--sdk-python", old_sdk_python,
              "--brief"])
    out = capsys.readouterr().out
    assert out.startswith("mockcvat emulating 2.26.1 against cvat-sdk 2.26.1")
