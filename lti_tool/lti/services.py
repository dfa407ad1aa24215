"""Turn a validated launch into users, courses, memberships, links and a launch record."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

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
from ..models.base import Base, utcnow
from ..sqltools import holds, prefixed, table_of, upsert
from .constants import Claim, full_role_uri
from .copies import inherit_copied_setup
from .errors import LtiError
from .floods import failure_worth_storing
from .lti1p1 import verified_user_id

log = logging.getLogger(__name__)
# Built once, values as parameters: a new .values() statement would need a new cache key.
_INSERT_LAUNCH = insert(table_of(Launch))


def record_launch(session: Session, deployment: Deployment, claims: dict[str, Any]) -> Launch:
    """Upsert what the launch tells us and return the new launch row (flushed, not committed).

    One INSERT ... ON CONFLICT DO UPDATE ... RETURNING for the user and the membership; the
    course and the link are read first (one SELECT for both) and written only when the launch
    tells something new, which after the course's first launch it seldom does. The launch's
    ``resource_link`` is a detached copy of what the link holds now (module and settings),
    enough to choose where the launch goes without another query.
    """
    legacy = None
    if claims.get(Claim.LTI1P1.value) is not None:  # the registration is in the session already
        legacy = verified_user_id(deployment.registration, claims)
    user_id = _upsert_user(session, deployment.registration_id, claims, legacy)
    roles = [full_role_uri(r) for r in claims.get(Claim.ROLES.value, []) if isinstance(r, str)]
    course = _context_values(deployment, claims)
    context_id, link = None, None
    if course is not None:
        link_values = _link_values(claims)
        known = session.connection().execute(_KNOWN_COURSE_AND_LINK, {
            **course[0], "link_id": link_values[0]["resource_link_id"] if link_values else ""
        }).first()
        context_id = known.c_id if known is not None and holds(known, "c_", *course[1:]) \
            else _upsert(session, Context, *course).id
        _upsert_membership(session, context_id, user_id, roles)
        if link_values is not None:
            key, always, sent = link_values
            row = known if known is not None and known.c_id == context_id and holds(
                known, "r_", always, sent) else None
            link = _resource_link(session, context_id, key["resource_link_id"], always, sent,
                                  row)
            # A copied course's new link takes its source's module (no SQL once set up).
            inherit_copied_setup(session, deployment.id, link)
    values = {"id": secrets.token_urlsafe(24), "deployment_id": deployment.id,
              "user_id": user_id, "context_id": context_id,
              "resource_link_id": link.id if link else None,
              "message_type": claims[Claim.MESSAGE_TYPE.value], "roles": roles,
              "claims": minimal_claims(claims), "created_at": utcnow()}
    # Core, not the unit of work: nothing else in this request changes the row.
    session.connection().execute(_INSERT_LAUNCH, values)
    launch = Launch(**values)  # transient: what the redirect needs, no lazy loads
    set_committed_value(launch, "resource_link", link)
    return launch


def _upsert(session: Session, model: type[Base], key: dict[str, Any], always: dict[str, Any],
            when_sent: dict[str, Any], *returning: str) -> Row[Any]:
    """One INSERT ... ON CONFLICT DO UPDATE ... RETURNING through the session's connection."""
    return upsert(session.connection(), table_of(model), key, always, when_sent,
                  returning or ("id",))


def clean_text(value: object, limit: int) -> str | None:
    """A string fit for any database column: NUL removed (PostgreSQL refuses it), cut to size."""
    if value is None:
        return None
    return str(value).replace("\x00", "")[:limit] or None


def record_failure(session: Session, error: LtiError) -> None:
    """Keep a refused launch for the admin console and log its technical reason."""
    log.warning("LTI launch refused: code=%s issuer=%r client_id=%r deployment=%r reason=%s",
                error.code, error.issuer, error.client_id, error.deployment_id, error.reason)
    if not failure_worth_storing(session, error.code, clean_text(error.issuer, 500)):
        return  # a flood: logged above, not stored (lti_tool.lti.floods)
    session.add(LaunchFailure(code=error.code, reason=clean_text(error.reason, 2000) or "",
                              issuer=clean_text(error.issuer, 500),
                              client_id=clean_text(error.client_id, 500),
                              deployment_id=clean_text(error.deployment_id, 500)))


