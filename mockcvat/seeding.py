"""State from files: load a seed directory, dump the state into one, snapshot a real CVAT into one.

A seed directory holds one JSON file per resource, in the shapes CVAT's list endpoints return
(``{"results": [...]}`` pages or plain lists), and the media of tasks under
``media/<task id>/``::

    users.json  organizations.json  memberships.json  projects.json  tasks.json
    labels.json  data.json  jobs.json  annotations.json  media/<task id>/<files>

Every file is optional. Ids and dates are kept as given; references between files (an owner, a
task's project, a label's task, a job's task, an annotation's label) are checked, and a broken
one is a ``SeedError`` naming the file, the entry and the missing object. Fields the API
derives (``url``, counts, ``tasks``/``labels`` links, ...) are ignored.

``RESOURCES`` is the table that drives all three directions: each entry names its file, how to
load its records into the database, how to dump them from the database (the same payload
functions the list endpoints use) and how to fetch them from a CVAT server. A new resource
(cloud storages, webhooks, ...) is one more ``Resource`` in that table, placed after what it
refers to.

What is not in CVAT's shapes:

* ``users.json``: ``password`` (plain text) or ``password_hash`` (Django's
  ``pbkdf2_sha256$...``, what ``dump`` writes); a user with neither cannot log in
  (``snapshot`` writes neither). The admin of the settings is created, or its password set,
  after the users are loaded.
* ``data.json``: one entry per task with data: ``{"task_id", "id", ...}`` plus the fields of
  ``GET /api/tasks/{id}/data/meta`` (frames, start/stop frame, frame filter, chunk size, image
  quality, deleted frames) and ``compressed_chunk_type``/``original_chunk_type``; the media
  files are read from ``media/<task id>/`` and processed as task creation does. A task with
  files under ``media/<id>/`` and no ``data.json`` entry gets CVAT's defaults.
* ``annotations.json``: ``[{"job_id", "version", "tags", "shapes", "tracks"}]``, each as
  ``GET /api/jobs/{id}/annotations`` returns it.
* ``projects.json``/``tasks.json`` entries may carry ``labels`` as a list of label specs (as
  ``POST /api/tasks`` takes them) instead of a ``labels.json``, for seeds written by hand; a
  task with media but no ``jobs.json`` entries gets its jobs as CVAT would make them.

Not covered yet: ground-truth jobs (refused with a message), invitations beyond the key each
membership names, and every resource mockcvat does not implement.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session

from mockcvat import compat, media, uploads
from mockcvat.errors import ValidationFailed
from mockcvat.media import sources
from mockcvat.media.model import RAW_DIR
from mockcvat.models import (
    AttributeSpec,
    Data,
    Invitation,
    Job,
    Label,
    Membership,
    Organization,
    Project,
    Segment,
    Storage,
    Task,
    User,
    UserGroup,
)
from mockcvat.models.users import utcnow
from mockcvat.schemas.fields import DateTimeField

if TYPE_CHECKING:
    from mockcvat.server import MockCVAT

MEDIA_DIR = "media"


class SeedError(ValueError):
    """A seed file that cannot be loaded; the message names the file and the entry."""


# --- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resource:
    name: str
    file: str
    load: Callable[[Loader, list[dict[str, Any]]], None]
    dump: Callable[[Dumper], list[dict[str, Any]]]
    fetch: Callable[[Remote], list[dict[str, Any]]]


# --- loading --------------------------------------------------------------------------------------
@dataclass
class Loader:
    mock: MockCVAT
    directory: Path
    db: Session
    file: str = ""
    users: dict[int, User] = field(default_factory=dict)
    usernames: dict[str, int] = field(default_factory=dict)
    organizations: dict[int, Organization] = field(default_factory=dict)
    projects: dict[int, Project] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    labels: dict[int, Label] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    task_records: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    data_done: set[int] = field(default_factory=set)  # task ids whose data is loaded

    def fail(self, index: int, record: Mapping[str, Any] | None, message: str) -> SeedError:
        name = f" (id {record['id']})" if isinstance(record, Mapping) and "id" in record else ""
        return SeedError(f"{self.file}[{index}]{name}: {message}")

    # references: an id, an object with "id" (BasicUser, ...), or a username for users
    def user(self, index: int, record: Mapping[str, Any], key: str) -> int | None:
        value = record.get(key)
        if value is None:
            return None
        pk: Any = value.get("id") if isinstance(value, Mapping) else value
        if pk is None and isinstance(value, Mapping):
            pk = value.get("username")
        if isinstance(pk, str) and not pk.isdigit():
            if pk not in self.usernames:
                raise self.fail(index, record, f"{key}: no user named {pk!r} in users.json")
            return self.usernames[pk]
        return self.ref(index, record, key, int(pk), self.users, "users.json")

    def ref(self, index: int, record: Mapping[str, Any], key: str, pk: Any,
            known: Mapping[int, Any], file: str) -> int | None:
        if pk is None:
            return None
        if isinstance(pk, Mapping):
            pk = pk.get("id")
        if isinstance(pk, bool) or not isinstance(pk, int) or pk not in known:
            raise self.fail(index, record, f"{key}: {pk!r} is not in {file}")
        return pk

    def date(self, index: int, record: Mapping[str, Any], key: str, *,
             default: Any = "now") -> Any:
        value = record.get(key)
        if value is None:
            return utcnow() if default == "now" else default
        try:
            return DateTimeField().to_internal(value)
        except ValidationFailed:
            raise self.fail(index, record, f"{key}: {value!r} is not an ISO 8601 date") from None

    def pk(self, index: int, record: Mapping[str, Any], known: Mapping[int, Any]) -> int | None:
        """The record's own id (None: the database picks one)."""
        pk = record.get("id")
        if pk is None:
            return None
        if isinstance(pk, bool) or not isinstance(pk, int) or pk < 1:
            raise self.fail(index, record, f"id: {pk!r} is not a positive integer")
        if pk in known:
            raise self.fail(index, record, f"id {pk} appears twice")
        return pk


