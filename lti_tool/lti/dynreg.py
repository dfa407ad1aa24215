"""LTI Dynamic Registration 1.0: read a platform's configuration, register, keep its answer.

No Flask here: the view passes a database session, a `requests.Session` and plain values.
Everything is flushed, never committed, so the view commits once, after the platform accepted.
"""

from __future__ import annotations

import json
import logging
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session

from ..invites import InviteError, usable_invite, use_invite
from ..models import Deployment, Registration
from ..registrations import RegistrationError, add_platform, find_platform
from .constants import MessageType
from .dynreg_refusals import RegistrationRefused
from .urls import tool_urls

log = logging.getLogger(__name__)

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri",
                      "registration_endpoint")
SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
)
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")
DEFAULT_DL_PLACEMENTS = ("ContentArea",)
MAX_ANSWER_BYTES = 1_000_000  # a configuration is a few kB; do not read a runaway answer
MAX_URL = 1000  # the registration table's URL columns
MAX_ID = 500  # issuer, client id and deployment id columns


@dataclass(frozen=True)
class ToolDescription:
    """What the tool says about itself in a registration."""

    base_url: str
    name: str = "Digital capabilities for social work"
    description: str = ("Capability modules for social work students on the digital "
                        "capabilities social workers need, with grades sent back to the course.")

    @property
    def logo_url(self) -> str:
        """The tool's logo, served from the app's static folder."""
        return f"{self.base_url}/static/logo.svg"


@dataclass(frozen=True)
class PlatformConfiguration:
    """The parts of a platform's OpenID configuration that registration uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    authorization_server: str | None
    product_family_code: str | None
    scopes_supported: tuple[str, ...] | None
    messages_supported: dict[str, tuple[str, ...]] | None  # message type -> placements


@dataclass(frozen=True)
class Outcome:
    """What was stored after the platform accepted."""

    registration: Registration
    deployment: Deployment | None
    product_family_code: str | None


def register_platform(session: Session, http: requests.Session, *, tool: ToolDescription,
                      invite_token: str | None, openid_configuration: str | None,
                      registration_token: str | None, timeout: float) -> Outcome:
    """Run one Dynamic Registration from the platform's redirect to the stored rows (flushed)."""
    # The invite comes first: without one the tool makes no request anywhere.
    try:
        invite = usable_invite(session, invite_token)
    except InviteError as error:
        raise RegistrationRefused(f"invite_{error.kind}", str(error)) from error
    if not openid_configuration:
        raise RegistrationRefused("missing_configuration", "no openid_configuration parameter")
    if registration_token is not None and not registration_token.isprintable():
        raise RegistrationRefused("bad_request", "registration_token has control characters")
    config = fetch_configuration(http, openid_configuration, timeout)
    answer = post_registration(http, config, registration_request(tool, config),
                               registration_token, timeout)
    outcome = store_registration(session, config, answer)
    try:
        use_invite(session, invite, outcome.registration)
    except InviteError as error:
        raise RegistrationRefused("invite_used", str(error)) from error
    return outcome


# -- the platform's configuration ----------------------------------------------------------
def fetch_configuration(http: requests.Session, url: str, timeout: float) -> PlatformConfiguration:
    """GET the platform's OpenID configuration and check it can be trusted and used."""
    _url("openid_configuration", url, code="bad_request")
    status, data = _exchange(http, "GET", url, timeout, what="openid configuration")
    if status != 200:
        raise RegistrationRefused("platform_unreachable",
                                  f"openid configuration {url} answered HTTP {status}",
                                  f"{url} answered HTTP {status}.")
    if not isinstance(data, dict):
        raise RegistrationRefused("platform_unreachable",
                                  f"openid configuration {url} is not JSON or not an object",
                                  f"{url} did not answer with a JSON configuration.")
    issuer = _text(data, "issuer", MAX_ID)
    _url("issuer", issuer)
    if _origin(issuer) != _origin(url):
        raise RegistrationRefused(
            "issuer_mismatch", f"issuer {issuer!r} is not on the origin of {url!r}",
            f"Issuer {issuer}, configuration fetched from {url}.")
    endpoints = {name: _url(name, _text(data, name, MAX_URL)) for name in REQUIRED_ENDPOINTS}
    platform = data.get(PLATFORM_CONFIGURATION)
    platform = platform if isinstance(platform, dict) else {}
    messages = _messages(platform.get("messages_supported"))
    # Every LTI 1.3 platform launches resource links, so only an explicit list can lack it.
    if messages is not None and MessageType.RESOURCE_LINK.value not in messages:
        raise RegistrationRefused("bad_configuration",
                                  "messages_supported lacks LtiResourceLinkRequest",
                                  "The platform does not list LtiResourceLinkRequest among the "
                                  "messages it supports.")
    scopes = data.get("scopes_supported")
    return PlatformConfiguration(
        issuer=issuer, **endpoints,
        # Brightspace names the audience its token endpoint expects; others leave it out.
        authorization_server=_optional(data.get("authorization_server"), MAX_URL),
        product_family_code=_optional(platform.get("product_family_code"), 100),
        scopes_supported=tuple(s for s in scopes if isinstance(s, str))
        if isinstance(scopes, list) else None,
        messages_supported=messages)


