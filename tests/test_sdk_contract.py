"""Operations that exist only in newer CVAT releases, against cvat-sdk 2.80 (generated from the
2.80 server schema): each endpoint of the listed SDK APIs must be in our 2.80 schema with the same
path, method, parameters (name, location, required, enum) and body/response models, and every
model they use must match our component: properties, required, read-only, nullable, enums and
types, followed into nested models."""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Any

import pytest
from cvat_sdk.api_client import ApiClient
from cvat_sdk.api_client.api.events_api import EventsApi
from cvat_sdk.api_client.api.webhooks_api import WebhooksApi
from cvat_sdk.api_client.model_utils import ModelNormal, ModelSimple

from mockcvat.app import schema_document

APIS = (WebhooksApi, EventsApi)
INTERNAL = {"_async_call", "_host_index", "_parse_response", "_request_timeout",
            "_validate_inputs", "_validate_outputs", "_check_status", "_spec_property_naming",
            "_content_type", "_request_auths"}
PLAIN = {str: {"string"}, int: {"integer"}, bool: {"boolean"}, float: {"number"},
         dt.datetime: {"string"}, dt.date: {"string"}}


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return schema_document("2.80.0")


def endpoints() -> list[Any]:
    client = ApiClient()
    found = []
    for api in APIS:
        instance = api(client)
        for name in dir(instance):
            if name.endswith("_endpoint"):
                found.append(pytest.param(getattr(instance, name),
                                          id=f"{api.__name__}.{name[:-9]}"))
    return found


class Resolver:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def __call__(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A schema with its $ref (also inside a one-item allOf) resolved."""
        schema = dict(schema)
        if "allOf" in schema and len(schema["allOf"]) == 1:
            schema = {**schema.pop("allOf")[0], **schema}
        if "$ref" in schema:
            ref = schema.pop("$ref").rsplit("/", 1)[1]
            schema = {**self.doc["components"]["schemas"][ref], **schema}
        return schema


def compare_model(model: Any, schema: dict[str, Any], resolve: Resolver, where: str,
                  problems: list[str], seen: set[tuple[str, str]]) -> None:
    schema = resolve(schema)
    key = (model.__name__, where)
    if key in seen:
        return
    seen.add(key)
    if issubclass(model, ModelSimple):
        theirs = sorted(model.allowed_values[("value",)].values())
        mine = sorted(v for v in schema.get("enum", []) if v is not None)
        if theirs != mine:
            problems.append(f"{where}: enum ours {mine}, SDK {theirs}")
        return
    assert issubclass(model, ModelNormal), model
    names = model.attribute_map  # python name -> JSON name
    props = schema.get("properties", {})
    if set(names.values()) != set(props):
        problems.append(f"{where}: properties ours {sorted(props)}, SDK "
                        f"{sorted(names.values())}")
    positional = [p for p in inspect.signature(model._from_openapi_data).parameters
                  if p not in ("args", "kwargs")]
    required = sorted(names[p] for p in positional)
    mine_required = sorted(schema.get("required", []))
    if required != mine_required:
        problems.append(f"{where}: required ours {mine_required}, SDK {required}")
    for python_name, json_name in names.items():
        if json_name not in props:
            continue
        prop = resolve(props[json_name])
        here = f"{where}.{json_name}"
        read_only = python_name in model.read_only_vars
        composed = "allOf" in props[json_name]  # the generator drops readOnly there
        if not composed and read_only != bool(props[json_name].get("readOnly")):
            problems.append(f"{here}: readOnly ours {not read_only}, SDK {read_only}")
        compare_type(model.openapi_types[python_name], props[json_name], prop, resolve, here,
                     problems, seen)


def compare_type(types: tuple[Any, ...], raw: dict[str, Any], prop: dict[str, Any],
                 resolve: Resolver, where: str, problems: list[str],
                 seen: set[tuple[str, str]]) -> None:
    kinds = [t for t in types if t is not type(None)]
    if len(kinds) != 1:
        return  # "any value" (bool, date, datetime, dict, ..., None): JSONField
    kind = kinds[0]
    # a composed model (allOf + nullable) carries its nullability itself
    nullable = type(None) in types or bool(getattr(kind, "_nullable", False))
    mine_nullable = bool(raw.get("nullable") or prop.get("nullable")) or any(
        resolve(option).get("enum") == [None] for option in prop.get("oneOf", []))
    if nullable != mine_nullable:
        problems.append(f"{where}: nullable ours {mine_nullable}, SDK {nullable}")
    if isinstance(kind, list):
        compare_type(tuple(kind), prop.get("items", {}), resolve(prop.get("items", {})),
                     resolve, f"{where}[]", problems, seen)
        if prop.get("type") != "array":
            problems.append(f"{where}: type ours {prop.get('type')}, SDK array")
    elif isinstance(kind, dict):
        if prop.get("type") != "object":
            problems.append(f"{where}: type ours {prop.get('type')}, SDK object")
    elif kind in PLAIN:
        if prop.get("type") not in PLAIN[kind]:
            problems.append(f"{where}: type ours {prop.get('type')}, SDK {kind.__name__}")
    elif inspect.isclass(kind) and issubclass(kind, ModelSimple | ModelNormal):
        options = [o for o in prop.get("oneOf", []) if resolve(o).get("enum") != [None]]
        target = options[0] if len(options) == 1 else raw
        compare_model(kind, target, resolve, where, problems, seen)


@pytest.mark.parametrize("endpoint", endpoints())
def test_endpoint_matches_the_sdk(ours, endpoint):
    settings = endpoint.settings
    path, method = settings["endpoint_path"], settings["http_method"].lower()
    operation = ours["paths"].get(path, {}).get(method)
    assert operation is not None, f"{method.upper()} {path} is not in our 2.80 schema"
    resolve = Resolver(ours)
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    mine = {(p["name"], p["in"]): p for p in operation.get("parameters", [])}
    theirs = {}
    body_model = None
    for name in endpoint.params_map["all"]:
        if name in INTERNAL:
            continue
        location = endpoint.location_map.get(name)
        if location == "body":
            body_model = endpoint.openapi_types[name][0]
            continue
        location = "query" if location == "form" else location
        theirs[(endpoint.attribute_map[name], location)] = name
    if set(mine) != set(theirs):
        problems.append(f"parameters ours {sorted(mine)}, SDK {sorted(theirs)}")
    for key, python_name in theirs.items():
        if key not in mine:
            continue
        if (python_name in endpoint.params_map["required"]) != bool(mine[key].get("required")):
            problems.append(f"parameter {key}: required differs")
        enum = endpoint.allowed_values.get((python_name,))
        if enum is not None and sorted(enum.values()) != sorted(
                mine[key]["schema"].get("enum", [])):
            problems.append(f"parameter {key}: enum ours {mine[key]['schema'].get('enum')}, "
                            f"SDK {sorted(enum.values())}")
    if body_model is not None:
        content = operation.get("requestBody", {}).get("content", {})
        schema = next(iter(content.values()), {}).get("schema")
        if schema is None:
            problems.append("request body: missing")
        else:
            compare_model(body_model, schema, resolve, body_model.__name__, problems, seen)
    response = settings["response_schema"]
    if response is not None:
        replies = [r for status, r in operation["responses"].items() if status.startswith("2")]
        schemas = [s["schema"] for r in replies for s in r.get("content", {}).values()]
        if not schemas:
            problems.append("response: no body")
        else:
            compare_model(response[0], schemas[0], resolve, response[0].__name__, problems,
                          seen)
    assert problems == []
