"""Steps of the console's university sign-in tests: an app pointed at the provider, the
round trip through it, and what the database holds afterwards."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import func, select

from lti_tool.config import OidcSettings
from lti_tool.models import AdminSession, AuditEvent

from ...conftest import make_app
from .provider import CLIENT_ID, CLIENT_SECRET

NAME = "Uni Example sign-in"


def sso_app(database_url, tmp_path, issuer: str, **settings):
    """The tool with university sign-in set up against `issuer`."""
    oidc = OidcSettings(issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        name=NAME, **settings)
    return make_app(database_url, tmp_path, OIDC=oidc)


def start(client, next_url: str | None = None):
    """Press "Sign in with ..." on the sign-in page; the redirect to the provider."""
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    page = client.get("/admin/login" + query)
    html = page.get_data(as_text=True)
    assert f"Sign in with {NAME}" in html
    href = html.split('class="button" href="')[1].split('"')[0].replace("&amp;", "&")
    return client.get(href)


def sso_sign_in(client, provider, next_url: str | None = None):
    """The whole round trip; the tool's answer to the provider's callback."""
    response = start(client, next_url)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(provider.approve(response.headers["Location"]))


def audit(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def sessions(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AdminSession))