def load(mock: MockCVAT, directory: Path) -> None:
    """Load a seed directory into an empty state, in one transaction (all or nothing)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SeedError(f"{directory} is not a directory")
    files = {resource.file for resource in RESOURCES}
    unknown = sorted(p.name for p in directory.glob("*.json") if p.name not in files)
    if unknown:
        raise SeedError(f"{directory}: unknown seed file {unknown[0]} (known: "
                        f"{', '.join(r.file for r in RESOURCES)})")
    try:
        with compat.emulating(mock.compat), mock.db.session() as db:
            loader = Loader(mock, directory, db)
            for resource in RESOURCES:
                loader.file = resource.file
                resource.load(loader, _records(directory / resource.file))
            mock.db.advance_sequences(db.connection())
    except BaseException:
        mock.media.delete_prefix("data/")
        raise


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SeedError(f"{path.name}: not JSON ({exc})") from None
    if isinstance(content, Mapping) and isinstance(content.get("results"), list):
        content = content["results"]
    if not isinstance(content, list) or not all(isinstance(r, Mapping) for r in content):
        raise SeedError(f'{path.name}: expected a list of objects or {{"results": [...]}}')
    return [dict(record) for record in content]


def _required(loader: Loader, index: int, record: Mapping[str, Any], key: str) -> Any:
    value = record.get(key)
    if value is None or value == "":
        raise loader.fail(index, record, f"{key} is required")
    return value


def _storage(loader: Loader, value: Any) -> int:
    spec = value if isinstance(value, Mapping) else {}
    storage = Storage(id=spec.get("id"), location=spec.get("location") or "local",
                      cloud_storage_id=spec.get("cloud_storage_id"))
    loader.db.add(storage)
    loader.db.flush()
    return storage.id or 0


def _load_users(loader: Loader, records: list[dict[str, Any]]) -> None:
    from mockcvat.passwords import make_password
    from mockcvat.services.users import GROUPS

    for index, record in enumerate(records):
        username = _required(loader, index, record, "username")
        if username in loader.usernames:
            raise loader.fail(index, record, f"username {username!r} appears twice")
        groups = record.get("groups", ["user"])
        unknown = [g for g in groups if g not in GROUPS]
        if unknown:
            raise loader.fail(index, record, f"groups: unknown group {unknown[0]!r} (known: "
                              f"{', '.join(GROUPS)})")
        if record.get("password") is not None:
            password = make_password(str(record["password"]),
                                     loader.mock.settings.password_iterations)
        else:
            password = record.get("password_hash") or "!"
        user = User(id=loader.pk(index, record, loader.users), username=str(username),
                    email=record.get("email") or "", first_name=record.get("first_name") or "",
                    last_name=record.get("last_name") or "", password=password,
                    is_staff=bool(record.get("is_staff", False)),
                    is_superuser=bool(record.get("is_superuser", False)),
                    is_active=bool(record.get("is_active", True)),
                    last_login=loader.date(index, record, "last_login", default=None),
                    date_joined=loader.date(index, record, "date_joined"))
        loader.db.add(user)
        loader.db.flush()
        for group in dict.fromkeys(groups):
            loader.db.add(UserGroup(user_id=user.id or 0, group=group))
        loader.users[user.id or 0] = user
        loader.usernames[user.username] = user.id or 0


def _load_organizations(loader: Loader, records: list[dict[str, Any]]) -> None:
    for index, record in enumerate(records):
        slug = _required(loader, index, record, "slug")
        if any(org.slug == slug for org in loader.organizations.values()):
            raise loader.fail(index, record, f"slug {slug!r} appears twice")
        org = Organization(id=loader.pk(index, record, loader.organizations), slug=slug,
                           name=record.get("name") or "", description=record.get("description")
                           or "", contact=record.get("contact") or {},
                           owner_id=loader.user(index, record, "owner"),
                           created_date=loader.date(index, record, "created_date"),
                           updated_date=loader.date(index, record, "updated_date"))
        loader.db.add(org)
        loader.db.flush()
        loader.organizations[org.id or 0] = org


def _load_memberships(loader: Loader, records: list[dict[str, Any]]) -> None:
    from mockcvat.services.organizations import ROLES

    seen: set[tuple[int | None, int]] = set()
    for index, record in enumerate(records):
        org_id = loader.ref(index, record, "organization",
                            _required(loader, index, record, "organization"),
                            loader.organizations, "organizations.json") or 0
        user_id = loader.user(index, record, "user")
        if (user_id, org_id) in seen:
            raise loader.fail(index, record, "the user has two memberships in the organization")
        seen.add((user_id, org_id))
        role = record.get("role")
        if role not in ROLES:
            raise loader.fail(index, record, f"role: {role!r} is not one of {', '.join(ROLES)}")
        membership = Membership(id=record.get("id"), user_id=user_id, organization_id=org_id,
                                is_active=bool(record.get("is_active", True)), role=role,
                                joined_date=loader.date(index, record, "joined_date",
                                                        default=None))
        loader.db.add(membership)
        loader.db.flush()
        if record.get("invitation"):
            org = loader.organizations[org_id]
            loader.db.add(Invitation(key=str(record["invitation"]), owner_id=org.owner_id,
                                     membership_id=membership.id or 0,
                                     created_date=membership.joined_date or org.created_date))
    # an organization written by hand without its owner's membership gets it
    for org in loader.organizations.values():
        if org.owner_id is not None and (org.owner_id, org.id) not in seen:
            loader.db.add(Membership(user_id=org.owner_id, organization_id=org.id or 0,
                                     is_active=True, role="owner",
                                     joined_date=org.created_date))
    loader.db.flush()


def _owned_fields(loader: Loader, index: int, record: Mapping[str, Any]) -> dict[str, Any]:
    """What projects and tasks share: people, organization, storages, dates."""
    return {
        "name": _required(loader, index, record, "name"),
        "owner_id": loader.user(index, record, "owner" if "owner" in record else "owner_id"),
        "assignee_id": loader.user(index, record,
                                   "assignee" if "assignee" in record else "assignee_id"),
        "assignee_updated_date": loader.date(index, record, "assignee_updated_date",
                                             default=None),
        "bug_tracker": record.get("bug_tracker") or "",
        "status": record.get("status") or "annotation",
        "organization_id": loader.ref(index, record, "organization", record.get("organization"),
                                      loader.organizations, "organizations.json"),
        "source_storage_id": _storage(loader, record.get("source_storage")),
        "target_storage_id": _storage(loader, record.get("target_storage")),
        "created_date": loader.date(index, record, "created_date"),
        "updated_date": loader.date(index, record, "updated_date"),
    }


def _inline_labels(loader: Loader, index: int, record: Mapping[str, Any],
                   owner: dict[str, Any]) -> None:
    """Label specs written inline (seeds by hand); the API's ``{"url": ...}`` is ignored."""
    from mockcvat.services import labels

    specs = record.get("labels")
    if not isinstance(specs, list):
        return
    try:
        labels.create_labels(loader.db, specs, owner)
    except ValidationFailed as exc:
        raise loader.fail(index, record, f"labels: {_first(exc.detail)}") from None
    for label in loader.db.execute(select(Label).where(*(
            getattr(Label, key) == value for key, value in owner.items()
            if value is not None))).scalars():
        loader.labels[label.id or 0] = label


