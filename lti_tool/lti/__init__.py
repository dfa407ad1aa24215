"""LTI protocol endpoints: OIDC login, launch, the tool's JWKS and Dynamic Registration."""

from flask import Blueprint

bp = Blueprint("lti", __name__)

from . import (  # noqa: E402,F401  (routes register on bp)
    config_routes,  # noqa: E402,F401
    dynreg_routes,
    routes,
)
