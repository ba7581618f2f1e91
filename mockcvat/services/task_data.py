"""Task data: receiving it (uploads, the share, remote URLs) and turning it into frames, segments
and jobs in a background request (CVAT's ``TaskViewSet.data`` + ``task._create_thread``).

The request only validates and records the data parameters; the background work reads the media
(``mockcvat.media``) and writes everything derived in one transaction at the end, so a failure
leaves the task as CVAT leaves it: a ``Data`` row with ``size`` 0 and no jobs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from mockcvat import background, media, storage, uploads
from mockcvat.errors import BadRequestBody, NotFound, ValidationFailed
from mockcvat.models import CloudStorage, Data, Job, Segment, Task
from mockcvat.models.users import utcnow
from mockcvat.schemas.jobs import replica_type
from mockcvat.services import validation

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

ADDING_MORE_DATA = "Adding more data is not supported"
_STEP = re.compile(r"step\s*=\s*([1-9]\d*)")


# --- where things live ---------------------------------------------------------------------------
def upload_area(mock: MockCVAT, task_id: int) -> uploads.UploadArea:
    return mock.upload_area(f"task-{task_id}-data")


def data_key(data_id: int) -> str:
    """The prefix of a task data's media in the media store (``media.FrameStore``'s layout)."""
    return f"data/{data_id}/"


def frame_store(mock: MockCVAT, data_id: int, source: Any = None) -> media.FrameStore:
    """``source``: ``media_source`` of the data, for images that stay in a cloud storage."""
    return media.FrameStore(mock.media, data_key(data_id), source,
                            local_file=mock.media.cached_file)


def media_source(db: Any, data: Data) -> Any:
    """The bucket a task's images are read from, if its data stays in a cloud storage."""
    if data.storage != "cloud_storage":
        return None
    from mockcvat.services import cloudstorages

    row = db.get(CloudStorage, data.cloud_storage_id) if data.cloud_storage_id else None
    if row is None:
        raise media.MediaError("The cloud storage of the task's data has been deleted")
    try:
        return cloudstorages.store_of(row)
    except storage.StoreError as exc:
        raise media.MediaError(exc.message) from None


# --- the plan: what to process, decided while answering the request ---------------------------
@dataclass
class Plan:
    task_id: int
    data_id: int
    root: Path | None  # where the source files are; None: the task's upload area
    files: list[str]  # relative to root
    remote_urls: list[str] = field(default_factory=list)
    sorting_method: str = "lexicographical"
    upload_file_order: list[str] | None = None
    start_frame: int = 0
    stop_frame: int | None = None
    frame_step: int = 1
    chunk_size: int | None = None
    use_zip_chunks: bool = False
    job_file_mapping: list[list[str]] | None = None
    validation_params: dict[str, Any] | None = None  # a GT layout is made from these
    # server_files from a cloud storage: its id and CVAT's selection parameters
    cloud_storage_id: int | None = None
    use_cache: bool = False
    server_files_exclude: list[str] = field(default_factory=list)
    filename_pattern: str | None = None
    use_cache_kept: bool = False  # the images stayed in the bucket


    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "root": str(self.root) if self.root else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(**{**data, "root": Path(data["root"]) if data["root"] else None})


def frame_step(frame_filter: str) -> int:
    match = _STEP.search(frame_filter or "")
    return int(match.group(1)) if match else 1


def share_files(mock: MockCVAT, paths: list[str]) -> list[str]:
    """``server_files`` as files relative to the share: directories expanded, nothing outside."""
    root = mock.share_dir.resolve()
    found: list[str] = []
    for raw in paths:
        relative = PurePosixPath(raw.lstrip("/"))
        if ".." in relative.parts or "\x00" in raw:
            raise ValidationFailed(["Don't use '..' inside file paths"])
        target = root / relative
        if not uploads.is_inside(root, target) or not target.exists():
            raise ValidationFailed([f"Bad file path: {raw}"])
        if target.is_dir():
            found += sorted(str(p.relative_to(root)) for p in target.rglob("*") if p.is_file()
                            and uploads.is_inside(root, p))
        else:
            found.append(str(relative))
    return list(dict.fromkeys(found))


