"""The schema of issues, comments, guides, assets and growth in CVAT 2.80, against the real
cvat-sdk 2.80 (generated from CVAT 2.80's schema): every operation's method, path and
parameters, and every component's fields, types, read-only, nullable and required ones.
(CVAT 2.26.2's schema is diffed in ``tests/test_schema.py``.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cvat_sdk.api_client import apis, models
from cvat_sdk.api_client.model_utils import ModelComposed, ModelNormal, file_type

from mockcvat.app import schema_document

VERSION = "2.80.0"
APIS = {"issues": apis.IssuesApi, "comments": apis.CommentsApi, "guides": apis.GuidesApi,
        "assets": apis.AssetsApi, "growth": apis.GrowthApi}
COMPONENTS = [
    "IssueRead", "IssueWriteRequest", "PatchedIssueWriteRequest", "PaginatedIssueReadList",
    "CommentRead", "CommentWriteRequest", "PatchedCommentWriteRequest",
    "PaginatedCommentReadList", "CommentsSummary", "AnnotationGuideRead",
    "AnnotationGuideWriteRequest", "PatchedAnnotationGuideWriteRequest", "AssetRead",
    "UserGrowthData", "PatchedUserGrowthDataRequest", "PaginatedUserGrowthDataList",
]
PY_TYPES = {"integer": int, "boolean": bool, "string": str, "number": float, "array": list}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return schema_document(VERSION)


def _operations(document: dict[str, Any], tag: str) -> dict[str, tuple[str, str, Any]]:
    return {op["operationId"][len(tag) + 1:]: (path, method.upper(), op)
            for path, item in document["paths"].items() for method, op in item.items()
            if op.get("tags") == [tag]}


def _sdk_name(param: dict[str, Any]) -> str:
    return param["name"].lower().replace("-", "_")


@pytest.mark.parametrize("tag", sorted(APIS))
def test_operations_are_the_sdks(document, tag):
    api = APIS[tag]()
    ours = _operations(document, tag)
    theirs = {name[:-len("_endpoint")]: endpoint for name, endpoint in vars(api).items()
              if name.endswith("_endpoint")}
    assert set(ours) == set(theirs)
    for name, endpoint in theirs.items():
        path, method, op = ours[name]
        settings, params = endpoint.settings, endpoint.params_map
        assert (path, method) == (settings["endpoint_path"], settings["http_method"]), name
        body = op.get("requestBody")
        ours_all = {_sdk_name(p) for p in op.get("parameters", [])}
        ours_required = {_sdk_name(p) for p in op.get("parameters", []) if p.get("required")}
        locations = endpoint.location_map
        form = {p for p, where in locations.items() if where == "form"}
        if form:  # a multipart form: its properties are the SDK's parameters
            schema = body["content"]["multipart/form-data"]["schema"]
            ours_all |= set(schema["properties"])
            ours_required |= set(schema.get("required", []))
        elif body is not None:
            (body_param,) = [p for p, where in locations.items() if where == "body"]
            ours_all.add(body_param)
            if body.get("required"):
                ours_required.add(body_param)
        sdk_all = {p for p in params["all"] if not p.startswith("_")}  # not call options
        assert ours_all == sdk_all, name
        assert ours_required == set(params["required"]), name


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema or ("allOf" in schema and len(schema["allOf"]) == 1):
        ref = schema.get("$ref") or schema["allOf"][0]["$ref"]
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def _python_type(document: dict[str, Any], prop: dict[str, Any]) -> Any:
    if "$ref" in prop or "allOf" in prop:
        return dict  # a nested model
    if prop.get("format") == "date-time":
        return dt.datetime
    if prop.get("format") == "binary":
        return file_type
    return PY_TYPES[prop["type"]]


def _sdk_type(types: tuple[Any, ...]) -> Any:
    main = next(t for t in types if t is not type(None))
    if isinstance(main, list):
        return list
    if isinstance(main, type) and issubclass(main, ModelNormal | ModelComposed):
        return dict
    return main


@pytest.mark.parametrize("name", COMPONENTS)
def test_components_are_the_sdks(document, name):
    ours = document["components"]["schemas"][name]
    model = getattr(models, name)
    types = model.openapi_types
    assert set(ours["properties"]) == set(types)
    for field, prop in ours["properties"].items():
        nullable = prop.get("nullable", False)
        sdk_nullable = type(None) in types[field] or _nullable_model(types[field])
        assert nullable == sdk_nullable, field
        assert _python_type(document, prop) == _sdk_type(types[field]), field
        read_only = prop.get("readOnly", False)
        assert read_only == (field in model.read_only_vars) or "allOf" in prop, field
    required = set(ours.get("required", []))
    positional = _positional(model)
    assert required == positional


def _nullable_model(types: tuple[Any, ...]) -> bool:
    main = types[0]
    return isinstance(main, type) and getattr(main, "_nullable", False)


def _positional(model: Any) -> set[str]:
    """The required (non read-only) properties: the SDK's positional constructor arguments."""
    import inspect

    signature = inspect.signature(model.__init__)
    return {name for name, p in signature.parameters.items()
            if p.kind is p.POSITIONAL_OR_KEYWORD and name != "self"}
