"""The sandbox platform's pages: choose who to be, its OIDC auth endpoint and its JWKS."""

from __future__ import annotations

import json

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ..db import get_session
from ..extensions import csrf
from ..keys import KeyringError
from ..lti.urls import tool_urls
from ..models import Registration
from . import bp
from . import platform as sandbox
from .deeplink import all_links


@bp.get("/")
def index() -> ResponseReturnValue:
    """The sandbox 'course page': launch the tool as a student, lecturer or admin."""
    base = current_app.config["BASE_URL"]
    registered = get_session().scalar(select(Registration.id).where(
        Registration.issuer == sandbox.issuer(base),
        Registration.client_id == sandbox.CLIENT_ID)) is not None
    return render_template("sandbox/index.html", users=sandbox.USERS,
                           links=all_links(get_session()),
                           course=sandbox.COURSE, registered=registered)


@bp.post("/start")
def start() -> ResponseReturnValue:
    """Initiate a login as the chosen person for the chosen link, as a VLE's launch page does."""
    base = current_app.config["BASE_URL"]
    user_key, link_key = request.form.get("user"), request.form.get("link")
    if user_key not in sandbox.USERS or link_key not in all_links(get_session()):
        abort(400, "Choose a person and an activity from the sandbox page.")
    fields = {"iss": sandbox.issuer(base), "login_hint": sandbox.USERS[user_key].sub,
              "target_link_uri": tool_urls(base)["launch"],
              "lti_message_hint": sandbox.message_hint(user_key, link_key),
              "client_id": sandbox.CLIENT_ID, "lti_deployment_id": sandbox.DEPLOYMENT_ID}
    return render_template("sandbox/autopost.html", action=tool_urls(base)["login"],
                           fields=fields)


@bp.get("/jwks.json")
def jwks() -> ResponseReturnValue:
    """The sandbox platform's public keys."""
    try:
        return sandbox.keyring(current_app.config["KEYS_DIR"]).public_jwks()
    except KeyringError as error:
        abort(503, f"The sandbox has no keys yet: {error}")


@bp.route("/auth", methods=["GET", "POST"])
@csrf.exempt
def auth() -> ResponseReturnValue:
    """OIDC authorization endpoint: check the tool's request and post back a signed id_token."""
    base = current_app.config["BASE_URL"]
    args = request.values
    expected = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                "prompt": "none", "client_id": sandbox.CLIENT_ID,
                "redirect_uri": tool_urls(base)["launch"]}
    for name, value in expected.items():
        if args.get(name) != value:
            abort(400, f"The sandbox refused the login: {name} should be {value!r}.")
    if not args.get("nonce") or not args.get("state"):
        abort(400, "The sandbox refused the login: state and nonce are required.")
    try:
        hint = json.loads(args.get("lti_message_hint") or "{}")
    except ValueError:
        abort(400, "The sandbox refused the login: unreadable lti_message_hint.")
    user_key = hint.get("user")
    if user_key not in sandbox.USERS or args.get("login_hint") != sandbox.USERS[user_key].sub:
        abort(400, "The sandbox refused the login: unknown user.")
    claims = sandbox.id_token_claims(base, user_key, hint.get("link"), args["nonce"],
                                     target_link_uri=tool_urls(base)["launch"],
                                     deep_linking=bool(hint.get("dl")),
                                     links=all_links(get_session()))
    id_token = sandbox.keyring(current_app.config["KEYS_DIR"]).sign(claims)
    return render_template("sandbox/autopost.html", action=args["redirect_uri"],
                           fields={"id_token": id_token, "state": args["state"]})
