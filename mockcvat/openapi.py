"""This server's OpenAPI document, generated from the operation table and the serializers.

The shape follows drf-spectacular's output for CVAT (OpenAPI 3.0.3, components split into
``X``/``XRequest``/``PatchedXRequest``, ``Paginated<X>List`` envelopes, enum components), so
the document can be diffed operation by operation against the real CVAT schema
(``mockcvat.schema_diff``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mockcvat import compat
from mockcvat.api import Body, Operation, Reply
from mockcvat.schemas.fields import (
    ChoiceField,
    DictField,
    Field,
    ListField,
    NestedField,
    Serializer,
)

# path converters whose schema documents their lookup pattern (DRF's ``lookup_value_regex``)
_PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
# the schema of a path parameter, by its Starlette converter (DRF documents a lookup by its model
# field, or by the regex of its url_path)
PATH_SCHEMAS: dict[str, Any] = {
    "int": {"type": "integer"}, "pk": {"type": "integer"},
    "digits": {"type": "string", "pattern": "^\\d+$"},  # url_path=r"...(?P<x>\d+)"
    "uuidpk": {"type": "string", "format": "uuid"},
    # lambda function ids; from 2.75 (cvat-sdk 2.75) they start with a letter or digit
    "funcid": compat.ByVersion({"type": "string", "pattern": "^[a-zA-Z0-9_.-]+$"}, (
        compat.FUNCTION_ID_START, {"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"})),
}
_KEY_ORDER = ("operationId", "description", "summary", "parameters", "tags", "requestBody",
              "security", "deprecated", "responses")


def build_schema(operations: Iterable[Operation], version: str) -> dict[str, Any]:
    emulated = compat.Compat(version)
    builder = _Builder(emulated)
    with compat.emulating(emulated):
        for op in operations:
            if op.exists_in(emulated.version) and op.in_schema:
                builder.add(op)
    return builder.document(version)


def _materialized(parameter: dict[str, Any]) -> dict[str, Any]:
    """A parameter whose enum depends on the version (``listing.VersionedChoices``), read now."""
    schema = parameter.get("schema") or {}
    enum = schema.get("enum")
    if enum is None or isinstance(enum, list):
        return parameter
    values = list(enum)  # none in this version: no enum
    resolved = {**schema, "enum": values} if values else {
        k: v for k, v in schema.items() if k != "enum"}
    return {**parameter, "schema": resolved}


class _Builder:
    def __init__(self, compat_: compat.Compat) -> None:
        self.compat = compat_
        self.paths: dict[str, dict[str, Any]] = {}
        self.components: dict[str, Any] = {}

    def document(self, version: str) -> dict[str, Any]:
        return {
            "openapi": "3.0.3",
            "info": {
                "title": "CVAT REST API",
                "version": version,
                "description": "REST API for Computer Vision Annotation Tool (CVAT), "
                "as emulated by mockcvat",
                "license": {"name": "MIT License",
                            "url": "https://en.wikipedia.org/wiki/MIT_License"},
            },
            "paths": {p: self.paths[p] for p in sorted(self.paths)},
            "components": {
                "schemas": {k: self.components[k] for k in sorted(self.components)},
                "securitySchemes": self.compat.security_schemes(),
            },
        }

    def add(self, op: Operation) -> None:
        item: dict[str, Any] = {"operationId": op.operation_id}
        if op.summary:
            item["summary"] = op.summary
        params = self.path_parameters(op) + [_materialized(p) for p in op.current_parameters()]
        if params:
            item["parameters"] = params
        item["tags"] = [op.tag]
        body = op.current_body()
        if body is not None:
            item["requestBody"] = self.request_body(body)
        public = op.public if op.schema_public is None else op.schema_public
        item["security"] = self.compat.security(public=public, operation=op)
        if op.deprecated:
            item["deprecated"] = True
        item["responses"] = {
            str(status): self.response(reply) for status, reply in op.current_responses().items()
        }
        ordered = {k: item[k] for k in _KEY_ORDER if k in item}
        self.paths.setdefault(op.schema_path, {})[op.method.lower()] = ordered

    @staticmethod
    def path_parameters(op: Operation) -> list[dict[str, Any]]:
        params = []
        for name, converter in _PATH_PARAM.findall(op.path):
            params.append(
                {
                    "in": "path",
                    "name": name,
                    "schema": dict(compat.resolve(
                        PATH_SCHEMAS.get(converter, {"type": "string"}))),
                    "required": True,
                }
            )
        return params

    def request_body(self, body: Body) -> dict[str, Any]:
        if body.schema is not None:
            schema: dict[str, Any] = dict(body.schema)
        else:
            assert body.serializer is not None
            schema = self.ref(body.serializer, request=True, partial=body.partial)
        out: dict[str, Any] = {"content": {mt: {"schema": schema} for mt in body.media_types}}
        if body.required and not body.partial:
            out["required"] = True
        return out

    def response(self, reply: Reply) -> dict[str, Any]:
        if reply.schema is None and reply.serializer is None:
            return {"description": reply.description or "No response body"}
        if reply.schema is not None:
            schema: dict[str, Any] = dict(reply.schema)
        else:
            assert reply.serializer is not None
            schema = self.ref(reply.serializer)
            if reply.many:
                schema = {"type": "array", "items": schema}
        return {
            "content": {mt: {"schema": schema} for mt in reply.media_types},
            "description": reply.description,
        }

    # --- components -------------------------------------------------------------------
    def ref(self, serializer: type[Serializer], *, request: bool = False,
            partial: bool = False) -> dict[str, Any]:
        name = serializer.component_name(request=request, partial=partial)
        if name not in self.components:
            self.components[name] = {}  # placeholder against recursion
            self.components[name] = self.component(serializer, request, partial)
        return {"$ref": f"#/components/schemas/{name}"}

    def component(self, serializer: type[Serializer], request: bool, partial: bool) -> Any:
        for key, members in (("oneOf", serializer.one_of), ("anyOf", serializer.any_of)):
            if members:
                schema = {key: [self.alternative(m, request, partial) for m in members]}
                if getattr(serializer, "nullable", False):
                    schema["nullable"] = True
                return schema
        paginated = getattr(serializer, "paginates", None)
        if paginated is not None:
            return paginated_envelope(self.ref(paginated))
        for _, field in serializer.schema_fields(request=request, partial=partial):
            self.register(field, request)
        return serializer.openapi(request=request, partial=partial)

    def alternative(self, member: Any, request: bool, partial: bool) -> dict[str, Any]:
        """A ``oneOf``/``anyOf`` member: a serializer (by reference) or a plain schema."""
        if isinstance(member, Mapping):
            return dict(member)
        return self.ref(member, request=request, partial=partial)

    def register(self, field: Field, request: bool) -> None:
        """Add the components a field refers to (nested serializers, enums)."""
        if isinstance(field, NestedField):
            self.ref(field.serializer, request=request, partial=request and field.partial)
        elif isinstance(field, ChoiceField):
            self.components.setdefault(field.enum_name, field.enum_component())
            for name, schema in field.extra_components().items():
                self.components.setdefault(name, schema)
        elif isinstance(field, ListField | DictField):
            self.register(field.child, request)


def component_schemas(
    serializers: Iterable[type[Serializer] | tuple[type[Serializer], bool, bool]],
    version: str | None = None,
) -> dict[str, Any]:
    """The components of some serializers and of everything they refer to, built exactly as
    the document builds them. Items are a serializer (its response component ``X``) or
    ``(serializer, request, partial)`` (``XRequest``/``PatchedXRequest``)."""
    emulated = compat.Compat(version) if version else compat.current()
    builder = _Builder(emulated)
    with compat.emulating(emulated):
        for item in serializers:
            serializer, request, partial = item if isinstance(item, tuple) else (item, False,
                                                                                  False)
            builder.ref(serializer, request=request, partial=partial)
    return dict(sorted(builder.components.items()))


def paginated_envelope(item_ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["count", "results"],
        "properties": {
            "count": {"type": "integer", "example": 123},
            "next": {"type": "string", "nullable": True, "format": "uri",
                     "example": "http://api.example.org/accounts/?page=4"},
            "previous": {"type": "string", "nullable": True, "format": "uri",
                         "example": "http://api.example.org/accounts/?page=2"},
            "results": {"type": "array", "items": item_ref},
        },
    }


def paginated(item: type[Serializer]) -> type[Serializer]:
    """The ``Paginated<Item>List`` component of a list endpoint."""
    return type(
        f"Paginated{item.component_name()}List",
        (Serializer,),
        {"fields": {}, "paginates": item},
    )
