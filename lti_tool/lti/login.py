"""OIDC login initiation: check the platform, store state and nonce, build the redirect."""

from __future__ import annotations

import secrets
import time
import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from ..db import ALONE
from ..models import LoginState, Registration
from ..models.base import UTCDateTime, utcnow
from .errors import ErrorContext, LtiError
from .settings import LaunchSettings
from .storage import storage_target

STATE_COOKIE_PREFIX = "lti1p3"
LOGIN_PARAMS = ("iss", "login_hint", "target_link_uri", "lti_message_hint",
                "lti_deployment_id", "client_id", "lti_new_window", "lti_storage_target")
MAX_PARAM_LENGTH = 1000


@dataclass
class LoginRedirect:
    """Where to send the browser after a login, and the state cookie to set."""

    url: str
    state: str
    cookie_name: str
    cookie_max_age: int
    nonce: str = ""
    storage_target: str | None = None  # the platform's frame to store state and nonce in


def readable(name: str, value: str) -> str:
    """A request value the database can store: no NUL characters, not absurdly long."""
    if "\x00" in value or len(value) > MAX_PARAM_LENGTH:
        raise LtiError("unreadable_request",
                       f"{name} has a NUL character or is over {MAX_PARAM_LENGTH} characters")
    return value


def login_params(source: t.Mapping[str, str]) -> dict[str, str]:
    """The OIDC login initiation parameters present in a GET query or POST form."""
    return {k: readable(k, source[k]) for k in LOGIN_PARAMS if source.get(k)}


def registration_row(session: Session, iss: str, client_id: str | None) -> Registration | None:
    """The registration for an issuer and client id; without a client id, the only one."""
    query = select(Registration).where(Registration.issuer == iss)
    if client_id:
        return session.scalar(query.where(Registration.client_id == client_id))
    rows = session.scalars(query.limit(2)).all()
    return rows[0] if len(rows) == 1 else None


def begin_login(session: Session, params: t.Mapping[str, str],
                settings: LaunchSettings) -> LoginRedirect:
    """Validate a third-party initiated login, store state and nonce, and build the redirect."""
    iss = params.get("iss")
    client_id = params.get("client_id")
    context: ErrorContext = {"issuer": iss, "client_id": client_id,
                             "deployment_id": params.get("lti_deployment_id")}
    missing = [name for name in ("iss", "login_hint", "target_link_uri") if not params.get(name)]
    if missing:
        raise LtiError("missing_params", f"login without {', '.join(missing)}", **context)
    assert iss is not None
    target = params["target_link_uri"]
    if not _same_origin(target, settings.base_url):
        raise LtiError("bad_target",
                       f"target_link_uri {target!r} is not under {settings.base_url}", **context)
    frame = storage_target(params, context)
    state = "state-" + secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(32)
    now = utcnow()
    values = {"state": state, "nonce": nonce, "target_link_uri": target,
              "expires_at": now + timedelta(seconds=settings.state_ttl),
              "storage_target": frame, "created_at": now}
    stored = _store_login(session, iss, client_id, values)
    if stored is None:
        _refuse(session, iss, client_id, context)
    client, login_url = stored
    _purge_old_states(session, now)
    auth = {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none", "client_id": client, "redirect_uri": settings.launch_url,
        "state": state, "nonce": nonce, "login_hint": params["login_hint"],
    }
    if params.get("lti_message_hint"):
        auth["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in login_url else "?"
    return LoginRedirect(url=login_url + separator + urlencode(auth), state=state,
                         cookie_name=f"{STATE_COOKIE_PREFIX}-{state}",
                         cookie_max_age=settings.state_ttl, nonce=nonce, storage_target=frame)


def _store_login(session: Session, iss: str, client_id: str | None,
                 values: dict[str, t.Any]) -> tuple[str, str] | None:
    """Store the login for an enabled registration: (client id, login URL), or None.

    With a client id, one INSERT ... SELECT FROM registration ... RETURNING does the lookup
    and the write together (a login is one statement); without one (older platforms) the
    issuer's only registration is read first.
    """
    if not client_id:
        row = registration_row(session, iss, None)
        if row is None or not row.enabled:
            return None
        session.execute(insert(LoginState).values(issuer=row.issuer, client_id=row.client_id,
                                                  **values))
        return row.client_id, row.auth_login_url
    found = session.connection().execute(
        _STORE_LOGIN, {**values, "iss": iss, "client_id": client_id},
        execution_options=ALONE).first()
    return (found[0], found[1]) if found is not None else None


# Text, because SQLAlchemy's INSERT ... RETURNING does not correlate a subquery with the
# inserted row. Both databases run it as written.
_STORE_LOGIN = text("""
    INSERT INTO login_state (state, nonce, issuer, client_id, target_link_uri, expires_at,
                             storage_target, created_at)
    SELECT :state, :nonce, r.issuer, r.client_id, :target_link_uri, :expires_at,
           :storage_target, :created_at
    FROM registration AS r
    WHERE r.issuer = :iss AND r.client_id = :client_id AND r.enabled
    RETURNING client_id, (SELECT r2.auth_login_url FROM registration AS r2
                          WHERE r2.issuer = login_state.issuer
                            AND r2.client_id = login_state.client_id)
""").bindparams(bindparam("expires_at", type_=UTCDateTime()),
                bindparam("created_at", type_=UTCDateTime()))


def _refuse(session: Session, iss: str, client_id: str | None,
            context: ErrorContext) -> t.NoReturn:
    """Say why a login found no enabled registration."""
    row = registration_row(session, iss, client_id)
    if row is None:
        reason = (f"no registration for issuer {iss!r} and client_id {client_id!r}"
                  if client_id else f"no single registration for issuer {iss!r} "
                  "(login gave no client_id)")
        raise LtiError("unknown_platform", reason, **context)
    raise LtiError("platform_disabled", f"registration {row.id} is disabled", **context)


# Old logins go in a bounded sweep at most once a minute per process, not on every login.
PURGE_INTERVAL = 60.0
PURGE_BATCH = 500
_last_purge = [-PURGE_INTERVAL]


def _purge_old_states(session: Session, now: datetime) -> None:
    """Forget logins that expired a day ago; used ones are kept that long to name replays."""
    clock = time.monotonic()
    if clock - _last_purge[0] < PURGE_INTERVAL:
        return
    _last_purge[0] = clock
    old = select(LoginState.state).where(
        LoginState.expires_at < now - timedelta(days=1)).limit(PURGE_BATCH)
    session.execute(delete(LoginState).where(LoginState.state.in_(old))
                    .execution_options(synchronize_session=False))


def _same_origin(url: str, base_url: str) -> bool:
    """Whether `url` is on this tool's scheme, host and port."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())
