"""Two replicas sharing one content store: a module imported by one is served by the other at
once, without a restart (the volume the Kubernetes manifests mount in every pod)."""

from __future__ import annotations

from ..conftest import ToolRunner, make_app
from ..content.helpers import GOOD


def test_a_module_imported_by_one_replica_is_served_by_the_other(database_url, tmp_path):
    store = tmp_path / "shared-content"
    first = make_app(database_url, tmp_path / "a", CONTENT_STORE=store)
    second = make_app(database_url, tmp_path / "b", CONTENT_STORE=store)
    try:
        with second.app_context():
            from lti_tool.library import get_library

            served = get_library()  # the second replica has loaded its library already
            assert "fx-online-safety" not in {m.id for m in served.modules()}
        result = ToolRunner(first).invoke(["content", "import", str(GOOD), "--store", str(store)])
        assert result.exit_code == 0, result.output
        with second.app_context():
            library = get_library()
            assert library is served  # no restart, no reload
            assert library.get("fx-online-safety").title == "Online safety basics (test fixture)"
            assert "fx-online-safety" in {m.id for m in library.modules()}
    finally:
        for app in (first, second):
            app.extensions["lti_tool.engine"].dispose()
