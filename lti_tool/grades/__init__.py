"""Grades to the VLE's gradebook through LTI Assignment and Grade Services, never lost.

Scores go into an outbox (`grade_delivery`) in the same transaction as the attempt, then a
worker (`lti-tool grades work`, or the request itself right after a submit) delivers them.
The services here take sessions and plain values; nothing needs a Flask app or request.

For other parts of the tool:
- the player: ``record_progress(session, library, launch, attempt, Progress.SUBMITTED)``
  before its commit, then ``web.deliver_now(user_id)`` after it;
- marking: ``requeue_after_marking(session, attempt)`` before the commit;
- class view and console: ``delivery_status(session, user_id, link_id)``,
  ``list_deliveries(session, failed_only=True)``, ``resend(session, delivery_id)``;
- the worker: ``deliver_pending(session_factory, http, now, limit, keyring=...)``, which
  claims scores in batches (``claim``) and sends them (``deliver_claimed``).
"""

from .claims import claim, claim_next
from .delivery import (
                     Report,
                     deliver_claimed,
                     deliver_for_user,
                     deliver_pending,
)
from .errors import DeliveryError
from .outbox import (
                     DeliveryView,
                     ResendRefused,
                     delivery_status,
                     list_deliveries,
                     resend,
)
from .scores import (
                     Progress,
                     latest_delivery,
                     link_max_points,
                     queue_score,
                     record_progress,
                     requeue_after_marking,
)
from .tokens import DatabaseTokenCache, RegistrationInfo, UncachedTokens

__all__ = [
    "DatabaseTokenCache", "DeliveryError", "DeliveryView", "Progress", "RegistrationInfo",
    "Report", "ResendRefused", "UncachedTokens", "claim", "claim_next", "deliver_claimed",
    "deliver_for_user", "deliver_pending", "delivery_status", "latest_delivery",
    "link_max_points", "list_deliveries", "queue_score", "record_progress",
    "requeue_after_marking", "resend",
]
