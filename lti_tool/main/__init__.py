"""The tool's own pages outside a launch: the front page and health check."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from . import routes  # noqa: E402,F401  (routes register on bp)
