"""Error pages: plain words for people, HTML or JSON as the client asks, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, NotFound

from .lti.errors import LtiError

log = logging.getLogger(__name__)
NOT_FOUND = ("There is no page at this address. If you came from your course, open the "
             "activity from the course again; if you typed the address, check it.")


def _wants_json() -> bool:
    """Whether the client prefers JSON to HTML."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def render_problem(status: int, title: str, message: str, who: str | None = None,
                   new_window: bool = False) -> tuple[Response | str, int]:
    """One error page (or JSON body) for every kind of refusal."""
    if _wants_json():
        return jsonify(error=title, message=message, who_can_fix=who), status
    return render_template("error.html", title=title, message=message, who=who,
                           new_window=new_window, status=status), status


def database_unavailable(error: Exception) -> bool:
    """Whether an error means the database cannot be reached (not a bug in a query)."""
    if isinstance(error, (OperationalError, DisconnectionError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def _unavailable_page(error: Exception) -> Response:
    """503 with Retry-After: the request's transaction was rolled back, nothing half-saved."""
    from .observability import DATABASE_UNAVAILABLE

    DATABASE_UNAVAILABLE.inc()
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    log.error("database unavailable on %s %s: %s: %s", request.method, request.path,
              type(error).__name__, reason[0] if reason else "")
    body, status = render_problem(
        503, "The tool is briefly unavailable",
        "It cannot reach its database just now, so nothing was saved. Please try again in a "
        "minute; if it keeps happening, tell your administrator.")
    response = make_response(body, status)
    response.headers["Retry-After"] = "60"
    return response


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(LtiError)
    def lti_error(error: LtiError) -> ResponseReturnValue:
        from .observability import note_launch_refused

        note_launch_refused(error.code)
        problem = error.problem
        return render_problem(problem.status, problem.title, problem.message,
                              error.who_can_fix, problem.new_window)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        log.warning("CSRF check failed on %s: %s", request.path, error.description)
        return render_problem(400, "This form has expired",
                              "For your security, forms stop working after a while or when "
                              "opened in another window. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code == 404:  # the tool's own words, not werkzeug's stock "Not Found"
            log.info("not found: %s %s", request.method, request.path)
            stock = error.description in (None, "", NotFound.description)
            return render_problem(404, "Page not found", NOT_FOUND if stock or
                                  error.description is None else error.description,
                                  new_window=False)
        return render_problem(error.code or 500, error.name, error.description or "")

    @app.errorhandler(OperationalError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeout)
    def database_down(error: Exception) -> ResponseReturnValue:
        return _unavailable_page(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ResponseReturnValue:
        if database_unavailable(error):
            return _unavailable_page(error)
        # The teardown rolls the session back; the log keeps the trace, the page does not.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_problem(500, "Something went wrong on our side",
                              "The error has been logged. Please try again in a moment; if it "
                              "keeps happening, tell your administrator.")
