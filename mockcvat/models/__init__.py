"""SQLModel tables. Table and column names follow CVAT's Django models where they exist."""

from mockcvat.models.auth import AccessToken, AuthToken, OutboxMessage, Session
from mockcvat.models.organizations import Invitation, Membership, Organization
from mockcvat.models.users import User, UserGroup

__all__ = [
    "AccessToken",
    "AuthToken",
    "Invitation",
    "Membership",
    "Organization",
    "OutboxMessage",
    "Session",
    "User",
    "UserGroup",
]
