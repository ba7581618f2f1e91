"""SQLModel tables. Table and column names follow CVAT's Django models where they exist."""

from mockcvat.models.annotations import (
    LabeledImage,
    LabeledInterval,
    LabeledShape,
    LabeledTrack,
    TrackedShape,
)
from mockcvat.models.auth import AccessToken, AuthToken, OutboxMessage, ServerSetting, Session
from mockcvat.models.engine import (
    AttributeSpec,
    Data,
    Job,
    Label,
    Project,
    Segment,
    Storage,
    Task,
)
from mockcvat.models.organizations import Invitation, Membership, Organization
from mockcvat.models.requests import BackgroundRequest
from mockcvat.models.users import User, UserGroup

__all__ = [
    "LabeledImage",
    "LabeledInterval",
    "LabeledShape",
    "LabeledTrack",
    "TrackedShape",
    "AttributeSpec",
    "Data",
    "Job",
    "Label",
    "Project",
    "Segment",
    "Task",
    "AccessToken",
    "AuthToken",
    "BackgroundRequest",
    "Invitation",
    "Membership",
    "Organization",
    "OutboxMessage",
    "ServerSetting",
    "Session",
    "Storage",
    "User",
    "UserGroup",
]
