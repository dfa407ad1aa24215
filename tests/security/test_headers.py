"""Security headers on every route, framing by registered VLEs only (issue 13, item 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lti_tool import security

from ..lti_platform import TestPlatform

PACKAGE = Path(security.__file__).parent
# Routes that publish nothing personal and say how long they may be kept.
CACHEABLE = {"static", "lti.jwks", "lti.config_json"}


def _url(rule) -> str:
    """A concrete URL for a rule, with placeholder values for its arguments."""
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        values[name] = 1 if kind in ("IntegerConverter", "FloatConverter") else "x"
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?%s>" % name, str(value), path)
    return path


def _check(response, origins: list[str], endpoint: str, secure: bool = False,
           console: bool = False) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, endpoint
    assert "base-uri 'none'" in csp, endpoint
    ancestors = re.search(r"frame-ancestors ([^;]+)", csp).group(1).split()
    if console:
        # The console is framed by nobody, and its policy is stricter still.
        assert "default-src 'self'" in csp and "script-src" not in csp, endpoint
        assert ancestors == ["'none'"], endpoint
    else:
        assert "script-src 'self'" in csp and "object-src 'none'" in csp, endpoint
        assert set(ancestors) == {"'self'", *origins}, (endpoint, ancestors)
    assert headers.get("X-Content-Type-Options") == "nosniff", endpoint
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), endpoint
    if endpoint not in CACHEABLE:
        assert headers.get("Cache-Control") == "no-store", endpoint
    if secure:
        assert headers.get("Strict-Transport-Security", "").startswith("max-age="), endpoint
    else:
        assert "Strict-Transport-Security" not in headers, endpoint


@pytest.mark.parametrize("secure", [False, True])
def test_every_route_answers_with_the_security_headers(app, moodle, secure):
    client = app.test_client()
    origins = sorted({moodle.issuer, "https://" + moodle.auth_login_url.split("/")[2]})
    headers = {"X-Forwarded-Proto": "https"} if secure else {}
    seen = 0
    for rule in app.url_map.iter_rules():
        url = _url(rule)
        if rule.endpoint == "static":
            url = "/static/app.js"
        methods = rule.methods - {"HEAD", "OPTIONS"}
        method = "GET" if "GET" in methods else sorted(methods)[0]
        response = client.open(url, method=method, headers=headers)
        assert response.status_code != 500, (url, response.status_code)
        _check(response, origins, rule.endpoint, secure, console=url.startswith("/admin"))
        seen += 1
    assert seen > 40  # the walk really covered the app
    # An unknown address and a refused form are pages too.
    _check(client.get("/no/such/page", headers=headers), origins, "404", secure)


def test_personal_pages_after_a_real_launch_carry_the_headers(app, moodle):
    client = app.test_client()
    response, _, _ = moodle.launch(client, "student_launch")
    assert response.status_code == 303
    assert response.headers["Cache-Control"] == "no-store"
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and moodle.issuer in csp
    assert page.headers["Cache-Control"] == "no-store"


def test_only_registered_platforms_may_frame_the_tool(app, moodle, jwks_server, db):
    client = app.test_client()
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "https://evil.example" not in csp and "*" not in csp
    # A platform registered later may frame the tool once the short cache has lapsed.
    other = TestPlatform(jwks_server, "brightspace-x", "https://d2l.example.ac.uk", "c-1")
    other.register(db)
    security.forget_origins(app)
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "https://d2l.example.ac.uk" in csp and "https://brightspace-x.platform.test" in csp


@pytest.mark.parametrize("url, origin", [
    ("https://vle.example.ac.uk/mod/lti/auth.php", "https://vle.example.ac.uk"),
    ("https://VLE.example.ac.uk:8443/x?y#z", "https://vle.example.ac.uk:8443"),
    ("https://user:pw@vle.example.ac.uk/", "https://vle.example.ac.uk"),
    ("https://evil.example; script-src *", None),
    ("https://evil.example'unsafe-inline'", None),
    ("javascript:alert(1)", None),
    ("moodle", None),
    ("", None),
])
def test_origin_of_a_registration_url_is_safe_in_a_policy(url, origin):
    assert security.origin_of(url) == origin


def test_configured_extra_origins_may_frame_the_tool(database_url, tmp_path):
    from ..conftest import make_app

    app = make_app(database_url, tmp_path,
                   FRAME_ANCESTORS="https://school.instructure.com bad;origin")
    try:
        csp = app.test_client().get("/").headers["Content-Security-Policy"]
        assert "frame-ancestors 'self' https://school.instructure.com" in csp
        assert "bad" not in csp
    finally:
        app.extensions["lti_tool.engine"].dispose()


def test_no_template_has_inline_script_or_handlers():
    templates = [p for p in PACKAGE.rglob("*.html") if "templates" in p.parts]
    assert len(templates) > 30
    for path in templates:
        html = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "javascript:" not in html, path