def _load_projects(loader: Loader, records: list[dict[str, Any]]) -> None:
    from mockcvat.services import labels

    for index, record in enumerate(records):
        project = Project(id=loader.pk(index, record, loader.projects),
                          **_owned_fields(loader, index, record))
        loader.db.add(project)
        loader.db.flush()
        loader.projects[project.id or 0] = project
        _inline_labels(loader, index, record, labels.owner_of(project_id=project.id))


def _load_tasks(loader: Loader, records: list[dict[str, Any]]) -> None:
    from mockcvat.services import labels

    for index, record in enumerate(records):
        fields = _owned_fields(loader, index, record)
        project_id = loader.ref(index, record, "project_id", record.get("project_id"),
                                loader.projects, "projects.json")
        if project_id is not None:
            project_org = loader.projects[project_id].organization_id
            if fields["organization_id"] != project_org:
                raise loader.fail(index, record, f"organization: {fields['organization_id']} "
                                  f"is not its project's ({project_org})")
            if isinstance(record.get("labels"), list):
                raise loader.fail(index, record, "labels: a task in a project uses the "
                                  "project's labels")
        data_id = record.get("data")
        if data_id is not None and (isinstance(data_id, bool) or not isinstance(data_id, int)):
            raise loader.fail(index, record, f"data: {data_id!r} is not an id")
        task = Task(id=loader.pk(index, record, loader.tasks), project_id=project_id,
                    mode=record.get("mode") or "", overlap=record.get("overlap"),
                    segment_size=record.get("segment_size") or 0,
                    dimension=record.get("dimension") or "2d", subset=record.get("subset") or "",
                    consensus_replicas=int(record.get("consensus_replicas") or 0), **fields)
        loader.db.add(task)
        loader.db.flush()
        loader.tasks[task.id or 0] = task
        loader.task_records[task.id or 0] = record
        _inline_labels(loader, index, record, labels.owner_of(task_id=task.id))


