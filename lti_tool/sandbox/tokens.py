"""The sandbox's OAuth2 token endpoint: the tool's signed assertion in, a bearer token out.

Like Moodle's /mod/lti/token.php: client_credentials with a JWT the tool signed, checked
against the tool's published keys; the answer is JSON labelled text/html, as Moodle sends it.
Tokens are JWTs signed by the sandbox's own key, so any sandbox service can check them
without shared state.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import jwt
from flask import Response, current_app, request
from flask.typing import ResponseReturnValue

from ..extensions import csrf
from ..keys import Keyring, KeyringError
from . import bp
from . import platform as sandbox

log = logging.getLogger(__name__)

LIFETIME = 3600
AUDIENCE = "sandbox-services"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPES = {
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
}


def issue(keys_dir: Path, scopes: set[str]) -> tuple[str, int]:
    """A bearer token for `scopes`, signed by the sandbox, and its lifetime."""
    now = int(time.time())
    token = sandbox.keyring(keys_dir).sign({
        "iss": sandbox.CLIENT_ID, "aud": AUDIENCE, "iat": now, "exp": now + LIFETIME,
        "scope": " ".join(sorted(scopes))})
    return token, LIFETIME


def bearer_scopes(authorization: str, keys_dir: Path) -> set[str] | None:
    """The scopes of a valid sandbox bearer token in an Authorization header, else None."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        keyring = sandbox.keyring(keys_dir)
        public = jwt.PyJWKSet.from_dict(keyring.public_jwks())
        kid = jwt.get_unverified_header(token).get("kid")
        key = next(k for k in public.keys if k.key_id == kid)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE)
    except (jwt.PyJWTError, KeyringError, StopIteration) as exc:
        log.info("sandbox bearer token refused: %s", exc)
        return None
    return set(str(claims.get("scope", "")).split())


@bp.post("/token")
@csrf.exempt
def token() -> ResponseReturnValue:
    """client_credentials grant: verify the tool's assertion, answer with a bearer token."""
    form = request.form
    if form.get("grant_type") != "client_credentials" or \
            form.get("client_assertion_type") != ASSERTION_TYPE:
        return _answer({"error": "unsupported_grant_type"}, 400)
    url = f"{sandbox.issuer(current_app.config['BASE_URL'])}/token"
    try:
        tool_keys = jwt.PyJWKSet.from_dict(Keyring(current_app.config["KEYS_DIR"]).public_jwks())
        assertion = form.get("client_assertion", "")
        kid = jwt.get_unverified_header(assertion).get("kid")
        key = next(k for k in tool_keys.keys if k.key_id == kid)
        claims = jwt.decode(assertion, key.key, algorithms=["RS256"], audience=url)
    except (jwt.PyJWTError, KeyringError, StopIteration) as exc:
        log.info("sandbox token request refused: %s", exc)
        return _answer({"error": "invalid_client"}, 401)
    if claims.get("iss") != sandbox.CLIENT_ID or claims.get("sub") != sandbox.CLIENT_ID:
        return _answer({"error": "invalid_client"}, 401)
    asked = set(form.get("scope", "").split())
    if not asked or not asked <= SCOPES:
        return _answer({"error": "invalid_scope"}, 400)
    value, lifetime = issue(current_app.config["KEYS_DIR"], asked)
    return _answer({"access_token": value, "token_type": "Bearer", "expires_in": lifetime,
                    "scope": " ".join(sorted(asked))}, 200)


def _answer(body: dict[str, Any], status: int) -> Response:
    """JSON labelled text/html, exactly Moodle's quirk, so the tool keeps coping with it."""
    return Response(json.dumps(body), status=status, content_type="text/html; charset=utf-8")
