"""A built-in LTI 1.3 platform for trying the tool without a VLE (demo mode only)."""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

from . import deeplink, routes  # noqa: E402,F401  (routes register on bp)
from . import nrps, tokens  # noqa: E402,F401  (class list and token endpoints)
from . import ags  # noqa: E402,F401  (line items, scores and the gradebook page)
