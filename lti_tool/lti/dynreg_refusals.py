"""What an administrator is told when a Dynamic Registration is refused, and the error itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """What the admin is told: HTTP status, title and explanation."""

    status: int
    title: str
    message: str


NEW_LINK = "Ask the tool's administrator for a new link (`lti-tool platform register-link`)."
CATALOGUE: dict[str, Refusal] = {
    "invite_unknown": Refusal(
        403, "This registration link is not valid",
        "Registering the tool needs the one-time link made by the tool's administrator, "
        "pasted whole into your learning environment. " + NEW_LINK),
    "invite_used": Refusal(
        403, "This registration link has already been used",
        "Each link registers one learning environment, once. " + NEW_LINK),
    "invite_expired": Refusal(
        403, "This registration link has expired", "Links work for a limited time. " + NEW_LINK),
    "bad_request": Refusal(
        400, "The registration request could not be read",
        "The address the learning environment opened carries values the tool cannot use. "
        "Start the registration again from your learning environment."),
    "missing_configuration": Refusal(
        400, "The registration request was incomplete",
        "The learning environment did not say where its configuration is (the "
        "openid_configuration parameter). Start the registration from your learning "
        "environment: in Moodle, paste the link into the Tool URL box of Manage tools and "
        "click Add LTI Advantage, rather than opening the link in a browser."),
    "platform_unreachable": Refusal(
        502, "The learning environment could not be reached",
        "The tool could not fetch your learning environment's configuration. Check that the "
        "tool's server can reach your site over the network, then start the registration again."),
    "bad_configuration": Refusal(
        400, "The learning environment's configuration cannot be used",
        "Your learning environment's configuration lacks something the tool needs. Nothing "
        "was registered."),
    "issuer_mismatch": Refusal(
        400, "The configuration names a different site",
        "The issuer in your learning environment's configuration is not the site the "
        "configuration came from, so the tool cannot trust it. Check the site's configured "
        "web address (for Moodle, $CFG->wwwroot), then start the registration again."),
    "registration_refused": Refusal(
        502, "The learning environment refused the registration",
        "Your learning environment answered the tool's registration with an error. Nothing "
        "was registered on the tool's side. Start the registration again from your learning "
        "environment; if it fails again, give this page to the tool's administrator."),
    "bad_answer": Refusal(
        502, "The learning environment's answer cannot be used",
        "Your learning environment accepted the registration but its answer lacks a usable "
        "client ID. Nothing was registered on the tool's side; remove the new tool in your "
        "learning environment and ask the tool's administrator to register it by hand."),
    "already_registered": Refusal(
        409, "This learning environment is already registered",
        "The tool already has a registration with this issuer and client ID. Nothing was "
        "changed; remove the new tool in your learning environment, or ask the tool's "
        "administrator to remove the old registration first."),
}


class RegistrationRefused(Exception):
    """A refused registration: `code` picks the words, `reason` is logged, `detail` is shown."""

    def __init__(self, code: str, reason: str, detail: str | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        if code not in CATALOGUE:
            raise ValueError(f"unknown registration refusal {code!r}")
        self.code = code
        self.reason = reason
        self.detail = detail

    @property
    def refusal(self) -> Refusal:
        """Status, title and message for the page."""
        return CATALOGUE[self.code]
