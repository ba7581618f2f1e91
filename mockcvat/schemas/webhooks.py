"""Serializers of webhooks (CVAT's ``cvat/apps/webhooks/serializers.py``) and the catalog of
webhook events per emulated version (``event_type.py``).

The event catalog changed three times; each step is dated by comparing the cvat-sdk packages
(generated from the server schema of the same release), see ``docs/versions.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    Field,
    IntegerField,
    JSONField,
    ListField,
    NestedField,
    Serializer,
    URLField,
)
from mockcvat.schemas.users import BasicUser

# First releases with a change to webhooks (each the first cvat-sdk package that shows it:
# tests/test_sdk_releases.py)
EXPORT_EVENTS = "2.65.0"  # create:export, create:backup
DELIVERY_ANY_JSON = "2.67.0"  # a delivery's request/response: any JSON value or null
DELIVERY_ATTEMPTS = "2.68.0"  # deliveries gain attempt and request_duration
REQUEST_EVENTS = "2.73.0"  # completed:request[...] replace them; delete:organization goes;
#                            GET /api/webhooks/events answers {key, group} objects
SERVER_WEBHOOKS = "2.76.0"  # type "server": user events, create/delete:organization; the
#                             events' webhook_type (and ?type=) may be "all" (AllWebhookType)

CRUD = ("create", "update", "delete")
# (resource, group display name, actions) in CVAT's order (event_type.py: Events)
ENTITIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("project", "Project", CRUD), ("task", "Task", CRUD), ("job", "Job", CRUD),
    ("issue", "Issue", CRUD), ("comment", "Comment", CRUD),
    ("organization", "Organization", ("update", "delete")),
    ("invitation", "Invitation", ("create", "delete")), ("membership", "Membership", CRUD),
)
# utils.py: REQUEST_COMPLETION_RESOURCES (the background requests a webhook hears about)
REQUEST_RESOURCES: tuple[tuple[str, str], ...] = (
    ("request[export:annotations]", "Dataset export"),
    ("request[export:dataset]", "Dataset export"),
    ("request[export:backup]", "Backup export"),
    ("request[create:task]", "Task data creation"),
    ("request[merge:job]", "Consensus merge"),
    ("request[merge:task]", "Consensus merge"),
    ("request[calculate:quality]", "Quality report creation"),
)
EXPORT_RESOURCES = (("export", "Export"), ("backup", "Backup"))
PROJECT_RESOURCES = ("task", "job", "issue", "comment")
ORG_RESOURCES = ("project", "task", "job", "issue", "comment", "invitation", "membership")


def catalog(c: compat.Compat | None = None) -> list[tuple[str, str, str]]:
    """Every webhook event of the version: (key, resource, group display name)."""
    c = c or compat.current()
    entities: list[tuple[str, str, tuple[str, ...]]] = list(ENTITIES)
    if c.has(since=SERVER_WEBHOOKS):
        entities.insert(0, ("user", "User", CRUD))
        entities[entities.index(("organization", "Organization", ("update", "delete")))] = (
            "organization", "Organization", CRUD)
    elif c.has(since=REQUEST_EVENTS):
        entities[entities.index(("organization", "Organization", ("update", "delete")))] = (
            "organization", "Organization", ("update",))
    out = [(f"{action}:{resource}", resource, group)
           for resource, group, actions in entities for action in actions]
    if c.has(since=REQUEST_EVENTS):
        out += [(f"completed:{resource}", resource, group)
                for resource, group in REQUEST_RESOURCES]
    elif c.has(since=EXPORT_EVENTS):
        out += [(f"create:{resource}", resource, group) for resource, group in EXPORT_RESOURCES]
    return out


def event_keys(c: compat.Compat | None = None) -> list[str]:
    return sorted(key for key, _, _ in catalog(c))


def webhook_types(c: compat.Compat | None = None) -> tuple[str, ...]:
    c = c or compat.current()
    return ("organization", "project", "server") if c.has(since=SERVER_WEBHOOKS) else (
        "organization", "project")


def events_of_type(webhook_type: str, c: compat.Compat | None = None
                   ) -> list[tuple[str, str, str]] | None:
    """The events a webhook of ``webhook_type`` (or ``all``) may subscribe to, in CVAT's order;
    None for an unknown type."""
    c = c or compat.current()
    every = catalog(c)
    requests = [e for e in every if e[1].startswith("request[")
                or (e[0].startswith("create:") and e[1] in ("export", "backup"))]
    if webhook_type == "all":
        return every
    if webhook_type == "project":
        keys = {"update:project", "delete:project"}
        return ([e for e in every if e[1] in PROJECT_RESOURCES] + requests
                + [e for e in every if e[0] in keys])
    if webhook_type == "organization":
        if not c.has(since=REQUEST_EVENTS):  # OrganizationEvents = AllEvents
            return every
        return ([e for e in every if e[1] in ORG_RESOURCES] + requests
                + [e for e in every if e[0] == "update:organization"])
    if webhook_type == "server" and "server" in webhook_types(c):
        keys = {"create:organization", "delete:organization"}
        return [e for e in every if e[1] == "user"] + [e for e in every if e[0] in keys]
    return None


def _upper_labels(values: Any) -> Any:
    """Choices computed per emulated version, labelled as CVAT's enum members (upper case)."""
    return lambda: [(value, value.upper()) for value in values()]