def _load_labels(loader: Loader, records: list[dict[str, Any]]) -> None:
    def add(index: int, record: Mapping[str, Any], spec: Mapping[str, Any],
            owner: dict[str, Any], parent_id: int | None) -> Label:
        name = spec.get("name")
        if not name:
            raise loader.fail(index, record, "name is required")
        label = Label(id=loader.pk(index, spec, loader.labels), parent_id=parent_id,
                      name=str(name), color=spec.get("color") or "",
                      type=spec.get("type") or "any", svg=spec.get("svg") or "", **owner)
        loader.db.add(label)
        loader.db.flush()
        loader.labels[label.id or 0] = label
        names = set()
        for attribute in spec.get("attributes") or []:
            if not isinstance(attribute, Mapping) or not attribute.get("name"):
                raise loader.fail(index, record, f"label {name!r}: an attribute has no name")
            if attribute["name"] in names:
                raise loader.fail(index, record, f"label {name!r}: attribute "
                                  f"{attribute['name']!r} appears twice")
            names.add(attribute["name"])
            loader.db.add(AttributeSpec(
                id=attribute.get("id"), label_id=label.id or 0, name=attribute["name"],
                mutable=bool(attribute.get("mutable", False)),
                input_type=attribute.get("input_type") or "select",
                default_value=str(attribute.get("default_value") or ""),
                values=[str(v) for v in attribute.get("values") or []]))
        for sub in spec.get("sublabels") or []:
            add(index, record, sub, owner, label.id)
        return label

    for index, record in enumerate(records):
        if record.get("parent_id") is not None:
            continue  # a sublabel listed on its own: it comes with its parent's "sublabels"
        task_id = loader.ref(index, record, "task_id", record.get("task_id"), loader.tasks,
                             "tasks.json")
        project_id = loader.ref(index, record, "project_id", record.get("project_id"),
                                loader.projects, "projects.json")
        if (task_id is None) == (project_id is None):
            raise loader.fail(index, record, "a label belongs to exactly one of task_id and "
                              "project_id")
        if task_id is not None and loader.tasks[task_id].project_id is not None:
            raise loader.fail(index, record, f"task {task_id} is in a project: its labels "
                              "are the project's")
        owner = {"task_id": task_id, "project_id": project_id}
        siblings = {label.name for label in loader.labels.values()
                    if label.parent_id is None and label.task_id == task_id
                    and label.project_id == project_id}
        if record.get("name") in siblings:
            raise loader.fail(index, record, f"label name {record.get('name')!r} appears twice "
                              "for the same owner")
        add(index, record, record, owner, None)
    loader.db.flush()


def _load_data(loader: Loader, records: list[dict[str, Any]]) -> None:
    for index, record in enumerate(records):
        task_id = loader.ref(index, record, "task_id", record.get("task_id"), loader.tasks,
                             "tasks.json") or 0
        if task_id in loader.data_done:
            raise loader.fail(index, record, f"task {task_id} has two entries")
        _task_data(loader, index, record, loader.tasks[task_id])
    # media without a data.json entry (seeds by hand): CVAT's defaults
    for task in loader.tasks.values():
        if task.id not in loader.data_done and (loader.directory / MEDIA_DIR /
                                                str(task.id)).is_dir():
            loader.file = MEDIA_DIR
            _task_data(loader, -1, {"task_id": task.id}, task)