def _messages(value: object) -> dict[str, tuple[str, ...]] | None:
    """`messages_supported` as type -> placements; old Moodles list bare type names."""
    if not isinstance(value, list):
        return None
    messages: dict[str, tuple[str, ...]] = {}
    for entry in value:
        if isinstance(entry, str):
            messages[entry] = ()
        elif isinstance(entry, dict) and isinstance(entry.get("type"), str):
            placements = entry.get("placements")
            messages[entry["type"]] = tuple(p for p in placements if isinstance(p, str)) \
                if isinstance(placements, list) else ()
    return messages


# -- the registration ----------------------------------------------------------------------
class ToolMessage(t.TypedDict):
    """One message the tool offers in its registration: type, launch URL, label, placements."""

    type: str
    target_link_uri: str
    label: str
    placements: t.NotRequired[list[str]]


def registration_request(tool: ToolDescription,
                         config: PlatformConfiguration) -> dict[str, t.Any]:
    """The client registration the tool POSTs, fitted to what the platform supports."""
    urls = tool_urls(tool.base_url)
    # Ask only for what the platform offers; a platform that lists nothing is asked for all.
    scopes = [s for s in SCOPES if not config.scopes_supported or s in config.scopes_supported]
    messages: list[ToolMessage] = [{"type": MessageType.RESOURCE_LINK.value,
                                    "target_link_uri": urls["launch"], "label": tool.name}]
    supported = config.messages_supported
    if supported is None or MessageType.DEEP_LINKING.value in supported:
        placements = (supported or {}).get(MessageType.DEEP_LINKING.value) \
            or DEFAULT_DL_PLACEMENTS
        messages.append({"type": MessageType.DEEP_LINKING.value,
                         "target_link_uri": urls["launch"],
                         "label": f"{tool.name}: choose a module",
                         "placements": list(placements)})
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls["login"],
        "redirect_uris": [urls["launch"]],
        "jwks_uri": urls["jwks"],
        "token_endpoint_auth_method": "private_key_jwt",
        "client_name": tool.name,
        "logo_uri": tool.logo_url,
        "scope": " ".join(scopes),
        TOOL_CONFIGURATION: {
            "domain": urls["domain"],
            "target_link_uri": urls["launch"],
            "description": tool.description,
            "claims": list(CLAIMS),
            "messages": messages,
        },
    }


