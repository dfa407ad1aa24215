"""Launches without cookies: state and nonce kept in the platform's frame (LTI Client Side
postMessages, `lti_storage_target`).

A browser that blocks third-party cookies loses the state cookie, so the login page stores
state and nonce with `org.imsglobal.lti.put_data` in the platform's storage frame, and the
launch page reads the state back with `org.imsglobal.lti.get_data` before it resubmits the
launch. The resubmission is accepted only from the tool's own page (the browser's `Origin`
and `Sec-Fetch-Site`, which no other site can forge) carrying a check bound to this login and
this id_token; the login row is still consumed once, so it cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import typing as t

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers

from ..models import LoginState, Registration
from ..security import origin_of
from .errors import ErrorContext, LtiError

MAX_TARGET_LENGTH = 200
# Frame names as platforms use them ("post_message_forwarding", "_parent"): nothing that could
# break out of an HTML attribute or name another kind of window.
_TARGET = re.compile(r"^[A-Za-z0-9_.:-]{1,%d}$" % MAX_TARGET_LENGTH)


class StateInPlatformStorage(Exception):
    """The launch came without its state cookie but its login stored the state on the platform:
    the browser must read it back before the launch can go on."""

    def __init__(self, login: LoginState) -> None:
        super().__init__(f"state {login.state[:16]}… kept in platform storage")
        self.login = login


class StoragePage(t.TypedDict):
    """What lti/storage.html needs in either step: the platform's storage frame and the state."""

    mode: t.Literal["login", "launch"]
    origin: str | None
    target: str
    state: str


class LoginPage(StoragePage):
    """The login step also stores the nonce, then goes on to the platform."""

    nonce: str
    next: str


class LaunchPage(StoragePage):
    """The launch step resubmits these fields once the state is read back."""

    fields: dict[str, str]


def storage_target(params: t.Mapping[str, str], context: ErrorContext) -> str | None:
    """The platform's storage frame named by the login request, or None when it offers none."""
    value = params.get("lti_storage_target")
    if not value:
        return None
    if not _TARGET.match(value):
        raise LtiError("unreadable_request",
                       f"lti_storage_target {value[:40]!r} is not a frame name", **context)
    return value


def check_token(secret: str, state: str, id_token: str) -> str:
    """The check the launch page carries to the second step: this login and this token only."""
    token_hash = hashlib.sha256(id_token.encode()).hexdigest()
    message = f"lti-storage-check\x00{state}\x00{token_hash}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def platform_origin(session: Session, login: LoginState) -> str | None:
    """The origin of the platform's OIDC auth endpoint: where its storage frame lives."""
    url = session.scalar(select(Registration.auth_login_url).where(
        Registration.issuer == login.issuer, Registration.client_id == login.client_id))
    return origin_of(url)


def login_page(auth_url: str, state: str, nonce: str, frame: str) -> LoginPage:
    """What the login page needs to store state and nonce, then go on to the platform."""
    return {"mode": "login", "origin": origin_of(auth_url), "target": frame, "state": state,
            "nonce": nonce, "next": auth_url}


def launch_page(session: Session, login: LoginState, form: t.Mapping[str, str],
                secret: str) -> LaunchPage:
    """What the launch page needs to read the state back and resubmit the launch."""
    state, id_token = form["state"], form["id_token"]
    origin = platform_origin(session, login)
    if origin is None or login.storage_target is None:
        raise LtiError("missing_state", "state cookie absent and the platform's storage "
                       "origin is unknown", issuer=login.issuer, client_id=login.client_id)
    return {"mode": "launch", "origin": origin, "target": login.storage_target,
            "state": state, "fields": {"state": state, "id_token": id_token,
                                       "storage_check": check_token(secret, state, id_token)}}


def verify_resubmission(form: t.Mapping[str, str], headers: t.Mapping[str, str] | Headers,
                        secret: str, base_url: str) -> None:
    """Accept the second step only from the tool's own page, for the login it was made for."""
    fetch_site = headers.get("Sec-Fetch-Site")
    origin = headers.get("Origin")
    if fetch_site is not None and fetch_site != "same-origin":
        raise LtiError("missing_state", f"storage check sent from a {fetch_site[:20]} page")
    if origin is None and fetch_site is None:
        raise LtiError("missing_state", "storage check without Origin or Sec-Fetch-Site")
    if origin is not None and origin != origin_of(base_url):
        raise LtiError("missing_state", f"storage check sent from origin {origin[:100]!r}")
    state, id_token = form.get("state") or "", form.get("id_token") or ""
    given = form.get("storage_check") or ""
    if not (state and id_token and given) or not hmac.compare_digest(
            given, check_token(secret, state, id_token)):
        raise LtiError("missing_state", "storage check absent or not for this state and token")
