"""Route for the tool's Canvas-style JSON configuration (public: it holds only public URLs)."""

from __future__ import annotations

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue

from . import bp
from .dynreg import ToolDescription
from .toolconfig import canvas_configuration


@bp.get("/lti/config.json")
def config_json() -> ResponseReturnValue:
    """The JSON a Canvas admin gives a developer key by URL ("Enter URL") or pastes."""
    response = jsonify(canvas_configuration(ToolDescription(current_app.config["BASE_URL"])))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
