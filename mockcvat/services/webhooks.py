"""Webhooks (``cvat/apps/webhooks``): CRUD, the subscriber that turns domain events into
deliveries, and the deliveries themselves (ping, redelivery, the delivery list).

Delivery follows CVAT: an event goes to every active webhook subscribed to it — org webhooks
for objects in the org, project webhooks for the project and everything under it, server
webhooks (newer releases) for users and organizations — as a POST from a background worker
(``Background.defer``; in ``immediate`` mode before the causing request answers). Each attempt
is stored as a delivery. CVAT's worker retries a 5xx/408/429 answer later (after 5 s, 5 min, 30
min, ...) from the release that added ``attempt``; mockcvat makes one attempt (``attempt`` 1)
and leaves the rest to redelivery, so a test never waits minutes for a retry.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from mockcvat import compat, iam, listing, outbound
from mockcvat.errors import NotFound, ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import Project, Webhook, WebhookDelivery
from mockcvat.models.users import utcnow
from mockcvat.schemas.webhooks import (
    REQUEST_EVENTS,
    EventsGrouped,
    EventsPlain,
    WebhookDeliveryRead,
    WebhookRead,
    WebhookWrite,
    events_of_type,
    webhook_types,
)
from mockcvat.services.organizations import username_of
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.events import DomainEvent
    from mockcvat.server import MockCVAT


LISTING = listing.Listing(
    fields={
        "id": FilterField("id", Webhook.id, "int"),
        "target_url": FilterField("target_url", Webhook.target_url),
        "owner": FilterField("owner", username_of(Webhook.owner_id), nullable=True),
        "type": FilterField("type", Webhook.type),
        "description": FilterField("description", Webhook.description),
        "project_id": FilterField("project_id", Webhook.project_id, "int", nullable=True),
        "updated_date": FilterField("updated_date", Webhook.updated_date, "datetime"),
    },
    filter_fields=("target_url", "owner", "type", "description", "id", "project_id",
                   "updated_date"),
    search_fields=("target_url", "owner", "type", "description"),
    ordering_fields=("target_url", "owner", "type", "description", "id", "project_id",
                     "updated_date"),
    simple_filters=("target_url", "owner", "type", "project_id"),
    simple_filter_choices={"type": listing.VersionedChoices(webhook_types)},
)
DELIVERIES = listing.Listing(
    fields={"id": FilterField("id", WebhookDelivery.id, "int"),
            "updated_date": FilterField("updated_date", WebhookDelivery.updated_date,
                                        "datetime")},
    filter_fields=(), default_ordering=("-updated_date",), org_scoped=False)


# --- representation -------------------------------------------------------------------------
def payloads(ctx: Context, db: Any, webhooks: Iterable[Any]) -> list[dict[str, Any]]:
    webhooks = list(webhooks)
    owners = basic_users(ctx, db, [w.owner_id for w in webhooks])
    last: dict[int, Any] = {}
    ids = [w.id for w in webhooks]
    if ids:  # CVAT's ``deliveries.last``: the highest id
        newest = (select(WebhookDelivery.webhook_id, func.max(WebhookDelivery.id))
                  .where(WebhookDelivery.webhook_id.in_(ids))
                  .group_by(WebhookDelivery.webhook_id).subquery())
        for row in db.execute(select(WebhookDelivery.webhook_id, WebhookDelivery.status_code,
                                     WebhookDelivery.updated_date)
                              .join(newest, WebhookDelivery.id == newest.c[1])):
            last[row.webhook_id] = row
    out = []
    for w in webhooks:
        payload: dict[str, Any] = {
            "id": w.id, "url": ctx.absolute(f"/api/webhooks/{w.id}"),
            "target_url": w.target_url, "description": w.description, "type": w.type,
            "content_type": w.content_type, "is_active": w.is_active,
            "enable_ssl": w.enable_ssl, "created_date": w.created_date,
            "updated_date": w.updated_date, "owner": owners.get(w.owner_id),
            "project_id": w.project_id, "organization": w.organization_id,
            "events": sorted(filter(None, w.events.split(","))),
        }
        if w.id in last:
            payload["last_status"] = last[w.id].status_code
            payload["last_delivery_date"] = last[w.id].updated_date
        out.append(WebhookRead.dump(payload))
    return out


def delivery_payload(delivery: WebhookDelivery) -> dict[str, Any]:
    return WebhookDeliveryRead.dump(delivery) or {}


# --- endpoints ----------------------------------------------------------------------------------
def list_webhooks(ctx: Context) -> dict[str, Any]:
    query = select(*Webhook.__table__.columns).where(iam.webhooks(ctx).visible())
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, LISTING, ctx.params, ctx.url, pk=Webhook.id)
        return page.body(payloads(ctx, connection, page.rows))


def _project_owner(db: Session, webhook: Webhook) -> int | None:
    if webhook.type != "project" or webhook.project_id is None:
        return None
    project = db.get(Project, webhook.project_id)
    return project.owner_id if project else None


def load(ctx: Context, db: Session, webhook_id: int, scope: str) -> Webhook:
    webhook = db.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound("No Webhook matches the given query.")
    iam.webhooks(ctx).check(scope, webhook, _project_owner(db, webhook))
    return webhook


def retrieve(ctx: Context, webhook_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return payloads(ctx, db, [load(ctx, db, webhook_id, "view")])[0]


def _named_project(ctx: Context, db: Session, raw: Any) -> Project | None:
    """The project a create names (``WebhookPermission.get_resource``): 400 if it does not
    exist, and the caller must see it (``ProjectPermission`` view, in the request's org)."""
    from mockcvat.services import resources

    project_id = raw.get("project_id") if isinstance(raw, Mapping) else None
    if project_id in (None, "") or isinstance(project_id, bool):
        return None
    try:
        pk = int(project_id)
    except (TypeError, ValueError):
        return None  # the serializer names the problem
    project = db.get(Project, pk) if 0 <= pk < 2**63 else None
    if project is None:
        raise ValidationFailed([f"Could not find project with provided id: {project_id}"])
    policy = iam.engine(ctx)
    policy.check(policy.allow_project("view", resources.standing_for_project(ctx, db, project)))
    return project


def _checked_events(data: dict[str, Any], webhook_type: str) -> None:
    """EventTypeValidator: the events must be the type's."""
    events = data.get("events")
    if events is None:
        return
    allowed = {key for key, _, _ in events_of_type(webhook_type) or ()}
    if not set(events) <= allowed:
        raise ValidationFailed({"non_field_errors": [
            f"Invalid events list for {webhook_type} webhook"]})


def create(ctx: Context, raw: Any) -> dict[str, Any]:
    organization = ctx.org.organization
    with ctx.mock.db.session() as db:
        project = _named_project(ctx, db, raw)
        webhook_type = raw.get("type") if isinstance(raw, Mapping) else None
        iam.webhooks(ctx).check_create(webhook_type, project.owner_id if project else None)
        data = WebhookWrite.validate(raw)
        _checked_events(data, data["type"])
        # CVAT's table constraint (webhooks_project_or_organization) fails with a 500
        if data["type"] == "project" and data.get("project_id") is None:
            raise ValidationFailed({"project_id": [
                "A project webhook needs a project_id (CVAT fails here with a 500)."]})
        if data["type"] == "organization":
            if data.get("project_id") is not None:
                raise ValidationFailed({"project_id": [
                    "An organization webhook takes no project_id (CVAT fails here with a "
                    "500)."]})
            if organization is None:
                raise ValidationFailed([
                    "An organization webhook needs an organization: pass X-Organization, org "
                    "or org_id (CVAT fails here with a 500)."])
        if data["type"] == "server" and (organization is not None
                                         or data.get("project_id") is not None):
            raise ValidationFailed([
                "A server webhook belongs to no organization or project (CVAT fails here "
                "with a 500)."])
        now = utcnow()
        webhook = Webhook(
            target_url=data["target_url"], description=data.get("description", ""),
            events=",".join(data["events"]), type=data["type"],
            content_type=data.get("content_type", "application/json"),
            secret=data.get("secret", ""), is_active=data.get("is_active", True),
            enable_ssl=data.get("enable_ssl", True), owner_id=ctx.user.id,
            project_id=project.id if project else None,
            organization_id=(project.organization_id if project
                             else organization.id if organization else None),
            created_date=now, updated_date=now)
        db.add(webhook)
        db.flush()
        return payloads(ctx, db, [webhook])[0]


def update(ctx: Context, webhook_id: int, raw: Any, *, partial: bool) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        webhook = load(ctx, db, webhook_id, "update")
        data = WebhookWrite.validate(raw, partial=True)  # type and project_id: write-once
        if not partial:  # PUT: the required fields of a full write (type is write-once)
            missing = {name: ["This field is required."] for name in ("target_url", "events")
                       if name not in data}
            if missing:
                raise ValidationFailed(missing)
        _checked_events(data, webhook.type)
        for key in ("target_url", "description", "content_type", "secret", "is_active",
                    "enable_ssl"):
            if key in data:
                setattr(webhook, key, data[key])
        if "events" in data:
            webhook.events = ",".join(data["events"])
        webhook.updated_date = utcnow()
        db.add(webhook)
        db.flush()
        return payloads(ctx, db, [webhook])[0]


def destroy(ctx: Context, webhook_id: int) -> None:
    with ctx.mock.db.session() as db:
        db.delete(load(ctx, db, webhook_id, "delete"))


def events(ctx: Context) -> dict[str, Any]:
    """``GET /api/webhooks/events?type=``: ``all`` by default; anything else is a bare-string
    400 (``Response("Incorrect value of type parameter", 400)``)."""
    from mockcvat.errors import BadRequestBody

    webhook_type = ctx.params.get("type", "all")
    chosen = events_of_type(webhook_type)
    if chosen is None:
        raise BadRequestBody("Incorrect value of type parameter")
    if ctx.mock.compat.has(since=REQUEST_EVENTS):
        return EventsGrouped.dump({"webhook_type": webhook_type, "events": [
            {"key": key, "group": {"display_name": group}} for key, _, group in chosen]}) or {}
    return EventsPlain.dump({"webhook_type": webhook_type,
                             "events": sorted(key for key, _, _ in chosen)}) or {}


def list_deliveries(ctx: Context, webhook_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        load(ctx, db, webhook_id, "view")
    query = select(*WebhookDelivery.__table__.columns).where(
        WebhookDelivery.webhook_id == webhook_id)
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, DELIVERIES, ctx.params, ctx.url,
                                pk=WebhookDelivery.id.desc())
        return page.body([WebhookDeliveryRead.dump(row._mapping) for row in page.rows])


def _delivery(db: Session, webhook_id: int, delivery_id: str) -> WebhookDelivery:
    """CVAT's ``WebhookDelivery.objects.get(...)`` raises DoesNotExist, a 404 in its handler."""
    found = db.execute(select(WebhookDelivery).where(
        WebhookDelivery.webhook_id == webhook_id,
        WebhookDelivery.id == int(delivery_id))).scalar_one_or_none() \
        if delivery_id.isdigit() and len(delivery_id) < 19 else None
    if found is None:
        raise NotFound("No WebhookDelivery matches the given query.")
    return found


def retrieve_delivery(ctx: Context, webhook_id: int, delivery_id: str) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        load(ctx, db, webhook_id, "view")
        return delivery_payload(_delivery(db, webhook_id, delivery_id))


def redeliver(ctx: Context, webhook_id: int, delivery_id: str) -> dict[str, Any]:
    """The stored request body goes out again (as a new delivery with ``redelivery``)."""
    with ctx.mock.db.session() as db:
        load(ctx, db, webhook_id, "update")
        request = _delivery(db, webhook_id, delivery_id).request
        ctx.mock.background.defer(
            lambda: deliver(ctx.mock, webhook_id, request, redelivery=True),
            label=f"redelivery to webhook {webhook_id}", session=db)
    return {}


def ping(ctx: Context, webhook_id: int) -> dict[str, Any]:
    """CVAT's ping: ``{"event": "ping", "webhook": <WebhookRead>, "sender": ...}``, sent
    synchronously, answered with the delivery (inactive webhooks are pinged too)."""
    with ctx.mock.db.session() as db:
        webhook = load(ctx, db, webhook_id, "update")
        payload = {"event": "ping", "webhook": payloads(ctx, db, [webhook])[0],
                   "sender": ctx.mock.events.actor(ctx).sender}
    delivery = deliver(ctx.mock, webhook_id, payload, only_active=False)
    if delivery is None:  # deleted meanwhile
        raise NotFound("No Webhook matches the given query.")
    return delivery


# --- delivery ------------------------------------------------------------------------------------
def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def deliver(mock: MockCVAT, webhook_id: int, payload: dict[str, Any], *,
            redelivery: bool = False, only_active: bool = True) -> dict[str, Any] | None:
    """One POST of ``payload`` to the webhook's target, recorded as a delivery (its read
    shape is returned); None when the webhook is gone or (events) inactive."""
    with mock.db.session() as db:
        webhook = db.get(Webhook, webhook_id)
        if webhook is None or (only_active and not webhook.is_active):
            return None
        target, secret, verify = webhook.target_url, webhook.secret, webhook.enable_ssl
    body = outbound.body_of(payload)
    newer = mock.compat.has(since=REQUEST_EVENTS)
    timeout = mock.settings.webhook_timeout
    outcome = outbound.post(
        target, body, outbound.headers_for(body, signature(secret, body) if secret else None),
        verify=verify,
        connect_timeout=timeout or (outbound.CONNECT_TIMEOUT if newer else outbound.READ_TIMEOUT),
        read_timeout=timeout or outbound.READ_TIMEOUT,
        ssrf_checks=mock.settings.webhook_ssrf_checks)
    with mock.db.session() as db:
        if db.get(Webhook, webhook_id) is None:
            return None
        now = utcnow()
        delivery = WebhookDelivery(
            webhook_id=webhook_id, event=str(payload.get("event", "")),
            status_code=outcome.status_code, redelivery=redelivery, attempt=1,
            request_duration=outcome.duration_ms,
            changed_fields=",".join(payload.get("before_update") or {}),
            request=payload, response=outcome.response, created_date=now, updated_date=now)
        db.add(delivery)
        db.flush()
        with compat.emulating(mock.compat):
            return delivery_payload(delivery)


def matching(db: Session, event: DomainEvent) -> list[Webhook]:
    """Active webhooks subscribed to the event (CVAT's ``select_webhooks``)."""
    def subscribed(query: Any) -> list[Webhook]:
        rows = db.execute(query.where(Webhook.is_active.is_(True))).scalars()
        return [w for w in rows if event.scope in w.events.split(",")]

    found: list[Webhook] = []
    if event.org_id is not None:
        found += subscribed(select(Webhook).where(Webhook.type == "organization",
                                                  Webhook.organization_id == event.org_id))
    if event.project_id is not None:
        found += subscribed(select(Webhook).where(Webhook.type == "project",
                                                  Webhook.project_id == event.project_id))
    if event.resource in ("user", "organization"):
        found += subscribed(select(Webhook).where(Webhook.type == "server"))
    return sorted(found, key=lambda w: w.id or 0)


def on_event(mock: MockCVAT, db: Session, event: DomainEvent) -> None:
    """The stream's subscriber: queue one delivery per matching webhook, sent once ``db``
    commits."""
    if event.obj is None:
        return
    for webhook in matching(db, event):
        payload: dict[str, Any] = {"event": event.scope, event.resource: event.obj}
        if event.action == "update":
            payload["before_update"] = event.before_update
        payload["webhook_id"] = webhook.id
        payload["sender"] = event.actor.sender
        webhook_id = webhook.id or 0
        mock.background.defer(
            lambda webhook_id=webhook_id, payload=payload: deliver(mock, webhook_id, payload),
            label=f"{event.scope} to webhook {webhook_id}", session=db)
