"""Fetching a platform's keys: a total deadline, a size cap, one refetch a minute on an
unknown kid (issue 13, item 5)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from lti_tool.lti.keysets import MAX_BYTES, REFETCH_INTERVAL
from lti_tool.models import LaunchFailure, PlatformKeySet

from ..conftest import make_app
from ..lti_platform import TestPlatform


class DripServer:
    """An HTTP server on loopback that answers a byte at a time, `gap` seconds apart."""

    def __init__(self, body: bytes, gap: float, declare_length: bool = True) -> None:
        self.body, self.gap, self.sent = body, gap, 0
        self.declare_length = declare_length
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/jwks.json"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                length = b"Content-Length: %d\r\n" % len(self.body) if self.declare_length \
                    else b"Connection: close\r\n"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             + length + b"\r\n")
                step = 1 if self.gap else 4096
                try:
                    for start in range(0, len(self.body), step):
                        if self.stop.is_set():
                            return
                        conn.sendall(self.body[start:start + step])
                        self.sent += step
                        time.sleep(self.gap)
                except OSError:
                    pass  # the tool hung up: what the test wants

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def quick_app(database_url, tmp_path):
    """The tool with a 1-second budget for outside calls."""
    app = make_app(database_url, tmp_path, HTTP_TIMEOUT=1.0)
    yield app
    app.extensions["lti_tool.engine"].dispose()


def platform_at(jwks_server, db, key_set_url: str, name: str) -> TestPlatform:
    """A platform whose registration points at `key_set_url` for its keys."""
    platform = TestPlatform(jwks_server, name, f"https://{name}.example", "client-1")
    platform.key_set_url = key_set_url
    platform.register(db)
    return platform


def test_a_keyset_that_trickles_is_abandoned_at_the_deadline(quick_app, jwks_server):
    db = quick_app.extensions["lti_tool.sessionmaker"]()
    body = b'{"keys": []}' + b" " * 400  # 412 bytes at 0.05 s each: 20 s without a deadline
    drip = DripServer(body, gap=0.05)
    try:
        platform = platform_at(jwks_server, db, drip.url, "slow-vle")
        client = quick_app.test_client()
        response, _, _ = platform.launch(client, "student_launch")
        assert response.status_code == 502
        assert "keys could not be fetched" in response.get_data(as_text=True)
        failure = db.scalar(select(LaunchFailure))
        assert failure.code == "keyset_unavailable" and "took more than 1s" in failure.reason
        assert drip.sent < len(body)  # the tool stopped listening long before the end
    finally:
        drip.close()
        db.close()


def test_a_huge_keyset_is_refused(client, db, jwks_server, request):
    url = jwks_server.publish(f"/huge-keys-{id(request)}.json",
                              lambda: (200, '{"keys": [], "pad": "' + "x" * (2 * MAX_BYTES)
                                       + '"}'))
    platform = platform_at(jwks_server, db, url, f"huge-{id(request)}")
    response, _, _ = platform.launch(client, "student_launch")
    assert response.status_code == 502
    failure = db.scalar(select(LaunchFailure))
    assert failure.code == "keyset_unavailable" and str(MAX_BYTES) in failure.reason
    assert db.scalar(select(PlatformKeySet)) is None  # nothing of it was stored


def test_made_up_kids_refetch_the_keyset_at_most_once_a_minute(client, moodle, db):
    response, _, _ = moodle.launch(client)
    assert response.status_code == 303 and moodle.jwks_fetches == 1
    for attempt in range(10):
        response, _, _ = moodle.launch(
            client, token=lambda claims, n=attempt: moodle.sign(claims, kid=f"made-up-{n}"))
        assert response.status_code == 400
        assert "key the tool cannot find" in response.get_data(as_text=True)
    assert moodle.jwks_fetches == 1
    # A minute on, one unknown kid may fetch again (the platform may have rotated)...
    for row in db.scalars(select(PlatformKeySet)):
        row.fetched_at -= timedelta(seconds=REFETCH_INTERVAL + 1)
    db.commit()
    for attempt in range(5):
        moodle.launch(client, token=lambda claims, n=attempt: moodle.sign(claims,
                                                                           kid=f"again-{n}"))
    assert moodle.jwks_fetches == 2
    # ...and the platform's real key still works without another fetch.
    response, _, _ = moodle.launch(client)
    assert response.status_code == 303 and moodle.jwks_fetches == 2


def test_a_huge_keyset_without_a_length_is_cut_off_at_the_cap(client, db, jwks_server):
    body = b'{"keys": [], "pad": "' + b"x" * (20 * MAX_BYTES) + b'"}'
    endless = DripServer(body, gap=0, declare_length=False)
    try:
        platform = platform_at(jwks_server, db, endless.url, "chunky-vle")
        response, _, _ = platform.launch(client, "student_launch")
        assert response.status_code == 502
        failure = db.scalar(select(LaunchFailure))
        assert f"over {MAX_BYTES} bytes" in failure.reason
    finally:
        endless.close()
