"""Every emulated CVAT release against the cvat-sdk package of that release.

``tests/data/cvat-sdk-releases.json.xz`` holds, per published cvat-sdk release from 2.26.1 to
2.80.0 (2.72 was never published), what ``mockcvat/sdk_reference.py`` reads from its generated
client: operations with their parameters, bodies and responses; models with their fields. It
was made by downloading each wheel (``pip download cvat-sdk==X --no-deps``), unpacking it and
running ``PYTHONPATH=<unpacked> python mockcvat/sdk_reference.py`` (about 19 KB compressed).

The test extras pin cvat-sdk 2.80, checked live in ``test_schema.py``; this file checks every
other release the same way, so a field gated at the wrong release (``since=``/``until=``) fails
here.
"""

from __future__ import annotations

import json
import lzma
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mockcvat import schema_diff
from mockcvat.app import schema_document
from mockcvat.settings import parse_version

RELEASES = Path(__file__).parent / "data" / "cvat-sdk-releases.json.xz"


@cache
def releases() -> dict[str, Any]:
    return json.loads(lzma.decompress(RELEASES.read_bytes()))


VERSIONS = sorted(releases(), key=parse_version)
# cvat-sdk 2.26.1 was generated before the 2.26.2 schema gained these (mockcvat emulates
# 2.26.2, whose real schema has them: see test_schema.py)
SDK_2_26_1_LAGS = {
    "jobs_create", "jobs_list", "jobs_partial_update", "jobs_retrieve",
    "tasks_create", "tasks_list", "tasks_partial_update", "tasks_retrieve",
}


@pytest.mark.parametrize("version", VERSIONS)
def test_the_emulation_matches_the_sdk_of_its_release(version: str) -> None:
    results = schema_diff.diff_sdk(schema_diff.sdk_view(schema_document(version)),
                                   releases()[version])
    problems = {r.operation_id: r.differences or r.status for r in results
                if r.status in ("different", "extra")}
    if version == "2.26.1":
        assert set(problems) == SDK_2_26_1_LAGS
        assert all("consensus" in d or "parent_job_id" in d
                   for found in problems.values() for d in found)
    else:
        assert problems == {}
    assert sum(r.status == "same" for r in results) >= 88


def test_the_releases_cover_the_accepted_lines() -> None:
    assert VERSIONS[0] == "2.26.1" and VERSIONS[-1] == "2.80.0"
    assert len(VERSIONS) == 54  # 2.27 .. 2.80 but 2.72, and 2.26.1