def _task_data(loader: Loader, index: int, record: Mapping[str, Any], task: Task) -> None:
    """Process ``media/<task id>/`` as task creation does, then set what the meta says."""
    from mockcvat.services import task_data

    root = loader.directory / MEDIA_DIR / str(task.id)
    if not root.is_dir():
        raise loader.fail(index, record, f"no media: {root} is not a directory")
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    frames = [f.get("name") for f in record.get("frames") or [] if isinstance(f, Mapping)]
    videos = [f for f in files if sources.classify(f) == "video"]
    start = int(record.get("start_frame") or 0)
    stop = record.get("stop_frame")
    step = task_data.frame_step(record.get("frame_filter") or "")
    chunk_size = record.get("chunk_size")
    task_record = loader.task_records.get(task.id or 0, {})
    data_id = record.get("id", task_record.get("data"))
    data = Data(id=data_id if isinstance(data_id, int) and not isinstance(data_id, bool)
                else None,
                image_quality=int(record.get("image_quality") or 70), chunk_size=chunk_size,
                start_frame=start, stop_frame=int(stop or 0),
                frame_filter=record.get("frame_filter") or "",
                deleted_frames=sorted(record.get("deleted_frames") or []))
    loader.db.add(data)
    loader.db.flush()
    compressed = (record.get("compressed_chunk_type")
                  or task_record.get("data_compressed_chunk_type"))
    with loader.mock.temp_dir() as scratch:  # prepared on this host, then stored whole
        target = Path(scratch) / "data"
        try:
            if videos:
                manifest = media.prepare(root, [videos[0]], target, start_frame=start,
                                         stop_frame=stop or None, frame_step=step,
                                         chunk_size=chunk_size,
                                         use_zip_chunks=compressed == "imageset")
            else:
                missing = [name for name in frames if name not in files]
                if missing:
                    raise loader.fail(index, record, f"frame {missing[0]!r} is not in {root}")
                chosen = frames or [f for f in files if sources.is_image_name(f)]
                related = [f for f in files if "related_images" in PurePosixPath(f).parts]
                ordered = sorted(chosen) == chosen
                manifest = media.prepare(
                    root, chosen + related, target,
                    sorting_method="lexicographical" if ordered else "predefined",
                    upload_file_order=None if ordered else chosen + related,
                    chunk_size=chunk_size)
                data.sorting_method = "lexicographical" if ordered else "predefined"
                if frames:  # the frames are the chosen ones: their numbers in the original data
                    manifest.start_frame, manifest.frame_step = start, step
                    manifest.source_frames = list(range(start, start + step * len(frames), step))
                    manifest.stop_frame = manifest.source_frames[-1]
                    manifest.save(target)
                for name in files:  # the files outside start/stop/step stay with the media
                    kept = target / RAW_DIR / name
                    if not kept.exists() and uploads.is_inside(target / RAW_DIR, kept):
                        kept.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(root / name, kept)
        except media.MediaError as exc:
            raise loader.fail(index, record,
                              f"media of task {task.id}: {exc.message}") from None
        loader.mock.media.put_tree(task_data.data_key(data.id or 0), target)
    video = manifest.media_type == "video"
    data.size = len(manifest.frames)
    data.chunk_size = manifest.chunk_size
    data.stop_frame = manifest.stop_frame
    data.original_chunk_type = "video" if video else "imageset"
    data.compressed_chunk_type = compressed or ("video" if video else "imageset")
    data.chunks_updated_date = loader.date(index, record, "chunks_updated_date")
    task.data_id = data.id
    task.mode = "interpolation" if video else "annotation"
    loader.db.add_all([data, task])
    loader.data_done.add(task.id or 0)


def _make_jobs(loader: Loader, task: Task) -> None:
    from mockcvat.services import task_data

    data = loader.db.get(Data, task.data_id)
    if data is None:
        return
    task.segment_size, task.overlap, ranges = task_data.segments(
        data.size, task.segment_size, task.overlap, task.mode == "interpolation")
    for start, stop in ranges:
        segment = Segment(task_id=task.id or 0, start_frame=start, stop_frame=stop)
        loader.db.add(segment)
        loader.db.flush()
        job = Job(segment_id=segment.id or 0, task_id=task.id or 0,
                  created_date=task.created_date, updated_date=task.updated_date)
        loader.db.add(job)
        loader.db.flush()
        loader.jobs[job.id or 0] = job
    loader.db.add(task)


