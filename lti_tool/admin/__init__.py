"""The tool administrators' console at /admin: registrations, keys, links, failures."""

from typing import cast

from flask import Blueprint, Flask
from flask.blueprints import BlueprintSetupState

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import guard, oidc, routes, signin  # noqa: E402,F401  (they register on bp)


@bp.record_once
def _set_up_university_sign_in(state: BlueprintSetupState) -> None:
    """Register the OIDC client when the console joins an app (no network until sign-in)."""
    oidc.init_app(cast(Flask, state.app))
