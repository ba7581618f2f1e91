"""SQLModel tables. Table and column names follow CVAT's Django models where they exist."""

from mockcvat.models.analytics import AnalyticsReport
from mockcvat.models.annotations import (
    LabeledImage,
    LabeledInterval,
    LabeledShape,
    LabeledTrack,
    TrackedShape,
)
from mockcvat.models.auth import (
    AccessToken,
    AuthToken,
    Generation,
    OutboxMessage,
    ServerSetting,
    Session,
)
from mockcvat.models.engine import (
    AttributeSpec,
    CloudStorage,
    Data,
    Job,
    Label,
    Project,
    Segment,
    Storage,
    Task,
)
from mockcvat.models.growth import UserGrowthData
from mockcvat.models.organizations import Invitation, Membership, Organization
from mockcvat.models.quality import (
    AnnotationConflict,
    ConsensusSettings,
    QualityReport,
    QualityRequirement,
    QualitySettings,
)
from mockcvat.models.requests import BackgroundRequest, DeferredWork, LambdaCall
from mockcvat.models.review import AnnotationGuide, Asset, Comment, Issue
from mockcvat.models.users import User, UserGroup
from mockcvat.models.webhooks import EventRecord, Webhook, WebhookDelivery

__all__ = [
    "AnalyticsReport",
    "AnnotationGuide",
    "Asset",
    "Comment",
    "Issue",
    "UserGrowthData",
    "LabeledImage",
    "LabeledInterval",
    "LabeledShape",
    "LabeledTrack",
    "TrackedShape",
    "AttributeSpec",
    "CloudStorage",
    "Data",
    "Job",
    "Label",
    "Project",
    "Segment",
    "Task",
    "AccessToken",
    "AuthToken",
    "Generation",
    "BackgroundRequest",
    "LambdaCall",
    "AnnotationConflict",
    "ConsensusSettings",
    "QualityReport",
    "QualityRequirement",
    "QualitySettings",
    "DeferredWork",
    "Invitation",
    "Membership",
    "Organization",
    "OutboxMessage",
    "ServerSetting",
    "Session",
    "Storage",
    "User",
    "UserGroup",
    "EventRecord",
    "Webhook",
    "WebhookDelivery",
]
