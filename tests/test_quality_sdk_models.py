"""The 2.80 shapes of quality, consensus and lambda components against cvat-sdk 2.80's models:
the same fields, the same required fields, the same read-only ones (until the general
``mockcvat schema diff --against cvat-sdk`` covers them)."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from mockcvat.app import schema_document

COMPONENTS = (
    "QualitySettings", "QualitySettingsRequest", "PatchedQualitySettingsRequest",
    "QualityRequirement", "QualityRequirementListItem", "QualityRequirementListItemRequest",
    "QualityRequirementBulkCreateRequest", "QualityRequirementBulkCreateNodeRequest",
    "QualityReport", "QualityReportSummary", "QualityReportCreateRequest",
    "QualityReportJobsSummary", "QualityReportRequirementsSummary",
    "QualityReportRequirementSummaryItem", "QualityReportConfusionMatrix",
    "AnnotationConflict", "AnnotationId", "ConsensusSettings", "PatchedConsensusSettingsRequest",
    "ConsensusMergeCreateRequest", "FunctionCall", "FunctionCallParams", "FunctionCallRequest",
    "OnlineFunctionCallRequest",
)


@pytest.fixture(scope="module")
def schemas() -> dict:
    return schema_document("2.80.0")["components"]["schemas"]


def sdk_model(name: str):
    module = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return getattr(importlib.import_module(f"cvat_sdk.api_client.model.{module}"), name)


@pytest.mark.parametrize("name", COMPONENTS)
def test_component_matches_the_sdk_model(schemas, name):
    ours, model = schemas[name], sdk_model(name)
    fields = set(model.openapi_types)
    if name == "FunctionCallRequest":
        fields.add("convMaskToPoly")  # the model maps both keys to one attribute
    assert set(ours["properties"]) == fields
    signature = inspect.signature(model._from_openapi_data)
    required = {p for p in signature.parameters if p not in ("cls", "args", "kwargs")}
    assert set(ours.get("required", [])) == required
    read_only = {k for k, v in ours["properties"].items() if v.get("readOnly")
                 and not {"$ref", "allOf", "oneOf"} & set(v)}
    assert read_only <= set(model.read_only_vars) | {"task_id", "project_id"}
