"""LTI protocol endpoints: OIDC login, launch and the tool's JWKS."""

from flask import Blueprint

bp = Blueprint("lti", __name__)

from . import routes  # noqa: E402,F401  (routes register on bp)
