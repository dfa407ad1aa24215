"""What operators watch: request ids, Prometheus metrics, /healthz, /readyz and /metrics."""

from __future__ import annotations

import hmac
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)
# A caller's X-Request-ID is kept when it looks like an id (so a proxy's id follows through).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

REQUESTS = Counter("lti_tool_http_requests_total", "HTTP requests answered",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("lti_tool_http_request_duration_seconds", "Time to answer a request",
                    ["endpoint"], buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
LAUNCHES = Counter("lti_tool_launches_total",
                   "LTI logins and launches by outcome (ok, or the refusal's reason code)",
                   ["step", "outcome"])
DATABASE_UNAVAILABLE = Counter("lti_tool_database_unavailable_total",
                               "Requests answered 503 because the database could not be reached")
DELIVERIES = Counter("lti_tool_grade_deliveries_total",
                     "Grade deliveries handled by the worker, by outcome", ["outcome"])
WORKER_HEARTBEAT = Gauge("lti_tool_grades_worker_heartbeat_timestamp_seconds",
                         "When the grades worker last finished a pass (Unix time)",
                         multiprocess_mode="max")
WORKER_DATABASE_UP = Gauge("lti_tool_grades_worker_database_up",
                           "1 when the worker's last pass reached the database",
                           multiprocess_mode="min")
_LAUNCH_STEPS = {"lti.login": "login", "lti.launch": "launch"}
# Probes arrive on every thread at once after a start; one loads the library, others wait.
_CONTENT_LOCK = threading.Lock()


def init_app(app: Flask) -> None:
    """Request ids, request metrics and the health and metrics routes."""
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(bp)


def _start_request() -> None:
    """Give the request an id (the caller's, when it sent a sane one) and start its clock."""
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    """Count the request and hand its id back so a user's report can be found in the logs."""
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    endpoint = request.endpoint or "unmatched"
    if endpoint.startswith("ops."):
        return response  # probes and scrapes would drown the figures people look at
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    step = _LAUNCH_STEPS.get(endpoint)
    if step:
        outcome = g.get("launch_refused") or ("ok" if response.status_code < 400
                                              else f"http_{response.status_code}")
        LAUNCHES.labels(step, outcome).inc()
    return response


def note_launch_refused(code: str) -> None:
    """Remember why a login or launch was refused, for the launch outcome metric."""
    g.launch_refused = code


# -- probes --------------------------------------------------------------------------------
@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers. Checks nothing else, so a database outage restarts nothing."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, object], int]:
    """Readiness: the database answers, the signing keys load and the content library loaded."""
    checks = {"database": _check_database(), "keys": _check_keys(), "content": _check_content()}
    ready = all(value == "ok" for value in checks.values())
    if not ready:
        log.warning("not ready: %s", "; ".join(f"{k}: {v}" for k, v in checks.items()
                                                if v != "ok"))
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _check_database() -> str:
    """SELECT 1 on a fresh checkout from the pool."""
    try:
        with current_app.extensions["lti_tool.engine"].connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return f"unreachable ({type(getattr(error, 'orig', None) or error).__name__})"
    return "ok"


def _check_keys() -> str:
    """The signing key loads (a missing, unreadable or corrupt one makes launches fail)."""
    from .keys import Keyring, KeyringError

    try:
        ring = Keyring(current_app.config["KEYS_DIR"])
        ring.signing_key()
    except KeyringError as error:
        return str(error)
    return "ok"


def _check_content() -> str:
    """The module library loads and holds at least one module (one loader at a time)."""
    from .library import get_library

    try:
        with _CONTENT_LOCK:
            library = get_library()
        count = len(library.ids())
    except Exception as error:  # noqa: BLE001 - any failure means not ready; logged, not shown
        log.error("content library failed to load: %s", error)
        return f"failed to load ({type(error).__name__})"
    return "ok" if count else "no modules loaded"


# -- metrics -------------------------------------------------------------------------------
@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format: this process (or every gunicorn worker) and the grade outbox."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return Response("metrics need the bearer token\n", 401, mimetype="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    outbox = CollectorRegistry()
    outbox.register(_OutboxCollector(current_app.extensions["lti_tool.sessionmaker"]))
    body = generate_latest(registry) + generate_latest(outbox)
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store"})


class _OutboxCollector:
    """Grade backlog figures read from the database at scrape time (every process agrees)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Queued scores, the age of the oldest, and scores the VLE refused for good."""
        from .models.grades import DeliveryStatus, GradeDelivery

        up = GaugeMetricFamily("lti_tool_database_up", "1 when the scrape reached the database")
        try:
            with self._factory() as session:
                backlog, oldest = session.execute(
                    select(func.count(), func.min(GradeDelivery.created_at))
                    .where(GradeDelivery.status == DeliveryStatus.PENDING)).one()
                failed = session.scalar(
                    select(func.count()).select_from(GradeDelivery)
                    .where(GradeDelivery.status == DeliveryStatus.FAILED_PERMANENT))
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("lti_tool_grade_backlog", "Scores waiting to be sent",
                                value=backlog or 0)
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=timezone.utc)
            age = max(0.0, (datetime.now(timezone.utc) - oldest).total_seconds())
        yield GaugeMetricFamily("lti_tool_grade_oldest_undelivered_age_seconds",
                                "Age of the oldest score still waiting to be sent", value=age)
        yield GaugeMetricFamily("lti_tool_grade_failed", "Scores the VLE refused for good",
                                value=failed or 0)


def worker_pass(report: object | None, database_up: bool) -> None:
    """Record one pass of the grades worker: its heartbeat and what happened to each score."""
    WORKER_HEARTBEAT.set(time.time())
    WORKER_DATABASE_UP.set(1 if database_up else 0)
    if report is None:
        return
    for outcome in ("delivered", "retrying", "failed", "superseded"):
        count = len(getattr(report, outcome, ()) or ())
        if count:
            DELIVERIES.labels(outcome).inc(count)

