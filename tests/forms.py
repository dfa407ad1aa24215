"""Read HTML forms from a page, as a browser without JavaScript would submit them."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormParser(HTMLParser):
    """Forms with the values a browser would send: unchecked boxes and radios are left out."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""),
                               "method": attrs.get("method", "get").lower(), "fields": {},
                               "buttons": []})
        elif tag == "input" and self.forms and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append(attrs)


def forms(html: str) -> list[dict]:
    """Every form on the page: action, method and the values it would submit."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def csrf(html: str) -> str:
    """The CSRF token of the first form on a page that has one."""
    return next(f["fields"]["csrf_token"] for f in forms(html) if "csrf_token" in f["fields"])
