"""A test LTI platform: its own RSA key, a JWKS served over real HTTP, and signed launches."""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

FIXTURES = Path(__file__).parent / "fixtures" / "moodle-4.5"
DEPLOYMENT = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
TARGET = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"


@lru_cache(maxsize=None)
def rsa_key(index: int) -> rsa.RSAPrivateKey:
    """Test keys, generated once per run (RSA generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def moodle_claims(name: str) -> dict:
    """The claims of a captured Moodle 4.5 id_token (student_launch, teacher_launch, ...)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())["claims"]


def blackboard_claims() -> dict:
    """A Blackboard Learn Ultra shaped resource link launch."""
    return {
        "iss": "https://blackboard.com", "aud": "bb-client-id", "sub": "a1b2c3d4e5f6",
        "nonce": "x", "iat": 0, "exp": 0,
        "name": "Jordan Reid", "given_name": "Jordan", "family_name": "Reid",
        "email": "j.reid@student.example.ac.uk", "locale": "en-GB",
        DEPLOYMENT: "placeholder",
        TARGET: "placeholder",
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/roles": [
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            "http://purl.imsglobal.org/vocab/lis/v2/system/person#User"],
        "https://purl.imsglobal.org/spec/lti/claim/context": {
            "id": "_1234_1", "label": "SW2001", "title": "Social Work Practice 2",
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": {
            "id": "_5678_1", "title": "Digital capabilities"},
        "https://purl.imsglobal.org/spec/lti/claim/tool_platform": {
            "guid": "bb-tenant-guid", "product_family_code": "BlackboardLearn",
            "version": "3900.0.0"},
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
            "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
            "lineitems": "https://uni.blackboard.com/learn/api/v1/lti/courses/_1234_1/lineItems"},
    }


class JwksServer:
    """A real HTTP server on loopback serving each platform's key set, counting fetches."""

    def __init__(self) -> None:
        self.routes: dict[str, callable] = {}
        self.hits: dict[str, int] = {}
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _app(self, environ, start_response):
        request = Request(environ)
        handler = self.routes.get(request.path)
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        if handler is None:
            return Response("not found", status=404)(environ, start_response)
        status, body = handler()
        return Response(json.dumps(body) if not isinstance(body, str) else body, status=status,
                        content_type="application/json")(environ, start_response)

    def publish(self, path: str, handler) -> str:
        """Serve `handler()` -> (status, body) at `path`; returns the full URL."""
        self.routes[path] = handler
        return self.url + path

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()


class TestPlatform:
    """One platform registration as a VLE would act it out."""

    __test__ = False  # not a pytest test class

    def __init__(self, server: JwksServer, name: str, issuer: str, client_id: str,
                 key_index: int = 0) -> None:
        self.server = server
        self.name = name
        self.issuer = issuer
        self.client_id = client_id
        self.key = rsa_key(key_index)
        self.kid = f"{name}-key-{key_index}"
        self.published: list[tuple[str, rsa.RSAPrivateKey]] = [(self.kid, self.key)]
        self.jwks_status = 200
        self.jwks_path = f"/{name}/jwks.json"
        self.key_set_url = server.publish(self.jwks_path, self._jwks)
        self.auth_login_url = f"https://{name}.platform.test/auth"
        self.auth_token_url = f"https://{name}.platform.test/token"

    # -- keys --------------------------------------------------------------------------
    def _jwks(self):
        keys = []
        for kid, key in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            jwk.update(kid=kid, alg="RS256", use="sig")
            keys.append(jwk)
        return self.jwks_status, {"keys": keys}

    def rotate(self, key_index: int) -> None:
        """Sign with a new key and publish it beside the old one (as Brightspace does)."""
        self.key = rsa_key(key_index)
        self.kid = f"{self.name}-key-{key_index}"
        self.published.append((self.kid, self.key))

    @property
    def jwks_fetches(self) -> int:
        """How often the tool fetched this platform's key set."""
        return self.server.hits.get(self.jwks_path, 0)

    # -- registration ------------------------------------------------------------------
    def register(self, session, deployment_ids=("1",), auto_approve=False):
        """Register this platform with the tool."""
        from lti_tool.registrations import add_platform

        row = add_platform(session, issuer=self.issuer, client_id=self.client_id,
                           auth_login_url=self.auth_login_url,
                           auth_token_url=self.auth_token_url, key_set_url=self.key_set_url,
                           name=self.name, deployment_ids=tuple(deployment_ids),
                           auto_approve=auto_approve)
        session.commit()
        return row

    # -- the OIDC flow -----------------------------------------------------------------
    def login(self, client, *, deployment_id="1", login_hint="4",
              target_link_uri="http://localhost/lti/launch", headers=None, method="POST"):
        """Third-party initiated login, as Moodle's launch page posts it."""
        params = {"iss": self.issuer, "target_link_uri": target_link_uri,
                  "login_hint": login_hint,
                  "lti_message_hint": json.dumps({"cmid": 2, "launchid": uuid.uuid4().hex}),
                  "client_id": self.client_id, "lti_deployment_id": deployment_id}
        if method == "GET":
            return client.get("/lti/login", query_string=params, headers=headers or {})
        return client.post("/lti/login", data=params, headers=headers or {})

    @staticmethod
    def auth_request(login_response) -> dict[str, str]:
        """The query of the redirect the tool sent to the platform's auth endpoint."""
        assert login_response.status_code == 302, login_response.get_data(as_text=True)
        query = parse_qs(urlsplit(login_response.headers["Location"]).query)
        return {k: v[0] for k, v in query.items()}

    def claims(self, shape: dict, auth: dict, deployment_id: str = "1") -> dict:
        """Fill a claim shape for this platform and the given auth request."""
        claims = copy.deepcopy(shape)
        now = int(time.time())
        claims.update(iss=self.issuer, aud=self.client_id, nonce=auth["nonce"], iat=now,
                      exp=now + 60)
        claims[DEPLOYMENT] = deployment_id
        claims[TARGET] = auth["redirect_uri"]
        return claims

    def sign(self, claims: dict, key=None, kid: str | None = None, alg: str = "RS256") -> str:
        """Sign claims as this platform (or with another key, for negative tests)."""
        return jwt.encode(claims, key or self.key, algorithm=alg,
                          headers={"kid": kid or self.kid})

    def launch(self, client, shape: dict | str = "student_launch", *, deployment_id="1",
               mutate=None, token=None, login_hint="4"):
        """Run login and launch through `client`; returns (launch response, id_token, auth)."""
        if isinstance(shape, str):
            shape = moodle_claims(shape)
        auth = self.auth_request(self.login(client, deployment_id=deployment_id,
                                            login_hint=login_hint))
        claims = self.claims(shape, auth, deployment_id)
        if mutate:
            claims = mutate(claims) or claims
        id_token = token(claims) if token else self.sign(claims)
        response = client.post("/lti/launch", data={"id_token": id_token,
                                                   "state": auth["state"]})
        return response, id_token, auth