def post_registration(http: requests.Session, config: PlatformConfiguration,
                      body: dict[str, t.Any], registration_token: str | None,
                      timeout: float) -> dict[str, t.Any]:
    """POST the registration with the platform's bearer token; its answer, or a refusal."""
    headers = {"Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    url = config.registration_endpoint
    status, data = _exchange(http, "POST", url, timeout, what="registration endpoint",
                             json=body, headers=headers)
    if not 200 <= status < 300:
        text = _error_text(data)
        raise RegistrationRefused("registration_refused",
                                  f"registration endpoint {url} answered HTTP {status}: {text}",
                                  f"The platform answered HTTP {status}: {text}")
    if not isinstance(data, dict):
        raise RegistrationRefused("bad_answer", f"registration answer from {url} is not a "
                                  "JSON object", "The platform's answer was not JSON.")
    return data


def store_registration(session: Session, config: PlatformConfiguration,
                       answer: dict[str, t.Any]) -> Outcome:
    """Add the registration and its approved deployment from the platform's answer (flushed)."""
    client_id = _optional(answer.get("client_id"), MAX_ID)
    if client_id is None:
        raise RegistrationRefused("bad_answer", f"answer has no usable client_id: "
                                  f"{answer.get('client_id')!r}", "No client_id in the answer.")
    tool_config = answer.get(TOOL_CONFIGURATION)
    deployment_id = _optional(tool_config.get("deployment_id"), MAX_ID) \
        if isinstance(tool_config, dict) else None
    existing = find_platform(session, config.issuer, client_id)
    if existing is not None:
        raise RegistrationRefused(
            "already_registered", f"issuer {config.issuer!r} client {client_id!r} is "
            f"registration {existing.id}", f"Issuer {config.issuer}, client ID {client_id}.")
    try:
        row = add_platform(
            session, issuer=config.issuer, client_id=client_id,
            auth_login_url=config.authorization_endpoint, auth_token_url=config.token_endpoint,
            key_set_url=config.jwks_uri, auth_audience=config.authorization_server,
            name=platform_name(config),
            deployment_ids=(deployment_id,) if deployment_id else ())
    except RegistrationError as error:
        raise RegistrationRefused("bad_answer", str(error), str(error)) from error
    deployment = row.deployments[0] if row.deployments else None
    return Outcome(registration=row, deployment=deployment,
                   product_family_code=config.product_family_code)


def platform_name(config: PlatformConfiguration) -> str:
    """A readable name: the product and the issuer's host, e.g. "Moodle at vle.example.ac.uk"."""
    host = urlsplit(config.issuer).netloc or config.issuer
    product = config.product_family_code
    return (f"{product[:1].upper()}{product[1:]} at {host}" if product else host)[:200]


# -- HTTP and value checks -----------------------------------------------------------------
def _exchange(http: requests.Session, method: str, url: str, timeout: float, *, what: str,
              **kwargs: t.Any) -> tuple[int, object]:
    """One request; (status, parsed JSON or the text when not JSON). Network errors refuse."""
    try:
        # No redirects: the issuer is checked against this URL, and the token must not travel.
        with http.request(method, url, timeout=timeout, allow_redirects=False, stream=True,
                          **kwargs) as response:
            body = _read_capped(response)
            status = response.status_code
    except (requests.RequestException, ValueError) as error:
        raise RegistrationRefused("platform_unreachable", f"{what} {url}: {error}",
                                  f"{url}: {type(error).__name__}") from error
    try:
        # Moodle answers JSON as text/html, so the Content-Type is ignored.
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


def _read_capped(response: requests.Response) -> bytes:
    """The response body, refusing one over MAX_ANSWER_BYTES."""
    body = b""
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise ValueError(f"answer is over {MAX_ANSWER_BYTES} bytes")
    return body


def _error_text(data: object) -> str:
    """The platform's error in one short line, from an OAuth-style JSON error or plain text."""
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("error", "error_description", "message") if data.get(k)]
        text = ": ".join(parts) or json.dumps(data)
    else:
        text = str(data)
    text = " ".join(text.split())
    return (text[:300] + "…") if len(text) > 300 else (text or "(no error text)")


def _text(data: dict[str, t.Any], name: str, limit: int) -> str:
    """A required string field of the configuration, fit for the database."""
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise RegistrationRefused("bad_configuration", f"configuration field {name} is "
                                  f"missing or unusable: {value!r}"[:500],
                                  f"The configuration's {name} is missing or unusable.")
    return value


def _url(name: str, value: str, code: str = "bad_configuration") -> str:
    """An absolute http(s) URL, or a refusal naming the field."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or len(value) > MAX_URL or not value.isprintable():
        raise RegistrationRefused(code, f"{name} is not an absolute http(s) URL: {value!r}"[:500],
                                  f"The {name} is not an absolute http(s) URL.")
    return value


def _origin(url: str) -> tuple[str, str, int]:
    """Scheme, host and port (default ports filled in) of a checked URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _optional(value: object, limit: int) -> str | None:
    """A short printable string (numbers, which some platforms send for ids, become one)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value and len(value) <= limit and value.isprintable():
        return value
    return None
