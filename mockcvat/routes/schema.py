"""``GET /api/schema/``: this server's own OpenAPI document (YAML or JSON)."""

from __future__ import annotations

import json

from starlette.responses import Response

from mockcvat import compat
from mockcvat.api import Api, Context, Reply, versioned
from mockcvat.errors import NotAcceptable, NotFound

api = Api("schema")

YAML_TYPES = ("application/vnd.oai.openapi", "application/yaml")
JSON_TYPES = ("application/vnd.oai.openapi+json", "application/json")
_OBJECT = {"type": "object"}
# Django's LANGUAGES codes (the schema view's ?lang= choices)
LANGUAGES = (
    "af", "ar", "ar-dz", "ast", "az", "be", "bg", "bn", "br", "bs", "ca", "ckb", "cs", "cy",
    "da", "de", "dsb", "el", "en", "en-au", "en-gb", "eo", "es", "es-ar", "es-co", "es-mx",
    "es-ni", "es-ve", "et", "eu", "fa", "fi", "fr", "fy", "ga", "gd", "gl", "he", "hi", "hr",
    "hsb", "hu", "hy", "ia", "id", "ig", "io", "is", "it", "ja", "ka", "kab", "kk", "km", "kn",
    "ko", "ky", "lb", "lt", "lv", "mk", "ml", "mn", "mr", "ms", "my", "nb", "ne", "nl", "nn",
    "os", "pa", "pl", "pt", "pt-br", "ro", "ru", "sk", "sl", "sq", "sr", "sr-latn", "sv", "sw",
    "ta", "te", "tg", "th", "tk", "tr", "tt", "udm", "uk", "ur", "uz", "vi", "zh-hans",
    "zh-hant",
)
# cvat-sdk 2.65: Django's list gains Uyghur (a newer Django)
LANGUAGES_2_65 = tuple(sorted((*LANGUAGES, "ug")))


@api.operation(
    "GET", "/api/schema/", "schema_retrieve",
    parameters=[
        versioned({"in": "query", "name": "lang",
                   "schema": {"type": "string", "enum": list(LANGUAGES)}},
                  until=compat.RELEASE_2_65),
        versioned({"in": "query", "name": "lang",
                   "schema": {"type": "string", "enum": list(LANGUAGES_2_65)}},
                  since=compat.RELEASE_2_65),
        {"in": "query", "name": "scheme", "schema": {"type": "string", "enum": ["json", "yaml"]}},
    ],
    responses={200: Reply(schema=_OBJECT, media_types=YAML_TYPES + JSON_TYPES)},
    negotiate=False,  # drf-spectacular's own renderers: YAML and JSON under four media types
)
async def schema_retrieve(ctx: Context) -> Response:
    scheme = ctx.params.get("scheme")
    if scheme not in (None, "json", "yaml"):
        raise NotFound()  # DRF's URL format override: an unknown format is a 404
    accept = ctx.request.headers.get("accept", "")
    accepted = [item.split(";")[0].strip().lower() for item in accept.split(",") if item.strip()]
    if accepted and not any(a in ("*/*", "application/*") + YAML_TYPES + JSON_TYPES
                            for a in accepted):
        raise NotAcceptable()
    wants_json = scheme == "json" or (scheme is None and any(t in accepted for t in JSON_TYPES)
                                      and not any(t in accepted for t in YAML_TYPES))
    document = ctx.mock.schema()
    if wants_json:
        media = next((t for t in JSON_TYPES if t in accepted), JSON_TYPES[0])
        return Response(json.dumps(document), media_type=media)
    media = next((t for t in YAML_TYPES if t in accepted), YAML_TYPES[0])
    return Response(ctx.mock.schema_yaml(), media_type=f"{media}; charset=utf-8")
