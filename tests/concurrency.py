"""Run requests at the same moment from several threads, as two tabs or two people would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Start every call at once (a barrier releases them together); their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


def same_browser(app, client):
    """A second test client with the first one's cookies: another tab of the same browser."""
    other = app.test_client()
    for cookie in client._cookies.values():  # noqa: SLF001 - werkzeug keeps no public list
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other
