"""The student's side: the module player, the summary and the capability profile."""

from flask import Blueprint

bp = Blueprint("learner", __name__, url_prefix="/l/<launch_id>")

from . import mentor, routes  # noqa: E402,F401  (routes register on bp)
