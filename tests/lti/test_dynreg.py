"""LTI Dynamic Registration against a Moodle-shaped platform served over loopback HTTP."""

from __future__ import annotations

import copy
import itertools
import json
import socket
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.wrappers import Request, Response

from lti_tool.invites import create_invite, hash_token
from lti_tool.models import (Deployment, DeploymentStatus, Launch, Registration,
                             RegistrationInvite)

from ..lti_platform import FIXTURES, JwksServer, TestPlatform

EXCHANGE = json.loads((FIXTURES / "dynamic_registration.json").read_text())
TOOL_CONF = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONF = "https://purl.imsglobal.org/spec/lti-platform-configuration"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MOODLE_CLIENT_ID = EXCHANGE["registration_response"]["client_id"]
_names = itertools.count()


class PlatformServer(JwksServer):
    """The test JWKS server, plus pages that read the request and choose their content type."""

    def __init__(self) -> None:
        self.pages: dict[str, callable] = {}
        super().__init__()

    def _app(self, environ, start_response):
        page = self.pages.get(environ.get("PATH_INFO"))
        if page is None:
            return super()._app(environ, start_response)
        return page(Request(environ))(environ, start_response)


class FakeMoodle:
    """A Moodle 4.5 site's registration endpoints, answering as in the captured exchange."""

    def __init__(self, server: PlatformServer) -> None:
        name = f"dynreg-{next(_names)}"
        # The issuer is the server's origin, as Moodle's is its wwwroot.
        self.platform = TestPlatform(server, name, server.url, client_id=MOODLE_CLIENT_ID)
        base = f"{server.url}/{name}/mod/lti"
        self.config_url = f"{base}/openid-configuration.php"
        self.registration_url = f"{base}/openid-registration.php"
        self.config = copy.deepcopy(EXCHANGE["openid_configuration"])
        self.config.update(issuer=server.url, authorization_endpoint=f"{base}/auth.php",
                           token_endpoint=f"{base}/token.php",
                           jwks_uri=self.platform.key_set_url,
                           registration_endpoint=self.registration_url)
        self.config_page: tuple[int, str] | None = None  # (status, body) to serve instead
        self.registration_page: tuple[int, str] | None = None
        self.answer_changes: dict = {}
        self.posts: list[dict] = []
        self.config_fetches = 0
        self.token = EXCHANGE["initiation_query"]["registration_token"]
        server.pages[f"/{name}/mod/lti/openid-configuration.php"] = self._configuration
        server.pages[f"/{name}/mod/lti/openid-registration.php"] = self._register

    def _configuration(self, request: Request) -> Response:
        self.config_fetches += 1
        status, body = self.config_page or (200, json.dumps(self.config))
        return Response(body, status=status, content_type="application/json")

    def _register(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        self.posts.append({"authorization": request.headers.get("Authorization"), "body": body})
        if self.registration_page:
            status, text = self.registration_page
            return Response(text, status=status, content_type="text/html; charset=utf-8")
        # Moodle echoes the registration with a client id and deployment id, as text/html.
        answer = {**body, "client_id": MOODLE_CLIENT_ID,
                  TOOL_CONF: {**body[TOOL_CONF], "version": "1.3.0", "deployment_id": "2"}}
        answer.update(self.answer_changes)
        return Response(json.dumps(answer), content_type="text/html; charset=utf-8")

    def open(self, client, invite: str | None, **changes):
        """What Moodle does on "Add LTI Advantage": open the Tool URL with its two parameters."""
        query = {"invite": invite, "openid_configuration": self.config_url,
                 "registration_token": self.token, **changes}
        return client.get("/lti/register", query_string={k: v for k, v in query.items()
                                                         if v is not None})


@pytest.fixture(scope="session")
def platform_server():
    """One loopback server for every fake Moodle's pages and key set."""
    server = PlatformServer()
    yield server
    server.close()


@pytest.fixture
def site(platform_server):
    """A fresh Moodle-shaped platform."""
    return FakeMoodle(platform_server)


@pytest.fixture
def invite(db):
    """A registration link's token, valid for a day."""
    _, token = create_invite(db, note="test")
    db.commit()
    return token


def nothing_stored(db, token: str | None = None) -> None:
    """No registration or deployment exists, and the invite (if any) is still unused."""
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Registration)) == 0
    assert db.scalar(select(func.count()).select_from(Deployment)) == 0
    if token:
        row = db.scalar(select(RegistrationInvite).where(
            RegistrationInvite.token_hash == hash_token(token)))
        assert row.used_at is None and row.registration_id is None


