"""What a VLE administrator pastes into a manual registration form, from the tool's base URL."""

from __future__ import annotations

import typing as t

from .constants import MessageType
from .dynreg import SCOPES, ToolDescription
from .urls import tool_urls

CANVAS_PLATFORM = "canvas.instructure.com"
CANVAS_TOOL_ID = "digital-capabilities-social-work"
SELECTION_WIDTH, SELECTION_HEIGHT = 1000, 800  # pixels of the picker's window in Canvas


def paste_values(base_url: str) -> list[tuple[str, str]]:
    """(what the form asks for, value) in the order VLE forms usually ask."""
    urls = tool_urls(base_url)
    return [
        ("Tool URL / target link URI", urls["launch"]),
        ("Initiate login URL (OpenID Connect login)", urls["login"]),
        ("Redirect URI(s)", urls["launch"]),
        ("Deep linking (content selection) URL", urls["launch"]),
        ("Public keyset URL (JWKS)", urls["jwks"]),
        ("Domain", urls["domain"]),
        ("Canvas JSON configuration URL", f"{base_url}/lti/config.json"),
        ("Dynamic Registration URL", "a one-time link from Registration links "
                                     "(`lti-tool platform register-link`)"),
    ]


def canvas_configuration(tool: ToolDescription) -> dict[str, t.Any]:
    """The tool as a Canvas LTI 1.3 developer key's JSON configuration."""
    urls = tool_urls(tool.base_url)
    # Deep linking from the two places lecturers add content (a module item, an assignment);
    # Canvas then stores the link. The picker's table needs more than Canvas's default
    # selection window (Canvas's "Anatomy of a JSON configuration": selection_width/height).
    placements = [
        {"placement": placement, "message_type": MessageType.DEEP_LINKING.value,
         "target_link_uri": urls["launch"], "text": tool.name, "icon_url": tool.logo_url,
         "selection_width": SELECTION_WIDTH, "selection_height": SELECTION_HEIGHT}
        for placement in ("link_selection", "assignment_selection")
    ]
    return {
        "title": tool.name,
        "description": tool.description,
        "oidc_initiation_url": urls["login"],
        "target_link_uri": urls["launch"],
        "public_jwk_url": urls["jwks"],
        "scopes": list(SCOPES),
        "extensions": [{
            "platform": CANVAS_PLATFORM,
            "domain": urls["domain"],
            "tool_id": CANVAS_TOOL_ID,
            # "public" sends the launcher's name and email, which the tool greets people by.
            "privacy_level": "public",
            "settings": {"text": tool.name, "icon_url": tool.logo_url,
                         "placements": placements},
        }],
        # Where a course was copied from, so a copied link keeps the module chosen for it.
        "custom_fields": {"resource_link_id_history": "$ResourceLink.id.history",
                          "context_id_history": "$Context.id.history"},
    }