def check_upload_order(received: list[str], order: list[str]) -> None:
    """CVAT's check that a predefined order names exactly the uploaded files."""
    extra = sorted(set(received) - set(order))
    missing = sorted(set(order) - set(received))
    if not extra and not missing:
        return
    listed = [f"{name} (extra)" for name in extra] + [f"{name} (missing)" for name in missing]
    shown = ", ".join(listed[:5])
    if len(listed) > 5:
        shown += f" (and {len(listed) - 5} more). "
    raise ValidationFailed([
        "Uploaded files do not match the 'upload_file_order' field contents. Please check the "
        f"uploaded data and the list of uploaded files. Mismatching files: {shown}"])


# --- the request --------------------------------------------------------------------------------
def start(ctx: Context, task: Task, params: dict[str, Any], client_files: list[str]) -> str:
    """Record the data parameters, queue the processing; returns the rq_id."""
    mock = ctx.mock
    server_files = params.get("server_files") or []
    remote_files = params.get("remote_files") or []
    order = params.get("upload_file_order") or None
    if params.get("sorting_method") == "predefined" and client_files and order:
        check_upload_order(client_files, order)
    cloud_id = params.get("cloud_storage_id")
    root: Path | None = None  # the upload area (bucket files are downloaded there too)
    if cloud_id is not None:  # keys in the bucket, resolved in the background
        files = list(server_files)
    elif server_files:
        root, files = mock.share_dir, share_files(mock, server_files)
    else:
        files = list(client_files)
    with mock.db.session() as db:
        current = db.get(Task, task.id)
        if current is None:
            raise NotFound("No Task matches the given query.")
        data = db.get(Data, current.data_id) if current.data_id else None
        if data is not None and data.size != 0:
            raise BadRequestBody(ADDING_MORE_DATA)
        if data is None:
            data = Data()
        data.image_quality = params["image_quality"]
        data.chunk_size = params.get("chunk_size")
        data.start_frame = params.get("start_frame", 0)
        data.stop_frame = params.get("stop_frame", 0)
        data.frame_filter = params.get("frame_filter", "")
        data.sorting_method = params.get("sorting_method", "lexicographical")
        data.storage_method = "cache" if params.get("use_cache") else "file_system"
        data.storage = "share" if server_files and not params.get("copy_data") else "local"
        if cloud_id is not None:
            from mockcvat.services import cloudstorages

            cloudstorages.for_use(ctx, db, cloud_id, current.organization_id)
            data.storage, data.cloud_storage_id = "cloud_storage", cloud_id
        data.validation = None  # the layout (services.validation) exists once a GT job does
        db.add(data)
        db.flush()
        current.data_id = data.id
        current.updated_date = utcnow()
        db.add(current)
        plan = Plan(
            task_id=current.id or 0, data_id=data.id or 0, root=root, files=files,
            remote_urls=list(remote_files), sorting_method=data.sorting_method,
            upload_file_order=order, start_frame=data.start_frame,
            stop_frame=params.get("stop_frame"), frame_step=frame_step(data.frame_filter),
            chunk_size=data.chunk_size, use_zip_chunks=bool(params.get("use_zip_chunks")),
            job_file_mapping=params.get("job_file_mapping"),
            validation_params=params.get("validation_params"),
            cloud_storage_id=cloud_id, use_cache=bool(params.get("use_cache")),
            server_files_exclude=list(params.get("server_files_exclude") or []),
            filename_pattern=params.get("filename_pattern"),
        )
        work = background.Work(
            action="create", target="task", target_id=current.id or 0,
            owner_id=ctx.user.id or 0, organization_id=current.organization_id,
            project_id=current.project_id, task_id=current.id,
            job="task_data.process", args={"plan": plan.to_json(), "ctx": ctx.freeze()},
        )
    return mock.background.submit(work)


# --- the background work ---------------------------------------------------------------------
@background.job("task_data.process")
def _process_job(mock: MockCVAT, reporter: background.Reporter, plan: dict[str, Any],
                 ctx: dict[str, Any]) -> None:
    process(mock, Plan.from_json(plan), reporter, background.thaw(mock, ctx))



