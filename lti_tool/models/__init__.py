"""All tables, imported in one place so Alembic and the app see the same metadata."""

from .base import Base, utcnow
from .learning import Attempt, AttemptStatus
from .invite import RegistrationInvite
from .lti import Context, Launch, LaunchFailure, LtiUser, Membership, ResourceLink
from .platform import Deployment, DeploymentStatus, Registration
from .state import LoginState, PlatformKeySet

__all__ = [
    "Attempt",
    "AttemptStatus",
    "Base",
    "Context",
    "Deployment",
    "DeploymentStatus",
    "Launch",
    "LaunchFailure",
    "LoginState",
    "LtiUser",
    "Membership",
    "PlatformKeySet",
    "Registration",
    "RegistrationInvite",
    "ResourceLink",
    "utcnow",
]
