"""All tables, imported in one place so Alembic and the app see the same metadata."""

from .admin import AdminSession, AdminSignIn, AdminUser
from .base import Base, utcnow
from .classview import ReflectionMark, RosterMember
from .deeplinking import DeepLinkResponse, SandboxLink
from .governance import AuditEvent
from .grades import DeliveryStatus, GradeDelivery, LineItemLink, ServiceToken
from .invite import RegistrationInvite
from .learning import Attempt, AttemptElementScore, AttemptStatus, CourseElementTotal
from .lti import Context, Launch, LaunchFailure, LtiUser, Membership, ResourceLink
from .platform import Deployment, DeploymentStatus, Registration
from .sandbox_grades import SandboxLineItem, SandboxScore
from .state import LoginState, PlatformKeySet

__all__ = [
    "AdminSession",
    "AdminSignIn",
    "AdminUser",
    "Attempt",
    "AttemptElementScore",
    "CourseElementTotal",
    "AuditEvent",
    "AttemptStatus",
    "Base",
    "Context",
    "DeepLinkResponse",
    "DeliveryStatus",
    "Deployment",
    "DeploymentStatus",
    "GradeDelivery",
    "Launch",
    "LaunchFailure",
    "LineItemLink",
    "LoginState",
    "LtiUser",
    "Membership",
    "PlatformKeySet",
    "Registration",
    "ReflectionMark",
    "RegistrationInvite",
    "ResourceLink",
    "RosterMember",
    "SandboxLineItem",
    "SandboxLink",
    "SandboxScore",
    "ServiceToken",
    "utcnow",
]
