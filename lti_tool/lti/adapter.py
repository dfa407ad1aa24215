"""The one module that talks to pylti1p3: tool configuration, OIDC login and launch validation.

pylti1p3 keeps state in a per-process cache and skips several checks, so the pieces below
store logins in the database and add what the library leaves out: `azp` with several
audiences, `target_link_uri` against the login, clock-skew leeway, single-use nonces and
JWKS refetch on an unknown `kid`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskRequest
from pylti1p3.deployment import Deployment as LibDeployment
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import get_validators
from pylti1p3.registration import Registration as LibRegistration
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..models import (
    Deployment,
    DeploymentStatus,
    LoginState,
    PlatformKeySet,
    Registration,
)
from ..models.base import utcnow
from ..sqltools import get_or_insert
from .claims import MAX_TOKEN_BYTES, ClaimProblem, check_claims
from .constants import LTI_VERSION, Claim, MessageType
from .errors import LtiError
from .floods import PENDING_PER_REGISTRATION, room_for_pending
from .keysets import REFETCH_INTERVAL, KeysetUnavailable, read_jwks
from .storage import StateInPlatformStorage, storage_target

log = logging.getLogger(__name__)

STATE_COOKIE_PREFIX = "lti1p3"
LOGIN_PARAMS = ("iss", "login_hint", "target_link_uri", "lti_message_hint",
                "lti_deployment_id", "client_id", "lti_new_window", "lti_storage_target")


# -- registrations as pylti1p3 sees them ---------------------------------------------------
class DbToolConf(ToolConfAbstract):
    """pylti1p3's tool configuration read from the registration and deployment tables.

    It carries no tool key: checking a launch needs only the platform's keys, and the tool
    signs its own messages through lti_tool.keys.
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        # Every issuer may have many client ids (Blackboard, Canvas): always look up by both.
        self.issuers_relation_types = _AlwaysMany()

    def registration_row(self, iss: str, client_id: str | None) -> Registration | None:
        """The registration for an issuer and client id; without a client id, the only one."""
        query = select(Registration).where(Registration.issuer == iss)
        if client_id:
            return self.session.scalar(query.where(Registration.client_id == client_id))
        rows = self.session.scalars(query.limit(2)).all()
        return rows[0] if len(rows) == 1 else None

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        """Backward-compatible lookup for issuers with one client."""
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        """Build pylti1p3's registration object from our row."""
        row = self.registration_row(iss, client_id)
        return self.to_library(row) if row else None

    def to_library(self, row: Registration) -> LibRegistration:
        """Convert a registration row to pylti1p3's object."""
        reg = LibRegistration()
        reg.set_issuer(row.issuer).set_client_id(row.client_id)
        reg.set_auth_login_url(row.auth_login_url).set_auth_token_url(row.auth_token_url)
        reg.set_key_set_url(row.key_set_url)
        if row.auth_audience:
            reg.set_auth_audience(row.auth_audience)
        return reg

    def find_deployment(self, iss, deployment_id):
        """Deployments are always looked up with their client id."""
        return None

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        """An approved deployment, or None."""
        row = self.session.scalar(
            select(Deployment).join(Registration).where(
                Registration.issuer == iss, Registration.client_id == client_id,
                Deployment.deployment_id == deployment_id,
                Deployment.status == DeploymentStatus.APPROVED))
        return LibDeployment().set_deployment_id(deployment_id) if row else None


class _AlwaysMany(dict):
    """Relation map that answers 'many client ids' for every issuer."""

    def get(self, key, default=None):  # noqa: D102 - dict protocol
        return "one-issuer-many-client-ids"


# -- settings the adapter needs ------------------------------------------------------------
@dataclass
class LaunchSettings:
    """What the adapter needs from the app's configuration."""

    base_url: str
    launch_url: str
    leeway: int = 60
    max_age: int = 3600
    state_ttl: int = 600
    jwks_ttl: int = 3600
    http_timeout: float = 10.0


class _NullSessionService(SessionService):
    """pylti1p3 insists on a session service; ours keeps nothing in the browser session."""

    def __init__(self) -> None:  # noqa: D107 - no request-bound storage on purpose
        pass

    def save_launch_data(self, key, jwt_body):  # noqa: D102
        pass

    def set_state_valid(self, state, id_token_hash):  # noqa: D102
        pass


