"""Log lines for collectors: JSON with a request id, and URLs with their tokens blanked out.

Imported by gunicorn's master process too (deploy/gunicorn.conf.py), so it imports no Flask
app and no metrics library at module level (the metrics folder must be set first).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gunicorn.glogging import Logger as GunicornBaseLogger

# Query parameters that carry a credential or a one-time value: never written to a log.
SECRET_PARAMS = frozenset({
    "registration_token", "invite", "token", "id_token", "access_token", "code",
    "login_hint", "lti_message_hint", "state", "nonce", "password", "jwt",
})
REDACTED = "REDACTED"
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def redact_query(query: str) -> str:
    """A query string with the values of secret parameters replaced."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in SECRET_PARAMS for name, _ in pairs):
        return query
    return urlencode([(name, REDACTED if name.lower() in SECRET_PARAMS else value)
                      for name, value in pairs], safe="/:")


def redact_url(url: str) -> str:
    """A URL or request target ("/path?query") with token values replaced."""
    if "?" not in url:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=redact_query(parts.query)))


def current_request_id() -> str | None:
    """The id of the request being served, if any (Flask may not even be loaded)."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return None
    value = flask.g.get("request_id")
    return str(value) if value else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as a JSON line."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
                    .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (int, float, bool, type(None))) \
                    else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Add ` [request id]` after the logger name."""
        request_id = getattr(record, "request_id", None) or current_request_id()
        record.rid = f" [{request_id}]" if request_id else ""
        return super().format(record)


def configure(fmt: str = "json", level: str = "info") -> None:
    """Send the tool's logs to stderr in `fmt`, unless a host (gunicorn) configured them."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)


class GunicornLogger(GunicornBaseLogger):  # type: ignore[misc]
    """Gunicorn's logger writing access lines as JSON, with tokens blanked out of URLs."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any],
               request_time: timedelta) -> None:
        """One JSON line per request (no token, hint or invite in the path or referrer)."""
        if not self.access_log_enabled:
            return
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        status = resp.status
        status = int(str(status).split(None, 1)[0]) if status else 0
        method, path = environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "")
        seconds = request_time.seconds + request_time.microseconds / 1e6
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": "info", "logger": "gunicorn.access",
            "message": f"{method} {path} {status}",
            "request_id": headers.get("x-request-id", "-"),
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": method,
            "path": path,
            "query": redact_query(environ.get("QUERY_STRING", "")),
            "status": status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(seconds * 1000, 1),
            "referrer": redact_url(environ.get("HTTP_REFERER", "-")),
            "user_agent": environ.get("HTTP_USER_AGENT", "-"),
        }
        self.access_log.info(json.dumps(entry, ensure_ascii=False))