def _load_jobs(loader: Loader, records: list[dict[str, Any]]) -> None:
    replicas: dict[int, int] = {}
    for index, record in enumerate(records):
        task_id = loader.ref(index, record, "task_id", record.get("task_id"), loader.tasks,
                             "tasks.json") or 0
        task = loader.tasks[task_id]
        kind = record.get("type") or "annotation"
        if kind == "ground_truth":
            raise loader.fail(index, record, "ground-truth jobs are not supported in seeds yet")
        if kind not in ("annotation", "consensus_replica"):
            raise loader.fail(index, record, f"type: {kind!r} is not annotation, "
                              "ground_truth or consensus_replica")
        data = loader.db.get(Data, task.data_id) if task.data_id else None
        if data is None:
            raise loader.fail(index, record, f"task {task_id} has no data (data.json or "
                              f"{MEDIA_DIR}/{task_id}/)")
        start, stop = record.get("start_frame"), record.get("stop_frame")
        if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start <= stop
                < data.size):
            raise loader.fail(index, record, f"start_frame {start!r} and stop_frame {stop!r} "
                              f"are not frames of task {task_id} (0..{data.size - 1})")
        parent = record.get("parent_job_id")
        if parent is not None:
            loader.ref(index, record, "parent_job_id", parent, loader.jobs, "jobs.json")
            replicas[parent] = replicas.get(parent, 0) + 1
            task.consensus_replicas = max(task.consensus_replicas, replicas[parent])
        segment = Segment(task_id=task_id, start_frame=start, stop_frame=stop)
        loader.db.add(segment)
        loader.db.flush()
        job = Job(id=loader.pk(index, record, loader.jobs), segment_id=segment.id or 0,
                  task_id=task_id, assignee_id=loader.user(index, record, "assignee"),
                  assignee_updated_date=loader.date(index, record, "assignee_updated_date",
                                                    default=None),
                  status=record.get("status") or "annotation",
                  stage=record.get("stage") or "annotation", state=record.get("state") or "new",
                  type=kind, parent_job_id=parent,
                  created_date=loader.date(index, record, "created_date"),
                  updated_date=loader.date(index, record, "updated_date"))
        loader.db.add(job)
        loader.db.flush()
        loader.jobs[job.id or 0] = job
    loader.db.flush()
    # tasks with data and no jobs.json entries: jobs cut as CVAT cuts them
    for task in loader.tasks.values():
        if task.data_id and not any(job.task_id == task.id for job in loader.jobs.values()):
            _make_jobs(loader, task)


def _load_annotations(loader: Loader, records: list[dict[str, Any]]) -> None:
    from mockcvat.schemas.annotations import LabeledData
    from mockcvat.services import annotations

    books: dict[int, annotations.LabelBook] = {}
    done: set[int] = set()
    for index, record in enumerate(records):
        job_id = loader.ref(index, record, "job_id", record.get("job_id"), loader.jobs,
                            "jobs.json") or 0
        if job_id in done:
            raise loader.fail(index, record, f"job {job_id} has two entries")
        done.add(job_id)
        task = loader.tasks[loader.jobs[job_id].task_id]
        if task.id not in books:
            books[task.id or 0] = annotations.LabelBook(loader.db, task)
        content = {key: record.get(key, []) for key in ("tags", "shapes", "tracks")}
        try:
            data = LabeledData.validate({"version": record.get("version", 0), **content})
            annotations.check(data, books[task.id or 0])
        except ValidationFailed as exc:
            raise loader.fail(index, record, f"job {job_id}: {_first(exc.detail)}") from None
        annotations.insert(loader.db, job_id, data)


def _first(detail: Any, path: str = "") -> str:
    while isinstance(detail, list | dict):
        if isinstance(detail, dict):
            key, detail = next(iter(detail.items()), ("", ""))
            path = f"{path}.{key}" if path else str(key)
        else:
            detail = detail[0] if detail else ""
    return f"{path}: {detail}" if path else str(detail)


# --- dumping (the state of a MockCVAT) ------------------------------------------------------------
@dataclass
class Dumper:
    """Reads the state with the payload functions of the list endpoints."""

    mock: MockCVAT
    db: Any
    base_url: str

    def absolute(self, path: str) -> str:  # what the payload functions ask a Context for
        return self.base_url.rstrip("/") + path

    def rows(self, model: Any, *columns: Any) -> list[Any]:
        table = model.__table__
        return list(self.db.execute(select(*table.columns, *columns)
                                    .order_by(table.c.id)))


