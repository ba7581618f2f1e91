"""The one background engine: long operations off the request thread, each recorded as a CVAT
"request" (what ``/api/requests`` lists and clients poll).

CVAT enqueues RQ jobs in Redis; rq workers run them and the job's id (the ``rq_id``) is what the
client polls. Here a ``Work`` is submitted to ``MockCVAT.background``; it gets CVAT's rq_id and a
row in ``mockcvat_request`` (``mockcvat.models.BackgroundRequest``), which is also its place in
the queue: worker threads (two per process) claim queued rows, in any process sharing the
database (see ``Background``). The work — a registered job with JSON arguments, or a function
only this process holds — opens its own short ``mock.db.session()``s; the engine never holds
the database lock while work runs.

Test authors control the timing, which CVAT cannot do:

* ``mode = "thread"`` (default) or ``"immediate"`` (the work runs inside ``submit``: the request
  is finished or failed before the client's first poll);
* ``hold_polls(n)``: each new request answers its first ``n`` polls (``GET /api/requests/{id}``
  and the legacy status endpoints) with ``queued`` (the first) and ``started`` (the others)
  before its real state shows, however fast the work was;
* ``fail_next(message, action=None, target=None)``: the next matching request fails with
  ``message`` without running its work;
* ``wait()``: until nothing is queued or running; ``reset()``: all of the above back to the
  defaults, queued work dropped, running work waited for, every request forgotten.

Besides requests, the engine runs *deferred work* (``defer``): jobs CVAT also runs on its RQ
workers but never shows as a request, such as webhook deliveries. They share the worker threads
and the mode (``immediate``: run before the causing request answers), are waited for by
``wait()`` (or ``wait_deferred()`` alone) and dropped by ``reset()``; they have no row, no
rq_id, and ``hold_polls``/``fail_next`` do not apply to them.

Facts reproduced (CVAT 2.26, ``cvat/apps/engine/rq_job_handler.py: RQId``, ``task.py: create``,
``views.py: _import_annotations``, ``dataset_manager/views.py``; later releases in
``cvat/apps/redis_handler/``): the rq_id formats (``render_rq_id``), result/failure TTLs
(``expiry_date``), the 409 on a request id that is still queued or started (task creation
excepted), and a failed job's message being ``traceback.format_exception_only`` of the error.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, event, or_, select, update
from sqlmodel import Session

from mockcvat import compat
from mockcvat.errors import Conflict, ValidationFailed
from mockcvat.models import (
    BackgroundRequest,
    DeferredWork,
    Organization,
    ServerSetting,
    User,
)
from mockcvat.models.users import utcnow

if TYPE_CHECKING:
    from mockcvat.server import MockCVAT

log = logging.getLogger("mockcvat.background")

# First CVAT release whose request ids are ``action=..&target=..`` key/value strings
# (``cvat/apps/redis_handler/rq.py: RequestId``; Redis migration
# ``engine/redis_migrations/003_migrate_to_key_value_id_format.py`` rewrites 2.26's
# ``create:task-1`` ids, ``engine/rq_job_handler.py: RQId``), whose ``operation.target`` is a
# free string, and whose rules (``redis_handler/rules/requests.rego``) let admins see any
# request. Dated by ``operation.target`` turning from an enum into a string in cvat-sdk 2.38,
# the release of PR 9230 ("reusable requests"); the id format itself is not in the schema, so
# that it changed in the same release is INFERRED, not read.
NEW_REQUEST_IDS = "2.38.0"

# rq's defaults (rq/defaults.py) and CVAT's settings (cvat/settings/base.py)
RQ_DEFAULT_RESULT_TTL = 500
RQ_DEFAULT_FAILURE_TTL = 365 * 24 * 3600
IMPORT_CACHE_SUCCESS_TTL = 3600  # 1 hour
IMPORT_CACHE_FAILED_TTL = 30 * 24 * 3600  # 30 days
EXPORT_CACHE_TTL = 24 * 3600  # settings.EXPORT_CACHE_TTL (dataset_manager/views.py)

# (result TTL, failure TTL) in seconds, as each action enqueues its RQ job
DEFAULT_TTLS: dict[str, tuple[float, float]] = {
    "create": (RQ_DEFAULT_RESULT_TTL, IMPORT_CACHE_FAILED_TTL),  # task.create: no result_ttl
    "import": (IMPORT_CACHE_SUCCESS_TTL, IMPORT_CACHE_FAILED_TTL),
    "export": (EXPORT_CACHE_TTL, EXPORT_CACHE_TTL),
    "autoannotate": (RQ_DEFAULT_RESULT_TTL, RQ_DEFAULT_FAILURE_TTL),
    "calculate": (RQ_DEFAULT_RESULT_TTL, RQ_DEFAULT_FAILURE_TTL),
    "merge": (RQ_DEFAULT_RESULT_TTL, RQ_DEFAULT_FAILURE_TTL),
}

# what a request's ``action`` and ``target`` can be (``fail_next`` refuses anything else)
ACTIONS = ("create", "import", "export", "autoannotate")
TARGETS = ("project", "task", "job")

DEFAULT_CONFLICT_MESSAGE = "Request is being processed"  # newer releases, every action


def conflict_message(action: str, status: str) -> str | None:
    """CVAT 2.26's 409 body (a bare JSON string) for a new request whose id is still queued or
    started; None: no guard, the new request replaces the old one (task creation)."""
    if action == "create":  # task.create enqueues whatever is there (the data view guards)
        return None
    if action == "import":  # views.py: _import_annotations, _import_project_dataset
        return "Import job already exists"
    if action == "export":  # background.py: _ResourceExportManager._handle_rq_job_v2 (2.26)
        return "Export request is being processed"
    return DEFAULT_CONFLICT_MESSAGE

ACTIVE = ("queued", "started")
INTERRUPTED = ("The server process running this request stopped before it finished (mockcvat "
               "was restarted, or the process died); its work was not done. Send the request "
               "again.\n")


class RequestFailed(Exception):
    """Raised by a work function: the request fails and ``str(exc)`` is its ``message``."""


@dataclass
class Result:
    result_url: str | None = None  # absolute URL of the result (exports)
    result_id: int | None = None  # e.g. the id of a restored task or project


@dataclass
class Work:
    """One long operation. ``run`` gets a ``Reporter`` and returns a ``Result`` (or None)."""

    action: str  # create | import | export | autoannotate | calculate | merge
    target: str  # project | task | job
    target_id: int
    owner_id: int  # the user who asked (and, for exports, the ``by-<user>`` of the rq_id)
    organization_id: int | None
    # the work: a function (only this process can run it) or a registered job with JSON
    # arguments (``job``/``args``: any process sharing the database can)
    run: Callable[[Reporter], Result | None] | None = None
    subresource: str | None = None  # annotations | dataset | backup
    format: str | None = None  # exports/imports: the format's display name
    project_id: int | None = None
    task_id: int | None = None
    job_id: int | None = None
    # backup imports have no target id yet: CVAT names them by a uuid (one is made if None)
    target_uuid: str | None = None
    lightweight: bool | None = None  # backup exports (newer releases only show it)
    function_id: str | None = None  # autoannotate
    result_ttl: float | None = None  # seconds; default: per action, as CVAT enqueues it
    failure_ttl: float | None = None
    conflict_message: str | None = None  # 409 body; default: ``conflict_message()``
    rq_id: str | None = None  # an id of the action's own making (2.26's quality checks)
    job: str | None = None  # a name registered with ``background.job``
    args: dict[str, Any] | None = None


class RequestConflict(Conflict):
    """409 whose body is the bare message (CVAT's ``Response(data="...", status=409)``)."""

    def body(self) -> Any:
        return self.detail


class _Abandoned(Exception):
    """The request was cancelled or the server reset: the work should stop."""


@dataclass(frozen=True)
class RequestView:
    """A request as the client sees it now (``hold_polls`` applied)."""

    id: str
    status: str  # queued | started | finished | failed
    message: str
    progress: float | None
    action: str
    target: str
    target_id: int | None
    subresource: str | None
    format: str | None
    lightweight: bool | None
    function_id: str | None
    project_id: int | None
    task_id: int | None
    job_id: int | None
    owner_id: int
    owner_username: str
    organization_id: int | None
    org_slug: str | None
    created_date: dt.datetime
    started_date: dt.datetime | None
    finished_date: dt.datetime | None
    expiry_date: dt.datetime | None
    result_url: str | None
    result_id: int | None

    @property
    def operation_type(self) -> str:
        """CVAT's ``operation.type``: ``<action>:<subresource or target>``."""
        return f"{self.action}:{self.subresource or self.target}"


def rq_status(view: RequestView | None) -> dict[str, Any]:
    """The legacy ``RqStatus`` answer (``GET /api/tasks/{id}/status``; CVAT 2.26's
    ``TaskViewSet._get_rq_response``): no request (never made, or expired) is ``Finished``;
    progress is the 0..1 fraction while started, else 0. CVAT's failure message there is its
    whole traceback text; the request's ``message`` stands in for it."""
    if view is None or view.status == "finished":
        state, message, progress = "Finished", "", 0.0
    elif view.status == "queued":
        state, message, progress = "Queued", "", 0.0
    elif view.status == "failed":
        state, message, progress = "Failed", view.message or "Unknown error", 0.0
    else:
        state, message, progress = "Started", view.message, float(view.progress or 0.0)
    return {"state": state, "message": message, "progress": progress}


def visible_status() -> Any:
    """The status a client sees, as SQL (lists filter and sort on it)."""
    row = BackgroundRequest
    held = case((row.hold_seen >= 2, "started"), else_="queued")
    return case((row.hold_left > 0, held), else_=row.status)


def not_expired(now: dt.datetime | None = None) -> Any:
    """Redis forgets a job once its result/failure TTL has passed."""
    row = BackgroundRequest
    return or_(row.expiry_date.is_(None), row.expiry_date > (now or utcnow()))


def view_of(row: Any) -> RequestView:
    """The client's view of a request row (or of a SELECT row with the same columns)."""
    status, message, progress = row.status, row.message, row.progress
    started, finished, expiry = row.started_date, row.finished_date, row.expiry_date
    result_url, result_id = row.result_url, row.result_id
    if row.hold_left > 0:  # hold_polls: not yet the real state
        status = "started" if row.hold_seen >= 2 else "queued"
        message, finished, expiry, result_url, result_id = "", None, None, None, None
        if status == "queued":
            started, progress = None, None
        else:
            started = started or row.created_date
            progress = progress if row.status == "started" else None
    return RequestView(
        id=row.rq_id, status=status, message=message, progress=progress,
        action=row.action, target=row.target, target_id=row.target_id,
        subresource=row.subresource, format=row.format, lightweight=row.lightweight,
        function_id=row.function_id, project_id=row.project_id, task_id=row.task_id,
        job_id=row.job_id, owner_id=row.owner_id, owner_username=row.owner_username,
        organization_id=row.organization_id, org_slug=row.org_slug,
        created_date=row.created_date, started_date=started, finished_date=finished,
        expiry_date=expiry, result_url=result_url, result_id=result_id,
    )


# --- request ids ------------------------------------------------------------------------------
def render_rq_id(work: Work, *, new_format: bool) -> str:
    """CVAT's id for the request (a URL path segment: no ``/`` and no ``.``).

    2.26 (``RQId.render``)::

        create:task-<id>                 autoannotate:task-<id>
        import:<target>-<id|uuid>-<annotations|dataset|backup>
        export:<target>-<id>-<annotations|dataset>-in-<format>-format-by-<user>
        export:<target>-<id>-backup-by-<user>

    with the format's spaces as ``_`` and dots as ``@``. Newer releases (``RequestId.render``):
    ``key=value`` pairs joined by ``&`` in the order action, target, target_id, id, user_id,
    format, subresource; empty values left out; spaces as ``_`` and dots as ``~``.
    """
    identifier: Any = work.target_id
    if work.action == "import" and work.subresource == "backup" or work.target == "events":
        identifier = work.target_uuid  # no object yet (a restore), or none at all (events)
    export = work.action == "export"
    if new_format:
        pairs = {
            "action": work.action, "target": work.target,
            "target_id": None if identifier == work.target_uuid else work.target_id,
            "id": work.target_uuid if identifier == work.target_uuid else None,
            "user_id": work.owner_id if export else None,
            "format": work.format if export else None,
            "subresource": work.subresource,
            "lightweight": work.lightweight or None,
        }
        return "&".join(
            f"{key}={str(value).replace('.', '~').replace(' ', '_')}"
            for key, value in pairs.items() if value
        )
    prefix = f"{work.action}:{work.target}-{identifier}"
    if work.action == "import":
        return f"{prefix}-{work.subresource}"
    if export:
        if work.format is None:
            return f"{prefix}-{work.subresource}-by-{work.owner_id}"
        name = work.format.replace(" ", "_").replace(".", "@")
        return f"{prefix}-{work.subresource}-in-{name}-format-by-{work.owner_id}"
    return prefix


# --- the engine ------------------------------------------------------------------------------
JOBS: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a work function under ``name``. A ``Work(job=name, args={...})`` (a request:
    ``fn(mock, reporter, **args)``) or a ``defer_job(name, args)`` (``fn(mock, **args)``) is
    then a row any process sharing the database can claim and run; ``args`` must be JSON."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[name] = fn
        return fn
    return register


def thaw(mock: MockCVAT, frozen: dict[str, Any]) -> Any:
    """The ``Context`` of the request that queued a job (``Context.freeze``), rebuilt here."""
    from mockcvat.api import Context

    return Context.thaw(mock, frozen)


def _resolve(name: str) -> Callable[..., Any]:
    if name not in JOBS:  # registered when its service module is imported
        import mockcvat.routes  # noqa: F401  (imports every service)
    return JOBS[name]


@dataclass
class _Fault:
    message: str
    action: str | None = None
    target: str | None = None

    def matches(self, work: Work) -> bool:
        return (self.action in (None, work.action)) and (self.target in (None, work.target))


class Reporter:
    """Handed to a work function: report progress (0..1) and CVAT's status line.

    Each report is a short transaction of its own: call it outside your ``db.session()``
    blocks. When the request is gone (cancelled, replaced, server reset) a report raises an
    internal exception that ends the work quietly."""

    def __init__(self, background: Background, rq_id: str, claim: _Claim) -> None:
        self._background = background
        self.rq_id = rq_id
        self._claim = claim

    def progress(self, fraction: float, status: str | None = None) -> None:
        """Shown as the request's ``progress`` (and ``status`` as its ``message`` while it is
        started). Raises an internal exception to stop the work if the request was dropped."""
        value = min(1.0, max(0.0, float(fraction)))
        self._background._update(self._claim, progress=value,
                                 **({"message": status} if status is not None else {}))

    def status(self, text: str) -> None:
        """CVAT's ``meta["status"]`` line, the request's ``message`` while it is started."""
        self._background._update(self._claim, message=text)


@dataclass(frozen=True)
class _Claim:
    """A request row this process runs: writes go to ``pk`` only while its ``claim`` is
    ``token`` (a replaced, cancelled or reset request writes nowhere)."""

    pk: int
    token: str
    generation: int  # this process's reset generation when claimed


@dataclass
class _Started:
    """A claimed request, ready to run."""

    claim: _Claim
    rq_id: str
    action: str
    run: Callable[[Reporter], Result | None]
    ttls: tuple[float, float]


@dataclass
class _Deferred:
    run: Callable[[], None]
    label: str
    generation: int


@dataclass
class _State:
    """This process's share of the work: what only it can run (closures) and what it runs."""

    local: dict[int, Work] = field(default_factory=dict)  # queued closure requests, by pk
    running: set[int] = field(default_factory=set)  # request pks
    deferred: deque[_Deferred] = field(default_factory=deque)  # closures, oldest first
    deferring: int = 0  # deferred work running now (closures and rows)
    signals: int = 0  # bumped by every wake-up, so a worker never sleeps through one

    def idle(self) -> bool:
        return not (self.local or self.running or self.deferred or self.deferring)


CONTROLS = "background_controls"  # the test controls' row in mockcvat_setting
POLL_SECONDS = 0.5  # how often idle workers look for work queued by other processes
SWEEP_SECONDS = 1.0  # how often a process looks for work of processes that died


class Background:
    """One per ``MockCVAT`` (``mock.background``).

    The queue is the database: requests are rows of ``mockcvat_request`` and deferred work rows
    of ``mockcvat_deferred``; a worker claims the oldest queued row (``SELECT … FOR UPDATE SKIP
    LOCKED`` on PostgreSQL; one process, under the store's lock, on SQLite), so on a shared
    database any process runs any request, and what ``/api/requests`` shows is the same from
    every process. Work given as a function (``Work.run``, ``defer``) rather than a registered
    job can only run in the process that holds the function: its row is claimed by that
    process at once. The test controls (mode, ``hold_polls``, ``fail_next``) are one row of
    ``mockcvat_setting``: set from any process, they apply to all."""

    def __init__(self, mock: MockCVAT, *, workers: int = 2) -> None:
        self.mock = mock
        self.workers = workers
        self._cond = threading.Condition()
        self._state = _State()
        self._threads: list[threading.Thread] = []
        self._generation = 0
        self._closed = False
        self._last_sweep = 0.0
        self.polled = PolledJobs(self)
        mock.db.peers.listen(self._on_peer_message)

    @property
    def _me(self) -> int:
        return self.mock.db.peers.key

    # --- controls for test authors ---------------------------------------------------------
    def _controls(self, db: Session, *, lock: bool = False) -> dict[str, Any]:
        query = select(ServerSetting).where(ServerSetting.name == CONTROLS)
        row = db.execute(query.with_for_update() if lock else query).scalar_one_or_none()
        if row is None:
            return {"mode": self.mock.settings.background_mode, "hold": 0, "faults": []}
        return dict(json.loads(row.value))

    def _change_controls(self, change: Callable[[dict[str, Any]], None]) -> None:
        with self.mock.db.session() as db:
            controls = self._controls(db, lock=True)
            change(controls)
            _save_controls(db, controls)

    @property
    def mode(self) -> str:
        with self.mock.db.session() as db:
            return str(self._controls(db)["mode"])

    def set_mode(self, mode: str) -> None:
        if mode not in ("thread", "immediate"):
            raise ValueError(f"mode must be 'thread' or 'immediate', not {mode!r}")
        self._change_controls(lambda controls: controls.update(mode=mode))
        if mode == "thread":
            with self._cond:
                self._ensure_workers()

    def hold_polls(self, n: int) -> None:
        """Each request submitted from now on answers its first ``n`` polls with ``queued``
        (the first poll) and ``started`` (the others), then shows its real state."""
        if n < 0:
            raise ValueError("hold_polls needs n >= 0")
        self._change_controls(lambda controls: controls.update(hold=int(n)))

    @property
    def held_polls(self) -> int:
        with self.mock.db.session() as db:
            return int(self._controls(db)["hold"])

    def fail_next(self, message: str, action: str | None = None,
                  target: str | None = None) -> None:
        """The next request matching ``action``/``target`` (None: any) fails with ``message``
        without running its work. Several calls queue up, first match first. An action or
        target no request has (``ACTIONS``, ``TARGETS``) is a ``ValueError``: it would never
        fire."""
        for name, value, known in (("action", action, ACTIONS), ("target", target, TARGETS)):
            if value is not None and value not in known:
                close = difflib.get_close_matches(str(value), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown {name} {value!r}{hint} (known: {', '.join(known)})")
        fault = {"message": str(message), "action": action, "target": target}
        self._change_controls(lambda controls: controls["faults"].append(fault))

    @property
    def pending_faults(self) -> list[dict[str, str | None]]:
        with self.mock.db.session() as db:
            return list(self._controls(db)["faults"])

    # --- submitting ------------------------------------------------------------------------
    def rq_id_for(self, work: Work) -> str:
        if work.rq_id is not None:
            return work.rq_id
        if work.action == "import" and work.subresource == "backup" and not work.target_uuid:
            work.target_uuid = str(uuid.uuid4())
        return render_rq_id(work, new_format=self.mock.compat.has(since=NEW_REQUEST_IDS))

    def submit(self, work: Work, *, session: Session | None = None) -> str:
        """Record the request and queue its work; returns the rq_id.

        Raises ``RequestConflict`` (a ``mockcvat.errors.Conflict``, 409, body
        ``conflict_message()``) while a request with the same id is queued or started, except
        for task creation, which CVAT does not guard (the new request replaces the old, whose
        work then writes nowhere); a finished or failed one is replaced, as CVAT does.
        Call it outside your own ``db.session()`` block, or pass that session: the request row
        then joins your transaction, and the work starts once it commits.
        """
        if (work.run is None) == (work.job is None):
            raise ValueError("a Work needs either run (a function) or job (a registered name)")
        rq_id = self.rq_id_for(work)
        if session is not None:
            pk, mode = self._record(session, rq_id, work)
            event.listen(session, "after_commit", lambda _s: self._queued(pk, work, mode),
                         once=True)
        else:
            with self.mock.db.session() as db:
                pk, mode = self._record(db, rq_id, work)
            self._queued(pk, work, mode)
        return rq_id

    def _queued(self, pk: int | None, work: Work, mode: str) -> None:
        """The request's row is committed: run it now (immediate) or let a worker claim it."""
        if pk is None:  # failed at once by fail_next
            return
        if mode == "immediate":
            started = self._claim_row(pk, work)
            if started is not None:
                self._run_started(started)
            return
        with self._cond:
            if work.job is None:
                self._state.local[pk] = work
            self._wake()

    def defer(self, run: Callable[[], None], *, label: str = "",
              session: Session | None = None) -> None:
        """Run ``run()`` off the request (deferred work, see the module docstring); with a
        ``session``, once it commits (nothing if it rolls back). Exceptions are logged. Only
        this process can run a function: use ``defer_job`` for work any process may run."""
        def start(_session: Any = None) -> None:
            with self._cond:
                item = _Deferred(run, label, self._generation)
                if not self._immediate():
                    self._state.deferred.append(item)
                    self._wake()
                    return
                self._state.deferring += 1
            self._run_deferred(item)

        if session is not None:
            event.listen(session, "after_commit", start, once=True)
        else:
            start()

    def defer_job(self, job_name: str, args: dict[str, Any], *, label: str = "",
                  key: str | None = None, session: Session | None = None) -> None:
        """Deferred work as a registered job (``fn(mock, **args)``): a row any process can
        claim, so it survives the process that queued it. ``key``: polled by that name
        (``PolledJobs``); its row then keeps the result."""
        def record(db: Session) -> int:
            if key is not None:
                db.execute(delete(DeferredWork).where(DeferredWork.key == key))
            row = DeferredWork(label=label or job_name, job=job_name, args=args, key=key)
            if self._immediate():  # run by the request that queued it
                row.claimed_by = self._me
            db.add(row)
            db.flush()
            if row.claimed_by is None:
                self.mock.db.peers.notify("queued", connection=db.connection())
            assert row.pk is not None
            return row.pk

        def start(pk: int) -> None:
            if self._immediate():
                claimed = self._claim_deferred(pk)
                if claimed is not None:
                    self._run_deferred_row(*claimed)
                return
            with self._cond:
                self._wake()

        if session is not None:
            pk = record(session)
            event.listen(session, "after_commit", lambda _s: start(pk), once=True)
        else:
            with self.mock.db.session() as db:
                pk = record(db)
            start(pk)

    def _immediate(self) -> bool:
        return self.mode == "immediate"

    def _wake(self) -> None:
        """Under ``_cond``: a worker should look for work."""
        self._state.signals += 1
        self._ensure_workers()
        self._cond.notify_all()

    def _run_deferred(self, item: _Deferred) -> None:
        """Counted in ``deferring`` by the caller."""
        try:
            if item.generation == self._generation:
                item.run()
        except Exception:
            log.exception("deferred work %s failed", item.label)
        finally:
            with self._cond:
                self._state.deferring -= 1
                self._cond.notify_all()

    def _record(self, db: Session, rq_id: str, work: Work) -> tuple[int | None, str]:
        """The request's row, in ``db``'s transaction; (its pk, or None if ``fail_next``
        failed it at once; the mode it runs in)."""
        controls = self._controls(db, lock=True)
        immediate = controls["mode"] == "immediate"
        fault = next((f for f in controls["faults"] if _Fault(**f).matches(work)), None)
        existing = db.execute(
            select(BackgroundRequest).where(BackgroundRequest.rq_id == rq_id)
        ).scalar_one_or_none()
        if existing is not None:
            if existing.status in ACTIVE and existing.expiry_date is None:
                message = work.conflict_message or conflict_message(work.action, existing.status)
                if message is not None:
                    raise RequestConflict(message)
            db.delete(existing)
            db.flush()
        owner = db.get(User, work.owner_id)
        org = db.get(Organization, work.organization_id) if work.organization_id else None
        now = utcnow()
        row = BackgroundRequest(
            rq_id=rq_id, action=work.action, target=work.target, target_id=work.target_id,
            target_uuid=work.target_uuid, subresource=work.subresource,
            format=work.format if work.action == "export" else None,  # only exports name it
            lightweight=work.lightweight, function_id=work.function_id,
            project_id=work.project_id, task_id=work.task_id, job_id=work.job_id,
            owner_id=work.owner_id, owner_username=owner.username if owner else "",
            organization_id=work.organization_id, org_slug=org.slug if org else None,
            created_date=now, hold_left=int(controls["hold"]), job=work.job,
            args=None if work.job is None else {
                "args": work.args or {}, "ttls": list(self._ttls(work))},
            # a function runs where it is, and immediate work in the request that queued it:
            # this process owns the row from the start
            claimed_by=self._me if work.job is None or immediate else None,
        )
        if fault is not None:  # failed at once, as if the work had raised
            controls["faults"].remove(fault)
            _save_controls(db, controls)
            row.status, row.message = "failed", fault["message"]
            row.started_date = row.finished_date = now
            row.expiry_date = now + dt.timedelta(seconds=self._ttls(work)[1])
            row.claimed_by = None
        db.add(row)
        db.flush()
        assert row.pk is not None
        if row.claimed_by is None and fault is None:
            self.mock.db.peers.notify("queued", connection=db.connection())
        return (None if fault is not None else row.pk), str(controls["mode"])

    @staticmethod
    def _ttls(work: Work) -> tuple[float, float]:
        result_ttl, failure_ttl = DEFAULT_TTLS.get(
            work.action, (RQ_DEFAULT_RESULT_TTL, RQ_DEFAULT_FAILURE_TTL))
        return (work.result_ttl if work.result_ttl is not None else result_ttl,
                work.failure_ttl if work.failure_ttl is not None else failure_ttl)

    # --- claiming ----------------------------------------------------------------------------
    def _claim_row(self, pk: int, work: Work | None = None) -> _Started | None:
        """Claim one queued request row (None: gone, or claimed by someone else)."""
        return self._claim(select(BackgroundRequest).where(
            BackgroundRequest.pk == pk, BackgroundRequest.status == "queued"), work)

    def _claim_next(self) -> _Started | None:
        """The oldest queued request any process may run."""
        row = BackgroundRequest
        return self._claim(select(row).where(row.status == "queued", row.claimed_by.is_(None))
                           .order_by(row.pk).limit(1))

    def _claim(self, query: Any, work: Work | None = None) -> _Started | None:
        token, generation = str(uuid.uuid4()), self._generation
        with self.mock.db.session() as db:
            row = db.execute(query.with_for_update(skip_locked=True)).scalar_one_or_none()
            if row is None:
                return None
            row.status, row.started_date = "started", utcnow()
            row.claimed_by, row.claim = self._me, token
            db.add(row)
            pk, rq_id, action, job_name, args = row.pk, row.rq_id, row.action, row.job, row.args
        assert pk is not None
        claim = _Claim(pk, token, generation)
        if job_name is not None:
            fn, payload = _resolve(job_name), dict(args or {})
            ttls = tuple(payload.get("ttls") or DEFAULT_TTLS.get(
                action, (RQ_DEFAULT_RESULT_TTL, RQ_DEFAULT_FAILURE_TTL)))
            kwargs = payload.get("args") or {}
            return _Started(claim, rq_id, action,
                            lambda reporter: fn(self.mock, reporter, **kwargs),
                            (float(ttls[0]), float(ttls[1])))
        if work is None or work.run is None:
            return None
        return _Started(claim, rq_id, action, work.run, self._ttls(work))

    def _claim_deferred(self, pk: int | None = None) -> tuple[int, str, str, dict[str, Any],
                                                               str | None] | None:
        row_t = DeferredWork
        query = select(row_t).where(row_t.status == "queued")
        query = query.where(row_t.pk == pk) if pk is not None else query.where(
            row_t.claimed_by.is_(None)).order_by(row_t.pk)
        token = str(uuid.uuid4())
        with self.mock.db.session() as db:
            row = db.execute(query.limit(1).with_for_update(skip_locked=True)
                             ).scalar_one_or_none()
            if row is None:
                return None
            row.status, row.claimed_by, row.claim = "started", self._me, token
            db.add(row)
            assert row.pk is not None
            claimed = row.pk, token, row.job, dict(row.args or {}), row.key
        with self._cond:
            self._state.deferring += 1
        return claimed

    def _run_deferred_row(self, pk: int, token: str, job_name: str, args: dict[str, Any],
                          key: str | None) -> None:
        """Counted in ``deferring`` by ``_claim_deferred``."""
        status, result = "finished", None
        try:
            with compat.emulating(self.mock.compat):
                result = _resolve(job_name)(self.mock, **args)
        except Exception as exc:
            log.exception("deferred work %s failed", job_name)
            status, result = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            try:
                with self.mock.db.session() as db:
                    row = db.get(DeferredWork, pk)
                    if row is not None and row.claim == token:
                        if key is None:
                            db.delete(row)
                        else:
                            row.status, row.result = status, result
                            db.add(row)
            finally:
                with self._cond:
                    self._state.deferring -= 1
                    self._cond.notify_all()

    # --- running -----------------------------------------------------------------------------
    def _ensure_workers(self) -> None:
        """Under ``_cond``."""
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self.workers and not self._closed:
            thread = threading.Thread(target=self._worker, daemon=True,
                                      name=f"mockcvat-background-{len(self._threads)}")
            self._threads.append(thread)
            thread.start()

    def start_workers(self) -> None:
        """Start claiming work now (a server on a shared database runs its peers' work too)."""
        with self._cond:
            self._ensure_workers()

    def _worker(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                signals = self._state.signals
                deferred = self._state.deferred.popleft() if self._state.deferred else None
                if deferred is not None:
                    self._state.deferring += 1
                local = None if deferred else next(iter(self._state.local.items()), None)
                if local is not None:
                    del self._state.local[local[0]]
            try:
                if deferred is not None:
                    self._run_deferred(deferred)
                    continue
                if local is not None:
                    started = self._claim_row(local[0], local[1])
                    if started is not None:
                        self._run_started(started)
                    continue
                self._sweep_if_due()
                claimed = self._claim_deferred()
                if claimed is not None:
                    self._run_deferred_row(*claimed)
                    continue
                started = self._claim_next()
                if started is not None:
                    self._run_started(started)
                    continue
            except Exception:  # the engine's own failure (e.g. the database): keep serving
                log.exception("background worker")
                time.sleep(POLL_SECONDS)
            with self._cond:
                if self._closed:
                    return
                if self._state.signals == signals:
                    self._cond.wait(POLL_SECONDS)

    def _run_started(self, started: _Started) -> None:
        with self._cond:
            self._state.running.add(started.claim.pk)
        try:
            self._execute(started)
        except Exception:
            log.exception("background request %s could not be recorded", started.rq_id)
        finally:
            with self._cond:
                self._state.running.discard(started.claim.pk)
                self._cond.notify_all()

    def _execute(self, started: _Started) -> None:
        claim, rq_id = started.claim, started.rq_id
        result_ttl, failure_ttl = started.ttls
        began = time.perf_counter()
        log.info("background request %s started", rq_id,
                 extra={"rq_id": rq_id, "event": "started"})
        try:
            with compat.emulating(self.mock.compat):  # as the request that queued it
                result = started.run(Reporter(self, rq_id, claim))
        except _Abandoned:
            log.info("background request %s abandoned (cancelled or reset)", rq_id,
                     extra={"rq_id": rq_id, "event": "abandoned"})
            self._release(claim)
            return
        except RequestFailed as exc:
            status = "failed"
            self._finish(claim, status, str(exc), failure_ttl)
        except ValidationFailed as exc:  # a serializer's refusal, as CVAT's worker shows it
            status = "failed"
            message = f"rest_framework.exceptions.ValidationError: {exc.detail}\n"
            self._finish(claim, status, message, failure_ttl)
        except Exception as exc:  # CVAT's rq_exception_handler: format_exception_only
            log.exception("background request %s failed", rq_id)
            status = "failed"
            message = "".join(traceback.format_exception_only(type(exc), exc))
            self._finish(claim, status, message, failure_ttl)
        else:
            status = "finished"
            result = result or Result()
            self._finish(claim, status, "", result_ttl,
                         result_url=result.result_url, result_id=result.result_id)
        seconds = time.perf_counter() - began
        log.info("background request %s %s in %.3fs", rq_id, status, seconds,
                 extra={"rq_id": rq_id, "event": status, "duration_ms": round(seconds * 1000, 3)})

    def _finish(self, claim: _Claim, status: str, message: str, ttl: float,
                **values: Any) -> None:
        now = utcnow()
        self._update(claim, quiet=True, status=status, message=message,
                     finished_date=now, expiry_date=now + dt.timedelta(seconds=ttl), **values)

    def _release(self, claim: _Claim) -> None:
        """Abandoned work lets go of its row (a reset waits for every claim to end)."""
        with self.mock.db.session() as db:
            row = db.get(BackgroundRequest, claim.pk)
            if row is not None and row.claim == claim.token:
                row.claimed_by, row.claim = None, None
                db.add(row)

    def _update(self, claim: _Claim, *, quiet: bool = False, **values: Any) -> bool:
        """Write to the request's row; False (or ``_Abandoned``) if it is no longer ours."""
        if claim.generation == self._generation:
            with self.mock.db.session() as db:
                row = db.get(BackgroundRequest, claim.pk)
                if (row is not None and row.claim == claim.token
                        and claim.generation == self._generation):
                    for key, value in values.items():
                        setattr(row, key, value)
                    db.add(row)
                    return True
        if quiet:
            return False
        raise _Abandoned()

    # --- reading ------------------------------------------------------------------------------
    def _row(self, db: Session, rq_id: str) -> BackgroundRequest | None:
        return db.execute(
            select(BackgroundRequest).where(BackgroundRequest.rq_id == rq_id, not_expired())
        ).scalar_one_or_none()

    def get(self, rq_id: str, *, poll: bool = False) -> RequestView | None:
        """The request as the client sees it, or None (unknown or expired). ``poll=True``
        counts as one of the client's polls (``hold_polls``)."""
        with self.mock.db.session() as db:
            row = self._row(db, rq_id)
            return None if row is None else self._observe(db, row, poll)

    def latest(self, *, action: str, target: str, target_id: int,
               subresource: str | None = None, poll: bool = True) -> RequestView | None:
        """The newest request for an object (for the legacy ``GET /api/tasks/{id}/status``
        and friends, which count as polls unless ``poll=False``)."""
        row_t = BackgroundRequest
        conditions = [row_t.action == action, row_t.target == target,
                      row_t.target_id == target_id, not_expired()]
        if subresource is not None:
            conditions.append(row_t.subresource == subresource)
        with self.mock.db.session() as db:
            row = db.execute(
                select(row_t).where(*conditions).order_by(row_t.pk.desc()).limit(1)
            ).scalar_one_or_none()
            return None if row is None else self._observe(db, row, poll)

    @staticmethod
    def _observe(db: Session, row: BackgroundRequest, poll: bool) -> RequestView:
        if poll and row.hold_left > 0:
            row.hold_seen += 1
            view = view_of(row)
            row.hold_left -= 1
            db.add(row)
            return view
        return view_of(row)

    # --- cancelling ---------------------------------------------------------------------------
    def cancel(self, rq_id: str) -> bool:
        """Drop a request whose work has not started (its row goes, as CVAT deletes the job);
        False if it has started or ended already. Works from any process."""
        row = BackgroundRequest
        with self.mock.db.session() as db:
            pk = db.execute(select(row.pk).where(row.rq_id == rq_id, row.status == "queued")
                            .with_for_update(skip_locked=True)).scalar_one_or_none()
            if pk is None:
                return False
            db.execute(delete(row).where(row.pk == pk))
        with self._cond:
            self._state.local.pop(pk, None)
            self._cond.notify_all()
        return True

    # --- processes that died ---------------------------------------------------------------
    def recover(self, on_failed: Callable[[Session, list[RequestView]], None] | None = None
                ) -> list[RequestView]:
        """Work of processes that are gone: requests they had started (or only they could
        run) end as failed, as rq fails the jobs of a worker that died; deferred work they had
        started is handed back to the queue. Queued requests stay queued: any process runs
        them (Redis keeps CVAT's queue across restarts too). ``on_failed(db, requests)`` runs
        before the failures are committed (``MockCVAT.forget_files_of``). Returns the failed
        requests."""
        live = self.mock.db.peers.live()
        now = utcnow()
        row_t = BackgroundRequest
        with self.mock.db.session() as db:
            rows = db.execute(select(row_t).where(
                row_t.status.in_(ACTIVE), row_t.claimed_by.is_not(None),
                row_t.claimed_by.not_in(live)).with_for_update(skip_locked=True)
            ).scalars().all()
            for row in rows:
                row.status, row.message = "failed", INTERRUPTED
                row.started_date = row.started_date or now
                row.finished_date, row.hold_left = now, 0
                row.claimed_by = row.claim = None
                row.expiry_date = now + dt.timedelta(
                    seconds=DEFAULT_TTLS.get(row.action, (0, RQ_DEFAULT_FAILURE_TTL))[1])
                db.add(row)
            db.execute(update(DeferredWork).where(
                DeferredWork.status == "started", DeferredWork.claimed_by.not_in(live)
            ).values(status="queued", claimed_by=None, claim=None))
            failed = [view_of(row) for row in rows]
            if on_failed is not None and failed:
                on_failed(db, failed)
            return failed

    def _sweep_if_due(self) -> None:
        if not self.mock.db.shared:
            return
        now = time.monotonic()
        if now - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = now
        if self.recover(lambda db, failed: self.mock.forget_files_of(db, failed, alone=False)):
            log.warning("requests of a process that died ended as failed")

    # --- waiting, resetting ------------------------------------------------------------------
    def forget(self, rq_id: str) -> None:
        """Drop a request, whatever its state (CVAT deletes an export's job once its file has
        been downloaded, and a failed one once its error has been reported)."""
        with self.mock.db.session() as db:
            row = self._row(db, rq_id)
            if row is not None:
                db.delete(row)

    @staticmethod
    def forget_objects(db: Session, kind: str, ids: list[int]) -> None:
        """A deleted project's, task's or job's requests go with it (in the caller's
        transaction); work still running for them finds its request gone and stops."""
        if not ids:
            return
        row = BackgroundRequest
        column = {"project": row.project_id, "task": row.task_id, "job": row.job_id}[kind]
        db.execute(delete(row).where(or_(
            column.in_(ids), and_(row.target == kind, row.target_id.in_(ids)))))

    def _active_rows(self, *, requests: bool = True) -> list[str]:
        """What is queued or running in the database, by any process."""
        with self.mock.db.read() as connection:
            found = [f"deferred:{label}" for label in connection.execute(
                select(DeferredWork.label).where(DeferredWork.status.in_(ACTIVE))).scalars()]
            if requests:
                found += list(connection.execute(select(BackgroundRequest.rq_id).where(
                    BackgroundRequest.status.in_(ACTIVE))).scalars())
            return found

    def busy(self) -> bool:
        with self._cond:
            if not self._state.idle():
                return True
        return bool(self._active_rows())

    def _wait_until(self, done: Callable[[], bool], timeout: float, what: Callable[[], Any],
                    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if done():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{what()} still running after {timeout} s")
            with self._cond:
                self._cond.wait(min(remaining, 0.01))

    def wait_deferred(self, timeout: float = 30) -> None:
        """Until no deferred work (webhook deliveries, ...) is queued or running, in any
        process."""
        def done() -> bool:
            with self._cond:
                if self._state.deferred or self._state.deferring:
                    return False
            return not self._active_rows(requests=False)

        self._wait_until(done, timeout, lambda: ["deferred work", *self._active_rows(
            requests=False)])

    def wait(self, timeout: float = 30) -> None:
        """Until nothing is queued or running, in any process; ``TimeoutError`` after
        ``timeout`` seconds."""
        self._wait_until(lambda: not self.busy(), timeout,
                         lambda: f"background requests {self._active_rows()}")

    def reset(self, timeout: float = 30, *, forget: bool = True) -> None:
        """Defaults back; queued work dropped, running work waited for (in every process),
        requests forgotten (``forget=False``: the rows stay, for a caller about to restore
        the database)."""
        self._abandon_local()
        with self.mock.db.session() as db:
            db.execute(delete(ServerSetting).where(ServerSetting.name == CONTROLS))
            db.execute(delete(BackgroundRequest).where(BackgroundRequest.status == "queued"))
            db.execute(delete(DeferredWork).where(DeferredWork.status == "queued"))
            self.mock.db.peers.notify("reset", connection=db.connection())
        self.polled.states.clear()
        with self._cond:
            if not self._cond.wait_for(
                    lambda: not self._state.running and not self._state.deferring, timeout):
                log.warning("reset: background requests still running after %s s: %s",
                            timeout, sorted(self._state.running))
        if self.mock.db.shared:
            try:
                self._wait_until(self._peers_idle, timeout, lambda: "other processes' work")
            except TimeoutError:
                log.warning("reset: other processes' work still running after %s s", timeout)
        if forget:
            with self.mock.db.session() as db:
                db.execute(delete(BackgroundRequest))
                db.execute(delete(DeferredWork))

    def _peers_idle(self) -> bool:
        others = self.mock.db.peers.others()
        if not others:
            return True
        with self.mock.db.read() as connection:
            return not connection.execute(select(BackgroundRequest.pk).where(
                BackgroundRequest.status == "started",
                BackgroundRequest.claimed_by.in_(others)).limit(1)).first() and \
                not connection.execute(select(DeferredWork.pk).where(
                    DeferredWork.status == "started",
                    DeferredWork.claimed_by.in_(others)).limit(1)).first()

    def _abandon_local(self) -> None:
        """This process's queued work dropped; its running work stops at its next report."""
        with self._cond:
            self._generation += 1
            self._state.local.clear()
            self._state.deferred.clear()
            self._cond.notify_all()

    def _on_peer_message(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "queued":
            with self._cond:
                self._wake()
        elif message.get("kind") == "reset":
            self._abandon_local()
            self.polled.states.clear()

    def close(self, grace: float = 10) -> None:
        """Stop claiming; running requests get ``grace`` seconds to finish, then end as failed
        (their work is cut off); queued ones stay for the other processes (or the next start)."""
        with self._cond:
            self._closed = True
            self._state.local.clear()
            self._state.deferred.clear()
            self._cond.notify_all()
            finished = self._cond.wait_for(
                lambda: not self._state.running and not self._state.deferring, grace)
            self._generation += 1
        if not finished:
            log.warning("shutdown: background requests still running after %s s", grace)
        try:
            now = utcnow()
            with self.mock.db.session() as db:
                db.execute(update(BackgroundRequest).where(
                    BackgroundRequest.claimed_by == self._me,
                    BackgroundRequest.status.in_(ACTIVE)).values(
                    status="failed", message=INTERRUPTED, finished_date=now, hold_left=0,
                    claimed_by=None, claim=None,
                    expiry_date=now + dt.timedelta(seconds=RQ_DEFAULT_FAILURE_TTL)))
                db.execute(update(DeferredWork).where(
                    DeferredWork.claimed_by == self._me, DeferredWork.status == "started"
                ).values(status="queued", claimed_by=None, claim=None))
        except Exception:
            log.exception("shutdown: could not hand back the background work")


def _save_controls(db: Session, controls: dict[str, Any]) -> None:
    row = db.get(ServerSetting, CONTROLS) or ServerSetting(name=CONTROLS, value="")
    row.value = json.dumps(controls)
    db.add(row)


class PolledJobs:
    """Deferred work its client polls by a key of its own, which CVAT never lists in
    ``/api/requests`` (2.26's CSV event export, analytics report computation): a key is
    ``queued`` until its work returns, then ``finished`` with the work's value, or ``failed``
    with the error's text. Given as a registered job, the state is a row any process reads."""

    def __init__(self, background: Background) -> None:
        self.background = background
        self.states: dict[str, tuple[str, Any]] = {}  # keys of function work (this process)

    def start(self, key: str, run: Callable[[], Any] | None = None, *,
              job: str | None = None, args: dict[str, Any] | None = None) -> None:
        if job is not None:
            self.states.pop(key, None)
            self.background.defer_job(job, args or {}, label=key, key=key)
            return
        assert run is not None
        self.states[key] = ("queued", None)

        def work() -> None:
            try:
                self.states[key] = ("finished", run())
            except Exception as exc:  # reported to the next poll, as CVAT reports exc_info
                self.states[key] = ("failed", f"{type(exc).__name__}: {exc}")

        self.background.defer(work, label=key)

    def state(self, key: str) -> tuple[str, Any] | None:
        if key in self.states:
            return self.states[key]
        with self.background.mock.db.read() as connection:
            row = connection.execute(select(DeferredWork.status, DeferredWork.result).where(
                DeferredWork.key == key)).first()
        if row is None:
            return None
        status = "queued" if row[0] == "started" else row[0]
        return status, row[1]

    def drop(self, key: str) -> None:
        self.states.pop(key, None)
        with self.background.mock.db.session() as db:
            db.execute(delete(DeferredWork).where(DeferredWork.key == key,
                                                  DeferredWork.status.not_in(ACTIVE)))
