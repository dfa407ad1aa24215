"""Why a login or launch was refused, in words for people and for logs."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, replace

STUDENT = "student"
LECTURER = "lecturer"
ADMIN = "admin"


@dataclass(frozen=True)
class Problem:
    """What a person is told: a title, an explanation, who can fix it and the HTTP status."""

    status: int
    title: str
    message: str
    who_can_fix: str
    new_window: bool = False


CATALOGUE: dict[str, Problem] = {
    "missing_params": Problem(
        400, "The launch request was incomplete",
        "Your learning environment did not send everything needed to start the tool. "
        "Go back to your course and click the link again.", STUDENT),
    "unreadable_request": Problem(
        400, "The launch request could not be read",
        "The request contained characters or values the tool cannot accept. Go back to "
        "your course and click the link again; if it keeps happening, tell your "
        "administrator.", STUDENT),
    "unknown_platform": Problem(
        400, "This learning environment is not registered",
        "The tool does not recognise the site or client this launch came from. "
        "Your learning environment's administrator needs to register the tool, "
        "or check that the issuer and client ID match the registration.", ADMIN),
    "platform_disabled": Problem(
        403, "This learning environment has been switched off",
        "The tool's administrator has disabled launches from this site.", ADMIN),
    "bad_target": Problem(
        400, "The launch pointed somewhere unexpected",
        "The link's target address does not belong to this tool, or changed during "
        "sign-in. Ask the administrator to check the tool URL in the link settings.", ADMIN),
    "missing_state": Problem(
        400, "Your browser did not keep the sign-in cookie",
        "The tool could not match this launch to the sign-in that started it, usually "
        "because the browser blocks cookies inside the course page. Open the tool in a "
        "new window and it will work.", STUDENT, new_window=True),
    "expired_state": Problem(
        400, "The sign-in took too long",
        "Too much time passed between starting the launch and finishing it. "
        "Go back to your course and click the link again.", STUDENT),
    "replayed": Problem(
        400, "This launch has already been used",
        "Each launch works once, so reloading or going back to it is refused. "
        "Go back to your course and click the link again.", STUDENT),
    "malformed_token": Problem(
        400, "The launch message could not be read",
        "The learning environment sent a launch the tool cannot read. "
        "Your administrator should check the tool's registration.", ADMIN),
    "unknown_kid": Problem(
        400, "The launch was signed with a key the tool cannot find",
        "The learning environment signed this launch with a key that is not in its "
        "published key set. The administrator should check the public keyset URL in "
        "the registration.", ADMIN),
    "bad_signature": Problem(
        400, "The launch's signature is not valid",
        "The launch could not be verified as coming from your learning environment. "
        "The administrator should check the keyset URL in the tool's registration.", ADMIN),
    "keyset_unavailable": Problem(
        502, "The learning environment's keys could not be fetched",
        "The tool could not download the keys needed to check this launch. The site may "
        "be busy: try again in a minute. If it keeps happening, the administrator should "
        "check the keyset URL and that the tool can reach it.", ADMIN),
    "expired": Problem(
        400, "The launch has expired",
        "The launch message is too old or not yet valid (the clocks of the two systems may "
        "disagree). Go back to your course and click the link again; if this keeps "
        "happening, tell your administrator.", STUDENT),
    "wrong_audience": Problem(
        400, "The launch was meant for a different tool",
        "The launch names a client ID that does not match this tool's registration. "
        "The administrator should check the client ID.", ADMIN),
    "wrong_issuer": Problem(
        400, "The launch came from an unexpected site",
        "The launch's issuer does not match the site that started the sign-in. "
        "The administrator should check the issuer in the registration.", ADMIN),
    "bad_nonce": Problem(
        400, "The launch could not be matched to its sign-in",
        "The launch's one-time code does not match the sign-in that started it. "
        "Go back to your course and click the link again.", STUDENT),
    "unknown_deployment": Problem(
        400, "This deployment is not known",
        "The launch names a deployment that is not registered with the tool.", ADMIN),
    "deployment_pending": Problem(
        403, "Your administrator needs to approve this tool",
        "This course's connection to the tool is new and waits for approval by the "
        "tool's administrator. It has been recorded; once it is approved the link will "
        "work. Please let your lecturer know.", ADMIN),
    "deployment_disabled": Problem(
        403, "This connection to the tool has been switched off",
        "The tool's administrator has disabled launches from this deployment.", ADMIN),
    "wrong_message": Problem(
        400, "This kind of launch is not supported",
        "The tool received a message type or LTI version it does not handle. The "
        "lecturer or administrator should check how the link was added to the course.",
        LECTURER),
    "invalid_claims": Problem(
        400, "The launch was missing required information",
        "The learning environment left out information the tool needs (such as the user "
        "or the link). The administrator should check the tool's privacy settings and "
        "registration.", ADMIN),
    "bad_claim": Problem(
        400, "The launch carried information in the wrong form",
        "The learning environment sent the “{claim}” information in a form LTI 1.3 does not "
        "allow (the wrong type, or far too long). Your administrator should check the tool's "
        "registration and custom parameters, or report it to the platform's vendor.", ADMIN),
    "token_too_large": Problem(
        413, "The launch message was too large",
        "The learning environment sent a launch larger than the tool accepts ({limit}). "
        "Your administrator should check the custom parameters of the tool and the link.",
        ADMIN),
    "session_expired": Problem(
        401, "Your session has ended",
        "For your security, the tool forgets you after a while. Go back to your course and "
        "click the link again.", STUDENT),
}


class ErrorContext(t.TypedDict, total=False):
    """Issuer, client and deployment of a refused login or launch, as far as known."""

    issuer: str | None
    client_id: str | None
    deployment_id: str | None


class LtiError(Exception):
    """A refused login or launch; `code` picks the text in CATALOGUE, `reason` goes to the log."""

    def __init__(self, code: str, reason: str, *, issuer: str | None = None,
                 client_id: str | None = None, deployment_id: str | None = None,
                 **words: str) -> None:
        super().__init__(f"{code}: {reason}")
        if code not in CATALOGUE:
            raise ValueError(f"unknown LTI error code {code!r}")
        self.code = code
        self.reason = reason
        self.issuer = issuer
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.words = words  # fills the page's {claim}, {limit}

    @property
    def problem(self) -> Problem:
        """The words and status shown to the person."""
        problem = CATALOGUE[self.code]
        if self.words:
            problem = replace(problem, message=problem.message.format(**self.words))
        return problem

    @property
    def who_can_fix(self) -> str:
        """Whom the page tells to act."""
        return {STUDENT: "You can fix this yourself.",
                LECTURER: "Your lecturer can fix this.",
                ADMIN: "Your learning environment's administrator can fix this."}[
            self.problem.who_can_fix]
