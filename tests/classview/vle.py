"""A VLE for class-view tests: token endpoint and paged NRPS over real HTTP, launches, the player.

The platform checks the tool's signed client assertion against the tool's own public keys,
hands out bearer tokens, and serves the course's memberships in pages linked by `Link`
headers, recording every request so tests can count and inspect them.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field

import jwt
from werkzeug.wrappers import Request, Response

from ..forms import csrf
from ..player import begin, take_all
from ..lti_platform import JwksServer, TestPlatform, moodle_claims

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
LINK = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
NRPS_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

# Moodle sends short role names; other platforms send full URIs. The class has both.
CLASS = [
    {"user_id": "3", "name": "Tina Teacher", "email": "teacher1@example.com",
     "roles": ["Instructor"]},
    {"user_id": "4", "name": "Sam Student", "given_name": "Sam", "family_name": "Student",
     "email": "student1@example.com", "roles": ["Learner"]},
    {"user_id": "5", "name": "Sally Scholar", "email": "student2@example.com",
     "roles": [MEMBERSHIP + "Learner"]},
    {"user_id": "6", "name": "Nina Never", "email": "nina@example.com", "roles": ["Learner"]},
    {"user_id": "7", "name": "Omar Absent", "email": "omar@example.com",
     "roles": [MEMBERSHIP + "Learner"]},
    {"user_id": "8", "name": "Tom Assistant", "email": "tom@example.com",
     "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"]},
]


@dataclass
class Recorded:
    """One request the platform received."""

    method: str
    path: str
    query: str
    headers: dict
    form: dict = field(default_factory=dict)


class ClassVle(JwksServer):
    """Token endpoint and NRPS memberships (paged) on loopback, recording every request."""

    def __init__(self, tool_jwks) -> None:
        self.tool_jwks = tool_jwks  # () -> the tool's public JWKS, to check its assertions
        self.members = [dict(m) for m in CLASS]
        self.page_size = 2
        self.nrps_status = 200
        self.token_status = 200
        self.token_error: str | None = None
        self.next_link_override: str | None = None
        self.tokens: set[str] = set()
        self.recorded: list[Recorded] = []
        self._lock = threading.Lock()
        super().__init__()

    # -- what the tests look at -----------------------------------------------------------
    @property
    def token_requests(self) -> list[Recorded]:
        """Requests to the token endpoint."""
        return [r for r in self.recorded if r.path == "/token"]

    @property
    def nrps_requests(self) -> list[Recorded]:
        """Requests for membership pages."""
        return [r for r in self.recorded if r.path == "/memberships"]

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return self.url + "/token"

    @property
    def memberships_url(self) -> str:
        """The context's membership service."""
        return self.url + "/memberships"

    # -- serving --------------------------------------------------------------------------
    def _app(self, environ, start_response):
        request = Request(environ)
        if request.path not in ("/token", "/memberships"):
            return super()._app(environ, start_response)
        with self._lock:
            self.recorded.append(Recorded(request.method, request.path,
                                          request.query_string.decode(),
                                          dict(request.headers), dict(request.form)))
        if request.path == "/token":
            response = self._token(request)
        else:
            response = self._memberships(request)
        return response(environ, start_response)

    def _token(self, request: Request) -> Response:
        """client_credentials with a JWT the tool signed; JSON labelled text/html, as Moodle."""
        form = request.form
        assertion = form.get("client_assertion", "")
        keys = jwt.PyJWKSet.from_dict(self.tool_jwks())
        kid = jwt.get_unverified_header(assertion).get("kid")
        key = next(k for k in keys.keys if k.key_id == kid)
        claims = jwt.decode(assertion, key.key, algorithms=["RS256"], audience=self.token_url)
        assert form["grant_type"] == "client_credentials"
        assert claims["iss"] == claims["sub"] == "class-client"
        if self.token_status != 200:
            return Response(json.dumps({"error": self.token_error or "invalid_request"}),
                            status=self.token_status, content_type="text/html; charset=utf-8")
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return Response(json.dumps({"access_token": token, "token_type": "Bearer",
                                    "expires_in": 3600, "scope": form["scope"]}),
                        content_type="text/html; charset=utf-8")

    def _memberships(self, request: Request) -> Response:
        """One page of members with a Link to the next."""
        auth = request.headers.get("Authorization", "")
        if self.nrps_status != 200 or auth.removeprefix("Bearer ") not in self.tokens:
            return Response(json.dumps({"error": "unauthorized"}),
                            status=self.nrps_status if self.nrps_status != 200 else 401,
                            content_type="application/json")
        page = int(request.args.get("page", "1"))
        start = (page - 1) * self.page_size
        members = [{"status": "Active", **m} for m in self.members[start:start + self.page_size]]
        body = {"id": self.memberships_url, "context": {"id": "2", "label": "LTILAB",
                                                        "title": "LTI Lab Course"},
                "members": members}
        response = Response(json.dumps(body), content_type=NRPS_MEDIA + "; charset=utf-8")
        if start + self.page_size < len(self.members):
            # A relative URL on some pages: the tool must resolve it against the page's URL.
            nxt = f"/memberships?page={page + 1}" if page % 2 else \
                f"{self.memberships_url}?page={page + 1}"
            response.headers["Link"] = (f'<{self.next_link_override or nxt}>; rel="next", '
                                        f'<{self.memberships_url}>; rel="first"')
        return response