def _dump_users(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.services import users

    rows = [dict(row._mapping) for row in dumper.rows(User, users.GROUPS_COLUMN)]
    out = users.represent(dumper, rows, full=True)  # type: ignore[arg-type]
    for payload, row in zip(out, rows, strict=True):
        payload["password_hash"] = row["password"]
    return out


def _dump_organizations(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.services import organizations

    return organizations._represent_organizations(  # type: ignore[arg-type]
        dumper, dumper.db, dumper.rows(Organization))


def _dump_memberships(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.services import organizations

    return organizations._represent_memberships(  # type: ignore[arg-type]
        dumper, dumper.db, dumper.rows(Membership, organizations.INVITATION_KEY))


def _dump_projects(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.services import projects

    return projects.payloads(dumper, dumper.db, dumper.rows(Project))  # type: ignore[arg-type]


def _dump_tasks(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.services import tasks

    return tasks.payloads(dumper, dumper.db, dumper.rows(Task))  # type: ignore[arg-type]


def _dump_labels(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.schemas.labels import Label as LabelSerializer
    from mockcvat.services import labels

    top = [row for row in dumper.rows(Label) if row.parent_id is None]
    return [LabelSerializer.dump(p) for p in labels.payloads(dumper.db, top)]


def _dump_data(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.services import frames

    out = []
    for task in dumper.db.execute(select(Task).order_by(Task.id)).scalars():
        data = dumper.db.get(Data, task.data_id) if task.data_id else None
        if data is None or not data.size:
            continue
        meta = frames._meta(dumper, dumper.db, task, data, None)  # type: ignore[arg-type]
        out.append({"task_id": task.id, "id": data.id,
                    "compressed_chunk_type": data.compressed_chunk_type,
                    "original_chunk_type": data.original_chunk_type, **meta})
    return out


def _dump_jobs(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.services import jobs

    return jobs.payloads(dumper, dumper.db, dumper.rows(Job))  # type: ignore[arg-type]


def _dump_annotations(dumper: Dumper) -> list[dict[str, Any]]:
    from mockcvat.services import annotations

    out = []
    books: dict[int, annotations.LabelBook] = {}
    for job in dumper.db.execute(select(Job).order_by(Job.id)).scalars():
        task = dumper.db.get(Task, job.task_id)
        if task.id not in books:
            books[task.id] = annotations.LabelBook(dumper.db, task)
        content = annotations.read_job(dumper.db, job.id, books[task.id])
        if any(content[key] for key in ("tags", "shapes", "tracks")):
            out.append({"job_id": job.id, **content})
    return out


def dump_mock(mock: MockCVAT, directory: Path, *, media: bool = True,
              base_url: str | None = None) -> Path:
    """Write the state of ``mock`` as a seed directory (files replaced, media copied)."""
    settings = mock.settings
    base = base_url or f"http://{settings.host}:{settings.port}"
    results: dict[str, list[dict[str, Any]]] = {}
    with compat.emulating(mock.compat), mock.db.session() as db:
        dumper = Dumper(mock, db, base)
        for resource in RESOURCES:
            results[resource.file] = resource.dump(dumper)
    _write(directory, results)
    if media:
        from mockcvat.services import task_data

        for entry in results["data.json"]:
            raw = f"{task_data.data_key(entry['id'])}{RAW_DIR}/"
            target = Path(directory) / MEDIA_DIR / str(entry["task_id"])
            shutil.rmtree(target, ignore_errors=True)
            for key in mock.media.walk(raw):
                mock.media.download(key, target.joinpath(*key[len(raw):].split("/")))
    return Path(directory)


def _write(directory: Path, results: Mapping[str, list[dict[str, Any]]]) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for file, records in results.items():
        page = {"count": len(records), "next": None, "previous": None, "results": records}
        (directory / file).write_text(json.dumps(page, indent=1, ensure_ascii=False) + "\n",
                                      encoding="utf-8")


# --- snapshots (a CVAT server, through its API) ---------------------------------------------------
class Remote:
    """A CVAT server read through its REST API (an ``httpx.Client`` with credentials)."""

    def __init__(self, client: Any, *, page_size: int = 100) -> None:
        self.client = client
        self.page_size = page_size
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        if response.status_code != 200:
            raise SeedError(f"GET {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    def list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a list endpoint, ordered by id."""
        key = f"{path}?{sorted(params.items())}"
        if key not in self._cache:
            out: list[dict[str, Any]] = []
            page = 1
            while True:
                body = self.get(path, page=page, page_size=self.page_size, **params)
                out += body["results"]
                if not body.get("next"):
                    break
                page += 1
            self._cache[key] = sorted(out, key=lambda r: r.get("id", 0))
        return self._cache[key]

    def data(self) -> list[dict[str, Any]]:
        out = []
        for task in self.list("/api/tasks"):
            if not task.get("size"):
                continue
            meta = self.get(f"/api/tasks/{task['id']}/data/meta")
            out.append({"task_id": task["id"], "id": task.get("data"),
                        "compressed_chunk_type": task.get("data_compressed_chunk_type"),
                        "original_chunk_type": task.get("data_original_chunk_type"), **meta})
        return out

    def annotations(self) -> list[dict[str, Any]]:
        out = []
        for job in self.list("/api/jobs"):
            content = self.get(f"/api/jobs/{job['id']}/annotations")
            if any(content.get(key) for key in ("tags", "shapes", "tracks")):
                out.append({"job_id": job["id"], **content})
        return out

    def labels(self) -> list[dict[str, Any]]:
        return [label for label in self.list("/api/labels") if label.get("parent_id") is None]

    def media(self, task_id: int, target: Path, *, poll: float = 0.2,
              timeout: float = 600) -> None:
        """The task's files as uploaded: its backup's ``data/`` folder."""
        import time

        started = self.client.post(f"/api/tasks/{task_id}/backup/export")
        if started.status_code != 202:
            raise SeedError(f"backup of task {task_id}: {started.status_code} "
                            f"{started.text[:200]}")
        rq_id = started.json()["rq_id"]
        deadline = time.monotonic() + timeout
        while True:
            status = self.get(f"/api/requests/{rq_id}")
            if status["status"] == "finished":
                break
            if status["status"] == "failed" or time.monotonic() > deadline:
                raise SeedError(f"backup of task {task_id}: {status.get('message') or 'timeout'}")
            time.sleep(poll)
        target.parent.mkdir(parents=True, exist_ok=True)
        archive_path = target.parent / f".task-{task_id}-backup.zip"
        with self.client.stream("GET", status["result_url"]) as response:
            if response.status_code != 200:
                raise SeedError(f"backup of task {task_id}: download answered "
                                f"{response.status_code}")
            with archive_path.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        try:
            with zipfile.ZipFile(archive_path) as archive:
                shutil.rmtree(target, ignore_errors=True)
                for member in archive.infolist():
                    if member.is_dir() or not member.filename.startswith("data/"):
                        continue
                    relative = PurePosixPath(member.filename[len("data/"):])
                    path = target / relative
                    if ".." in relative.parts or not uploads.is_inside(target, path):
                        continue
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, path.open("wb") as out:
                        shutil.copyfileobj(source, out)
        finally:
            archive_path.unlink(missing_ok=True)


def snapshot(client: Any, directory: Path, *, media: bool = False,
             page_size: int = 100) -> dict[str, int]:
    """Read a CVAT server (``client``: an ``httpx.Client`` with its base URL and an admin's
    credentials) into a seed directory; returns how many records each file got. Users come
    without passwords; ``media`` also downloads each task's files (through a task backup)."""
    remote = Remote(client, page_size=page_size)
    results = {resource.file: resource.fetch(remote) for resource in RESOURCES}
    _write(directory, results)
    if media:
        for entry in results["data.json"]:
            remote.media(entry["task_id"], Path(directory) / MEDIA_DIR / str(entry["task_id"]))
    return {file: len(records) for file, records in results.items()}


RESOURCES: list[Resource] = [
    Resource("users", "users.json", _load_users, _dump_users,
             lambda remote: remote.list("/api/users")),
    Resource("organizations", "organizations.json", _load_organizations, _dump_organizations,
             lambda remote: remote.list("/api/organizations")),
    Resource("memberships", "memberships.json", _load_memberships, _dump_memberships,
             lambda remote: remote.list("/api/memberships")),
    Resource("projects", "projects.json", _load_projects, _dump_projects,
             lambda remote: remote.list("/api/projects")),
    Resource("tasks", "tasks.json", _load_tasks, _dump_tasks,
             lambda remote: remote.list("/api/tasks")),
    Resource("labels", "labels.json", _load_labels, _dump_labels, Remote.labels),
    Resource("data", "data.json", _load_data, _dump_data, Remote.data),
    Resource("jobs", "jobs.json", _load_jobs, _dump_jobs,
             lambda remote: remote.list("/api/jobs")),
    Resource("annotations", "annotations.json", _load_annotations, _dump_annotations,
             Remote.annotations),
]


def counts(directory: Path) -> dict[str, int]:
    """How many records each seed file of ``directory`` holds."""
    return {r.file: len(_records(Path(directory) / r.file)) for r in RESOURCES}
