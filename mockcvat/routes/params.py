"""Query and header parameters several route modules declare the same way.

A parameter some CVAT versions lack carries ``since``/``until`` (``api.versioned``); the
schema builder keeps the ones the emulated version has."""

from __future__ import annotations

from typing import Any

from mockcvat import compat
from mockcvat.api import versioned


def query(name: str, schema: dict[str, Any], description: str = "", *,
          required: bool = False) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "description": description,
                             "schema": schema}
    if required:
        param["required"] = True
    return param


LOCATION = query("location", {"type": "string", "enum": ["cloud_storage", "local"]},
                 "Where to import the dataset from or export it to")
CLOUD_STORAGE_ID = query("cloud_storage_id", {"type": "integer"}, "Storage id")
FILENAME = query("filename", {"type": "string"}, "Desired output file name")
USE_DEFAULT_LOCATION = query("use_default_location", {"type": "boolean", "default": True},
                             "Use the location that was configured in the object")
DOWNLOAD = query("action", {"type": "string", "enum": ["download"]},
                 "Used to start downloading process locally after annotation file has been "
                 "created")
RQ_ID = query("rq_id", {"type": "string"}, "rq id")
# cvat-sdk 2.67: previews honour RFC 7240's ``Prefer: handling=empty``
PREFER = versioned({"name": "Prefer", "in": "header", "schema": {"type": "string"},
                    "description": "RFC 7240 preference token. Send `handling=empty` to receive "
                    "a 204 No Content response when no media-derived preview exists. Without the "
                    "preference, the server returns a default placeholder image with status "
                    "200."}, since=compat.PREVIEW_PREFERENCES)
# cvat-sdk 2.65: annotation imports may add to the existing annotations
IMPORT_MODE = versioned(query("import_mode", {"type": "string", "enum": ["append", "replace"]},
                              "Whether to add the imported annotations to the existing ones "
                              "or to replace them"), since=compat.RELEASE_2_65)


def format_param(*, required: bool = False) -> dict[str, Any]:
    return query("format", {"type": "string"},
                 "Desired output format name\nYou can get the list of supported formats at:\n"
                 "/server/annotation/formats", required=required)


def data_type(*, since: str = "2.51.0") -> list[dict[str, Any]]:
    """``type`` of ``GET …/data``: documented as required from cvat-sdk 2.51 (it always was:
    without it CVAT answers 400 "Data type not specified or has wrong value")."""
    schema = {"type": "string", "enum": ["chunk", "context_image", "frame"]}
    text = "Specifies the type of the requested data"
    return [versioned(query("type", schema, text), until=since),
            versioned(query("type", schema, text, required=True), since=since)]


# the legacy GET export endpoints (``…/dataset``, ``…/annotations?format=``, ``…/backup``)
def legacy_export(*, format_required: bool | None) -> list[dict[str, Any]]:
    """``format_required`` None: the endpoint takes no ``format`` (backups)."""
    params = [DOWNLOAD, CLOUD_STORAGE_ID, FILENAME, LOCATION, USE_DEFAULT_LOCATION]
    if format_required is not None:
        params.append(format_param(required=format_required))
    return by_name(params)


def by_name(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(params, key=lambda p: p["name"])


def until(params: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    return [versioned(p, until=version) for p in params]


def since(params: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    return [versioned(p, since=version) for p in params]


# ``GET …/annotations/`` of tasks and jobs: the legacy export parameters until 2.32; then, as
# "no longer supported" leftovers (any of them answers 410), the task keeps ``action`` with its
# enum until 2.38 and the job keeps them, ``action`` without an enum, in every later version
def annotations_read(kind: str) -> list[dict[str, Any]]:
    leftovers = [CLOUD_STORAGE_ID, FILENAME, format_param(), LOCATION]
    if kind == "task":
        later = until([DOWNLOAD, *leftovers], compat.NO_LEGACY_IMPORTS)
    else:
        later = [query("action", {"type": "string"}, "This parameter is no longer supported"),
                 *leftovers]
    return by_name(until(legacy_export(format_required=False), compat.EXPORT_DOWNLOAD_ENDPOINT)
                   + since(later, compat.EXPORT_DOWNLOAD_ENDPOINT))


# ``POST …/dataset/export`` and ``…/backup/export``
def export(*, with_format: bool) -> list[dict[str, Any]]:
    params = [CLOUD_STORAGE_ID, FILENAME, LOCATION]
    if with_format:
        params += [format_param(required=True),
                   query("save_images", {"type": "boolean", "default": False},
                         "Include images or not")]
    return sorted(params, key=lambda p: p["name"])


# imports (``POST …/annotations/``, ``POST …/dataset/``)
def import_(*, rq_id: bool = False) -> list[dict[str, Any]]:
    params = [CLOUD_STORAGE_ID, FILENAME, format_param(), LOCATION, USE_DEFAULT_LOCATION]
    if rq_id:
        params.append(RQ_ID)
    return by_name(params)
