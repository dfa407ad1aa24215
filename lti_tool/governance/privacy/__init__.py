"""The LTI Data Privacy Launch: a person sees what the tool holds about them, downloads it, and
asks for it to be erased (an administrator confirms in the console)."""

from flask import Blueprint

bp = Blueprint("privacy", __name__, template_folder="../templates")

from . import routes  # noqa: E402,F401  (they register on bp)
