"""Operations on platform registrations and deployments; they flush, callers commit."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Deployment, DeploymentStatus, Registration
from .models.base import utcnow


class RegistrationError(ValueError):
    """A registration request that cannot be carried out, with a message saying why."""


# Column sizes of the registration and deployment tables: longer values are refused with a
# message rather than left for the database to reject (PostgreSQL would, SQLite would not).
MAX_NAME, MAX_ID, MAX_URL = 200, 500, 1000


def _check_text(name: str, value: str, limit: int) -> str:
    """A printable value of at most `limit` characters, or a RegistrationError naming the field."""
    if len(value) > limit:
        raise RegistrationError(f"{name} is too long: at most {limit} characters, please")
    if not value.isprintable():
        raise RegistrationError(f"{name} contains control characters (a stray tab or newline?)")
    return value


def _check_url(name: str, value: str) -> str:
    """An absolute http(s) URL, or a RegistrationError naming the field."""
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegistrationError(f"{name} must be an absolute http(s) URL, got {value!r}")
    return _check_text(name, value, MAX_URL)


def add_platform(session: Session, *, issuer: str, client_id: str, auth_login_url: str,
                 auth_token_url: str, key_set_url: str, auth_audience: str | None = None,
                 name: str | None = None, deployment_ids: tuple[str, ...] = (),
                 auto_approve: bool = False) -> Registration:
    """Register a platform's client id, with deployments approved from the start."""
    if not issuer or not client_id:
        raise RegistrationError("issuer and client id are both required")
    _check_text("issuer", issuer, MAX_ID)
    _check_text("client id", client_id, MAX_ID)
    _check_text("name", name or "", MAX_NAME)
    _check_text("auth audience", auth_audience or "", MAX_URL)
    existing = find_platform(session, issuer, client_id)
    if existing is not None:
        raise RegistrationError(
            f"issuer {issuer!r} with client id {client_id!r} is already registered "
            f"(registration {existing.id}); remove it first or add deployments to it")
    row = Registration(
        issuer=issuer, client_id=client_id, name=name or urlsplit(issuer).netloc or issuer,
        auth_login_url=_check_url("auth login URL", auth_login_url),
        auth_token_url=_check_url("auth token URL", auth_token_url),
        key_set_url=_check_url("key set URL", key_set_url),
        auth_audience=auth_audience or None, auto_approve_deployments=auto_approve)
    session.add(row)
    session.flush()
    for deployment_id in deployment_ids:
        add_deployment(session, row, deployment_id, approved=True)
    return row


def find_platform(session: Session, issuer: str, client_id: str) -> Registration | None:
    """The registration for an issuer and client id."""
    return session.scalar(select(Registration).where(Registration.issuer == issuer,
                                                     Registration.client_id == client_id))


def get_platform(session: Session, ref: str) -> Registration:
    """A registration by numeric id, or a RegistrationError."""
    row = session.get(Registration, int(ref)) if str(ref).isdigit() else None
    if row is None:
        raise RegistrationError(f"no registration {ref!r}; `lti-tool platform list` shows them")
    return row


def list_platforms(session: Session) -> list[Registration]:
    """Every registration, oldest first."""
    return list(session.scalars(select(Registration).order_by(Registration.id)))


def update_platform(session: Session, row: Registration, *, name: str | None = None,
                    issuer: str | None = None, client_id: str | None = None,
                    auth_login_url: str | None = None, auth_token_url: str | None = None,
                    key_set_url: str | None = None,
                    auth_audience: str | None = None, lti1p1_key: str | None = None,
                    lti1p1_secret: str | None = None) -> Registration:
    """Change a registration's details; None leaves a field as it is, "" clears the audience
    (and the LTI 1.1 key or secret)."""
    new_issuer = _check_text("issuer", issuer, MAX_ID) if issuer else row.issuer
    new_client = _check_text("client id", client_id, MAX_ID) if client_id else row.client_id
    if (new_issuer, new_client) != (row.issuer, row.client_id):
        existing = find_platform(session, new_issuer, new_client)
        if existing is not None:
            raise RegistrationError(
                f"issuer {new_issuer!r} with client id {new_client!r} is already registration "
                f"{existing.id}")
    if name is not None:
        row.name = _check_text("name", name, MAX_NAME) or row.name
    for field, label, value in (("auth_login_url", "auth login URL", auth_login_url),
                                ("auth_token_url", "auth token URL", auth_token_url),
                                ("key_set_url", "key set URL", key_set_url)):
        if value is not None:
            setattr(row, field, _check_url(label, value))
    if auth_audience is not None:
        row.auth_audience = _check_text("auth audience", auth_audience, MAX_URL) or None
    if lti1p1_key is not None:
        row.lti1p1_key = _check_text("LTI 1.1 key", lti1p1_key, 255) or None
    if lti1p1_secret is not None:
        row.lti1p1_secret = _check_text("LTI 1.1 secret", lti1p1_secret, 255) or None
    row.issuer, row.client_id = new_issuer, new_client
    session.flush()
    return row


def set_platform_enabled(session: Session, row: Registration, enabled: bool) -> Registration:
    """Let launches from a registration in (True) or refuse them all (False)."""
    row.enabled = enabled
    session.flush()
    return row


def set_auto_approve(session: Session, row: Registration, auto_approve: bool) -> Registration:
    """Whether new deployment ids under a registration are let in without an admin's approval."""
    row.auto_approve_deployments = auto_approve
    session.flush()
    return row


def remove_platform(session: Session, row: Registration) -> None:
    """Delete a registration with its deployments and everything launched through them."""
    session.delete(row)
    session.flush()


def add_deployment(session: Session, registration: Registration, deployment_id: str,
                   approved: bool = True, name: str | None = None) -> Deployment:
    """Add a deployment id under a registration."""
    if not deployment_id:
        raise RegistrationError("deployment id is required")
    _check_text("deployment id", deployment_id, MAX_ID)
    _check_text("deployment name", name or "", MAX_NAME)
    exists = session.scalar(select(Deployment).where(
        Deployment.registration_id == registration.id, Deployment.deployment_id == deployment_id))
    if exists is not None:
        raise RegistrationError(f"deployment {deployment_id!r} already exists under "
                                f"registration {registration.id} ({exists.status.value})")
    row = Deployment(registration_id=registration.id, deployment_id=deployment_id, name=name,
                     status=DeploymentStatus.APPROVED if approved else DeploymentStatus.PENDING,
                     approved_at=utcnow() if approved else None)
    session.add(row)
    session.flush()
    return row


def set_deployment_status(session: Session, registration: Registration, deployment_id: str,
                          status: DeploymentStatus) -> Deployment:
    """Approve or disable a deployment."""
    row = session.scalar(select(Deployment).where(
        Deployment.registration_id == registration.id, Deployment.deployment_id == deployment_id))
    if row is None:
        raise RegistrationError(f"no deployment {deployment_id!r} under registration "
                                f"{registration.id}")
    row.status = status
    if status == DeploymentStatus.APPROVED:
        row.approved_at = utcnow()
    session.flush()
    return row


def list_deployments(session: Session, status: DeploymentStatus | None = None) -> list[Deployment]:
    """Deployments, optionally only those with one status."""
    query = select(Deployment).order_by(Deployment.registration_id, Deployment.id)
    if status is not None:
        query = query.where(Deployment.status == status)
    return list(session.scalars(query))
