"""Read an installed cvat-sdk's generated client into a plain description of CVAT's API.

cvat-sdk is generated (openapi-generator) from the schema of the CVAT release it carries the
version of, so its package holds what that release's schema said: per operation the path,
method, operationId, parameters (location, type, required, nullable, enum) and the body and
response models; per model its fields with their types, required/nullable/read-only flags,
enums and validations. ``describe()`` collects that into JSON-able dicts, the shape
``mockcvat.schema_diff.sdk_view`` makes from an OpenAPI document, so the two can be diffed.

This file imports nothing from mockcvat: ``mockcvat schema diff --against cvat-sdk --sdk-python
PY`` runs it as a script under another interpreter (e.g. a virtualenv holding cvat-sdk 2.26)
and reads the JSON it prints.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import os
import pkgutil
import sys
from typing import Any

ANY = "any"  # openapi-generator's free-form value (bool, date, datetime, dict, float, ...)


def _type_name(kind: Any, file_type: Any, none_type: Any) -> str:
    """One openapi-generator type as text: int, str, datetime, file, [T], {str: T}, Model."""
    if isinstance(kind, list):
        return "[" + _types(tuple(kind), file_type, none_type)[0] + "]"
    if isinstance(kind, dict):
        (key, value), = kind.items()
        return "{str: " + _types(value, file_type, none_type)[0] + "}"
    if isinstance(kind, tuple):
        return _types(kind, file_type, none_type)[0]
    if kind is file_type:
        return "file"
    if kind is dt.datetime:
        return "datetime"
    if kind is dt.date:
        return "date"
    return getattr(kind, "__name__", str(kind))


def _types(kinds: tuple[Any, ...], file_type: Any, none_type: Any) -> tuple[str, bool]:
    """A type tuple as (text, nullable)."""
    nullable = none_type in kinds
    rest = [k for k in kinds if k is not none_type]
    if len(rest) > 2 and dict in rest and list in rest:  # any JSON value
        return ANY, nullable
    names = [_type_name(k, file_type, none_type) for k in rest]
    return (names[0] if len(names) == 1 else "(" + ", ".join(sorted(names)) + ")"), nullable


def _enum(allowed: dict[Any, Any], key: tuple[str, ...]) -> list[Any] | None:
    values = allowed.get(key)
    return sorted(values.values(), key=str) if values else None


def describe() -> dict[str, Any]:
    import cvat_sdk.api_client.api as api_package
    from cvat_sdk.api_client import model_utils
    from cvat_sdk.version import VERSION

    file_type, none_type = model_utils.file_type, model_utils.none_type
    operations: dict[str, Any] = {}
    models: dict[str, Any] = {}

    def model_type(kinds: tuple[Any, ...]) -> tuple[str, bool]:
        for kind in kinds:
            _collect(kind)
        return _types(kinds, file_type, none_type)

    def _collect(kind: Any) -> None:
        if isinstance(kind, (list, tuple)):
            for item in kind:
                _collect(item)
        elif isinstance(kind, dict):
            for item in kind.values():
                _collect(item)
        elif inspect.isclass(kind) and issubclass(kind, model_utils.OpenApiModel):
            name = kind.__name__
            if name not in models:
                models[name] = {}
                models[name] = _model(kind)

    def _model(cls: Any) -> dict[str, Any]:
        allowed = getattr(cls, "allowed_values", {}) or {}
        validations = getattr(cls, "validations", {}) or {}
        if issubclass(cls, model_utils.ModelSimple):
            kind, nullable = model_type(cls.openapi_types["value"])
            return {"kind": "simple", "type": kind,
                    "nullable": bool(cls._nullable) or nullable,
                    "enum": _enum(allowed, ("value",)),
                    "validations": validations.get(("value",), {})}
        out: dict[str, Any] = {"kind": "object", "nullable": bool(cls._nullable)}
        if issubclass(cls, model_utils.ModelComposed):
            out["kind"] = "composed"
            composed = cls._composed_schemas
            for key in ("allOf", "oneOf", "anyOf"):
                members = composed.get(key) or []
                if members:
                    names = []
                    for member in members:
                        _collect(member)
                        names.append(_type_name(member, file_type, none_type))
                    out[key] = names
        signature = inspect.signature(cls._from_openapi_data)
        required = {name for name, p in signature.parameters.items()
                    if p.kind is p.POSITIONAL_OR_KEYWORD and name != "cls"}
        required |= set(getattr(cls, "required_properties", ()) or ()) & set(
            cls.attribute_map)
        read_only = set(getattr(cls, "read_only_vars", ()) or ())
        fields = {}
        for attr, kinds in cls.openapi_types.items():
            if attr not in cls.attribute_map:
                continue
            kind, nullable = model_type(kinds)
            fields[cls.attribute_map[attr]] = {
                "type": kind, "required": attr in required, "nullable": nullable,
                "read_only": attr in read_only, "enum": _enum(allowed, (attr,)),
                "validations": validations.get((attr,), {}),
            }
        out["fields"] = dict(sorted(fields.items()))
        return out

    for info in pkgutil.iter_modules(api_package.__path__):
        if not info.name.endswith("_api"):
            continue
        tag = info.name[: -len("_api")]
        module = importlib.import_module(f"{api_package.__name__}.{info.name}")
        api_class = next(c for n, c in vars(module).items()
                         if n.lower() == tag.replace("_", "") + "api" and inspect.isclass(c))
        instance = api_class(api_client=_NoClient())
        for attr, endpoint in sorted(vars(instance).items()):
            if not attr.endswith("_endpoint"):
                continue
            settings, params = endpoint.settings, endpoint.params_map
            parameters, body = {}, None
            for name in params["all"]:
                if name not in endpoint.location_map:  # the client's own keywords
                    continue  # (a query parameter named after a Python keyword is ``_from``)
                location = endpoint.location_map[name]
                kind, nullable = model_type(endpoint.openapi_types[name])
                nullable = nullable or name in params["nullable"]
                item = {"type": kind, "required": name in params["required"],
                        "nullable": nullable, "enum": _enum(endpoint.allowed_values, (name,)),
                        "validations": endpoint.validations.get((name,), {})}
                if location == "body":
                    body = {"type": kind, "required": item["required"]}
                else:
                    parameters[f"{location} {endpoint.attribute_map[name]}"] = item
            response = settings["response_schema"]
            operations[f"{tag}_{settings['operation_id']}"] = {
                "path": settings["endpoint_path"],
                "method": settings["http_method"].lower(),
                "parameters": dict(sorted(parameters.items())),
                "body": body,
                "content_types": sorted(endpoint.headers_map["content_type"]),
                "response": model_type(response)[0] if response else None,
                "accept": sorted(endpoint.headers_map["accept"]),
                "auth": sorted(settings["auth"]),
            }
    return {"version": VERSION, "operations": dict(sorted(operations.items())),
            "models": dict(sorted(models.items()))}


class _NoClient:
    """Endpoints only keep a reference to their client; none is needed to read them."""


if __name__ == "__main__":
    # run as a file: its folder (holding mockcvat's http.py) must not shadow the stdlib
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    json.dump(describe(), sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write("\n")
