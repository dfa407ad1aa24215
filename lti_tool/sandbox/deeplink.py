"""The sandbox platform's deep linking: ask the tool for activities, check and keep its answer."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import jwt
from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import get_session
from ..extensions import csrf
from ..keys import Keyring, KeyringError
from ..lti.constants import LTI_VERSION, Claim
from ..lti.urls import tool_urls
from ..models import SandboxLink
from . import bp
from . import platform as sandbox

log = logging.getLogger(__name__)
KEY_PREFIX = "dl-"
MAX_ITEMS = 50
LEEWAY = 60


class ResponseRefused(ValueError):
    """A deep linking response the sandbox will not accept; the message says why."""


def all_links(session: Session) -> dict[str, sandbox.Link]:
    """The sandbox course's activities: the built-in ones, then those added by deep linking."""
    links = dict(sandbox.LINKS)
    for row in session.scalars(select(SandboxLink).order_by(SandboxLink.id)):
        links[f"{KEY_PREFIX}{row.id}"] = {
            "id": row.resource_link_id, "title": row.title, "description": row.text or "",
            "module": row.custom.get("module"), "custom": dict(row.custom),
            "line_item": row.line_item}
    return links


@bp.post("/deep-link")
def start_deep_link() -> ResponseReturnValue:
    """Initiate a deep linking login as the lecturer, as a VLE's 'add an activity' page does."""
    base = current_app.config["BASE_URL"]
    user_key = request.form.get("user", "lecturer")
    if user_key not in sandbox.USERS:
        abort(400, "Choose a person from the sandbox page.")
    fields = {"iss": sandbox.issuer(base), "login_hint": sandbox.USERS[user_key].sub,
              "target_link_uri": tool_urls(base)["launch"],
              "lti_message_hint": sandbox.message_hint(user_key, None, deep_linking=True),
              "client_id": sandbox.CLIENT_ID, "lti_deployment_id": sandbox.DEPLOYMENT_ID}
    return render_template("sandbox/autopost.html", action=tool_urls(base)["login"],
                           fields=fields)


@bp.post("/deep-link-return")
@csrf.exempt  # posted by the tool's page, like any platform's return URL; the JWT is the proof
def deep_link_return() -> ResponseReturnValue:
    """Check the tool's signed LtiDeepLinkingResponse and add its activities to the course."""
    base = current_app.config["BASE_URL"]
    try:
        jwks = Keyring(current_app.config["KEYS_DIR"]).public_jwks()
        items = verify_response(request.form.get("JWT", ""), base, jwks)
    except KeyringError as error:
        log.error("sandbox cannot read the tool's key set: %s", error)
        abort(503, "The tool has no keys yet, so its answer cannot be checked. Run "
                   "`lti-tool keys generate`.")
    except ResponseRefused as error:
        log.warning("sandbox refused a deep linking response: %s", error)
        abort(400, f"The sandbox refused the tool's answer: {error}")
    db = get_session()
    added = store_links(db, items, tool_urls(base)["launch"])
    db.commit()
    return render_template("sandbox/deep_link_added.html", links=added)


def verify_response(token: str, base_url: str,
                    jwks: dict[str, Any]) -> list[dict[str, Any]]:
    """The content items of a response signed by the tool and addressed to the sandbox."""
    if not token:
        raise ResponseRefused("no JWT was posted.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise ResponseRefused(f"the JWT cannot be read ({exc}).") from exc
    if header.get("alg") != "RS256":
        raise ResponseRefused(f"it is signed with {header.get('alg')!r}, not RS256.")
    entry = next((k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")), None)
    if entry is None:
        raise ResponseRefused(f"key {header.get('kid')!r} is not in the tool's key set.")
    try:
        claims = jwt.decode(token, jwt.PyJWK(entry, algorithm="RS256").key,
                            algorithms=["RS256"], audience=sandbox.issuer(base_url),
                            issuer=sandbox.CLIENT_ID, leeway=LEEWAY,
                            options={"require": ["exp", "iat", "iss", "aud", "nonce"]})
    except jwt.PyJWTError as exc:
        raise ResponseRefused(f"the JWT does not verify ({exc}).") from exc
    expected = {Claim.MESSAGE_TYPE.value: "LtiDeepLinkingResponse",
                Claim.VERSION.value: LTI_VERSION,
                Claim.DEPLOYMENT_ID.value: sandbox.DEPLOYMENT_ID}
    for name, value in expected.items():
        if claims.get(name) != value:
            raise ResponseRefused(f"{name.rsplit('/', 1)[-1]} is {claims.get(name)!r}, "
                                  f"not {value!r}.")
    # The sandbox always sends `data`; a tool must give it back unchanged.
    if not isinstance(claims.get(Claim.DL_DATA.value), str):
        raise ResponseRefused("the request's data was not echoed.")
    items = claims.get(Claim.DL_CONTENT_ITEMS.value, [])
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise ResponseRefused(f"content_items must be a list of at most {MAX_ITEMS} items.")
    for item in items:
        _check_item(item, base_url)
    return items


def _check_item(item: object, base_url: str) -> None:
    """An ltiResourceLink pointing at the tool, with string custom parameters."""
    if not isinstance(item, dict) or item.get("type") != "ltiResourceLink":
        raise ResponseRefused("the sandbox only accepts ltiResourceLink content items.")
    if not isinstance(item.get("title"), str) or not item["title"].strip():
        raise ResponseRefused("a content item has no title.")
    url = item.get("url", tool_urls(base_url)["launch"])
    if not isinstance(url, str) or not url.startswith(base_url + "/"):
        raise ResponseRefused(f"item {item['title']!r} points outside the tool ({url!r}).")
    custom = item.get("custom", {})
    if not isinstance(custom, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in custom.items()):
        raise ResponseRefused(f"item {item['title']!r} has custom parameters that are not "
                              "strings.")
    if "lineItem" in item and not isinstance(item["lineItem"], dict):
        raise ResponseRefused(f"item {item['title']!r} has an unreadable lineItem.")


def store_links(session: Session, items: list[dict[str, Any]],
                launch_url: str) -> list[SandboxLink]:
    """Create one sandbox activity per content item (flushed, not committed)."""
    rows = []
    for item in items:
        row = SandboxLink(resource_link_id=f"sandbox-dl-{secrets.token_hex(6)}",
                          title=item["title"].strip()[:500],
                          text=str(item.get("text") or "")[:10000] or None,
                          url=item.get("url", launch_url)[:1000],
                          custom=dict(item.get("custom") or {}), line_item=item.get("lineItem"))
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
