"""The lecturer's view of the class: roster, mastery heat map, drill-down, CSV and marking queue."""

from flask import Blueprint

bp = Blueprint("classview", __name__, url_prefix="/c/<launch_id>")

from . import routes  # noqa: E402,F401  (routes register on bp)
