"""A Moodle-like grade service on loopback that records and counts every request it gets.

Token endpoint (`/mod/lti/token.php`, JSON answered as text/html like Moodle 4.5, checking
the tool's signed assertion against the tool's JWKS), line items (Moodle's unpaged list, or
pages joined by `Link: rel="next"` when `page_size` is set), and scores at
`.../lineitem/scores?type_id=1`. Failures can be scripted per kind of request.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs

import jwt
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from ..lti_platform import JwksServer

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
OFFERED = {SCOPE_SCORE, SCOPE_LINEITEM,
           "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
           "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"}
SERVICES = "/mod/lti/services.php/2/lineitems"
ITEM = re.compile(rf"^{re.escape(SERVICES)}/(\d+)/lineitem(/scores)?$")


@dataclass
class Recorded:
    """One request as the platform saw it."""

    kind: str
    method: str
    path: str
    query: dict
    headers: dict
    body: str
    status: int = 0

    @property
    def json(self):
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def form(self) -> dict:
        """The body parsed as a form."""
        return {k: v[0] for k, v in parse_qs(self.body).items()}


@dataclass
class Script:
    """Answer the next `times` requests of a kind with `status` (and headers)."""

    status: int
    times: int
    headers: dict = field(default_factory=dict)
    body: str = ""


class _KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1 with persistent connections, as a VLE's web server keeps them.

    Werkzeug's development server closes every connection, so a tool reusing its connections
    could not be measured against it. Each request's body is read whole (by Content-Length)
    before the next request line, which is what keeps the stream in step.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes; do not hold the body
    server: _Server

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        environ = EnvironBuilder(path=self.path, method=self.command, data=body,
                                 headers=list(self.headers.items())).get_environ()
        started: list = []
        chunks = self.server.app(environ, lambda status, headers, exc_info=None:
                                 started.extend((status, headers)))
        data = b"".join(chunks)
        status, headers = started
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format, *args) -> None:
        """Quiet: the platform records requests itself."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: Callable


