"""The lecturer's side: choosing modules for a course (deep linking) and seeing the class."""

from flask import Blueprint

bp = Blueprint("instructor", __name__)

from . import routes  # noqa: E402,F401  (routes register on bp)
