"""What DRF answers about a URL rather than through it: the ``Allow`` header of a 405 and the
``OPTIONS`` metadata (``rest_framework.metadata.SimpleMetadata``).

DRF lists a view's methods in Django's ``http_method_names`` order, ``HEAD`` wherever ``GET``
is, and always ``OPTIONS``. ``OPTIONS`` checks authentication as the view does, then answers
``{"name", "description", "renders", "parses"}`` and, for the ``POST``/``PUT`` of a body
serializer, ``"actions"`` describing its writable fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from mockcvat import compat
from mockcvat.errors import APIError, NotAuthenticated, render
from mockcvat.http import CVAT_JSON, CvatJSONResponse
from mockcvat.schemas import fields as f

if TYPE_CHECKING:
    from mockcvat.api import Operation
    from mockcvat.server import MockCVAT

DJANGO_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
PARSES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]


def allow(methods: Iterable[str]) -> str:
    found = {m.upper() for m in methods} | {"OPTIONS"}
    if "GET" in found:
        found.add("HEAD")
    return ", ".join(m for m in DJANGO_ORDER if m in found)


def view_name(path: str, tag: str) -> str:
    """DRF's ``get_view_name`` for CVAT's viewsets: the model's name, then "List" for a
    collection route and "Instance" for a detail route (custom actions: the action's name)."""
    base = tag[:-1] if tag.endswith("s") else tag
    base = " ".join(w.capitalize() for w in re.split(r"[_\s]+", base))
    parts = [p for p in path.strip("/").split("/")[2:] if p]  # after /api/<tag>
    if not parts:
        return f"{base} List"
    tail = [p for p in parts if not p.startswith("{")]
    if not tail:
        return f"{base} Instance"
    return f"{base} " + " ".join(w.capitalize() for w in re.split(r"[_/\-]+", tail[-1]))


def options_endpoint(path_ops: list[Operation], mock: MockCVAT):  # noqa: ANN201
    from mockcvat.auth import authenticate

    methods = allow(op.method for op in path_ops)
    public = any(op.public for op in path_ops)

    async def options(request: Request) -> Response:
        headers = {"Allow": methods}
        try:
            with compat.emulating(mock.compat):
                identity = authenticate(mock, request)
                if identity is None and not public:
                    raise NotAuthenticated()
                body: dict[str, Any] = {
                    "name": view_name(path_ops[0].schema_path, path_ops[0].tag),
                    "description": "",
                    "renders": [CVAT_JSON],
                    "parses": PARSES,
                }
                bodies = {op.method.upper(): op.current_body() for op in path_ops
                          if op.method.upper() in ("POST", "PUT")}
                actions = {method: describe(body.serializer)
                           for method, body in bodies.items()
                           if body is not None and body.serializer is not None
                           and not body.partial}
                if actions:
                    body["actions"] = actions
        except APIError as exc:
            response = render(exc)
            response.headers.update(headers)
            return response
        return CvatJSONResponse(body, headers=headers)

    return options


def describe(serializer: type[f.Serializer],
             within: tuple[type[f.Serializer], ...] = ()) -> dict[str, Any]:
    """``SimpleMetadata.get_serializer_info``: the fields a client may write. A serializer
    nested in itself (a requirement's ``children``) is described once, on its outermost use."""
    within = (*within, serializer)
    return {name: _field_info(name, field, within)
            for name, field in serializer.schema_fields(request=True) if not field.read_only}


_TYPES: tuple[tuple[type[f.Field], str], ...] = (
    (f.EmailField, "email"), (f.URLField, "url"), (f.CharField, "string"),
    (f.IntegerField, "integer"), (f.BooleanField, "boolean"), (f.FloatField, "float"),
    (f.FileField, "file upload"), (f.DateTimeField, "datetime"), (f.ChoiceField, "choice"),
    (f.NestedField, "nested object"), (f.ListField, "list"), (f.JSONField, "json"),
)


def _field_info(name: str, field: f.Field,
                within: tuple[type[f.Serializer], ...] = ()) -> dict[str, Any]:
    kind = next((label for cls, label in _TYPES if isinstance(field, cls)), "field")
    info: dict[str, Any] = {"type": kind, "required": bool(field.required),
                            "read_only": bool(field.read_only),
                            "label": field.title or name.replace("_", " ").capitalize()}
    if field.help_text:
        info["help_text"] = field.help_text
    for attr in ("min_length", "max_length", "min_value", "max_value"):
        value = getattr(field, attr, None)
        if value is not None:
            info[attr] = value
    if isinstance(field, f.ChoiceField):
        info["choices"] = [{"value": c, "display_name": field.labels.get(c, c)}
                           for c in field.choices]
    if isinstance(field, f.NestedField):
        if field.serializer not in within:
            info["children"] = describe(field.serializer, within)
    elif isinstance(field, f.ListField):
        child = field.child
        if isinstance(child, f.Field):
            info["child"] = _field_info("", child, within)
    return info
