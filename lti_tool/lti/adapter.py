"""The one module that talks to pylti1p3: tool configuration and launch validation.

pylti1p3 keeps state in a per-process cache and skips several checks, so the pieces below
read logins from the database (lti_tool.lti.login stores them) and add what the library
leaves out: `azp` with several
audiences, `target_link_uri` against the login, clock-skew leeway, single-use nonces and
JWKS refetch on an unknown `kid`.
"""

from __future__ import annotations

import logging
import typing as t

import jwt
import requests
from pylti1p3.contrib.flask.cookie import FlaskCookieService
from pylti1p3.contrib.flask.message_launch import FlaskMessageLaunch
from pylti1p3.contrib.flask.request import FlaskRequest
from pylti1p3.deployment import Deployment as LibDeployment
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import get_validators
from pylti1p3.registration import Registration as LibRegistration
from pylti1p3.session import SessionService, TJwtBody
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    Deployment,
    DeploymentStatus,
    LoginState,
    Registration,
)
from ..models.base import utcnow
from .claims import MAX_TOKEN_BYTES, ClaimProblem, check_claims
from .constants import LTI_VERSION, Claim, MessageType
from .errors import ErrorContext, LtiError
from .floods import PENDING_PER_REGISTRATION, room_for_pending
from .keysets import KeysetUnavailable, UnknownKid, platform_key
from .launch_reads import CONSUME_LOGIN, LOGIN_WITH_PLATFORM, peek, rows_of, str_or_none
from .login import STATE_COOKIE_PREFIX, readable, registration_row
from .settings import LaunchSettings
from .storage import StateInPlatformStorage

log = logging.getLogger(__name__)


# -- registrations as pylti1p3 sees them ---------------------------------------------------
class DbToolConf(ToolConfAbstract[FlaskRequest]):
    """pylti1p3's tool configuration read from the registration and deployment tables.

    It carries no tool key: checking a launch needs only the platform's keys, and the tool
    signs its own messages through lti_tool.keys.
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        # Every issuer may have many client ids (Blackboard, Canvas): always look up by both.
        self.issuers_relation_types = _AlwaysMany()

    # pylti1p3 declares a Registration but itself expects None for an unknown platform.
    def find_registration_by_issuer(  # type: ignore[override]
            self, iss: str, *args: t.Any, **kwargs: t.Any) -> LibRegistration | None:
        """Backward-compatible lookup for issuers with one client."""
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(  # type: ignore[override]  # None: as above
            self, iss: str, client_id: str | None, *args: t.Any,
            **kwargs: t.Any) -> LibRegistration | None:
        """Build pylti1p3's registration object from our row."""
        row = registration_row(self.session, iss, client_id)
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

    def find_deployment(self, iss: str, deployment_id: str) -> LibDeployment | None:
        """Deployments are always looked up with their client id."""
        return None

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str,
                                  *args: t.Any, **kwargs: t.Any) -> LibDeployment | None:
        """An approved deployment, or None."""
        row = self.session.scalar(
            select(Deployment).join(Registration).where(
                Registration.issuer == iss, Registration.client_id == client_id,
                Deployment.deployment_id == deployment_id,
                Deployment.status == DeploymentStatus.APPROVED))
        return LibDeployment().set_deployment_id(deployment_id) if row else None


class _AlwaysMany(dict[str, str]):
    """Relation map that answers 'many client ids' for every issuer."""

    def get(self, key: object, default: object = None) -> str:  # noqa: D102 - dict protocol
        return "one-issuer-many-client-ids"


class _NullSessionService(SessionService):
    """pylti1p3 insists on a session service; ours keeps nothing in the browser session."""

    def __init__(self) -> None:  # noqa: D107 - no request-bound storage on purpose
        pass

    def save_launch_data(self, key: str, jwt_body: TJwtBody) -> None:  # noqa: D102
        pass

    def set_state_valid(self, state: str, id_token_hash: str) -> None:  # noqa: D102
        pass


