"""Cloud storages (``CloudStorageViewSet``): attach a bucket, browse it, and let tasks, projects,
exports and imports use it. The server really talks to the bucket (``mockcvat.storage``).

CVAT's answers kept here (``views.py``/``serializers.py``, 2.26):

* create: the bucket is checked first; nothing is saved unless its status is AVAILABLE and
  every listed manifest exists. Its errors are plain-text 400s, one ``field: message`` line
  each (the view turns its ValidationErrors into ``HttpResponseBadRequest``);
* update: the same checks, answered as DRF JSON (``{"resource": "..."}``, a string);
* ``status``: a JSON string, AVAILABLE / NOT_FOUND / FORBIDDEN; ``actions``: S3's actions from
  the bucket policy (``["read", "write"]`` without one), ``null`` for the other providers,
  served as ``text/plain``; ``preview``: the first image of the first manifest, else 404;
* ``content-v2``: one level of the bucket (directories first), or of a manifest's contents.

Where CVAT answers 500 (a prefix starting with '/', a listing of a bucket that vanished, a
subresource of an unknown id), mockcvat answers 400 or 404 with the message (see the README).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from starlette.responses import Response

from mockcvat import compat, iam, listing, storage
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.http import CvatJSONResponse, PlainResponse
from mockcvat.jsonlogic import FilterField
from mockcvat.media import images, sources
from mockcvat.models import CloudStorage, Data
from mockcvat.models.users import utcnow
from mockcvat.schemas.cloudstorages import (
    CREDENTIALS_TYPES,
    PROVIDER_TYPES,
    SECRETS,
    CloudStorageContent,
    CloudStorageRead,
    CloudStorageWrite,
)
from mockcvat.services import resources
from mockcvat.services.organizations import username_of
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context



def providers() -> list[str]:
    """The provider types of the emulated version."""
    with_drive = compat.current().has(until=compat.NO_GOOGLE_DRIVE)
    return [v for v, _ in PROVIDER_TYPES if with_drive or v != "GOOGLE_DRIVE"]


def listing_of(provider_types: list[str]) -> listing.Listing:
    return listing.Listing(
        fields={
            "id": FilterField("id", CloudStorage.id, "int"),
            "provider_type": FilterField("provider_type", CloudStorage.provider_type),
            "name": FilterField("name", CloudStorage.display_name),
            "resource": FilterField("resource", CloudStorage.resource),
            "credentials_type": FilterField("credentials_type", CloudStorage.credentials_type),
            "owner": FilterField("owner", username_of(CloudStorage.owner_id), nullable=True),
            "description": FilterField("description", CloudStorage.description),
        },
        filter_fields=("provider_type", "name", "resource", "credentials_type", "owner",
                       "description", "id"),
        search_fields=("provider_type", "name", "resource", "credentials_type", "owner",
                       "description"),
        ordering_fields=("provider_type", "name", "resource", "credentials_type", "owner",
                         "description", "id"),
        simple_filters=("provider_type", "name", "resource", "credentials_type", "owner"),
        simple_filter_choices={"provider_type": provider_types,
                               "credentials_type": CREDENTIALS_TYPES},
    )


LISTING = listing_of([value for value, _ in PROVIDER_TYPES])
NO_SUCH_STORAGE = "CloudStorage matching query does not exist."


# --- rows and their representation ---------------------------------------------------------------
def payloads(ctx: Context, db: Any, rows: Iterable[Any]) -> list[dict[str, Any]]:
    rows = list(rows)
    people = basic_users(ctx, db, [r.owner_id for r in rows])
    return [CloudStorageRead.dump({
        "id": r.id, "owner": people.get(r.owner_id), "manifests": list(r.manifests or []),
        "created_date": r.created_date, "updated_date": r.updated_date,
        "provider_type": r.provider_type, "resource": r.resource,
        "display_name": r.display_name, "credentials_type": r.credentials_type,
        "specific_attributes": r.specific_attributes, "description": r.description,
        "organization": r.organization_id,
    }) for r in rows]


_STORES: dict[str, storage.ByteStore] = {}  # definition -> client; building one takes ~0.1 s


def store_of(row: Any) -> storage.ByteStore:
    """The bucket of a cloud storage row (``StoreError`` if it cannot even be configured).
    Clients are kept per definition, so a changed row gets a new one."""
    key = json.dumps([row.provider_type, row.resource, row.credentials_type,
                      row.credentials or {}, row.specific_attributes], sort_keys=True)
    bucket = _STORES.get(key)
    if bucket is None:
        bucket = storage.cloud_store(row.provider_type, row.resource, row.credentials_type,
                                     row.credentials or {},
                                     storage.parse_specific_attributes(row.specific_attributes))
        if len(_STORES) > 64:
            _STORES.clear()
        _STORES[key] = bucket
    return bucket


def load(ctx: Context, db: Session, storage_id: int, scope: str) -> CloudStorage:
    row = resources.get(db, CloudStorage, storage_id, "CloudStorage")
    iam.cloudstorages(ctx).check(db, scope, row)
    return row


def for_use(ctx: Context, db: Session, storage_id: Any, organization_id: int | None
            ) -> CloudStorage:
    """A cloud storage another resource names (task data, a task's or project's storages, an
    export or import): it must exist (400) and the caller must see it from the workspace of
    that resource (403; CVAT's ``CloudStoragePermission.create_scope_view``)."""
    try:
        row = db.get(CloudStorage, int(storage_id))
    except (TypeError, ValueError, OverflowError):
        row = None
    if row is None:
        raise ValidationFailed([NO_SUCH_STORAGE])
    iam.cloudstorages(ctx).check(db, "view", row, organization_id)
    return row


def for_transfer(ctx: Context, db: Session, storage_id: Any, *, is_default: bool
                 ) -> CloudStorage:
    """The storage an export goes to or an import comes from, judged in its own workspace
    (CVAT's ``get_cloud_storage_for_import_or_export``)."""
    try:
        row = db.get(CloudStorage, int(storage_id))
    except (TypeError, ValueError, OverflowError):
        row = None
    if row is None:
        raise ValidationFailed([NO_SUCH_STORAGE])
    policy = iam.cloudstorages(ctx)
    role = (iam.role_in(db, ctx.user.id, row.organization_id)
            if row.organization_id else None)
    if not policy.allow("view", row, row.organization_id, role):
        prefix = "A cloud storage is selected as the default location. " if is_default else ""
        raise PermissionDenied(prefix + "You don't have access to this cloud storage")
    return row


def check_references(ctx: Context, db: Session, raw: Any, organization_id: int | None,
                     keys: Iterable[str] = ("source_storage", "target_storage")) -> None:
    """The ``cloud_storage_id`` of each ``source_storage``/``target_storage`` in a request
    body, checked before anything else as CVAT's permission layer does."""
    if not isinstance(raw, Mapping):
        return
    for key in keys:
        spec = raw.get(key)
        if isinstance(spec, Mapping) and spec.get("cloud_storage_id"):
            for_use(ctx, db, spec["cloud_storage_id"], organization_id)


# --- CRUD ------------------------------------------------------------------------------------
def list_storages(ctx: Context) -> dict[str, Any]:
    provider = ctx.params.get("provider_type")
    if provider and provider not in providers():
        raise ValidationFailed(["Unsupported type of cloud provider"])
    query = select(*CloudStorage.__table__.columns).where(iam.cloudstorages(ctx).visible())
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, LISTING, ctx.params, ctx.url,
                                pk=CloudStorage.id)
        return page.body(payloads(ctx, connection, page.rows))