def events_enum(**kwargs: Any) -> ChoiceField:
    return ChoiceField(_upper_labels(event_keys), enum_name="EventsEnum", **kwargs)


def webhook_type_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField(_upper_labels(webhook_types), enum_name="WebhookType", **kwargs)


class MultipleChoiceField(ListField):
    """DRF's ``MultipleChoiceField``: a set of choices, its errors flat (not per item)."""

    def to_internal(self, value: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, Iterable) or isinstance(value, dict):
            raise ValidationFailed(
                [f'Expected a list of items but got type "{type(value).__name__}".'])
        out: list[str] = []
        for item in value:
            out.append(self.child.to_internal(item))
        return list(dict.fromkeys(out))


def content_type_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField([("application/json", "JSON")], enum_name="WebhookContentType", **kwargs)


class WebhookRead(Serializer):
    omit_missing = True  # last_status/last_delivery_date: absent until a first delivery
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "url": URLField(read_only=True),
        "target_url": URLField(read_only=True),
        "description": CharField(read_only=True),
        "type": webhook_type_field(),
        "content_type": content_type_field(),
        "is_active": BooleanField(read_only=True),
        "enable_ssl": BooleanField(read_only=True),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "owner": NestedField(BasicUser, read_only=True, allow_null=True),
        "project_id": IntegerField(required=False, allow_null=True),
        "organization": IntegerField(read_only=True, allow_null=True),
        "events": ListField(events_enum(), read_only=True),
        "last_status": IntegerField(read_only=True),
        "last_delivery_date": DateTimeField(read_only=True),
    }


class WebhookWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "target_url": URLField(max_length=8192),
        "description": CharField(max_length=128, allow_blank=True, required=False),
        "type": webhook_type_field(write_once=True),
        "content_type": content_type_field(required=False),
        "secret": CharField(max_length=64, allow_blank=True, required=False),
        "is_active": BooleanField(required=False),
        "enable_ssl": BooleanField(required=False),
        "project_id": IntegerField(write_only=True, allow_null=True, required=False,
                                   write_once=True),
        "events": MultipleChoiceField(events_enum(), write_only=True),
    }


def _delivery_json() -> compat.ByVersion[Any]:
    return compat.ByVersion(JSONField(read_only=True), (DELIVERY_ANY_JSON, JSONField(
        read_only=True, allow_null=True, any_value=True)))


class WebhookDeliveryRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "webhook_id": IntegerField(read_only=True),
        "event": CharField(read_only=True),
        "status_code": IntegerField(read_only=True, allow_null=True),
        "redelivery": BooleanField(read_only=True),
        "attempt": IntegerField(read_only=True, allow_null=True, since=DELIVERY_ATTEMPTS),
        "request_duration": IntegerField(read_only=True, allow_null=True,
                                         since=DELIVERY_ATTEMPTS),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "changed_fields": CharField(read_only=True),
        "request": _delivery_json(),
        "response": _delivery_json(),
    }


class EventGroup(Serializer):
    fields: ClassVar[dict[str, Field]] = {"display_name": CharField(read_only=True)}


class WebhooksEvent(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "key": CharField(read_only=True),
        "group": NestedField(EventGroup, read_only=True),
    }


class EventsPlain(Serializer):
    """``GET /api/webhooks/events`` up to 2.72: the event keys."""

    component = "Events"
    fields: ClassVar[dict[str, Field]] = {
        "webhook_type": webhook_type_field(),
        "events": ListField(events_enum()),
    }


class EventsGrouped(Serializer):
    """``GET /api/webhooks/events`` from 2.73: ``{key, group}`` objects; from 2.76 ``all`` is
    a value of the type's enum."""

    component = "Events"
    fields: ClassVar[dict[str, Field]] = {
        "webhook_type": compat.ByVersion(webhook_type_field(), (SERVER_WEBHOOKS, ChoiceField(
            _upper_labels(lambda: (*webhook_types(), "all")), enum_name="AllWebhookType"))),
        "events": ListField(NestedField(WebhooksEvent), read_only=True),
    }