# -- launch --------------------------------------------------------------------------------
class ToolMessageLaunch(FlaskMessageLaunch):
    """pylti1p3's launch with our storage and the checks the library skips."""

    def __init__(self, session: Session, settings: LaunchSettings,
                 form: t.Mapping[str, str], cookies: t.Mapping[str, str],
                 http: requests.Session | None = None,
                 state_checked_in_storage: bool = False) -> None:
        # pylti1p3's Flask classes are unannotated: no-untyped-call below.
        request = FlaskRequest(  # type: ignore[no-untyped-call]
            cookies=cookies, session={}, request_data=dict(form) or {"": ""},
            request_is_secure=settings.base_url.startswith("https"))
        super().__init__(request, DbToolConf(session),  # type: ignore[no-untyped-call]
                         session_service=_NullSessionService(),
                         cookie_service=FlaskCookieService(  # type: ignore[no-untyped-call]
                             request),
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
        self._found_deployment: Deployment | None = None
        self._unreadable: Exception | None = None
        self.claims: dict[str, t.Any] = {}

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

    def _context(self) -> ErrorContext:
        """Issuer, client and deployment for error records, as far as known."""
        body = self._jwt.get("body", {}) if isinstance(self._jwt, dict) else {}
        aud = body.get("aud")
        return {"issuer": body.get("iss") if isinstance(body.get("iss"), str) else None,
                "client_id": aud[0] if isinstance(aud, list) and aud else (
                    aud if isinstance(aud, str) else None),
                "deployment_id": str_or_none(body.get(Claim.DEPLOYMENT_ID.value))}

    def validate_state(self) -> ToolMessageLaunch:
        """The login that this launch answers exists, is fresh, and was started in this browser.

        One SELECT reads the login with its registration and the deployment the token names
        (read from the token unverified, only to find the row: it is checked below).
        """
        state = self.form.get("state")
        if not state or not self.form.get("id_token"):
            raise LtiError("missing_params", "launch without state or id_token")
        size = len(self.form["id_token"])
        if size > MAX_TOKEN_BYTES:
            # Refused unread: nothing of it is decoded, checked or stored.
            raise LtiError("token_too_large", f"id_token of {size} bytes is over "
                           f"{MAX_TOKEN_BYTES}", limit=f"{MAX_TOKEN_BYTES // 1024} KiB")
        readable("state", state)
        self._read_token()
        body = self._jwt.get("body", {}) if isinstance(self._jwt, dict) else {}
        deployment_id = str_or_none(body.get(Claim.DEPLOYMENT_ID.value), limit=None) or ""
        if "\x00" in deployment_id:
            deployment_id = ""  # PostgreSQL refuses NUL in text; the claim is refused later
        found = self.db.connection().execute(
            LOGIN_WITH_PLATFORM, {"state": state, "deployment_id": deployment_id}).first()
        login, registration, deployment = rows_of(found)
        if login is None:
            raise LtiError("expired_state", f"no login with state {state[:16]}…")
        if login.used_at is not None:
            raise LtiError("replayed", f"state {state[:16]}… was used at {login.used_at}",
                           issuer=login.issuer, client_id=login.client_id)
        if login.expires_at < utcnow():
            raise LtiError("expired_state", f"state {state[:16]}… expired at {login.expires_at}",
                           issuer=login.issuer, client_id=login.client_id)
        self.login = login
        self.registration_row, self._found_deployment = registration, deployment
        if self.cookies.get(f"{STATE_COOKIE_PREFIX}-{state}") != state:
            if login.storage_target is None:
                raise LtiError("missing_state", "state cookie absent or different",
                               issuer=login.issuer, client_id=login.client_id)
            if not self.state_checked_in_storage:
                # Nothing is consumed yet: the browser proves the state from platform storage.
                raise StateInPlatformStorage(login)
        return self

    def _read_token(self) -> None:
        """Header and claims of the id_token, unverified, only to find the login's rows; a
        failure is kept for validate_jwt_format to report once the login is known."""
        try:
            header, body = peek(self.form["id_token"])
        except (ValueError, RecursionError) as exc:
            self._unreadable = exc
            return
        self._unreadable = None
        self._jwt = {"header": header, "body": body}

    def _claims(self) -> dict[str, t.Any]:
        """The token's claims as sent (an object, once validate_jwt_format has passed)."""
        # pylti1p3 types them as a well-formed launch, which they are not until checked.
        return t.cast(dict[str, t.Any], self._jwt["body"])

    def validate_jwt_format(self) -> ToolMessageLaunch:
        """The id_token is a JWT whose header and claims can be read."""
        if self._unreadable is not None:
            raise LtiError("malformed_token", f"id_token cannot be decoded: "
                           f"{self._unreadable!r:.200}", **self._login_context())
        if not isinstance(self._jwt["body"], dict) or not isinstance(self._jwt["header"], dict):
            raise LtiError("malformed_token", "id_token claims are not an object",
                           **self._login_context())
        return self

    def _login_context(self) -> ErrorContext:
        """Issuer and client id from the login, for errors before the token is read."""
        if self.login is None:
            return {}
        return {"issuer": self.login.issuer, "client_id": self.login.client_id}

    def validate_registration(self) -> ToolMessageLaunch:
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
        row = self.registration_row  # read with the login
        if row is None:
            raise LtiError("unknown_platform", "registration removed during the login", **ctx)
        if not row.enabled:
            raise LtiError("platform_disabled", f"registration {row.id} is disabled", **ctx)
        self._registration = self._tool_config.to_library(row)
        return self

    def validate_jwt_signature(self) -> ToolMessageLaunch:
        """RS256 signature by a key from the platform's JWKS, with leeway on exp and iat."""
        header = self._jwt["header"]
        ctx = self._context()
        if header.get("alg") != "RS256":
            raise LtiError("bad_signature", f"alg {header.get('alg')!r} is not RS256", **ctx)
        kid = header.get("kid")
        if not kid or not isinstance(kid, str):
            raise LtiError("unknown_kid", "id_token header has no kid", **ctx)
        row = self.registration_row
        assert row is not None
        try:
            key = platform_key(self.db, self._requests_session, row.key_set_url, kid,
                               ttl=self.settings.jwks_ttl, deadline=self.settings.http_timeout,
                               parsed=self.settings.parsed_keys)
        except UnknownKid as exc:
            raise LtiError("unknown_kid", str(exc), **ctx) from exc
        except KeysetUnavailable as exc:
            raise LtiError("keyset_unavailable", str(exc), **ctx) from exc
        try:
            verified = jwt.api_jwt.decode_complete(
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
        if verified["payload"] != self._jwt["body"] or verified["header"] != header:
            # Only PyJWT's reading is trusted; the quick one merely found the rows.
            raise LtiError("malformed_token", "id_token reads differently when verified", **ctx)
        iat = self._claims()["iat"]
        now = utcnow().timestamp()
        if not isinstance(iat, (int, float)) or now - iat > self.settings.max_age:
            raise LtiError("expired", f"iat {iat} is more than {self.settings.max_age}s old",
                           **ctx)
        return self

    def validate_nonce(self) -> ToolMessageLaunch:
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
        consumed = self.db.connection().execute(
            CONSUME_LOGIN, {"consumed_state": login.state, "consumed_at": utcnow()})
        if consumed.rowcount != 1:
            raise LtiError("replayed", "login consumed by another launch", **ctx)
        return self

    def validate_message(self) -> ToolMessageLaunch:
        """A supported message type and version with the claims it requires."""
        body = self._claims()
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
        if not str_or_none(body.get(Claim.DEPLOYMENT_ID.value)):
            raise LtiError("invalid_claims", "no deployment_id claim", **ctx)
        for validator in get_validators():  # type: ignore[no-untyped-call]  # pylti1p3's
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

    def validate_deployment(self) -> ToolMessageLaunch:
        """A known, approved deployment; an unknown one is recorded for an admin to approve."""
        body = self._claims()
        ctx = self._context()
        row = self.registration_row
        assert row is not None
        deployment_id = str(body[Claim.DEPLOYMENT_ID.value])
        deployment = self._found_deployment  # read with the login, by the same id
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