def _upsert_user(session: Session, registration_id: int, claims: dict[str, Any],
                 lti1p1_user_id: str | None = None) -> int:
    """The user's id by registration and sub; names, email and the verified LTI 1.1 user_id
    only overwrite when sent."""
    sub = clean_text(claims["sub"], 255) or ""
    fields = {}
    for field in ("name", "given_name", "family_name", "email"):
        value = claims.get(field)
        fields[field] = clean_text(value, 255 if field != "email" else 320) \
            if isinstance(value, str) and value else None
    fields["lti1p1_user_id"] = clean_text(lti1p1_user_id, 255)
    user_id: int = _upsert(session, LtiUser, {"registration_id": registration_id, "sub": sub},
                           {"last_launch_at": utcnow()}, fields).id
    return user_id


Values = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]  # key, always, when sent


def _context_values(deployment: Deployment, claims: dict[str, Any]) -> Values | None:
    """The course the launch came from, as upsert values, if the platform named one."""
    data = claims.get(Claim.CONTEXT.value)
    if not isinstance(data, dict) or not data.get("id"):
        return None
    context_id = clean_text(data["id"], 255) or ""
    sent = {"label": clean_text(data.get("label"), 255),
            "title": clean_text(data.get("title"), 500),
            "types": list(data["type"]) if data.get("type") else None}
    nrps = claims.get(Claim.NRPS.value)
    if isinstance(nrps, dict) and nrps.get("context_memberships_url"):
        sent["nrps_url"] = nrps["context_memberships_url"]
        sent["nrps_versions"] = list(nrps.get("service_versions") or [])
    return {"deployment_id": deployment.id, "context_id": context_id}, {}, sent


def _upsert_membership(session: Session, context_id: int, user_id: int,
                       roles: list[str]) -> None:
    """The user's roles in the course as of this launch."""
    _upsert(session, Membership, {"context_id": context_id, "user_id": user_id},
            {"roles": roles, "updated_at": utcnow()}, {})


def _link_values(claims: dict[str, Any]) -> Values | None:
    """The link that was clicked, with the grade service endpoints the platform offered, as
    upsert values (without the course)."""
    data = claims.get(Claim.RESOURCE_LINK.value)
    if not isinstance(data, dict) or not data.get("id"):
        return None
    custom = claims.get(Claim.CUSTOM.value)
    always: dict[str, Any] = {"custom": dict(custom) if isinstance(custom, dict) else {}}
    sent: dict[str, Any] = {"title": clean_text(data.get("title"), 500),
                            "description": clean_text(data.get("description"), 10000)}
    ags = claims.get(Claim.AGS_ENDPOINT.value)
    if isinstance(ags, dict):
        sent["ags_lineitems_url"] = ags.get("lineitems") or None
        sent["ags_lineitem_url"] = ags.get("lineitem") or None
        always["ags_scopes"] = list(ags.get("scope") or [])
    return {"resource_link_id": clean_text(data["id"], 255) or ""}, always, sent


def _resource_link(session: Session, context_id: int, link_id: str, always: dict[str, Any],
                   sent: dict[str, Any], known: Row[Any] | None) -> ResourceLink:
    """A detached copy of the link's id, module and settings: as read, or as upserted."""
    if known is not None:
        row = {name: getattr(known, f"r_{name}") for name in _LINK_COPY}
    else:
        row = _upsert(session, ResourceLink, {"context_id": context_id,
                                              "resource_link_id": link_id},
                      always, sent, *_LINK_COPY)._asdict()
    return ResourceLink(context_id=context_id, resource_link_id=link_id,
                        **{**row, "settings": row["settings"] or {}, "custom": row["custom"] or {}})


_LINK_COPY = ("id", "title", "module_id", "settings", "custom")
_CONTEXT, _LINK = table_of(Context), table_of(ResourceLink)
# The course and the link in one read, built once (cache key computed once).
_KNOWN_COURSE_AND_LINK = (
    select(*prefixed(_CONTEXT, "c_"), *prefixed(_LINK, "r_"))
    .select_from(_CONTEXT.outerjoin(_LINK, (_LINK.c.context_id == _CONTEXT.c.id)
                                    & (_LINK.c.resource_link_id == bindparam("link_id"))))
    .where(_CONTEXT.c.deployment_id == bindparam("deployment_id"),
           _CONTEXT.c.context_id == bindparam("context_id")))
