"""Why a score could not be delivered, in plain words that say what to change in the VLE."""

from __future__ import annotations

from dataclasses import dataclass

BODY_EXCERPT = 500

MOODLE_GRADE_SYNC = (
    "In Moodle, Site administration > Plugins > Activity modules > External tool > Manage "
    "tools > edit the tool > Services: set IMS LTI Assignment and Grade Services to 'Use "
    "this service for grade sync and column management'.")
GENERIC_GRADE_SYNC = (
    "Ask the VLE administrator to allow this tool to use the Assignment and Grade Services "
    "(grade sync) in the tool's registration.")


class DeliveryError(Exception):
    """A delivery that did not happen; `permanent` ones wait for a person, others are retried."""

    def __init__(self, explanation: str, *, permanent: bool, status: int | None = None,
                 body: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(explanation)
        self.explanation = explanation
        self.permanent = permanent
        self.status = status
        self.body = excerpt(body)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Platform:
    """Just enough about a registration to word advice for its VLE."""

    moodle: bool

    @classmethod
    def of(cls, auth_token_url: str) -> "Platform":
        """Recognise Moodle by its token endpoint."""
        return cls(moodle="/mod/lti/token.php" in auth_token_url)

    @property
    def grade_sync(self) -> str:
        """How to switch grade sync on in this VLE."""
        return MOODLE_GRADE_SYNC if self.moodle else GENERIC_GRADE_SYNC


def excerpt(body: str | None) -> str | None:
    """The start of a response body, safe for any text column."""
    if not body:
        return None
    return body.replace("\x00", "")[:BODY_EXCERPT]


def refused(status: int, body: str, platform: Platform, *, what: str) -> DeliveryError:
    """A permanent failure for a 4xx answer to a service call, with what to change."""
    if status == 401:
        text = (f"The VLE refused the tool access to its gradebook when {what} (401). The "
                f"most common cause is that grade sync is switched off for this tool. "
                f"{platform.grade_sync} Then resend the grade.")
    elif status == 403:
        text = (f"The VLE did not allow the tool to change this grade when {what} (403). "
                "Check that the activity still uses this tool and that its grade item is "
                f"not locked; also check grade sync: {platform.grade_sync} Then resend.")
    elif status == 404:
        text = (f"The VLE's grade column for this activity was not found when {what} (404); "
                "it may have been deleted. Open the activity once from the course (so the "
                "tool learns its current grade column), then resend the grade.")
    elif status == 400:
        text = (f"The VLE rejected the request as invalid when {what} (400). Often the "
                "student is no longer enrolled with a graded role in the course (Moodle "
                "only accepts grades for students). Check the enrolment, then resend.")
    else:
        text = (f"The VLE refused the request when {what} ({status}). Check the tool's "
                "settings in the VLE, then resend.")
    return DeliveryError(text, permanent=True, status=status, body=body)


def token_refused(status: int | None, error: str | None, body: str | None,
                  platform: Platform) -> DeliveryError:
    """A permanent failure at the token endpoint: the VLE does not accept the tool's request."""
    if error == "invalid_scope":
        text = ("The VLE refused the grade service permissions the tool asked for "
                f"(invalid_scope). {platform.grade_sync} Then resend the grade.")
    else:
        text = ("The VLE did not accept the tool's signed credentials when asked for an "
                f"access token ({status}{', ' + error if error else ''}). Check that the "
                "tool's client ID and public keyset URL (BASE/.well-known/jwks.json) are "
                "entered correctly in the VLE's tool settings, then resend.")
    return DeliveryError(text, permanent=True, status=status, body=body)


def no_grade_service(platform: Platform) -> DeliveryError:
    """The launches of this link carried no grade service, so there is nowhere to send."""
    return DeliveryError(
        "The VLE did not offer grade passback for this activity (its launches carry no "
        f"Assignment and Grade Services endpoint). {platform.grade_sync} Then open the "
        "activity once from the course and resend the grade.", permanent=True)


def cannot_create_column(platform: Platform) -> DeliveryError:
    """No line item in the launch and no permission to create one."""
    return DeliveryError(
        "The VLE named no grade column for this activity and did not allow the tool to "
        f"create one (no line item scope). {platform.grade_sync} Or give the activity a "
        "grade in the VLE, open it once from the course, and resend.", permanent=True)


def registration_disabled() -> DeliveryError:
    """The platform's registration is switched off in the tool."""
    return DeliveryError(
        "This VLE's registration is disabled in the tool, so grades are not sent. An "
        "administrator of the tool can enable it again and resend.", permanent=True)


def transient(explanation: str, *, status: int | None = None, body: str | None = None,
              retry_after: float | None = None) -> DeliveryError:
    """A failure that retrying may cure."""
    return DeliveryError(explanation, permanent=False, status=status, body=body,
                         retry_after=retry_after)
