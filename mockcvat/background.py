"""The one background engine: long operations off the request thread, each recorded as a CVAT
"request" (what ``/api/requests`` lists and clients poll).

CVAT enqueues RQ jobs in Redis; rq workers run them and the job's id (the ``rq_id``) is what the
client polls. Here a ``Work`` is submitted to ``MockCVAT.background``; it gets CVAT's rq_id, a
row in ``mockcvat_request`` (``mockcvat.models.BackgroundRequest``), and runs on a small pool
of worker threads. The work function opens its own short ``mock.db.session()``s; the engine
never holds the database lock while work runs.

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
import logging
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, event, or_, select
from sqlmodel import Session

from mockcvat import compat
from mockcvat.errors import Conflict, ValidationFailed
from mockcvat.models import BackgroundRequest, Organization, User
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
INTERRUPTED = ("The server stopped before this request finished (mockcvat was restarted); "
               "its work was not done. Send the request again.\n")


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
    run: Callable[[Reporter], Result | None]
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

    def __init__(self, background: Background, rq_id: str, pk: int, generation: int) -> None:
        self._background = background
        self.rq_id = rq_id
        self._pk = pk
        self._generation = generation

    def progress(self, fraction: float, status: str | None = None) -> None:
        """Shown as the request's ``progress`` (and ``status`` as its ``message`` while it is
        started). Raises an internal exception to stop the work if the request was dropped."""
        value = min(1.0, max(0.0, float(fraction)))
        self._background._update(self._pk, self._generation, progress=value,
                                 **({"message": status} if status is not None else {}))

    def status(self, text: str) -> None:
        """CVAT's ``meta["status"]`` line, the request's ``message`` while it is started."""
        self._background._update(self._pk, self._generation, message=text)


@dataclass
class _Queued:
    rq_id: str
    pk: int  # the request's row: writes go there, so a replaced request writes nowhere
    work: Work
    generation: int


@dataclass
class _Deferred:
    run: Callable[[], None]
    label: str
    generation: int


@dataclass
class _State:
    queue: deque[str] = field(default_factory=deque)  # rq_ids, oldest first
    pending: dict[str, _Queued] = field(default_factory=dict)  # queued, not yet picked
    running: set[int] = field(default_factory=set)  # row pks
    deferred: deque[_Deferred] = field(default_factory=deque)  # deferred work, oldest first
    deferring: int = 0  # deferred work running now

    def idle(self) -> bool:
        return not (self.queue or self.running or self.deferred or self.deferring)


class Background:
    """One per ``MockCVAT`` (``mock.background``)."""

    def __init__(self, mock: MockCVAT, *, workers: int = 2) -> None:
        self.mock = mock
        self.workers = workers
        self.mode = mock.settings.background_mode
        self._hold = 0
        self._faults: list[_Fault] = []
        self._cond = threading.Condition()
        self._state = _State()
        self._threads: list[threading.Thread] = []
        self._generation = 0
        self._closed = False
        self.polled = PolledJobs(self)

    # --- controls for test authors ---------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in ("thread", "immediate"):
            raise ValueError(f"mode must be 'thread' or 'immediate', not {mode!r}")
        self.mode = mode

    def hold_polls(self, n: int) -> None:
        """Each request submitted from now on answers its first ``n`` polls with ``queued``
        (the first poll) and ``started`` (the others), then shows its real state."""
        if n < 0:
            raise ValueError("hold_polls needs n >= 0")
        self._hold = int(n)

    @property
    def held_polls(self) -> int:
        return self._hold

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
        self._faults.append(_Fault(str(message), action, target))

    @property
    def pending_faults(self) -> list[dict[str, str | None]]:
        return [{"message": f.message, "action": f.action, "target": f.target}
                for f in self._faults]

    # --- submitting ------------------------------------------------------------------------
    def rq_id_for(self, work: Work) -> str:
        if work.rq_id is not None:
            return work.rq_id
        if work.action == "import" and work.subresource == "backup" and not work.target_uuid:
            work.target_uuid = str(uuid.uuid4())
        return render_rq_id(work, new_format=self.mock.compat.has(since=NEW_REQUEST_IDS))

    def submit(self, work: Work, *, session: Session | None = None) -> str:
        """Record the request and start its work; returns the rq_id.

        Raises ``RequestConflict`` (a ``mockcvat.errors.Conflict``, 409, body
        ``conflict_message()``) while a request with the same id is queued or started, except
        for task creation, which CVAT does not guard (the new request replaces the old, whose
        work then writes nowhere); a finished or failed one is replaced, as CVAT does.
        Call it outside your own ``db.session()`` block, or pass that session: the request row
        then joins your transaction, and in immediate mode the work runs once it commits.
        """
        rq_id = self.rq_id_for(work)
        with self._cond:
            fault = next((f for f in self._faults if f.matches(work)), None)
            if fault is not None:
                self._faults.remove(fault)
        try:
            if session is not None:
                pk = self._record(session, rq_id, work, fault)
            else:
                with self.mock.db.session() as db:
                    pk = self._record(db, rq_id, work, fault)
        except Exception:
            if fault is not None:  # not used after all
                with self._cond:
                    self._faults.insert(0, fault)
            raise
        if fault is not None:
            return rq_id
        with self._cond:
            item = _Queued(rq_id, pk, work, self._generation)
            immediate = self.mode == "immediate"
            if not immediate:
                if rq_id not in self._state.pending:  # else: replaces the queued one
                    self._state.queue.append(rq_id)
                self._state.pending[rq_id] = item
                self._ensure_workers()
                self._cond.notify()
        if immediate:
            if session is not None:
                event.listen(session, "after_commit", lambda _s: self._run_inline(item),
                             once=True)
            else:
                self._run_inline(item)
        return rq_id

    def defer(self, run: Callable[[], None], *, label: str = "",
              session: Session | None = None) -> None:
        """Run ``run()`` off the request (deferred work, see the module docstring); with a
        ``session``, once it commits (nothing if it rolls back). Exceptions are logged."""
        def start(_session: Any = None) -> None:
            with self._cond:
                item = _Deferred(run, label, self._generation)
                if self.mode != "immediate":
                    self._state.deferred.append(item)
                    self._ensure_workers()
                    self._cond.notify()
                    return
                self._state.deferring += 1
            self._run_deferred(item)

        if session is not None:
            event.listen(session, "after_commit", start, once=True)
        else:
            start()

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

    def _run_inline(self, item: _Queued) -> None:
        with self._cond:
            self._state.running.add(item.pk)
        try:
            self._execute(item)
        finally:
            with self._cond:
                self._state.running.discard(item.pk)
                self._cond.notify_all()

    def _record(self, db: Session, rq_id: str, work: Work, fault: _Fault | None) -> int:
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
            created_date=now, hold_left=self._hold,
        )
        if fault is not None:  # failed at once, as if the work had raised
            row.status, row.message = "failed", fault.message
            row.started_date = row.finished_date = now
            row.expiry_date = now + dt.timedelta(seconds=self._ttls(work)[1])
        db.add(row)
        db.flush()
        assert row.pk is not None
        return row.pk

    @staticmethod
    def _ttls(work: Work) -> tuple[float, float]:
        result_ttl, failure_ttl = DEFAULT_TTLS.get(
            work.action, (RQ_DEFAULT_RESULT_TTL, RQ_DEFAULT_FAILURE_TTL))
        return (work.result_ttl if work.result_ttl is not None else result_ttl,
                work.failure_ttl if work.failure_ttl is not None else failure_ttl)

    # --- running -----------------------------------------------------------------------------
    def _ensure_workers(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self.workers and not self._closed:
            thread = threading.Thread(target=self._worker, daemon=True,
                                      name=f"mockcvat-background-{len(self._threads)}")
            self._threads.append(thread)
            thread.start()

    def _worker(self) -> None:
        while True:
            with self._cond:
                while not self._state.queue and not self._state.deferred and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                if self._state.deferred:
                    deferred = self._state.deferred.popleft()
                    self._state.deferring += 1
                else:
                    deferred = None
            if deferred is not None:
                self._run_deferred(deferred)
                continue
            with self._cond:
                if not self._state.queue:
                    continue
                item = self._state.pending.pop(self._state.queue.popleft(), None)
                if item is None:
                    continue
                self._state.running.add(item.pk)
            try:
                self._execute(item)
            except Exception:  # the engine's own failure (e.g. the database): keep serving
                log.exception("background request %s could not be recorded", item.rq_id)
            finally:
                with self._cond:
                    self._state.running.discard(item.pk)
                    self._cond.notify_all()

    def _execute(self, item: _Queued) -> None:
        pk, generation, work = item.pk, item.generation, item.work
        if not self._update(pk, generation, quiet=True, status="started",
                            started_date=utcnow()):
            return  # cancelled, replaced, or forgotten by a reset
        result_ttl, failure_ttl = self._ttls(work)
        started = time.perf_counter()
        log.info("background request %s started", item.rq_id,
                 extra={"rq_id": item.rq_id, "event": "started"})
        try:
            # the work sees the server's CVAT version, as the request that queued it did
            with compat.emulating(self.mock.compat):
                result = work.run(Reporter(self, item.rq_id, pk, generation))
        except _Abandoned:
            log.info("background request %s abandoned (cancelled or reset)", item.rq_id,
                     extra={"rq_id": item.rq_id, "event": "abandoned"})
            return
        except RequestFailed as exc:
            status = "failed"
            self._finish(pk, generation, status, str(exc), failure_ttl)
        except ValidationFailed as exc:  # a serializer's refusal, as CVAT's worker shows it
            status = "failed"
            message = f"rest_framework.exceptions.ValidationError: {exc.detail}\n"
            self._finish(pk, generation, status, message, failure_ttl)
        except Exception as exc:  # CVAT's rq_exception_handler: format_exception_only
            log.exception("background request %s failed", item.rq_id)
            status = "failed"
            message = "".join(traceback.format_exception_only(type(exc), exc))
            self._finish(pk, generation, status, message, failure_ttl)
        else:
            status = "finished"
            result = result or Result()
            self._finish(pk, generation, status, "", result_ttl,
                         result_url=result.result_url, result_id=result.result_id)
        seconds = time.perf_counter() - started
        log.info("background request %s %s in %.3fs", item.rq_id, status, seconds,
                 extra={"rq_id": item.rq_id, "event": status,
                        "duration_ms": round(seconds * 1000, 3)})

    def _finish(self, pk: int, generation: int, status: str, message: str, ttl: float,
                **values: Any) -> None:
        now = utcnow()
        self._update(pk, generation, quiet=True, status=status, message=message,
                     finished_date=now, expiry_date=now + dt.timedelta(seconds=ttl), **values)

    def _update(self, pk: int, generation: int, *, quiet: bool = False, **values: Any) -> bool:
        """Write to the request's row; False (or ``_Abandoned``) if it is gone."""
        if generation == self._generation:
            with self.mock.db.session() as db:
                row = db.get(BackgroundRequest, pk)
                if row is not None and generation == self._generation:
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
        False if it has started or ended already."""
        with self._cond:
            if self._state.pending.pop(rq_id, None) is None:
                return False
            self._state.queue.remove(rq_id)
            self._cond.notify_all()
        with self.mock.db.session() as db:
            db.execute(delete(BackgroundRequest).where(BackgroundRequest.rq_id == rq_id))
        return True

    # --- after a restart -----------------------------------------------------------------------
    def recover(self) -> int:
        """Requests an earlier process left queued or started: their work died with it, so they
        end as failed, as rq fails the jobs of a worker that died. Returns how many."""
        now = utcnow()
        with self.mock.db.session() as db:
            rows = db.execute(select(BackgroundRequest).where(
                BackgroundRequest.status.in_(ACTIVE))).scalars().all()
            for row in rows:
                row.status, row.message = "failed", INTERRUPTED
                row.started_date = row.started_date or now
                row.finished_date, row.hold_left = now, 0
                row.expiry_date = now + dt.timedelta(
                    seconds=DEFAULT_TTLS.get(row.action, (0, RQ_DEFAULT_FAILURE_TTL))[1])
                db.add(row)
            return len(rows)

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

    def busy(self) -> bool:
        with self._cond:
            return not self._state.idle()

    def wait_deferred(self, timeout: float = 30) -> None:
        """Until no deferred work (webhook deliveries, ...) is queued or running."""
        with self._cond:
            if not self._cond.wait_for(
                    lambda: not self._state.deferred and not self._state.deferring, timeout):
                raise TimeoutError(f"deferred work still running after {timeout} s: "
                                   f"{[d.label for d in self._state.deferred]}")

    def wait(self, timeout: float = 30) -> None:
        """Until nothing is queued or running; ``TimeoutError`` after ``timeout`` seconds."""
        with self._cond:
            if not self._cond.wait_for(self._state.idle, timeout):
                raise TimeoutError(
                    f"background requests still running after {timeout} s: "
                    f"{sorted(self._state.running) + list(self._state.queue)}")

    def reset(self, timeout: float = 30, *, forget: bool = True) -> None:
        """Defaults back; queued work dropped, running work waited for, requests forgotten
        (``forget=False``: the rows stay, for a caller about to restore the database)."""
        with self._cond:
            self._generation += 1
            self._state.queue.clear()
            self._state.pending.clear()
            self._state.deferred.clear()
            self.mode, self._hold, self._faults = self.mock.settings.background_mode, 0, []
            self.polled.states.clear()
            if not self._cond.wait_for(
                    lambda: not self._state.running and not self._state.deferring, timeout):
                log.warning("reset: background requests still running after %s s: %s",
                            timeout, sorted(self._state.running))
        if forget:
            with self.mock.db.session() as db:
                db.execute(delete(BackgroundRequest))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._generation += 1
            self._state.queue.clear()
            self._state.pending.clear()
            self._state.deferred.clear()
            self._cond.notify_all()


class PolledJobs:
    """Deferred work its client polls by a key of its own, which CVAT never lists in
    ``/api/requests`` (2.26's CSV event export, analytics report computation): a key is
    ``queued`` until its work returns, then ``finished`` with the work's value, or ``failed``
    with the error's text."""

    def __init__(self, background: Background) -> None:
        self.background = background
        self.states: dict[str, tuple[str, Any]] = {}

    def start(self, key: str, run: Callable[[], Any]) -> None:
        self.states[key] = ("queued", None)

        def work() -> None:
            try:
                self.states[key] = ("finished", run())
            except Exception as exc:  # reported to the next poll, as CVAT reports exc_info
                self.states[key] = ("failed", f"{type(exc).__name__}: {exc}")

        self.background.defer(work, label=key)

    def state(self, key: str) -> tuple[str, Any] | None:
        return self.states.get(key)

    def drop(self, key: str) -> None:
        self.states.pop(key, None)