PROGRESS_INTERVAL = 0.05  # seconds between two progress writes (each is a transaction)


def every(interval: float, report: Callable[[float], None]) -> Callable[[float], None]:
    """``report``, called at most once per ``interval`` seconds (and always for the end):
    media preparation reports after every file, and a write per file of a thousand-image
    task is a good part of its creation time. A dropped request still stops the work at the
    next report that goes through."""
    last = -math.inf

    def throttled(fraction: float) -> None:
        nonlocal last
        now = time.monotonic()
        if fraction >= 1.0 or now - last >= interval:
            last = now
            report(fraction)

    return throttled

def process(mock: MockCVAT, plan: Plan, reporter: background.Reporter,
            ctx: Context | None = None) -> None:
    """The creation request's work. Whatever happens, the uploaded files go (their copy is
    in the task's media now); on failure, what was extracted goes too, as CVAT cleans up.
    ``ctx``: the request that queued the work, whose caller and host the events carry."""
    try:
        with mock.temp_dir() as scratch:
            _process(mock, plan, reporter, ctx, Path(scratch))
    except BaseException:
        mock.media.delete_prefix(data_key(plan.data_id))
        raise
    finally:
        upload_area(mock, plan.task_id).clear()


def _process(mock: MockCVAT, plan: Plan, reporter: background.Reporter,
             ctx: Context | None, scratch: Path) -> None:
    """The media are prepared in ``scratch`` on this host's disk, then go to the media store
    whole before the database says the data is there."""
    validation.check_params(mock, plan.task_id, plan.validation_params)
    root = plan.root or upload_area(mock, plan.task_id).local_files(scratch / "upload")
    if plan.remote_urls:
        plan.files += download(plan.remote_urls, root)
    if plan.job_file_mapping:
        check_job_file_mapping(mock, plan)
        # the mapping is the frame order: its files, job after job
        plan.sorting_method = "predefined"
        plan.upload_file_order = [name for files in plan.job_file_mapping for name in files]
    target = scratch / "data"
    mock.media.delete_prefix(data_key(plan.data_id))
    try:
        manifest = from_cloud(mock, plan, root, target, reporter) \
            if plan.cloud_storage_id else None
        if manifest is None:
            manifest = media.prepare(
                root, plan.files, target, sorting_method=plan.sorting_method,
                upload_file_order=plan.upload_file_order, start_frame=plan.start_frame,
                stop_frame=plan.stop_frame, frame_step=plan.frame_step,
                chunk_size=plan.chunk_size, use_zip_chunks=plan.use_zip_chunks,
                progress=every(PROGRESS_INTERVAL, reporter.progress))
    except media.MediaError as exc:
        raise background.RequestFailed(failure_message(exc)) from None
    mock.media.put_tree(data_key(plan.data_id), target)
    video = manifest.media_type == "video"
    with mock.db.session() as db:
        task = db.get(Task, plan.task_id)
        data = db.get(Data, plan.data_id)
        if task is None or data is None:
            raise background.RequestFailed("The task was deleted while its data was processed.")
        before = _read(ctx, db, task)
        _check_project_dimension(db, task, manifest.dimension)
        task.dimension = manifest.dimension
        size = len(manifest.frames)
        data.size = size
        if plan.cloud_storage_id and not plan.use_cache_kept:
            data.storage = "local"  # downloaded, as CVAT does without use_cache
        data.chunk_size = manifest.chunk_size
        data.stop_frame = manifest.stop_frame
        data.original_chunk_type = "video" if video else "imageset"
        data.compressed_chunk_type = "video" if video and not plan.use_zip_chunks else "imageset"
        data.chunks_updated_date = utcnow()
        task.mode = "interpolation" if video else "annotation"
        if plan.job_file_mapping:
            ranges = mapped_segments(plan.job_file_mapping)
            task.segment_size, task.overlap = 0, 0
        else:
            task.segment_size, task.overlap, ranges = segments(
                size, task.segment_size, task.overlap, video)
        db.execute(delete(Segment).where(Segment.task_id == task.id))
        made = []
        for start_frame, stop_frame in ranges:
            segment = Segment(task_id=task.id or 0, start_frame=start_frame,
                              stop_frame=stop_frame)
            db.add(segment)
            db.flush()
            parent = Job(segment_id=segment.id or 0, task_id=task.id or 0)
            db.add(parent)
            db.flush()
            # consensus: N replica jobs on the same segment (CVAT's _create_segments_and_jobs)
            replicas = [Job(segment_id=segment.id or 0, task_id=task.id or 0,
                            type=replica_type(mock.compat), parent_job_id=parent.id)
                        for _ in range(task.consensus_replicas or 0)]
            db.add_all(replicas)
            made += [parent, *replicas]
        db.flush()
        validation.create_at_creation(db, task, data, manifest, plan.validation_params)
        task.updated_date = utcnow()
        db.add_all([task, data])
        db.flush()
        _announce(ctx, db, task, made, before)


