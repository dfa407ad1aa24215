"""A built-in LTI 1.3 platform for trying the tool without a VLE (demo mode only)."""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

from . import (  # noqa: E402,F401  (routes register on bp)  # noqa: E402,F401  (class list and token endpoints)
    ags,  # noqa: E402,F401  (line items, scores and the gradebook page)
    deeplink,
    nrps,
    routes,
    tokens,
)
