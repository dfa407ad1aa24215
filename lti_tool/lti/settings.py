"""Launch settings: what login and launch checks need, built from the Flask configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from .keysets import ParsedKeys
from .urls import tool_urls


@dataclass
class LaunchSettings:
    """What the adapter needs from the app's configuration."""

    base_url: str
    launch_url: str
    leeway: int = 60
    max_age: int = 3600
    state_ttl: int = 600
    jwks_ttl: int = 3600
    http_timeout: float = 10.0
    # The app's parsed platform keys (one per app and process, shared by its requests)
    parsed_keys: ParsedKeys = field(default_factory=ParsedKeys)


def launch_settings() -> LaunchSettings:
    """The LaunchSettings of the running app."""
    config = current_app.config
    return LaunchSettings(
        base_url=config["BASE_URL"], launch_url=tool_urls(config["BASE_URL"])["launch"],
        leeway=config["JWT_LEEWAY"], max_age=config["JWT_MAX_AGE"],
        state_ttl=config["LOGIN_STATE_TTL"], jwks_ttl=config["PLATFORM_JWKS_TTL"],
        http_timeout=config["HTTP_TIMEOUT"],
        parsed_keys=_parsed_keys())


def _parsed_keys() -> ParsedKeys:
    """The app's parsed platform keys, made on first use (not a new object per request)."""
    keys = current_app.extensions.get("lti_tool.parsed_keys")
    if keys is None:
        keys = current_app.extensions.setdefault("lti_tool.parsed_keys", ParsedKeys())
    return keys  # type: ignore[no-any-return]  # Flask types extensions as dict[str, Any]
