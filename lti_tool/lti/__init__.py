"""LTI protocol endpoints: OIDC login, launch, the tool's JWKS and Dynamic Registration."""

from flask import Blueprint

bp = Blueprint("lti", __name__)

from . import dynreg_routes, routes  # noqa: E402,F401  (routes register on bp)
from . import config_routes  # noqa: E402,F401