def _check_project_dimension(db: Session, task: Task, dimension: str) -> None:
    """CVAT: a project's tasks share one dimension (that of its first other task)."""
    if task.project_id is None:
        return
    other = db.execute(select(Task.dimension).where(
        Task.project_id == task.project_id, Task.id != task.id).order_by(Task.id)).first()
    if other is not None and other[0] != dimension:
        raise background.RequestFailed(
            f"Exception: Dimension ({dimension}) of the task must be the same as other tasks "
            f"in project ({other[0]})\n")


def _read(ctx: Context | None, db: Session, task: Task) -> dict[str, Any] | None:
    from mockcvat.services import tasks

    return tasks.payload(ctx, db, task) if ctx is not None else None


def _announce(ctx: Context | None, db: Session, task: Task, made: list[Job],
              before: dict[str, Any] | None) -> None:
    """What CVAT's saves during processing announce: each new job, then the task's update."""
    from mockcvat.services import jobs, tasks

    if ctx is None:
        return
    for job, read in zip(made, jobs.payloads(ctx, db, made), strict=True):
        ctx.mock.events.emit(ctx, db, "create:job", read, **jobs.ids_of(job, task))
    ctx.mock.events.emit(ctx, db, "update:task", tasks.payload(ctx, db, task), before=before,
                         obj_name=task.name, **tasks.ids_of(task))


def from_cloud(mock: MockCVAT, plan: Plan, root: Path, target: Path,
               reporter: background.Reporter) -> media.Manifest | None:
    """``server_files`` of a cloud storage (CVAT's ``_create_thread``): images with
    ``use_cache`` stay in the bucket and are indexed there (a manifest's sizes, else each
    image read); anything else is downloaded into ``root`` and prepared as an upload (returns
    None then)."""
    from mockcvat.services import cloudstorages

    with mock.db.session() as db:
        row = db.get(CloudStorage, plan.cloud_storage_id)
        if row is None:
            raise background.RequestFailed("The cloud storage was deleted.")
        prefix = storage.parse_specific_attributes(row.specific_attributes).get("prefix")
        try:
            bucket = cloudstorages.store_of(row)
        except storage.StoreError as exc:
            raise background.RequestFailed(exc.message) from None
    try:
        names, sizes = cloud_files(bucket, plan, prefix)
        counter, _ = media.sources.count_media(names)
        packed = any(files for kind, files in counter.items() if kind != "image")
        if plan.use_cache and counter["image"] and not packed:
            if plan.job_file_mapping:
                names = [name for files in plan.job_file_mapping for name in files]
            else:  # files that are not media are left out, as CVAT skips them
                names = media.sources.sort_names(counter["image"], plan.sorting_method)
            plan.use_cache_kept = True
            return media.prepare_remote(
                bucket, names, target, sizes=sizes, start_frame=plan.start_frame,
                stop_frame=plan.stop_frame, frame_step=plan.frame_step,
                chunk_size=plan.chunk_size, sorting_method=plan.sorting_method,
                progress=every(PROGRESS_INTERVAL, reporter.progress))
        for name in names:
            media.sources.check_relative(name)
            bucket.download(name, media.sources.inside(root, name))
    except storage.StoreError as exc:
        raise background.RequestFailed(cloudstorages.bucket_error(bucket, exc)[0]) from None
    plan.files = names
    return None