class AgsPlatform(JwksServer):
    """The platform; `client_id` and the tool's JWKS decide whose assertions it accepts."""

    def __init__(self, client_id: str, tool_jwks: Callable[[], dict], *,
                 token_lifetime: int = 3600, audience: str | None = None) -> None:
        self.client_id = client_id
        self.tool_jwks = tool_jwks
        self.token_lifetime = token_lifetime
        self.audience = audience
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.scripts: dict[str, list[Script]] = {}
        self.tokens: dict[str, set[str]] = {}
        self.lineitems: dict[int, dict] = {}
        self.scores: list[dict] = []
        self.page_size: int | None = None
        self.grade_sync = True
        self.on_request: Callable[[Recorded], None] | None = None
        # JwksServer's attributes, over a server that keeps connections open.
        self.routes, self.hits = {}, {}
        self.server = _Server(("127.0.0.1", 0), _KeepAlive)
        self.server.app = self._app
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()

    # -- addresses ---------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return f"{self.url}/mod/lti/token.php"

    @property
    def lineitems_url(self) -> str:
        return f"{self.url}{SERVICES}?type_id=1"

    def lineitem_url(self, number: int) -> str:
        return f"{self.url}{SERVICES}/{number}/lineitem?type_id=1"

    def add_lineitem(self, **fields) -> str:
        """A line item that exists before the tool looks (like Moodle's for an activity)."""
        with self.lock:
            number = len(self.lineitems) + 1
            item = {"id": self.lineitem_url(number), "label": "Lab LTI Activity",
                    "scoreMaximum": 100, "resourceId": "", "tag": "", **fields}
            self.lineitems[number] = item
        return item["id"]

    # -- scripting and reading ---------------------------------------------------------
    def fail(self, kind: str, status: int, times: int = 1, body: str = "", **headers) -> None:
        """The next `times` requests of `kind` ('token', 'score', 'lineitems') get `status`."""
        self.scripts.setdefault(kind, []).append(Script(status, times, headers, body))

    def count(self, kind: str) -> int:
        """How many requests of a kind arrived."""
        return sum(1 for r in self.requests if r.kind == kind)

    def accepted_scores(self) -> list[dict]:
        """Score payloads stored, in arrival order, each with its line item number."""
        return list(self.scores)

    def revoke_tokens(self) -> None:
        """Forget every token issued (as a platform that revokes early does)."""
        self.tokens.clear()

    # -- the HTTP side -----------------------------------------------------------------
    def _app(self, environ, start_response):
        request = Request(environ)
        kind = self._kind(request)
        record = Recorded(kind, request.method, request.path,
                          {k: v[0] for k, v in parse_qs(request.query_string.decode()).items()},
                          dict(request.headers), request.get_data(as_text=True))
        if self.on_request is not None:
            self.on_request(record)
        response = self._scripted(kind) or self._handle(kind, request, record)
        record.status = response.status_code
        with self.lock:
            self.requests.append(record)
        return response(environ, start_response)

    @staticmethod
    def _kind(request: Request) -> str:
        if request.path == "/mod/lti/token.php":
            return "token"
        if request.path == SERVICES:
            return "lineitems" if request.method == "GET" else "lineitem_create"
        match = ITEM.match(request.path)
        if match:
            return "score" if match.group(2) else "lineitem"
        return "other"

    def _scripted(self, kind: str) -> Response | None:
        with self.lock:
            queue = self.scripts.get(kind) or []
            if not queue:
                return None
            script = queue[0]
            script.times -= 1
            if script.times <= 0:
                queue.pop(0)
        return Response(script.body or json.dumps({"error": "scripted"}), status=script.status,
                        headers=script.headers, content_type="application/json")

    def _handle(self, kind: str, request: Request, record: Recorded) -> Response:
        if kind == "token":
            return self._token(request)
        scopes = self._bearer(request)
        if scopes is None or not self.grade_sync:
            # Moodle with grade sync off on the tool answers services with 401.
            return Response("", status=401)
        if kind == "lineitems":
            return self._list(request)
        if kind == "lineitem_create":
            if SCOPE_LINEITEM not in scopes:
                return Response("", status=401)
            return self._create(request)
        if kind == "score":
            if SCOPE_SCORE not in scopes:
                return Response("", status=401)
            return self._score(request, record)
        if kind == "lineitem":
            number = int(ITEM.match(request.path).group(1))
            item = self.lineitems.get(number)
            return Response(json.dumps(item), status=200 if item else 404,
                            content_type="application/vnd.ims.lis.v2.lineitem+json")
        return Response("not found", status=404)

    def _token(self, request: Request) -> Response:
        form = request.form

        def answer(body: dict, status: int) -> Response:
            return Response(json.dumps(body), status=status,
                            content_type="text/html; charset=utf-8")  # Moodle's label

        try:
            keys = jwt.PyJWKSet.from_dict(self.tool_jwks())
            assertion = form.get("client_assertion", "")
            kid = jwt.get_unverified_header(assertion).get("kid")
            key = next(k for k in keys.keys if k.key_id == kid)
            claims = jwt.decode(assertion, key.key, algorithms=["RS256"],
                                audience=self.audience or self.token_url)
        except (jwt.PyJWTError, StopIteration):
            return answer({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "client_credentials" or \
                claims.get("iss") != self.client_id or claims.get("sub") != self.client_id \
                or not claims.get("jti"):
            return answer({"error": "invalid_client"}, 401)
        asked = set(form.get("scope", "").split())
        if not asked or not asked <= OFFERED:
            return answer({"error": "invalid_scope"}, 400)
        token = secrets.token_hex(16)
        self.tokens[token] = asked
        return answer({"access_token": token, "token_type": "Bearer",
                       "expires_in": self.token_lifetime, "scope": " ".join(sorted(asked))},
                      200)

    def _bearer(self, request: Request) -> set[str] | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return self.tokens.get(token) if scheme == "Bearer" else None

    def _list(self, request: Request) -> Response:
        items = list(self.lineitems.values())
        headers = {}
        if self.page_size:
            page = int(request.args.get("page", "0"))
            start = page * self.page_size
            if start + self.page_size < len(items):
                headers["Link"] = (f'<{self.url}{SERVICES}?type_id=1&page={page + 1}>; '
                                   'rel="next"')
            items = items[start:start + self.page_size]
        return Response(json.dumps(items), headers=headers,
                        content_type="application/vnd.ims.lis.v2.lineitemcontainer+json")

    def _create(self, request: Request) -> Response:
        data = json.loads(request.get_data(as_text=True))
        url = self.add_lineitem(**{k: data[k] for k in ("label", "scoreMaximum", "resourceId",
                                                         "tag", "resourceLinkId") if k in data})
        return Response(json.dumps({**data, "id": url}), status=201,
                        content_type="application/vnd.ims.lis.v2.lineitem+json")

    def _score(self, request: Request, record: Recorded) -> Response:
        if request.args.get("type_id") != "1":
            return Response("", status=403)  # Moodle needs the type_id it gave
        if request.mimetype != SCORE_TYPE:
            return Response("", status=400)
        number = int(ITEM.match(request.path).group(1))
        if number not in self.lineitems:
            return Response("", status=404)
        with self.lock:
            self.scores.append({"lineitem": number, **record.json})
        return Response("", status=200, content_type=SCORE_TYPE)
