"""A university's OpenID Connect provider on loopback, for the console's SSO tests.

Real HTTP in a thread: discovery, an authorize endpoint that approves at once (redirecting
with a code), a token endpoint that checks the client secret, the redirect URI and the PKCE
verifier and signs an RS256 id_token with PyJWT, and the JWKS. Knobs make it misbehave.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ...lti_platform import rsa_key

CLIENT_ID = "tool-console"
CLIENT_SECRET = "console-secret-for-tests-only"


class OidcProvider:
    """One provider; `user` is whoever "signs in" at its authorize endpoint."""

    def __init__(self) -> None:
        self.key = rsa_key(7)
        self.kid = "idp-key-1"
        self.user: dict = {"sub": "staff-0001", "email": "ada.admin@uni.example.ac.uk",
                           "email_verified": True, "name": "Ada Admin"}
        self.mutate: Callable[[dict], None] | None = None  # change claims before signing
        self.sign_with = None  # another private key: a signature that does not verify
        self.authorize_error: tuple[str, str] | None = None  # (error, description)
        self.discovery: dict | None = None  # replaces the discovery document
        self.discovery_status = 200
        self.token_answer: dict | None = None  # replaces the token endpoint's answer
        self.jwks_answer: object = None  # replaces the key set
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.authorize_requests: list[dict] = []
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll interval: shutting down takes 0.05 s, not werkzeug's default 0.5 s.
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    # -- endpoints ---------------------------------------------------------------------
    def _app(self, environ, start_response):
        request = Request(environ)
        route = {"/.well-known/openid-configuration": self._discovery,
                 "/authorize": self._authorize, "/token": self._token,
                 "/jwks": self._jwks}.get(request.path)
        response = route(request) if route else Response("not found", status=404)
        return response(environ, start_response)

    @staticmethod
    def _json(body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def _discovery(self, request: Request) -> Response:
        document = self.discovery or {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["openid", "email", "profile"]}
        if self.discovery_status != 200:
            return Response("upstream trouble", status=self.discovery_status)
        return self._json(document)

    def _authorize(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.authorize_requests.append(args)
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code" \
                or "openid" not in args.get("scope", "").split() \
                or args.get("code_challenge_method") != "S256":
            return Response("bad authorization request", status=400)
        redirect = args["redirect_uri"]
        if self.authorize_error:
            error, description = self.authorize_error
            query = {"error": error, "error_description": description, "state": args["state"]}
        else:
            code = secrets.token_urlsafe(16)
            with self._lock:
                self.codes[code] = {"nonce": args.get("nonce"), "redirect_uri": redirect,
                                    "challenge": args["code_challenge"]}
            query = {"code": code, "state": args["state"]}
        return Response(status=302, headers={"Location": f"{redirect}?{urlencode(query)}"})

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append(form)
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
            return self._json({"error": "invalid_client"}, 401)
        with self._lock:  # a code is good once, however many requests race for it
            grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code" \
                or form.get("redirect_uri") != grant["redirect_uri"]:
            return self._json({"error": "invalid_grant",
                               "error_description": "unknown or used code"}, 400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return self._json({"error": "invalid_grant",
                               "error_description": "PKCE verifier mismatch"}, 400)
        if self.token_answer is not None:
            return self._json(self.token_answer)
        now = int(time.time())
        claims = {**self.user, "iss": self.issuer, "aud": CLIENT_ID, "iat": now,
                  "exp": now + 300, "nonce": grant["nonce"]}
        if self.mutate:
            self.mutate(claims)
        id_token = jwt.encode(claims, self.sign_with or self.key, algorithm="RS256",
                              headers={"kid": self.kid})
        return self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                           "expires_in": 300, "id_token": id_token})

    def _jwks(self, request: Request) -> Response:
        if self.jwks_answer is not None:
            return Response(json.dumps(self.jwks_answer), content_type="application/json")
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, alg="RS256", use="sig")
        return self._json({"keys": [public]})

    # -- driving it --------------------------------------------------------------------
    def approve(self, start_location: str) -> str:
        """Follow the tool's redirect to the authorize endpoint; the callback path + query."""
        answer = requests.get(start_location, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        callback = urlsplit(answer.headers["Location"])
        return f"{callback.path}?{callback.query}"

    def close(self) -> None:
        """Stop serving (the provider is then "down")."""
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """An http address on loopback where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
