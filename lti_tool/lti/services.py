"""Turn a validated launch into users, courses, memberships, links and a launch record."""

from __future__ import annotations

import logging
import secrets

from sqlalchemy.orm import Session

from ..governance.minimise import minimal_claims
from ..models import (
    Context,
    Deployment,
    Launch,
    LaunchFailure,
    LtiUser,
    Membership,
    ResourceLink,
)
from ..models.base import utcnow
from ..sqltools import get_or_insert
from .constants import Claim, full_role_uri
from .errors import LtiError

log = logging.getLogger(__name__)


def record_launch(session: Session, deployment: Deployment, claims: dict) -> Launch:
    """Upsert what the launch tells us and return the new launch row (flushed, not committed)."""
    user = _upsert_user(session, deployment.registration_id, claims)
    roles = [full_role_uri(r) for r in claims.get(Claim.ROLES.value, []) if isinstance(r, str)]
    context = _upsert_context(session, deployment, claims)
    session.flush()  # ids for the lookups below
    link = None
    if context is not None:
        _upsert_membership(session, context, user, roles)
        link = _upsert_resource_link(session, context, claims)
    launch = Launch(id=secrets.token_urlsafe(24), deployment_id=deployment.id, user=user,
                    context=context, resource_link=link,
                    message_type=claims[Claim.MESSAGE_TYPE.value], roles=roles,
                    claims=minimal_claims(claims))
    session.add(launch)
    session.flush()
    return launch


def clean_text(value: object, limit: int) -> str | None:
    """A string fit for any database column: NUL removed (PostgreSQL refuses it), cut to size."""
    if value is None:
        return None
    return str(value).replace("\x00", "")[:limit] or None


def record_failure(session: Session, error: LtiError) -> None:
    """Keep a refused launch for the admin console and log its technical reason."""
    log.warning("LTI launch refused: code=%s issuer=%r client_id=%r deployment=%r reason=%s",
                error.code, error.issuer, error.client_id, error.deployment_id, error.reason)
    session.add(LaunchFailure(code=error.code, reason=clean_text(error.reason, 2000) or "",
                              issuer=clean_text(error.issuer, 500),
                              client_id=clean_text(error.client_id, 500),
                              deployment_id=clean_text(error.deployment_id, 500)))


def _upsert_user(session: Session, registration_id: int, claims: dict) -> LtiUser:
    """The user by registration and sub; names and email only overwrite when sent."""
    sub = clean_text(claims["sub"], 255) or ""
    user = get_or_insert(session, LtiUser, registration_id=registration_id, sub=sub)
    for field in ("name", "given_name", "family_name", "email"):
        value = claims.get(field)
        if isinstance(value, str) and value:
            setattr(user, field, clean_text(value, 255 if field != "email" else 320))
    user.last_launch_at = utcnow()
    return user


def _upsert_context(session: Session, deployment: Deployment, claims: dict) -> Context | None:
    """The course the launch came from, if the platform named one."""
    data = claims.get(Claim.CONTEXT.value)
    if not isinstance(data, dict) or not data.get("id"):
        return None
    context_id = clean_text(data["id"], 255) or ""
    context = get_or_insert(session, Context, deployment_id=deployment.id, context_id=context_id)
    context.label = clean_text(data.get("label"), 255) or context.label
    context.title = clean_text(data.get("title"), 500) or context.title
    context.types = list(data.get("type") or context.types or [])
    nrps = claims.get(Claim.NRPS.value)
    if isinstance(nrps, dict) and nrps.get("context_memberships_url"):
        context.nrps_url = nrps["context_memberships_url"]
        context.nrps_versions = list(nrps.get("service_versions") or [])
    return context


def _upsert_membership(session: Session, context: Context, user: LtiUser,
                       roles: list[str]) -> Membership:
    """The user's roles in the course as of this launch."""
    membership = get_or_insert(session, Membership, context_id=context.id, user_id=user.id)
    membership.roles = roles
    membership.updated_at = utcnow()
    return membership


def _upsert_resource_link(session: Session, context: Context, claims: dict) -> ResourceLink | None:
    """The link that was clicked, with the grade service endpoints the platform offered."""
    data = claims.get(Claim.RESOURCE_LINK.value)
    if not isinstance(data, dict) or not data.get("id"):
        return None
    link_id = clean_text(data["id"], 255) or ""
    link = get_or_insert(session, ResourceLink, context_id=context.id, resource_link_id=link_id)
    link.title = clean_text(data.get("title"), 500) or link.title
    link.description = clean_text(data.get("description"), 10000) or link.description
    custom = claims.get(Claim.CUSTOM.value)
    link.custom = dict(custom) if isinstance(custom, dict) else {}
    ags = claims.get(Claim.AGS_ENDPOINT.value)
    if isinstance(ags, dict):
        link.ags_lineitems_url = ags.get("lineitems") or link.ags_lineitems_url
        link.ags_lineitem_url = ags.get("lineitem") or link.ags_lineitem_url
        link.ags_scopes = list(ags.get("scope") or [])
    return link
