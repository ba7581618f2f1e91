"""/api/server: about, plugins, annotation formats, and the share listing."""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mockcvat import formats, iam
from mockcvat.errors import BadRequestBody
from mockcvat.schemas.server import About, DatasetFormats, FileInfo, Plugins

if TYPE_CHECKING:
    from mockcvat.api import Context

NAME = "Computer Vision Annotation Tool"
DESCRIPTION = (
    "mockcvat: a stateful fake of the CVAT server for testing code written against CVAT. "
    "It answers as the CVAT version below does."
)
SUBTITLE = "Open Data Annotation Platform"
LOGO_PATH = "/static/logo.svg"
ARCHIVE_TYPES = {"application/zip", "application/x-tar", "application/gzip", "application/x-rar",
                 "application/x-7z-compressed", "application/x-cpio", "application/x-bzip2",
                 "application/x-zip-compressed", "application/vnd.rar"}


def about(ctx: Context) -> dict[str, Any]:
    return About.dump({
        "name": NAME,
        "description": DESCRIPTION,
        "version": ctx.mock.settings.cvat_version,
        "logo_url": ctx.absolute(LOGO_PATH),
        "subtitle": SUBTITLE,
    }) or {}


def plugins(ctx: Context) -> dict[str, Any]:
    # no analytics stack, no git integration in a fake; serverless functions once a test
    # registered some (mockcvat.functions)
    flags = dict.fromkeys(("GIT_INTEGRATION", "ANALYTICS", "MODELS", "PREDICT"), False)
    flags["MODELS"] = bool(ctx.mock.functions)
    return Plugins.dump(flags) or {}


def annotation_formats(ctx: Context) -> dict[str, Any]:
    return DatasetFormats.dump({
        "importers": [f.__dict__ for f in formats.IMPORTERS],
        "exporters": [f.__dict__ for f in formats.EXPORTERS],
    }) or {}


def list_share(ctx: Context) -> list[dict[str, Any]]:
    iam.check_share_listing(ctx)
    directory = ctx.params.get("directory") or "/"
    search = ctx.params.get("search")
    root = ctx.mock.share_dir
    path = share_path(root, directory)
    if path is None or not path.is_dir():
        raise BadRequestBody(f"{directory.removeprefix('/')} is an invalid directory")
    entries = []
    for entry in path.iterdir():
        if search and not entry.name.startswith(search):
            continue
        if entry.is_dir():
            entries.append({"name": entry.name, "type": "DIR", "mime_type": "DIR"})
        elif entry.is_file():
            entries.append({"name": entry.name, "type": "REG", "mime_type": media_type(entry.name)})
    entries.sort(key=lambda e: (e["type"], e["name"]))
    return [FileInfo.dump(e) or {} for e in entries]


def share_path(root: Path, relative: str) -> Path | None:
    """``relative`` inside the share, or None if it names anything outside it.

    CVAT 2.26 only checks a string prefix, so ``..`` slips through there; mockcvat refuses it
    (and symlinks leading out of the share) as CVAT intends.
    """
    parts = PurePosixPath(relative.lstrip("/")).parts
    if "\x00" in relative or any(part == ".." for part in parts):
        return None
    root = root.resolve()
    candidate = root.joinpath(*parts).resolve()
    if candidate != root and root not in candidate.parents:
        return None
    return candidate


def media_type(name: str) -> str:
    """CVAT's ``get_mime``: image, video, archive, pdf or unknown, by file name."""
    guessed, _ = mimetypes.guess_type(name)
    if guessed is None:
        return "unknown"
    if guessed.startswith("image/") and guessed != "image/svg+xml":
        return "image"
    if guessed.startswith("video/"):
        return "video"
    if guessed in ARCHIVE_TYPES:
        return "archive"
    if guessed == "application/pdf":
        return "pdf"
    return "unknown"
