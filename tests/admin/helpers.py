"""Signing in to the console and submitting its forms, as a browser without JavaScript would."""

from __future__ import annotations

from urllib.parse import urlencode

from ..forms import csrf, forms  # noqa: F401  (csrf is re-exported to the tests)

EMAIL = "ada.admin@uni.example.ac.uk"
PASSWORD = "correct horse battery staple"


def sign_in(client, email: str = EMAIL, password: str = PASSWORD, next_url: str | None = None):
    """Open the login page and submit it; returns the response to the POST."""
    page = client.get("/admin/login" + (f"?{urlencode({'next': next_url})}" if next_url else ""))
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    (login_form,) = [f for f in forms(html) if f["action"] == "/admin/login"]
    return client.post("/admin/login", data={**login_form["fields"], "email": email,
                                             "password": password})


def find_form(html: str, action: str, **fields) -> dict:
    """The one form posting to `action` whose inputs include `fields`."""
    found = [f for f in forms(html) if f["action"] == action
             and all(f["fields"].get(k) == v for k, v in fields.items())]
    assert len(found) == 1, (action, fields, [f["action"] for f in forms(html)])
    return found[0]


def submit(client, page_url: str, action: str, data: dict | None = None, **match):
    """Submit the form on `page_url` that posts to `action` ("": the page itself), with data."""
    page = client.get(page_url)
    assert page.status_code == 200, page.get_data(as_text=True)
    form = find_form(page.get_data(as_text=True), action, **match)
    return client.post(action or page_url, data={**form["fields"], **(data or {})})
