"""The tool's public URLs, derived from its base URL."""

from __future__ import annotations

from urllib.parse import urlsplit


def tool_urls(base_url: str) -> dict[str, str]:
    """Login, launch (redirect), deep linking and JWKS URLs, and the domain, for VLE forms."""
    return {
        "login": f"{base_url}/lti/login",
        "launch": f"{base_url}/lti/launch",
        "jwks": f"{base_url}/.well-known/jwks.json",
        "domain": urlsplit(base_url).netloc,
    }
