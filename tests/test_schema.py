"""Our OpenAPI schema against the real CVAT 2.26.2 schema, and the diff tool itself."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from mockcvat import cli, schema_diff
from mockcvat.app import schema_document

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "openapi" / "cvat-openapi-2.26.2.yml"


@pytest.fixture(scope="module")
def reference() -> dict:
    return schema_diff.load(REFERENCE)


def test_committed_schema_and_coverage_are_fresh(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert cli.main(["schema", "check"]) == 0, capsys.readouterr().err


def test_every_implemented_operation_matches_cvat(reference):
    results = schema_diff.diff(schema_document("2.26.2"), reference)
    implemented = [r for r in results if r.status in ("same", "different", "extra")]
    assert len(implemented) >= 18
    problems = {r.operation_id: r.differences or r.status
                for r in implemented if r.status != "same"}
    assert problems == {}


def test_the_reference_has_152_operations(reference):
    assert len(schema_diff.operations(reference)) == 152


def test_the_diff_reports_each_kind_of_difference(reference):
    ours = copy.deepcopy(schema_document("2.26.2"))
    schemas = ours["components"]["schemas"]
    schemas["User"]["properties"]["email"]["maxLength"] = 200
    del schemas["About"]["properties"]["version"]
    schemas["Token"]["required"] = []
    users_list = ours["paths"]["/api/users"]["get"]
    users_list["parameters"] = [p for p in users_list["parameters"] if p["name"] != "is_active"]
    users_list["tags"] = ["people"]
    ours["paths"]["/api/server/plugins"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"type": "object"}}}
    ours["paths"]["/api/extra"] = {"get": {"operationId": "extra_op", "responses": {}}}
    del ours["paths"]["/api/tasks"]["get"]
    results = {r.operation_id: r for r in schema_diff.diff(ours, reference)}
    assert results["users_list"].status == "different"
    text = "\n".join(results["users_list"].differences)
    assert "parameter is_active (query): missing" in text
    assert "tags: ours ['people']" in text
    assert "email.maxLength: ours 200, CVAT 254" in text
    assert any("properties.version: missing" in d
               for d in results["server_retrieve_about"].differences)
    assert any("required: ours [], CVAT ['key']" in d
               for d in results["auth_create_login"].differences)
    plugins = results["server_retrieve_plugins"].differences
    assert "response 200 application/json: extra" in plugins
    assert "response 200 application/vnd.cvat+json: missing" in plugins
    assert results["extra_op"].status == "extra"
    assert results["tasks_list"].status == "missing"


def test_prose_is_not_a_difference(reference):
    ours = copy.deepcopy(schema_document("2.26.2"))
    ours["paths"]["/api/users"]["get"]["summary"] = "Something else"
    ours["components"]["schemas"]["User"]["properties"]["email"]["title"] = "Mail"
    result = {r.operation_id: r for r in schema_diff.diff(ours, reference)}["users_list"]
    assert result.status == "same"


def test_newer_versions_differ_where_cvat_changed(reference):
    results = {r.operation_id: r for r in schema_diff.diff(schema_document("2.80.0"), reference)}
    assert results["auth_list_access_tokens"].status == "extra"
    assert results["auth_create_signing"].status == "missing"  # removed in 2.47
    about = "\n".join(results["server_retrieve_about"].differences)
    assert "logo_url: extra" in about and "subtitle: extra" in about


# --- against the cvat-sdk package ------------------------------------------------------------
@pytest.fixture(scope="module")
def sdk_280() -> dict:
    import sys

    return schema_diff.read_sdk(sys.executable)  # the test extras pin cvat-sdk 2.80.0


def test_every_implemented_operation_matches_cvat_sdk_280(sdk_280):
    """The issue's acceptance: 0 differences for every implemented operation and model, and
    (since the other issues' resources) no operation of cvat-sdk 2.80 missing."""
    assert sdk_280["version"] == "2.80.0"
    results = schema_diff.diff_sdk(schema_diff.sdk_view(schema_document("2.80.0")), sdk_280)
    problems = {r.operation_id: r.differences or r.status for r in results
                if r.status in ("different", "extra")}
    assert problems == {}
    assert [r.operation_id for r in results if r.status == "missing"] == []


def test_the_sdk_view_reports_model_and_parameter_differences(sdk_280):
    ours = copy.deepcopy(schema_document("2.80.0"))
    schemas = ours["components"]["schemas"]
    schemas["AboutRequest"] = {}
    schemas["About"]["required"] = ["name"]
    schemas["User"]["properties"]["username"]["maxLength"] = 10
    schemas["User"]["properties"]["is_active"]["nullable"] = True
    users_list = ours["paths"]["/api/users"]["get"]
    users_list["parameters"] = [p for p in users_list["parameters"] if p["name"] != "is_active"]
    del ours["paths"]["/api/tasks"]["get"]
    results = {r.operation_id: r for r in schema_diff.diff_sdk(schema_diff.sdk_view(ours),
                                                               sdk_280)}
    about = "\n".join(results["server_retrieve_about"].differences)
    assert "model About.version.required: ours false, SDK true" in about
    users = "\n".join(results["users_list"].differences)
    assert "parameter query is_active: missing" in users
    assert "model User.username.validations: ours {\"max_length\": 10" in users
    assert "model User.is_active.nullable: ours true, SDK false" in users
    assert results["tasks_list"].status == "missing"
    assert "summary:" in schema_diff.report(results.values())


def test_the_cli_diffs_against_the_installed_sdk(capsys):
    status = cli.main(["schema", "diff", "--against", "cvat-sdk", "--brief"])
    out = capsys.readouterr().out
    assert out.startswith("mockcvat emulating 2.80.0 against cvat-sdk 2.80.0")
    assert "summary: same" in out and "missing 0" in out  # every 2.80 operation is served
    assert status == (1 if "## different" in out else 0)