def refused(response, status: int, words: str, log_records, code: str) -> str:
    """A refusal page in plain words, with the reason logged."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert words in html
    assert "Traceback" not in html and "org.imsglobal.lti.close" not in html
    assert any(f"dynamic registration refused: code={code}" in r.getMessage()
               for r in log_records.records), [r.getMessage() for r in log_records.records]
    return html


# -- a registration that works -------------------------------------------------------------
def test_moodle_registration_posts_the_tool_and_stores_the_answer(client, db, site, invite,
                                                                  log_records):
    response = site.open(client, invite)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html

    assert len(site.posts) == 1
    post = site.posts[0]
    assert post["authorization"] == f"Bearer {site.token}"
    body = post["body"]
    assert body["application_type"] == "web"
    assert body["response_types"] == ["id_token"]
    assert body["grant_types"] == ["implicit", "client_credentials"]
    assert body["initiate_login_uri"] == "http://localhost/lti/login"
    assert body["redirect_uris"] == ["http://localhost/lti/launch"]
    assert body["jwks_uri"] == "http://localhost/.well-known/jwks.json"
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["client_name"] == "Digital capabilities for social work"
    assert body["logo_uri"] == "http://localhost/static/logo.svg"
    assert client.get("/static/logo.svg").status_code == 200
    assert body["scope"].split() == [AGS + "lineitem", AGS + "lineitem.readonly",
                                     AGS + "result.readonly", AGS + "score", NRPS]
    conf = body[TOOL_CONF]
    assert conf["domain"] == "localhost"
    assert conf["target_link_uri"] == "http://localhost/lti/launch"
    assert conf["description"]
    assert conf["claims"] == ["iss", "sub", "name", "given_name", "family_name", "email"]
    resource, deep = conf["messages"]
    assert resource["type"] == "LtiResourceLinkRequest"
    assert resource["target_link_uri"] == "http://localhost/lti/launch" and resource["label"]
    assert deep["type"] == "LtiDeepLinkingRequest"
    assert deep["target_link_uri"] == "http://localhost/lti/launch" and deep["label"]
    assert deep["placements"] == ["ContentArea"]  # as this Moodle advertises

    reg = db.scalar(select(Registration))
    assert (reg.issuer, reg.client_id) == (site.platform.issuer, MOODLE_CLIENT_ID)
    assert reg.auth_login_url == site.config["authorization_endpoint"]
    assert reg.auth_token_url == site.config["token_endpoint"]
    assert reg.key_set_url == site.platform.key_set_url
    assert reg.auth_audience is None and reg.name.startswith("Moodle at 127.0.0.1:")
    (deployment,) = reg.deployments
    assert deployment.deployment_id == "2" and deployment.status == DeploymentStatus.APPROVED
    used = db.scalar(select(RegistrationInvite))
    assert used.used_at is not None and used.registration_id == reg.id

    for words in (site.platform.issuer, MOODLE_CLIENT_ID, "<code>2</code>",
                  "it is pending until you do", "Manage tools", "Tool configuration usage",
                  "Show in activity chooser and as a preconfigured tool",
                  '<button type="button" id="finish">Done</button>', "registered.js"):
        assert words in " ".join(html.split()), words
    # The page stays open until the admin has read it: the close message is sent only by the
    # Done button's handler, not on load.
    script = client.get("/static/registered.js").get_data(as_text=True)
    assert '{subject: "org.imsglobal.lti.close"}' in script and "addEventListener(\"click\"" \
        in script.replace("'", '"')
    assert "<script>" not in html
    assert any("dynamic registration stored" in r.getMessage() for r in log_records.records)


def test_a_launch_through_the_new_registration_succeeds(client, db, site, invite):
    assert site.open(client, invite).status_code == 200
    response, _, _ = site.platform.launch(client, "student_launch", deployment_id="2")
    assert response.status_code == 303, response.get_data(as_text=True)
    launch = db.scalar(select(Launch))
    assert launch.user.name == "Sam Student"
    assert launch.deployment.deployment_id == "2"
    assert launch.deployment.registration.client_id == MOODLE_CLIENT_ID
    assert site.platform.jwks_fetches >= 1  # the key came from the registered jwks_uri


def test_scopes_and_messages_follow_what_the_platform_supports(client, site, invite):
    site.config["scopes_supported"] = [AGS + "score", "openid"]
    site.config[PLATFORM_CONF]["messages_supported"] = [{"type": "LtiResourceLinkRequest"}]
    assert site.open(client, invite).status_code == 200
    body = site.posts[0]["body"]
    assert body["scope"] == AGS + "score"
    assert [m["type"] for m in body[TOOL_CONF]["messages"]] == ["LtiResourceLinkRequest"]


def test_platform_without_deployment_id_or_with_an_audience(client, db, site, invite):
    # Shaped like Brightspace: an authorization_server, no deployment id in the answer.
    site.config["authorization_server"] = "https://auth.brightspace.com/core/connect/token"
    site.config[PLATFORM_CONF]["product_family_code"] = "desire2learn"
    del site.config["scopes_supported"]
    site.answer_changes = {TOOL_CONF: {"version": "1.3.0"}, "client_id": 4021}
    response = site.open(client, invite)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert len(site.posts[0]["body"]["scope"].split()) == 5  # nothing listed: ask for all
    reg = db.scalar(select(Registration))
    assert reg.client_id == "4021" and reg.deployments == []
    assert reg.auth_audience == "https://auth.brightspace.com/core/connect/token"
    assert reg.name.startswith("Desire2learn at ")
    assert "none given yet" in html and "Manage tools" not in html  # not Moodle


def test_registration_link_from_the_command_line(runner, db, app):
    result = runner.invoke(["platform", "register-link", "--note", "Moodle of Uni A"])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith("http://localhost/lti/register?invite=")
    assert "Add LTI Advantage" in result.stderr
    token = url.split("invite=", 1)[1]
    row = db.scalar(select(RegistrationInvite))
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert row.note == "Moodle of Uni A" and row.used_at is None
    lifetime = (row.expires_at - row.created_at).total_seconds()
    assert abs(lifetime - 24 * 3600) < 60

    short = runner.invoke(["platform", "register-link", "--expires-in", "0.5"])
    assert short.exit_code == 0, short.output
    bad = runner.invoke(["platform", "register-link", "--expires-in", "0"])
    assert bad.exit_code == 2 and "--expires-in" in bad.output


# -- refusals: a clear page, a log line, nothing stored ------------------------------------
@pytest.mark.parametrize("issuer", ["https://moodle.example.ac.uk", "https://127.0.0.1:{port}",
                                    "http://127.0.0.1:1"])
def test_issuer_of_another_origin_is_refused(client, db, site, invite, log_records, issuer,
                                            platform_server):
    site.config["issuer"] = issuer.format(port=platform_server.server.server_port)
    html = refused(site.open(client, invite), 400, "The configuration names a different site",
                   log_records, "issuer_mismatch")
    assert site.config["issuer"] in html
    assert site.posts == []
    nothing_stored(db, invite)


def test_unreachable_platform_is_refused(client, db, site, invite, log_records):
    with socket.socket() as sock:  # a port that was free a moment ago refuses connections
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    response = site.open(client, invite,
                         openid_configuration=f"http://127.0.0.1:{port}/openid-configuration")
    refused(response, 502, "could not be reached", log_records, "platform_unreachable")
    nothing_stored(db, invite)


def test_slow_platform_times_out_with_the_configured_timeout(client, app, db, site, invite,
                                                             log_records, platform_server):
    def slow(request):
        time.sleep(1)
        return Response("{}")

    app.config["HTTP_TIMEOUT"] = 0.2
    platform_server.pages["/slow/openid-configuration"] = slow
    started = time.monotonic()
    response = site.open(client, invite, openid_configuration=(
        platform_server.url + "/slow/openid-configuration"))
    assert time.monotonic() - started < 1
    refused(response, 502, "could not be reached", log_records, "platform_unreachable")
    nothing_stored(db, invite)


@pytest.mark.parametrize("page", [(200, "<html>Moodle maintenance</html>"), (200, "[1, 2]"),
                                  (404, '{"error": "not found"}')])
def test_configuration_that_is_not_json_is_refused(client, db, site, invite, log_records, page):
    site.config_page = page
    refused(site.open(client, invite), 502, "could not be reached", log_records,
            "platform_unreachable")
    nothing_stored(db, invite)


@pytest.mark.parametrize("field", ["authorization_endpoint", "token_endpoint", "jwks_uri",
                                   "registration_endpoint", "issuer"])
def test_configuration_missing_a_required_field_is_refused(client, db, site, invite,
                                                           log_records, field):
    del site.config[field]
    refused(site.open(client, invite), 400, "configuration cannot be used", log_records,
            "bad_configuration")
    assert site.posts == []
    nothing_stored(db, invite)


def test_platform_without_resource_link_launches_is_refused(client, db, site, invite,
                                                            log_records):
    site.config[PLATFORM_CONF]["messages_supported"] = [{"type": "LtiDeepLinkingRequest"}]
    html = refused(site.open(client, invite), 400, "configuration cannot be used", log_records,
                   "bad_configuration")
    assert "LtiResourceLinkRequest" in html
    nothing_stored(db, invite)


def test_error_from_the_registration_endpoint_is_shown_and_nothing_stored(
        client, db, site, invite, log_records):
    site.registration_page = (401, "Unauthorized: the registration token has expired")
    html = refused(site.open(client, invite), 502, "refused the registration", log_records,
                   "registration_refused")
    assert "HTTP 401" in html and "the registration token has expired" in html
    assert any("HTTP 401" in r.getMessage() for r in log_records.records)
    nothing_stored(db, invite)


def test_answer_without_client_id_is_refused(client, db, site, invite, log_records):
    site.answer_changes = {"client_id": ""}
    refused(site.open(client, invite), 502, "answer cannot be used", log_records, "bad_answer")
    nothing_stored(db, invite)


def test_reused_invite_is_refused(client, db, site, invite, log_records):
    assert site.open(client, invite).status_code == 200
    second = FakeMoodle(site.platform.server)
    refused(second.open(client, invite), 403, "already been used", log_records, "invite_used")
    assert second.config_fetches == 0 and second.posts == []
    assert db.scalar(select(func.count()).select_from(Registration)) == 1


def test_expired_invite_is_refused(client, db, site, log_records):
    _, token = create_invite(db, lifetime=timedelta(seconds=-1))
    db.commit()
    refused(site.open(client, token), 403, "has expired", log_records, "invite_expired")
    assert site.config_fetches == 0
    nothing_stored(db, token)


@pytest.mark.parametrize("token", [None, "", "not-a-real-invite"])
def test_missing_or_unknown_invite_is_refused(client, db, site, log_records, token):
    refused(site.open(client, token), 403, "registration link is not valid", log_records,
            "invite_unknown")
    assert site.config_fetches == 0  # nobody without a link makes the tool fetch anything
    nothing_stored(db)


def test_missing_openid_configuration_is_refused(client, db, site, invite, log_records):
    response = client.get("/lti/register", query_string={"invite": invite})
    refused(response, 400, "registration request was incomplete", log_records,
            "missing_configuration")
    nothing_stored(db, invite)


def test_openid_configuration_that_is_not_a_web_address_is_refused(client, db, site, invite,
                                                                   log_records):
    response = site.open(client, invite, openid_configuration="file:///etc/passwd")
    refused(response, 400, "could not be read", log_records, "bad_request")
    nothing_stored(db, invite)


def test_issuer_and_client_id_already_registered_is_refused(client, db, site, invite,
                                                            log_records):
    site.platform.register(db, deployment_ids=("1",))
    html = refused(site.open(client, invite), 409, "already registered", log_records,
                   "already_registered")
    assert MOODLE_CLIENT_ID in html
    db.expire_all()
    (reg,) = db.scalars(select(Registration)).all()
    assert [d.deployment_id for d in reg.deployments] == ["1"]  # the old one, untouched
    assert db.scalar(select(RegistrationInvite)).used_at is None


def test_an_invite_used_meanwhile_cannot_be_used_again(db, site):
    # Two registrations racing on one link: the second to store must lose.
    from lti_tool.invites import usable_invite, use_invite

    _, token = create_invite(db)
    first, second = usable_invite(db, token), usable_invite(db, token)
    registration = site.platform.register(db)
    use_invite(db, first, registration)
    with pytest.raises(ValueError, match="used by another registration"):
        use_invite(db, second, registration)
