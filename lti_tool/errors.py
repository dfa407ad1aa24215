"""Error pages: plain words for people, HTML or JSON as the client asks, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .lti.errors import LtiError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    """Whether the client prefers JSON to HTML."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def render_problem(status: int, title: str, message: str, who: str | None = None,
                   new_window: bool = False):
    """One error page (or JSON body) for every kind of refusal."""
    if _wants_json():
        return jsonify(error=title, message=message, who_can_fix=who), status
    return render_template("error.html", title=title, message=message, who=who,
                           new_window=new_window, status=status), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(LtiError)
    def lti_error(error: LtiError):
        problem = error.problem
        return render_problem(problem.status, problem.title, problem.message,
                              error.who_can_fix, problem.new_window)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        log.warning("CSRF check failed on %s: %s", request.path, error.description)
        return render_problem(400, "This form has expired",
                              "For your security, forms stop working after a while or when "
                              "opened in another window. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_problem(error.code or 500, error.name, error.description or "")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # The teardown rolls the session back; the log keeps the trace, the page does not.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_problem(500, "Something went wrong on our side",
                              "The error has been logged. Please try again in a moment; if it "
                              "keeps happening, tell your administrator.")
