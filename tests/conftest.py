"""Shared fixtures: an app on SQLite and on PostgreSQL, its client, CLI runner, test platforms."""

from __future__ import annotations

import logging
import shutil

import pytest

from lti_tool import create_app, migrate
from lti_tool.config import TestConfig
from lti_tool.keys import Keyring

from .lti_platform import JwksServer, TestPlatform
from .pg import postgres_cluster

_skipped_pg: list[str] = []


@pytest.fixture(autouse=True)
def _tools_zone():
    """Each test starts in the default zone; one that makes an app in another cannot leak."""
    from lti_tool import numbers

    numbers.use_zone("Europe/London")


@pytest.fixture(scope="session")
def pg_cluster():
    """A PostgreSQL server for the run, or None (tests on it are then skipped)."""
    with postgres_cluster() as (cluster, reason):
        if cluster is None:
            _skipped_pg.append(reason)
        yield cluster, reason


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated SQLite file per run; each test gets a copy (migrating every time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_cluster):
    """One migrated PostgreSQL database per run, cloned with CREATE DATABASE … TEMPLATE."""
    cluster, _ = pg_cluster
    if cluster is None:
        return None
    url = cluster.create_database()
    migrate.upgrade(url)
    yield url
    cluster.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    cluster, reason = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    url = cluster.create_database(template=request.getfixturevalue("pg_template"))
    yield url
    cluster.drop_database(url)


def make_app(database_url: str, tmp_path, **overrides):
    """An app instance on the given database; several may share one database."""
    settings = {"INSTANCE_DIR": tmp_path / "instance", "SQLALCHEMY_DATABASE_URL": database_url,
                "CONTENT_STORE": tmp_path / "instance" / "content",
                "KEYS_DIR": tmp_path / "keys", "BASE_URL": "http://localhost",
                "TRUSTED_PROXIES": 1, **overrides}
    config = TestConfig(**settings)
    app = create_app(config)
    keyring = Keyring(config.KEYS_DIR)
    if not keyring.keys():
        keyring.generate()
    return app


@pytest.fixture
def app(database_url, tmp_path):
    """The tool, configured for tests."""
    app = make_app(database_url, tmp_path)
    yield app
    app.extensions["lti_tool.engine"].dispose()


@pytest.fixture
def client(app):
    """A browser-like test client with cookies."""
    return app.test_client()


class ToolRunner:
    """Invokes the `lti-tool` command group against a test app."""

    def __init__(self, app) -> None:
        self._runner = app.test_cli_runner()

    def invoke(self, args, **kwargs):
        """Run `lti-tool ARGS...` and return click's Result."""
        from lti_tool.cli import main

        return self._runner.invoke(main, args=args, **kwargs)


@pytest.fixture
def runner(app):
    """Runs `lti-tool` commands against the app."""
    return ToolRunner(app)


@pytest.fixture
def db(app):
    """A database session of the test's own, outside any app context.

    Pushing an app context here would make every request of the test share it (and so `g`,
    the CSRF token and the request's database session), hiding real per-request behaviour.
    """
    session = app.extensions["lti_tool.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture(scope="session")
def jwks_server():
    """One loopback HTTP server for every test platform's key set."""
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def moodle(jwks_server, db, request):
    """A Moodle 4.5 site registered with deployment "1" (key set served over HTTP)."""
    platform = TestPlatform(jwks_server, f"moodle-{id(request)}", "http://127.0.0.1:8080",
                            "oVYI0OJl3BFrijK")
    platform.register(db, deployment_ids=("1",))
    return platform


@pytest.fixture
def blackboard(jwks_server, db, request):
    """Blackboard: issuer https://blackboard.com, one client id, two institutions' deployments."""
    platform = TestPlatform(jwks_server, f"bb-{id(request)}", "https://blackboard.com",
                            "bb-client-id", key_index=1)
    platform.register(db, deployment_ids=("bb-deploy-uni-a", "bb-deploy-uni-b"))
    return platform


@pytest.fixture
def log_records(caplog):
    """Captured warnings and above from the tool."""
    caplog.set_level(logging.INFO, logger="lti_tool")
    return caplog


def pytest_terminal_summary(terminalreporter):
    """Say plainly when the PostgreSQL half of the suite did not run."""
    if _skipped_pg:
        terminalreporter.write_line(
            f"NOTE: PostgreSQL tests were skipped ({_skipped_pg[0]}); SQLite tests ran.",
            yellow=True)


@pytest.fixture
def live_server(database_url, tmp_path):
    """The tool served over real HTTP on loopback, with the sandbox set up; yields its URL."""
    import threading

    from werkzeug.serving import make_server

    from lti_tool.db import get_session
    from lti_tool.sandbox import platform as sandbox

    server = make_server("127.0.0.1", 0, None, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    app = make_app(database_url, tmp_path, BASE_URL=base_url, TRUSTED_PROXIES=0)
    server.app = app
    sandbox.keyring(app.config["KEYS_DIR"]).generate()
    with app.app_context():
        sandbox.ensure_registration(get_session(), base_url)
        get_session().commit()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base_url
    server.shutdown()
    app.extensions["lti_tool.engine"].dispose()


@pytest.fixture(scope="session")
def frameworks():
    """The shipped framework files, which must load without problems."""
    from lti_tool.content import load_frameworks
    from lti_tool.content.library import SHIPPED_FRAMEWORKS

    problems: list = []
    loaded = load_frameworks(SHIPPED_FRAMEWORKS, problems)
    assert problems == []
    return loaded


@pytest.fixture
def fx_module(app):
    """The content tests' fixture module, imported into the app's store: player tests with
    hand-worked scores use it, so rewriting the shipped modules never changes their figures."""
    from lti_tool.content import import_package

    from .content.helpers import GOOD

    result = import_package(GOOD, app.config["CONTENT_STORE"], strict=False)
    assert result.ok, [p.format() for p in result.problems]
    app.extensions.pop("lti_tool.library", None)  # the next request sees the store afresh
    return result.module


@pytest.fixture(scope="session")
def playwright_driver():
    """The run's one Playwright driver (a second one in the same process is refused)."""
    from .browser.conftest import _chromium

    if _chromium() is None:
        pytest.skip("browser tests skipped: Debian's chromium package is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Chromium for the run."""
    from .browser.conftest import launch_chromium

    chromium = launch_chromium(playwright_driver)
    yield chromium
    chromium.close()