# -- OIDC login ----------------------------------------------------------------------------
@dataclass
class LoginRedirect:
    """Where to send the browser after a login, and the state cookie to set."""

    url: str
    state: str
    cookie_name: str
    cookie_max_age: int
    nonce: str = ""
    storage_target: str | None = None  # the platform's frame to store state and nonce in


MAX_PARAM_LENGTH = 1000


def readable(name: str, value: str) -> str:
    """A request value the database can store: no NUL characters, not absurdly long."""
    if "\x00" in value or len(value) > MAX_PARAM_LENGTH:
        raise LtiError("unreadable_request",
                       f"{name} has a NUL character or is over {MAX_PARAM_LENGTH} characters")
    return value


def login_params(source: t.Mapping[str, str]) -> dict[str, str]:
    """The OIDC login initiation parameters present in a GET query or POST form."""
    return {k: readable(k, source[k]) for k in LOGIN_PARAMS if source.get(k)}


def begin_login(session: Session, params: t.Mapping[str, str],
                settings: LaunchSettings) -> LoginRedirect:
    """Validate a third-party initiated login, store state and nonce, and build the redirect."""
    iss = params.get("iss")
    client_id = params.get("client_id")
    context = {"issuer": iss, "client_id": client_id,
               "deployment_id": params.get("lti_deployment_id")}
    missing = [name for name in ("iss", "login_hint", "target_link_uri") if not params.get(name)]
    if missing:
        raise LtiError("missing_params", f"login without {', '.join(missing)}", **context)
    target = params["target_link_uri"]
    if not _same_origin(target, settings.base_url):
        raise LtiError("bad_target",
                       f"target_link_uri {target!r} is not under {settings.base_url}", **context)
    row = DbToolConf(session).registration_row(iss, client_id)
    if row is None:
        reason = (f"no registration for issuer {iss!r} and client_id {client_id!r}"
                  if client_id else f"no single registration for issuer {iss!r} "
                  "(login gave no client_id)")
        raise LtiError("unknown_platform", reason, **context)
    if not row.enabled:
        raise LtiError("platform_disabled", f"registration {row.id} is disabled", **context)

    frame = storage_target(params, context)
    state = "state-" + secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(LoginState(state=state, nonce=nonce, issuer=row.issuer,
                           client_id=row.client_id, target_link_uri=target,
                           expires_at=now + timedelta(seconds=settings.state_ttl),
                           storage_target=frame))
    _purge_old_states(session, now)
    auth = {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none", "client_id": row.client_id, "redirect_uri": settings.launch_url,
        "state": state, "nonce": nonce, "login_hint": params["login_hint"],
    }
    if params.get("lti_message_hint"):
        auth["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in row.auth_login_url else "?"
    return LoginRedirect(url=row.auth_login_url + separator + urlencode(auth), state=state,
                         cookie_name=f"{STATE_COOKIE_PREFIX}-{state}",
                         cookie_max_age=settings.state_ttl, nonce=nonce, storage_target=frame)


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


# -- launch --------------------------------------------------------------------------------
class ToolMessageLaunch(FlaskMessageLaunch):
    """pylti1p3's launch with our storage and the checks the library skips."""

    def __init__(self, session: Session, settings: LaunchSettings,
                 form: t.Mapping[str, str], cookies: t.Mapping[str, str],
                 http: requests.Session | None = None,
                 state_checked_in_storage: bool = False) -> None:
        request = FlaskRequest(cookies=cookies, session={}, request_data=dict(form) or {"": ""},
                               request_is_secure=settings.base_url.startswith("https"))
        super().__init__(request, DbToolConf(session),
                         session_service=_NullSessionService(),
                         cookie_service=FlaskCookieService(request),
                         requests_session=http)
        self.db = session
        self.settings = settings
        self.form = form
        self.cookies = cookies
        # True only once the browser read this state back from the platform's storage and the
        # tool's own page resubmitted the launch (lti_tool.lti.storage checks that).
        self.state_checked_in_storage = state_checked_in_storage
        self.login: LoginState | None = None
        self.registration_row: Registration | None = None
        self.deployment_row: Deployment | None = None
        self.claims: dict = {}

    # The order matters: nothing is consumed until the token is proven to be the platform's.
    def validate(self) -> "ToolMessageLaunch":
        """Run every check, then consume the login so the token can never be used again."""
        self._validated = True
        try:
            self.validate_state()
            self.validate_jwt_format()
            self.validate_registration()
            self.validate_jwt_signature()
            self.validate_nonce()
            self.validate_message()
            self.validate_deployment()
        except LtiException as exc:  # anything the library raises that we did not map
            self._validated = False
            raise LtiError("invalid_claims", str(exc), **self._context()) from exc
        except LtiError:
            self._validated = False
            raise
        return self

    def _context(self) -> dict:
        """Issuer, client and deployment for error records, as far as known."""
        body = self._jwt.get("body", {}) if isinstance(self._jwt, dict) else {}
        aud = body.get("aud")
        return {"issuer": body.get("iss") if isinstance(body.get("iss"), str) else None,
                "client_id": aud[0] if isinstance(aud, list) and aud else (
                    aud if isinstance(aud, str) else None),
                "deployment_id": _str_or_none(body.get(Claim.DEPLOYMENT_ID.value))}

    def validate_state(self):
        """The login that this launch answers exists, is fresh, and was started in this browser."""
        state = self.form.get("state")
        if not state or not self.form.get("id_token"):
            raise LtiError("missing_params", "launch without state or id_token")
        size = len(self.form["id_token"])
        if size > MAX_TOKEN_BYTES:
            # Refused unread: nothing of it is decoded, checked or stored.
            raise LtiError("token_too_large", f"id_token of {size} bytes is over "
                           f"{MAX_TOKEN_BYTES}", limit=f"{MAX_TOKEN_BYTES // 1024} KiB")
        readable("state", state)
        login = self.db.get(LoginState, state)
        if login is None:
            raise LtiError("expired_state", f"no login with state {state[:16]}…")
        if login.used_at is not None:
            raise LtiError("replayed", f"state {state[:16]}… was used at {login.used_at}",
                           issuer=login.issuer, client_id=login.client_id)
        if login.expires_at < utcnow():
            raise LtiError("expired_state", f"state {state[:16]}… expired at {login.expires_at}",
                           issuer=login.issuer, client_id=login.client_id)
        self.login = login
        if self.cookies.get(f"{STATE_COOKIE_PREFIX}-{state}") != state:
            if login.storage_target is None:
                raise LtiError("missing_state", "state cookie absent or different",
                               issuer=login.issuer, client_id=login.client_id)
            if not self.state_checked_in_storage:
                # Nothing is consumed yet: the browser proves the state from platform storage.
                raise StateInPlatformStorage(login)
        return self

    def validate_jwt_format(self):
        """The id_token is a JWT whose header and claims can be read."""
        token = self.form["id_token"]
        try:
            header = jwt.get_unverified_header(token)
            body = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, RecursionError) as exc:
            raise LtiError("malformed_token", f"id_token cannot be decoded: {exc!r:.200}",
                           **self._login_context()) from exc
        if not isinstance(body, dict):
            raise LtiError("malformed_token", "id_token claims are not an object",
                           **self._login_context())
        self._jwt = {"header": header, "body": body}
        return self

    def _login_context(self) -> dict:
        """Issuer and client id from the login, for errors before the token is read."""
        if self.login is None:
            return {}
        return {"issuer": self.login.issuer, "client_id": self.login.client_id}

    def validate_registration(self):
        """`iss` and `aud` name the registration that the login started with; `azp` agrees."""
        body = self._jwt["body"]
        ctx = self._context()
        login = self.login
        assert login is not None
        if body.get("iss") != login.issuer:
            raise LtiError("wrong_issuer",
                           f"iss {body.get('iss')!r} but login was for {login.issuer!r}", **ctx)
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if login.client_id not in audiences:
            raise LtiError("wrong_audience",
                           f"aud {aud!r} does not contain {login.client_id!r}", **ctx)
        azp = body.get("azp")
        # pylti1p3 skips this: with several audiences the token must say which is the client.
        if (len(audiences) > 1 or azp is not None) and azp != login.client_id:
            raise LtiError("wrong_audience",
                           f"azp {azp!r} is not the client id {login.client_id!r}", **ctx)
        row = self._tool_config.registration_row(login.issuer, login.client_id)
        if row is None:
            raise LtiError("unknown_platform", "registration removed during the login", **ctx)
        if not row.enabled:
            raise LtiError("platform_disabled", f"registration {row.id} is disabled", **ctx)
        self.registration_row = row
        self._registration = self._tool_config.to_library(row)
        return self

    def validate_jwt_signature(self):
        """RS256 signature by a key from the platform's JWKS, with leeway on exp and iat."""
        header = self._jwt["header"]
        ctx = self._context()
        if header.get("alg") != "RS256":
            raise LtiError("bad_signature", f"alg {header.get('alg')!r} is not RS256", **ctx)
        kid = header.get("kid")
        if not kid:
            raise LtiError("unknown_kid", "id_token header has no kid", **ctx)
        row = self.registration_row
        assert row is not None
        key = self._platform_key(row.key_set_url, kid)
        try:
            jwt.decode(
                self.form["id_token"], key, algorithms=["RS256"], audience=row.client_id,
                issuer=row.issuer, leeway=self.settings.leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
            raise LtiError("expired", f"id_token time check failed: {exc}", **ctx) from exc
        except jwt.InvalidAudienceError as exc:
            raise LtiError("wrong_audience", str(exc), **ctx) from exc
        except jwt.InvalidIssuerError as exc:
            raise LtiError("wrong_issuer", str(exc), **ctx) from exc
        except jwt.InvalidSignatureError as exc:
            raise LtiError("bad_signature", str(exc), **ctx) from exc
        except jwt.PyJWTError as exc:
            raise LtiError("malformed_token", f"id_token rejected: {exc}", **ctx) from exc
        iat = self._jwt["body"]["iat"]
        now = utcnow().timestamp()
        if not isinstance(iat, (int, float)) or now - iat > self.settings.max_age:
            raise LtiError("expired", f"iat {iat} is more than {self.settings.max_age}s old",
                           **ctx)
        return self

    def _platform_key(self, url: str, kid: str) -> t.Any:
        """The platform's public key for `kid`, refetching the JWKS when it is unknown, but at
        most once a minute per key set (made-up kids must not make us hammer the platform)."""
        ctx = self._context()
        cached = self.db.get(PlatformKeySet, url)
        age = (utcnow() - cached.fetched_at).total_seconds() if cached is not None else None
        if age is not None and age < self.settings.jwks_ttl:
            key = _find_key(_cached_jwks(cached.jwks), kid)
            if key is not None:
                return key
            if age < REFETCH_INTERVAL:
                raise LtiError("unknown_kid", f"kid {str(kid)[:100]!r} not in the key set at "
                               f"{url} fetched {age:.0f}s ago (refetched at most every "
                               f"{REFETCH_INTERVAL}s)", **ctx)
        jwks = self._fetch_jwks(url)
        if cached is None:  # many first launches at once all fetch; one row results
            cached = get_or_insert(self.db, PlatformKeySet, {"jwks": "", "fetched_at": utcnow()},
                                   url=url)
        cached.jwks, cached.fetched_at = json.dumps(jwks), utcnow()
        key = _find_key(jwks, kid)
        if key is None:
            raise LtiError("unknown_kid", f"kid {str(kid)[:100]!r} not in the key set at {url}",
                           **ctx)
        return key

    def _fetch_jwks(self, url: str) -> dict:
        """Download a platform's JWKS: HTTP_TIMEOUT seconds in all, 64 KiB at most."""
        try:
            return read_jwks(self._requests_session, url, self.settings.http_timeout)
        except KeysetUnavailable as exc:
            raise LtiError("keyset_unavailable", str(exc), **self._context()) from exc

    def validate_nonce(self):
        """The nonce is the one issued with this login; the login is then consumed, once."""
        login = self.login
        assert login is not None
        ctx = self._context()
        if self._jwt["body"].get("nonce") != login.nonce:
            raise LtiError("bad_nonce", "nonce does not match the login's", **ctx)
        target = self._jwt["body"].get(Claim.TARGET_LINK_URI.value)
        if target != login.target_link_uri:
            raise LtiError("bad_target", f"target_link_uri {target!r} but login had "
                           f"{login.target_link_uri!r}", **ctx)
        # A conditional UPDATE is atomic on every database: of two racing launches one wins.
        consumed = self.db.execute(
            update(LoginState).where(LoginState.state == login.state,
                                     LoginState.used_at.is_(None))
            .values(used_at=utcnow()).execution_options(synchronize_session=False))
        if consumed.rowcount != 1:
            raise LtiError("replayed", "login consumed by another launch", **ctx)
        return self

    def validate_message(self):
        """A supported message type and version with the claims it requires."""
        body = self._jwt["body"]
        ctx = self._context()
        try:
            check_claims(body)
        except ClaimProblem as problem:
            raise LtiError("invalid_claims" if problem.missing else "bad_claim", problem.reason,
                           claim=problem.claim, **ctx) from None
        if body.get(Claim.VERSION.value) != LTI_VERSION:
            raise LtiError("wrong_message",
                           f"version {body.get(Claim.VERSION.value)!r} is not 1.3.0", **ctx)
        message_type = body.get(Claim.MESSAGE_TYPE.value)
        if message_type not in {m.value for m in MessageType}:
            raise LtiError("wrong_message", f"message type {message_type!r} not supported",
                           **ctx)
        if not _str_or_none(body.get(Claim.DEPLOYMENT_ID.value)):
            raise LtiError("invalid_claims", "no deployment_id claim", **ctx)
        for validator in get_validators():
            if validator.can_validate(body):
                try:
                    validator.validate(body)
                except LtiException as exc:
                    raise LtiError("invalid_claims", str(exc), **ctx) from exc
                except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                    # The library assumes well-formed claims; whatever it trips on is the
                    # platform's malformed message, not our error.
                    raise LtiError("invalid_claims", f"{type(validator).__name__}: {exc!r:.200}",
                                   **ctx) from exc
        return self

    def validate_deployment(self):
        """A known, approved deployment; an unknown one is recorded for an admin to approve."""
        body = self._jwt["body"]
        ctx = self._context()
        row = self.registration_row
        assert row is not None
        deployment_id = str(body[Claim.DEPLOYMENT_ID.value])
        deployment = self.db.scalar(select(Deployment).where(
            Deployment.registration_id == row.id, Deployment.deployment_id == deployment_id))
        if deployment is None:
            status = (DeploymentStatus.APPROVED if row.auto_approve_deployments
                      else DeploymentStatus.PENDING)
            if status == DeploymentStatus.PENDING and not room_for_pending(self.db, row.id):
                raise LtiError("unknown_deployment", f"deployment {deployment_id[:100]!r} not "
                               f"recorded: {PENDING_PER_REGISTRATION} already await approval",
                               **ctx)
            deployment = Deployment(registration_id=row.id, deployment_id=deployment_id,
                                    status=status,
                                    approved_at=utcnow() if status == DeploymentStatus.APPROVED
                                    else None)
            self.db.add(deployment)
            self.db.flush()
            log.info("new deployment %r under registration %s recorded as %s",
                     deployment_id, row.id, status.value)
        if deployment.status == DeploymentStatus.PENDING:
            raise LtiError("deployment_pending", f"deployment {deployment_id!r} awaits approval",
                           **ctx)
        if deployment.status == DeploymentStatus.DISABLED:
            raise LtiError("deployment_disabled", f"deployment {deployment_id!r} is disabled",
                           **ctx)
        self.deployment_row = deployment
        self.claims = body
        return self


def _cached_jwks(text: str) -> dict:
    """A stored key set; an unreadable one counts as empty (it is fetched again)."""
    try:
        jwks = json.loads(text)
    except ValueError:
        return {}
    return jwks if isinstance(jwks, dict) else {}


def _find_key(jwks: dict, kid: str) -> t.Any:
    """The public key with this kid from a JWKS, or None."""
    keys = jwks.get("keys")
    for entry in keys if isinstance(keys, list) else []:
        if isinstance(entry, dict) and entry.get("kid") == kid:
            try:
                return jwt.PyJWK(entry, algorithm="RS256").key
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                return None
    return None


def _str_or_none(value: object) -> str | None:
    """A non-empty string (or number) claim value as a string; None for anything else, so a
    list-valued id is never recorded as "['p1-dep']"."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return None
    return str(value)[:500]