def cloud_files(bucket: storage.ByteStore, plan: Plan, prefix: str | None
                ) -> tuple[list[str], dict[str, tuple[int, int]] | None]:
    """The keys ``server_files`` names: directories (ending in '/') expanded, a manifest's
    files for a pattern, ``server_files_exclude`` dropped, the storage's prefix applied."""
    manifests = [f for f in plan.files if f.endswith(".jsonl")]
    files = [f for f in plan.files if not f.endswith(".jsonl")]
    if len(manifests) > 1:
        raise media.MediaError("Only one manifest file can be attached to data")
    entries: list[dict[str, Any]] | None = None
    pattern = plan.filename_pattern
    if manifests:
        base = os.path.dirname(manifests[0])
        entries = [{**e, "name": f"{base}/{e['name']}" if base else e["name"]}
                   for e in media.sources.parse_manifest(bucket.get(manifests[0]), manifests[0])]
        if not files and not pattern:  # only the manifest was named: all of its files
            pattern = "*"
    listed = [e["name"] for e in entries] if entries is not None else None

    def everything(under: str = "") -> list[str]:
        return [n for n in listed if n.startswith(under)] if listed is not None \
            else list(bucket.walk(under))

    names: list[str] = []
    for name in files:
        names += everything(name) if name.endswith("/") else [name]
    exclude = set(plan.server_files_exclude)
    if exclude:
        names = [n for n in names if n not in exclude and not any(
            f"{parent}/" in exclude for parent in PurePosixPath(n).parents)]
    if pattern:
        pool = everything()
        names += pool if pattern == "*" else fnmatch.filter(pool, pattern)
    if prefix:
        names = [n for n in names if n.startswith(prefix)]
    names = list(dict.fromkeys(names))
    if plan.job_file_mapping:
        for name in (n for files_ in plan.job_file_mapping for n in files_):
            if name not in names:
                raise media.MediaError(f"Job mapping file {name} is not specified in input files")
    sizes = {e["name"]: (e.get("width"), e.get("height")) for e in entries or []}
    return names, sizes or None


def failure_message(exc: media.MediaError) -> str:
    """The request message CVAT shows: the exception line its worker caught."""
    if exc.cvat_type == "ValidationError":
        escaped = exc.message.replace("\\", "\\\\").replace("'", "\\'")
        return ("rest_framework.exceptions.ValidationError: "
                f"[ErrorDetail(string='{escaped}', code='invalid')]\n")
    return f"{exc.cvat_type}: {exc.message}\n"


