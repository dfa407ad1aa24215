"""Console pages at /admin/data: retention policy and purges, export and erasure, audit log."""

from flask import Blueprint

from ...admin.guard import console_headers, require_admin

bp = Blueprint("governance", __name__, url_prefix="/admin/data",
               template_folder="../templates")
# The same sign-in and headers as the rest of the console.
bp.before_request(require_admin)
bp.after_request(console_headers)

from . import routes  # noqa: E402,F401  (they register on bp)
