"""The web side's one use of the outbox: try to deliver right after the request committed."""

from __future__ import annotations

import logging

import requests
from flask import current_app

from ..keys import Keyring
from .delivery import deliver_for_user
from .outbox import BREAKER_SECONDS, platform_failing

log = logging.getLogger(__name__)


def deliver_now(user_id: int) -> None:
    """Send this user's due scores now, with short timeouts; anything left stays queued.

    Call it only after the commit that queued the score: it uses sessions of its own.
    """
    if not current_app.config.get("GRADES_DELIVER_INLINE", True):
        return
    factory = current_app.extensions["lti_tool.sessionmaker"]
    with factory() as session:
        if platform_failing(session, user_id):
            log.info("immediate grade delivery for user %s skipped: their VLE failed a "
                     "delivery in the last %s s; the worker will send it", user_id,
                     BREAKER_SECONDS)
            return
    with requests.Session() as http:
        report = deliver_for_user(factory, http, user_id,
                                  keyring=Keyring(current_app.config["KEYS_DIR"]))
    if report is not None and report.handled:
        log.info("immediate grade delivery for user %s: %s", user_id, report)
