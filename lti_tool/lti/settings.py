"""Adapter settings built from the Flask configuration."""

from __future__ import annotations

from flask import current_app

from .adapter import LaunchSettings
from .urls import tool_urls


def launch_settings() -> LaunchSettings:
    """The LaunchSettings of the running app."""
    config = current_app.config
    return LaunchSettings(
        base_url=config["BASE_URL"], launch_url=tool_urls(config["BASE_URL"])["launch"],
        leeway=config["JWT_LEEWAY"], max_age=config["JWT_MAX_AGE"],
        state_ttl=config["LOGIN_STATE_TTL"], jwks_ttl=config["PLATFORM_JWKS_TTL"],
        http_timeout=config["HTTP_TIMEOUT"])