def segments(size: int, segment_size: int, overlap: int | None, video: bool
             ) -> tuple[int, int, list[tuple[int, int]]]:
    """CVAT's segment plan: (segment_size, overlap, [(start, stop)]) in task frame numbers.
    ``segment_size`` 0 (or larger than the data) means one segment; a null overlap means 5 for
    video and 0 for images; overlap never exceeds half a segment."""
    if segment_size == 0 or segment_size > size:
        segment_size = size
    overlap = min(overlap if overlap is not None else (5 if video else 0), segment_size // 2)
    step = max(segment_size - overlap, 1)
    ranges = [(start, min(start + segment_size - 1, size - 1))
              for start in range(0, max(size - overlap, 0), step)]
    return segment_size, overlap, ranges


def check_job_file_mapping(mock: MockCVAT, plan: Plan) -> None:
    """What ``job_file_mapping`` cannot be combined with (CVAT's ``_create_thread``)."""
    with mock.db.session() as db:
        task = db.get(Task, plan.task_id)
        segment_size = task.segment_size if task else 0
    if not any(plan.job_file_mapping or []):
        clash = "empty"
    else:
        clash = next((what for what, used in (
            ("segment_size", segment_size != 0),
            ("sorting_method", plan.sorting_method != "lexicographical"),
            ("start_frame", plan.start_frame != 0),
            ("stop_frame", plan.stop_frame not in (None, 0)),
            ("frame step", plan.frame_step != 1),
        ) if used), None)
    if clash == "empty":
        raise background.RequestFailed(failure_message(media.MediaError(
            "job_file_mapping cannot be empty")))
    if clash is not None:
        raise background.RequestFailed(failure_message(media.MediaError(
            f"job_file_mapping cannot be used with {clash}")))


def mapped_segments(mapping: list[list[str]]) -> list[tuple[int, int]]:
    """``job_file_mapping``: one segment per list of files, consecutive."""
    ranges, start = [], 0
    for files in mapping:
        ranges.append((start, start + len(files) - 1))
        start += len(files)
    return ranges


def download(urls: list[str], directory: Path) -> list[str]:
    """``remote_files``: fetched over HTTP(S) into the upload area."""
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for url in urls:
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            raise background.RequestFailed(
                f"Unsupported URL scheme: {scheme}. Only http and https are supported")
        name = uploads.safe_name(url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "file")
        if name in names:
            raise background.RequestFailed(f"filename collision: {name}")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (http(s) only)
                with (directory / name).open("wb") as out:
                    shutil.copyfileobj(response, out, 1 << 20)
        except urllib.error.HTTPError as exc:
            raise background.RequestFailed(
                f"Failed to download {url}; HTTP error {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise background.RequestFailed(f"Failed to download {url}: {exc}") from None
        names.append(name)
    return names


def jobs_of(db: Any, task_id: int) -> list[Job]:
    return list(db.execute(select(Job).where(Job.task_id == task_id).order_by(Job.id)).scalars())


# --- the endpoint: POST /api/tasks/{id}/data/ ---------------------------------------------------

async def receive(ctx: Context, task_id: int) -> Any:
    from mockcvat.http import CvatJSONResponse
    from mockcvat.services import tasks

    with ctx.mock.db.session() as db:
        task = tasks.load(ctx, db, task_id, "upload:data")
        data = db.get(Data, task.data_id) if task.data_id else None
        if data is not None and data.size != 0:
            raise BadRequestBody(ADDING_MORE_DATA)
    area = upload_area(ctx.mock, task_id)

    def accepted(raw: Any) -> Any:
        params = validate(raw)
        return CvatJSONResponse({"rq_id": start(ctx, task, params, area.files())},
                                status_code=202)

    async def finish() -> Any:
        return accepted(await ctx.json())

    endpoint = ctx.absolute(f"/api/tasks/{task_id}/data/")
    answer = await uploads.dispatch(ctx.request, area, endpoint, finish,
                                    check_fields=lambda fields: validate(fields))
    if answer is not None:
        return answer
    content_type = ctx.request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        _, fields = await area.store_multipart(ctx.request)
        return accepted(fields)
    return accepted(await ctx.json())


def validate(raw: Any) -> dict[str, Any]:
    from mockcvat.schemas.data import Data as DataSerializer

    params = DataSerializer.validate(raw)
    if "image_quality" not in params:
        # optional from 2.65 (audio tasks need none); every task mockcvat takes is images or
        # video, for which CVAT still requires it
        raise ValidationFailed({"image_quality": ["This field is required."]})
    validation.check_supported(params)
    return params


def tus_area(ctx: Context, task_id: int) -> uploads.UploadArea:
    """The upload area of a task the caller may upload to (TUS PATCH/HEAD)."""
    from mockcvat.services import tasks

    with ctx.mock.db.session() as db:
        tasks.load(ctx, db, task_id, "upload:data")
    return upload_area(ctx.mock, task_id)


def status(ctx: Context, task_id: int) -> Any:
    """The deprecated ``GET /api/tasks/{id}/status``: the creation request as an RqStatus."""
    from mockcvat.http import CvatJSONResponse
    from mockcvat.services import tasks

    with ctx.mock.db.session() as db:
        tasks.load(ctx, db, task_id, "view")
    view = ctx.mock.background.latest(action="create", target="task", target_id=task_id)
    return CvatJSONResponse(background.rq_status(view), headers={"Deprecation": "true"})
