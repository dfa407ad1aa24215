"""The tool administrators' console at /admin: registrations, keys, links, failures."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import guard, routes  # noqa: E402,F401  (they register on bp)
