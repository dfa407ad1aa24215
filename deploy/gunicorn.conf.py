"""Gunicorn settings for production, and its starter: `python deploy/gunicorn.conf.py`.

Threads let a launch wait on a platform's key set while others are served. Every setting that
matters in a container comes from the environment: BIND, WEB_CONCURRENCY, GUNICORN_THREADS,
FORWARDED_ALLOW_IPS and PROMETHEUS_MULTIPROC_DIR. `gunicorn -c deploy/gunicorn.conf.py` works
too, but gunicorn reads WEB_CONCURRENCY itself while it is imported, before this file, and
answers a value that is not a number with a traceback; run as a script, this file checks first.
"""

import os
import shutil
import sys
import tempfile


def _whole(name, default, lowest, highest):
    """A whole number from the environment within bounds, or one clear line and exit."""
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdecimal() or not lowest <= int(raw) <= highest:
        sys.exit(f"lti-tool: configuration: {name}={raw!r}: expected a whole number, "
                 f"{lowest} to {highest}")
    return int(raw)


# Loopback unless told otherwise: the image sets BIND=0.0.0.0:8000 for its container network;
# on a plain server the proxy in front (Caddy, nginx) reaches the tool over 127.0.0.1.
bind = os.environ.get("BIND", "127.0.0.1:8000")
# Each worker process holds its own database pool: CPUs x 2 + 1 of the node (not the pod)
# could exhaust PostgreSQL's 100 connections with a few replicas. 2 x 4 threads per pod
# serves a course's burst; scale with replicas (see docs/operations.md, connection budget).
workers = _whole("WEB_CONCURRENCY", 2, 1, 16)
threads = _whole("GUNICORN_THREADS", 4, 1, 32)
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never grows without bound. Not often: a worker's
# memory stayed at 88 MB over 9,000 launch requests (session 10), and each recycle costs a fork
# and a cold start (statements and templates compiled again, ~0.1 s CPU); at every 2,000
# requests that was ~10% of a launch's CPU with 16 launches at a time.
max_requests = 20000
max_requests_jitter = 2000
accesslog = "-"
errorlog = "-"
# Access lines are JSON with tokens, hints and invites blanked out of the URL.
logger_class = "lti_tool.logs.GunicornLogger"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "lti_tool.logs.JsonFormatter"},
        "line": {"format": "%(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json",
                   "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "line",
                   "stream": "ext://sys.stdout"},
    },
    "root": {"level": os.environ.get("LTI_TOOL_LOG_LEVEL", "info").upper(),
             "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}
# Only the proxy in front may set X-Forwarded-*; the app honours LTI_TOOL_TRUSTED_PROXIES hops.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "lti_tool.wsgi:app"
# No gunicornc control socket (gunicorn 25+): nothing here uses it, and by default it is one
# path per user ($HOME/.gunicorn/gunicorn.ctl), so two instances on one host take it from each
# other, and a read-only root file system logs an error at every start.
control_socket_disable = True
# /tmp, not the container's writable layer (read-only in Kubernetes), for worker heartbeats.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", tempfile.gettempdir())
# Metrics from every worker process are summed through files in this folder.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                      os.path.join(tempfile.gettempdir(), "lti-tool-metrics"))


def _check_configuration():
    """Check the configuration before the application loads: one clear line, no traceback."""
    from lti_tool.config import Config, ConfigError

    try:
        Config().require_stable_secret()
    except ConfigError as error:
        print(f"lti-tool: configuration: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)  # figures from a previous run would be added in
    os.makedirs(folder, exist_ok=True)


_check_configuration()
# The application loads once, in the master, before the workers fork: imports, settings and
# the content library are ready in every worker, and a worker recycled after max_requests
# serves at once instead of spending a second of CPU loading them again.
preload_app = True


def on_starting(server):
    """Load the content library in the master, so that every worker starts with it."""
    _load_library(server.app.wsgi())


def post_fork(server, worker):
    """A worker opens database connections of its own, never the master's."""
    engine = getattr(worker.app.wsgi(), "extensions", {}).get("lti_tool.engine")
    if engine is not None:
        engine.dispose(close=False)


def _load_library(app):
    """The content library of the app (a Flask app of this tool; other apps are left be)."""
    import logging

    if "lti_tool.engine" not in getattr(app, "extensions", {}):
        return
    try:
        from lti_tool.library import get_library

        with app.app_context():
            get_library()
    except Exception:  # noqa: BLE001 - /readyz reports it; serving the rest still helps
        logging.getLogger("lti_tool").exception("content library failed to load at start")


def post_worker_init(worker):
    """Load the content library if the master could not (a worker then loads its own)."""
    _load_library(worker.wsgi)


def child_exit(server, worker):
    """Let the metrics of a finished worker stop counting as live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


if __name__ == "__main__":
    # The settings above are checked by now; only then may gunicorn read WEB_CONCURRENCY.
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", "-c", __file__, *sys.argv[1:]]
    run()