def retrieve(ctx: Context, storage_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return payloads(ctx, db, [load(ctx, db, storage_id, "view")])[0]


async def _body(ctx: Context) -> Any:
    """JSON, or a multipart form (``key_file`` is a file field); repeated ``manifests``."""
    content_type = ctx.request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        return await ctx.json()
    form = await ctx.request.form()
    raw: dict[str, Any] = {k: v for k, v in form.items() if k != "manifests"}
    if "manifests" in form:
        raw["manifests"] = list(form.getlist("manifests"))
    return raw


async def _credentials(data: Mapping[str, Any], previous: Mapping[str, str] | None = None
                       ) -> dict[str, str]:
    """The secrets kept for ``credentials_type`` (CVAT's ``Credentials``): a new type resets
    the others, given values replace the stored ones."""
    kind = data["credentials_type"]
    keep = {"KEY_SECRET_KEY_PAIR": ("key", "secret_key", "session_token"),
            "ACCOUNT_NAME_TOKEN_PAIR": ("account_name", "session_token"),
            "KEY_FILE_PATH": ("key_file",), "ANONYMOUS_ACCESS": ("account_name",),
            "CONNECTION_STRING": ("connection_string",)}[kind]
    values = {k: v for k, v in (previous or {}).items() if k in keep}
    values.update({k: data[k] for k in SECRETS if k in keep and k in data})
    if "key_file" in keep and data.get("key_file") is not None:
        values["key_file"] = (await data["key_file"].read()).decode("utf-8", "replace")
    return values


def _check_prefix(attributes: Mapping[str, str]) -> None:
    prefix = attributes.get("prefix")
    if prefix and prefix.startswith("/"):
        raise ValidationFailed(['Prefix cannot start with forward slash ("/").'])
    if prefix and "" in prefix.strip("/").split("/"):
        raise ValidationFailed(["Prefix cannot contain multiple slashes in a row."])


def _probe(row: Any, manifests: Iterable[str], verb: str) -> None:
    """CVAT's check before saving: the bucket answers, and each new manifest is in it."""
    try:
        bucket = store_of(row)
    except storage.StoreError as exc:
        raise ValidationFailed([exc.message]) from None
    status = bucket.status()
    if status == storage.FORBIDDEN:
        raise ValidationFailed({"credentials": f"Cannot {verb} resource {row.resource} with "
                                               "specified credentials. Access forbidden."})
    if status != storage.AVAILABLE:
        raise ValidationFailed({"resource": f"The resource {row.resource} not found. It may "
                                            "have been deleted."})
    for manifest in manifests:
        found = bucket.file_status(manifest)
        if found == storage.NOT_FOUND:
            raise ValidationFailed({"manifests": f"The '{manifest}' file does not exist on "
                                                 f"'{row.resource}' cloud storage"})
        if found == storage.FORBIDDEN:
            raise ValidationFailed({"manifests": f"The '{manifest}' file does not available on "
                                                 f"'{row.resource}' cloud storage. Access "
                                                 "denied"})


def _as_text(exc: ValidationFailed) -> PlainResponse:
    """CVAT's create view: every ValidationError becomes ``field: message`` lines."""
    detail = exc.detail
    if isinstance(detail, Mapping):
        lines = [f"{field}: {m if isinstance(m, str) else m[0]}" for field, m in detail.items()]
    else:
        lines = [str(m) for m in detail]
    return PlainResponse("".join(f"{line}\n" for line in lines), 400)


async def create(ctx: Context) -> Any:
    organization = ctx.org.organization
    iam.cloudstorages(ctx).check_create(ctx.org.role)
    raw = await _body(ctx)
    try:
        data = CloudStorageWrite.validate(raw)
        attributes = storage.parse_specific_attributes(data.get("specific_attributes"))
        _check_prefix(attributes)
        row = CloudStorage(
            provider_type=data["provider_type"], resource=data["resource"],
            display_name=data["display_name"], credentials_type=data["credentials_type"],
            credentials=await _credentials(data), owner_id=ctx.user.id,
            organization_id=organization.id if organization else None,
            specific_attributes=data.get("specific_attributes", ""),
            description=data.get("description", ""),
            manifests=list(dict.fromkeys(data["manifests"])))
        _probe(row, row.manifests, "create")
    except ValidationFailed as exc:
        return _as_text(exc)
    with ctx.mock.db.session() as db:
        db.add(row)
        db.flush()
        return CvatJSONResponse(payloads(ctx, db, [row])[0], status_code=201)


async def partial_update(ctx: Context, storage_id: int) -> Any:
    with ctx.mock.db.session() as db:
        row = load(ctx, db, storage_id, "update")
    raw = await _body(ctx)
    data = CloudStorageWrite.validate(raw, partial=True)
    _check_prefix(storage.parse_specific_attributes(data.get("specific_attributes")))
    with ctx.mock.db.session() as db:
        row = load(ctx, db, storage_id, "update")
        before = set(row.manifests or [])
        for key in ("credentials_type", "resource", "display_name", "description",
                    "specific_attributes"):
            if key in data:
                setattr(row, key, data[key])
        row.credentials = await _credentials(
            {**data, "credentials_type": row.credentials_type}, row.credentials or {})
        manifests = list(dict.fromkeys(data.get("manifests", [])))
        _probe(row, [m for m in manifests if m not in before], "update")
        # CVAT keeps the old order and appends the new manifests
        row.manifests = [m for m in row.manifests or [] if m in manifests] + \
            [m for m in manifests if m not in before]
        row.updated_date = utcnow()
        db.add(row)
        db.flush()
        return payloads(ctx, db, [row])[0]


def destroy(ctx: Context, storage_id: int) -> None:
    with ctx.mock.db.session() as db:
        row = load(ctx, db, storage_id, "delete")
        # Data.cloud_storage is SET_NULL in CVAT; Storage.cloud_storage_id is a plain number
        db.execute(update(Data).where(Data.cloud_storage_id == row.id)
                   .values(cloud_storage_id=None))
        db.delete(row)


# --- the bucket's endpoints ------------------------------------------------------------------
def _bucket(ctx: Context, storage_id: int, scope: str) -> tuple[Any, storage.ByteStore]:
    with ctx.mock.db.session() as db:
        row = load(ctx, db, storage_id, scope)
        db.expunge(row)
    try:
        return row, store_of(row)
    except storage.StoreError as exc:
        raise ValidationFailed([exc.message]) from None


def bucket_error(bucket: storage.ByteStore, exc: storage.StoreError) -> tuple[str, int]:
    """CVAT's ``validate_bucket_status``/``validate_file_status`` for a failed operation: the
    message and its status (403 access lost, 404 bucket or file gone, else 400)."""
    status = bucket.status()
    if status == storage.FORBIDDEN:
        return f"The resource {bucket.name} is no longer available. Access forbidden.", 403
    if status == storage.NOT_FOUND:
        return f"The resource {bucket.name} not found. It may have been deleted.", 404
    if isinstance(exc, storage.ObjectNotFound):
        return exc.message, 404
    return exc.message, 403 if isinstance(exc, storage.AccessDenied) else 400


def status(ctx: Context, storage_id: int) -> Any:
    _, bucket = _bucket(ctx, storage_id, "view")
    return bucket.status()


def actions(ctx: Context, storage_id: int) -> Any:
    _, bucket = _bucket(ctx, storage_id, "view")
    allowed = getattr(bucket, "allowed_actions", None)
    try:
        body = allowed() if allowed is not None else None
    except storage.StoreError as exc:
        return PlainResponse(exc.message, 400)
    return CvatJSONResponse(body, media_type="text/plain")


def content(ctx: Context, storage_id: int) -> Any:
    row, bucket = _bucket(ctx, storage_id, "list:content")
    params = ctx.params
    raw_size = params.get("page_size", str(storage.MAX_PAGE_SIZE))
    if not raw_size.isnumeric():
        return PlainResponse("Wrong value for page_size was found", 400)
    page_size = min(int(raw_size), storage.MAX_PAGE_SIZE)
    prefix = (params.get("prefix") or "").removeprefix("/")
    default_prefix = storage.parse_specific_attributes(row.specific_attributes).get("prefix")
    try:
        if manifest_path := params.get("manifest_path"):
            try:
                start = int(params.get("next_token") or "0")
            except ValueError:
                return PlainResponse("Wrong value for the next_token parameter was found.", 400)
            entries = [e["name"] for e in sources.parse_manifest(
                bucket.get(manifest_path), manifest_path)]
            base = os.path.dirname(manifest_path)
            page = manifest_page([f"{base}/{e}" if base else e for e in entries], prefix,
                                 default_prefix, start, page_size)
        else:
            page = bucket_page(bucket, prefix, default_prefix, params.get("next_token"),
                               page_size)
    except storage.StoreError as exc:
        # CVAT answers 500 here; the message of its bucket check, as a 400
        return CvatJSONResponse(bucket_error(bucket, exc)[0], status_code=400)
    except sources.MediaError as exc:
        return CvatJSONResponse(exc.message, status_code=400)
    for item in page["content"]:
        kind = sources.classify(item["name"]) if item["type"] == "REG" else "DIR"
        item["mime_type"] = {"zip": "archive", None: "unknown"}.get(kind, kind)
    return CloudStorageContent.dump(page)


def _relative(items: list[dict[str, str]], search_prefix: str) -> list[dict[str, str]]:
    """Names relative to the listed level, directories first (CVAT's ``_use_sort``)."""
    cut = search_prefix.rfind("/") + 1
    named = [{"name": i["name"][cut:], "type": i["type"]} for i in items]
    return sorted(named, key=lambda i: i["type"])


def _default_prefix_view(prefix: str, default: str | None) -> tuple[str, dict | None]:
    """How CVAT narrows a listing to the storage's ``prefix`` attribute: the search prefix,
    or the one directory on the way to it."""
    if not default:
        return prefix, None
    if prefix and not (default.startswith(prefix) or prefix.startswith(default)):
        return prefix, {"content": [], "next": None}
    if len(prefix) < len(default):
        rest = default[len(prefix):]
        if prefix and "/" in rest:
            layer = default[prefix.find("/") + 1:].split("/", maxsplit=1)
            if len(layer) == 2:
                return prefix, {"content": [{"name": layer[0], "type": "DIR"}], "next": None}
        return default, None
    return prefix, None


def bucket_page(bucket: storage.ByteStore, prefix: str, default: str | None,
                token: str | None, page_size: int) -> dict[str, Any]:
    search, fixed = _default_prefix_view(prefix, default)
    if fixed is not None:
        return fixed
    page = bucket.list_page(search, next_token=token, page_size=page_size)
    items = [{"name": f, "type": "REG"} for f in page.files]
    items += [{"name": d.rstrip("/"), "type": "DIR"} for d in page.dirs]
    return {"content": _relative(items, search), "next": page.next_token}


def manifest_page(names: list[str], prefix: str, default: str | None, start: int,
                  page_size: int) -> dict[str, Any]:
    """One level of a manifest's files, as if they were the bucket (``next`` is an index)."""
    search, fixed = _default_prefix_view(prefix, default)
    if fixed is not None:
        return fixed
    cut = search.rfind("/") + 1
    level, items, seen = search[:cut], [], set()
    next_index = None
    for index in range(start, len(names)):
        name = names[index]
        if not name.startswith(search):
            continue
        if len(items) == page_size:
            next_index = str(index)
            break
        head, slash, _ = name[len(level):].partition("/")
        if slash:
            if head not in seen:
                seen.add(head)
                items.append({"name": level + head, "type": "DIR"})
        else:
            items.append({"name": name, "type": "REG"})
    return {"content": _relative(items, search), "next": next_index}


def preview(ctx: Context, storage_id: int) -> Any:
    row, bucket = _bucket(ctx, storage_id, "view")
    if not row.manifests:
        return PlainResponse("Cloud storage preview not found", 404)
    key = None
    try:
        for manifest in row.manifests:
            entries = sources.parse_manifest(bucket.get(manifest), manifest)
            if entries:
                base = os.path.dirname(manifest)
                key = f"{base}/{entries[0]['name']}" if base else entries[0]["name"]
                break
        if key is None:
            return CvatJSONResponse(f"Cloud storage {row.id} does not contain any images",
                                    status_code=404)
        body = bucket.get(key)
    except storage.StoreError as exc:
        return CvatJSONResponse(*bucket_error(bucket, exc))
    except sources.MediaError as exc:
        return CvatJSONResponse(exc.message, status_code=400)
    try:
        thumbnail = images.preview_jpeg(images.load(body))
    except Exception:  # Pillow raises many types for a file that is not an image
        return CvatJSONResponse(f"Failed to read the image file '{key}'", status_code=400)
    return Response(thumbnail, media_type="image/jpeg")



# --- exports to and imports from a bucket ----------------------------------------------------
def location(ctx: Context, db: Session, default_storage_id: int | None,
             organization_id: int | None, *, source: bool) -> CloudStorage | None:
    """Where an export goes or an import comes from (CVAT's ``get_location_configuration``):
    the ``location``/``cloud_storage_id`` query, else the object's ``target_storage`` (exports)
    or ``source_storage`` (imports). Returns the cloud storage, or None for local."""
    from mockcvat.models import Storage

    params = ctx.params
    if params.get("cloud_storage_id"):  # checked by CVAT's permission layer, in the object's org
        for_use(ctx, db, params["cloud_storage_id"], organization_id)
    where, storage_id = params.get("location"), params.get("cloud_storage_id")
    is_default = where is None
    if is_default:
        default = db.get(Storage, default_storage_id) if default_storage_id else None
        where = default.location if default is not None else "local"
        storage_id = default.cloud_storage_id if default is not None else None
    if where not in ("local", "cloud_storage"):
        raise ValidationFailed([f"The specified location {where} is not supported"])
    if where == "local":
        return None
    if not storage_id:
        raise ValidationFailed([f"Cloud storage location was selected as the "
                                f"{'source' if source else 'destination'}, but cloud storage "
                                "id was not specified"])
    row = for_transfer(ctx, db, storage_id, is_default=is_default)
    db.expunge(row)
    return row


def upload(mock: Any, storage_id: int, key: str, path: Any) -> None:
    """Put a finished export into the bucket (in the background request)."""
    from mockcvat import background

    with mock.db.session() as db:
        row = db.get(CloudStorage, storage_id)
        if row is None:
            raise background.RequestFailed("The cloud storage was deleted.")
        bucket = store_of(row)
    try:
        bucket.put_file(key, path)
    except storage.StoreError as exc:
        raise background.RequestFailed(bucket_error(bucket, exc)[0]) from None


def fetch(mock: Any, row: CloudStorage, key: str, target: str) -> None:
    """Copy an import's file from the bucket (``filename`` is its key) into the media store
    (the key ``target``), through a scratch file of this host."""
    bucket = store_of(row)
    try:
        with mock.temp_dir() as scratch:
            mock.media.move_in(target, bucket.download(key, Path(scratch) / "fetched"))
    except storage.StoreError as exc:
        message, code = bucket_error(bucket, exc)
        raise (NotFound(message) if code == 404 else PermissionDenied(message) if code == 403
               else ValidationFailed([message])) from None
