"""The one stream of domain events: every state change, announced once by the service making it.

CVAT hangs its consumers on Django signals (``post_save``/``pre_delete`` in
``cvat/apps/webhooks/signals.py`` and ``cvat/apps/events/signals.py``); mockcvat's services call
``mock.events.emit(ctx, db, scope, obj, ...)`` instead, one line per change:

    ctx.mock.events.emit(ctx, db, "create:issue", payload, org_id=..., project_id=...,
                         task_id=..., job_id=..., obj_name=None)

* ``scope`` is CVAT's ``<action>:<resource>`` (``create:task``, ``update:job``, ...);
* ``obj`` is the object's read shape, exactly what the API answers for it (absolute URLs
  included: they are built by the service from the request, ``ctx.absolute``, so a webhook
  receiver sees the host the client used, as CVAT's serializers do with the current request);
* for updates, ``before`` is the read shape before the change: the stream computes the changed
  fields (``DomainEvent.changes``) and emits nothing when there are none;
* the actor (the caller, or ``actor=`` for changes nobody is logged in for), the org and the
  project/task/job ids.

The event is handed to the subscribers inside the caller's transaction (``db``): the event log
writes its rows there (so a rolled-back change leaves no event), and webhook delivery picks its
webhooks there and queues the deliveries to run once the transaction commits, as CVAT does with
``transaction.on_commit``. Subscribers: ``services.event_log`` and ``services.webhooks``;
later ones (cache invalidation) subscribe the same way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockcvat.models import Organization
from mockcvat.models.users import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

# what a webhook's ``before_update`` leaves out (CVAT's payload examples never list it, though
# every save touches it)
NOT_A_CHANGE = ("updated_date",)


@dataclass(frozen=True)
class Actor:
    """Who caused a change: the event log's user columns and a webhook's ``sender``."""

    user_id: int | None
    username: str | None
    email: str | None
    sender: dict[str, Any] | None  # BasicUser, with the absolute URL of the request's host
    request_id: str  # one per API request (CVAT's ``request.uuid``)


@dataclass
class DomainEvent:
    scope: str  # <action>:<resource>
    obj: dict[str, Any] | None  # the read shape (None: no single object, e.g. annotations)
    actor: Actor
    obj_id: int | None = None
    obj_name: str | None = None
    before: dict[str, Any] | None = None  # updates: the read shape before
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field: (old, new)
    org_id: int | None = None
    org_slug: str | None = None
    project_id: int | None = None
    task_id: int | None = None
    job_id: int | None = None
    count: int | None = None  # annotations: how many objects
    details: dict[str, Any] = field(default_factory=dict)  # extra, scope-specific data
    timestamp: dt.datetime = field(default_factory=utcnow)

    @property
    def action(self) -> str:
        return self.scope.split(":", 1)[0]

    @property
    def resource(self) -> str:
        return self.scope.split(":", 1)[1]

    @property
    def before_update(self) -> dict[str, Any]:
        """The changed fields' previous values (a webhook's ``before_update``)."""
        return {name: old for name, (old, _) in self.changes.items()
                if name not in NOT_A_CHANGE}


Subscriber = Callable[["Session", DomainEvent], None]


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose value differs, with (old, new) (CVAT's ``get_instance_diff``)."""
    return {name: (before.get(name), value) for name, value in after.items()
            if before.get(name) != value}


class EventStream:
    """One per ``MockCVAT`` (``mock.events``)."""

    def __init__(self, mock: MockCVAT) -> None:
        self.mock = mock
        self.subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def actor(self, ctx: Context | None, user: Any = None) -> Actor:
        """The caller of ``ctx`` (or ``user``, for changes made while nobody is logged in)."""
        from mockcvat.schemas.users import BasicUser

        if user is None and ctx is not None and ctx.identity is not None:
            user = ctx.identity.user
        request_id = _request_id(ctx)
        if user is None:
            return Actor(None, None, None, None, request_id)
        sender = BasicUser.dump({
            "url": ctx.absolute(f"/api/users/{user.id}") if ctx is not None else None,
            "id": user.id, "username": user.username, "first_name": user.first_name,
            "last_name": user.last_name})
        return Actor(user.id, user.username, user.email or None, sender, request_id)

    def emit(self, ctx: Context | None, db: Session, scope: str, obj: dict[str, Any] | None,
             *, before: Mapping[str, Any] | None = None, user: Any = None,
             obj_id: int | None = None, obj_name: str | None = None,
             org_id: int | None = None, project_id: int | None = None,
             task_id: int | None = None, job_id: int | None = None, count: int | None = None,
             details: dict[str, Any] | None = None) -> DomainEvent | None:
        """Announce one change inside ``db``'s transaction; None if an update changed nothing.

        ``obj_id`` defaults to ``obj["id"]``; ``org_id`` to ``obj["organization"]``."""
        changes: dict[str, tuple[Any, Any]] = {}
        if before is not None and obj is not None:
            changes = diff(before, obj)
            if not changes:
                return None
        if obj_id is None and obj is not None and isinstance(obj.get("id"), int):
            obj_id = obj["id"]
        if org_id is None and obj is not None and isinstance(obj.get("organization"), int):
            org_id = obj["organization"]
        org = db.get(Organization, org_id) if org_id is not None else None
        event = DomainEvent(
            scope=scope, obj=obj, actor=self.actor(ctx, user), obj_id=obj_id,
            obj_name=obj_name, before=dict(before) if before is not None else None,
            changes=changes, org_id=org_id, org_slug=org.slug if org else None,
            project_id=project_id, task_id=task_id, job_id=job_id, count=count,
            details=details or {})
        for subscriber in self.subscribers:
            subscriber(db, event)
        return event


def _request_id(ctx: Context | None) -> str:
    """One id per API request, kept on the request's state (CVAT's ``request.uuid``)."""
    if ctx is None:
        return str(uuid.uuid4())
    state = ctx.request.state
    if not hasattr(state, "mockcvat_request_id"):
        state.mockcvat_request_id = str(uuid.uuid4())
    return str(state.mockcvat_request_id)