def make_platform(server: ClassVle, db) -> TestPlatform:
    """A Moodle-like registration whose token endpoint is the loopback server."""
    platform = TestPlatform(server, f"classvle-{secrets.token_hex(3)}", "https://vle.example.ac.uk",
                            "class-client")
    platform.auth_token_url = server.token_url
    platform.register(db, deployment_ids=("1",))
    return platform


# -- launches and the player ------------------------------------------------------------------

LINKS = {"r4": ("link-r4", "Online safeguarding", "r4-frozen"),
         "p1": ("link-p1", "Professional standards", "p1-frozen")}


def launch(client, platform: TestPlatform, server: ClassVle, *, sub: str, link: str = "r4",
           role: str = "Learner", name: str | None = None, nrps: bool = True,
           context: dict | None = None) -> str:
    """Launch as a person through one of the course's links; returns the launch id."""
    link_id, title, module = LINKS[link]
    person = next((m for m in server.members if m["user_id"] == sub), {"name": name or sub})

    def mutate(claims):
        claims["sub"] = sub
        claims["name"] = person["name"]
        claims["given_name"], _, claims["family_name"] = person["name"].partition(" ")
        claims["email"] = person.get("email", f"{sub}@example.com")
        claims[ROLES] = [MEMBERSHIP + role] if "/" not in role else [role]
        claims[LINK] = {"id": link_id, "title": title}
        claims[CUSTOM] = {"module": module}
        if context is not None:
            claims[CONTEXT] = context
        claims.pop(AGS, None)  # no grade service: these tests are about the class view
        if nrps:
            claims[NRPS] = {"context_memberships_url": server.memberships_url,
                            "service_versions": ["2.0"]}
        else:
            claims.pop(NRPS, None)

    response, _, _ = platform.launch(client, moodle_claims("student_launch"), mutate=mutate,
                                     login_hint=sub)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def post_form(client, url: str, data: dict, page_url: str | None = None):
    """GET the page, then POST to `url` with its CSRF token, as a browser would."""
    page = client.get(page_url or url)
    return client.post(url, data={**data, "csrf_token": csrf(page.get_data(as_text=True))})


def take_module(client, launch_id: str, module, answers: dict[str, object],
                reflection: str = "reflection") -> None:
    """Work through the module in the player and submit it.

    `answers` maps an activity id to the answer to give; others get the best answer.
    Reflections get `min_words + 5` copies of `reflection`.
    """
    start = begin(client, launch_id)
    assert start.status_code == 302 and start.headers["Location"].endswith("/step/0")
    texts = {a.id: " ".join([reflection] * (a.min_words + 5))
             for a in module.activities if a.type == "reflection"}
    take_all(client, launch_id, module, {**texts, **answers})
    review = client.get(f"/l/{launch_id}/review").get_data(as_text=True)
    assert "You have answered everything" in review
    done = client.post(f"/l/{launch_id}/submit", data={"csrf_token": csrf(review)})
    assert done.status_code == 302 and "/attempts/" in done.headers["Location"]
