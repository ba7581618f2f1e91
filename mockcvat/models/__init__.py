"""SQLModel tables. Table and column names follow CVAT's Django models where they exist."""

from mockcvat.models.annotations import (
    LabeledImage,
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
from mockcvat.models.quality import (
    AnnotationConflict,
    ConsensusSettings,
    QualityReport,
    QualityRequirement,
    QualitySettings,
)
from mockcvat.models.requests import BackgroundRequest, LambdaCall
from mockcvat.models.users import User, UserGroup

__all__ = [
    "LabeledImage",
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
    "LambdaCall",
    "AnnotationConflict",
    "ConsensusSettings",
    "QualityReport",
    "QualityRequirement",
    "QualitySettings",
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
