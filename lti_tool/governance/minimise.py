"""Keep from a launch's id_token only the claims the tool reads again later.

Everything the tool needs about the person, course and link is copied into their own rows by
`record_launch`; `launch.claims` is read afterwards only for the landing page's return URL
and the deep linking settings, the submission review's `for_user` id and a mentor's
`role_scope_mentor` (platform user ids, as `lti_user.sub`: the pages after the launch read
them). Names, emails, `lis` student numbers and custom parameters (which platforms fill with
usernames and emails on request) are dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from .settings import keep_raw_claims_seconds

# The key under which the full claims wait out the debugging window, and its end.
RAW_KEY = "_raw"
RAW_UNTIL_KEY = "_raw_until"

# Claim URIs written out (as in lti.constants.Claim, which a test checks): importing the lti
# package from here would be circular, since record_launch imports this module.
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
# Claims kept whole: none of them describes a person.
KEPT = (
    LTI + "message_type",
    LTI + "version",
    LTI + "deployment_id",
    LTI + "target_link_uri",
    "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings",
    LTI + "role_scope_mentor",  # which students a mentor may watch (lti_tool.learner.mentoring)
)
# Claims kept in part: only these members (ids and titles, never a person's data).
PARTLY_KEPT = {
    LTI + "context": ("id", "label", "title", "type"),
    LTI + "resource_link": ("id", "title"),
    LTI + "launch_presentation": ("return_url", "document_target", "locale"),
    LTI + "for_user": ("user_id",),  # whose attempt a submission review opens
}


def minimal_claims(claims: dict[str, Any], now: datetime | None = None,
                   keep_seconds: int | None = None) -> dict[str, Any]:
    """The claims to store for a launch; the full set too while the debugging window is on."""
    kept: dict[str, Any] = {name: claims[name] for name in KEPT if name in claims}
    for name, members in PARTLY_KEPT.items():
        value = claims.get(name)
        if isinstance(value, dict):
            kept[name] = {k: value[k] for k in members if k in value}
    seconds = keep_raw_claims_seconds() if keep_seconds is None else keep_seconds
    if seconds > 0:
        until = (now or datetime.now(timezone.utc)) + timedelta(seconds=seconds)
        kept[RAW_KEY] = claims
        kept[RAW_UNTIL_KEY] = until.isoformat()
    return kept


def raw_expired(claims: dict[str, Any], now: datetime) -> bool:
    """Whether stored claims still carry a full id_token past its window."""
    if RAW_KEY not in claims:
        return False
    try:
        until = datetime.fromisoformat(str(claims.get(RAW_UNTIL_KEY)))
    except ValueError:
        return True  # no readable end: drop it rather than keep it for ever
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    return until <= now


def without_raw(claims: dict[str, Any]) -> dict[str, Any]:
    """The stored claims with the full id_token removed."""
    return {k: v for k, v in claims.items() if k not in (RAW_KEY, RAW_UNTIL_KEY)}
