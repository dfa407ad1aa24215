"""The pages a failed university sign-in shows: what happened and what the person can do."""

from __future__ import annotations

from flask import current_app, render_template
from werkzeug.wrappers import Response

from ..config import OidcSettings
from .oidc import ProviderProblem
from .sso import SsoRefused

OPERATORS = "If it keeps happening, tell the team that runs the tool."
# What each failed id_token check means, in words.
CHECKS = {"expired": "it had expired", "signature": "its signature did not verify",
          "aud": "it was meant for another service", "iss": "it came from another issuer",
          "nonce": "it belonged to another sign-in", "missing": "there was none"}


def sso_page(status: int, title: str, message: str, who: str | None = None) -> Response:
    """A console problem page with a way back to the sign-in page (503s say when to retry)."""
    response = current_app.make_response(render_template(
        "admin/sso_problem.html", title=title, message=message, who=who, status=status))
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = "60"
    return response


def provider_page(problem: ProviderProblem, name: str) -> Response:
    """The page for each way the provider's answer failed."""
    if problem.kind == "unavailable":
        return sso_page(503, f"{name} cannot be reached just now",
                        "The tool could not reach the university's sign-in service, so you "
                        "have not been signed in. Try again in a few minutes.", OPERATORS)
    if problem.kind == "misconfigured":
        return sso_page(503, f"Sign-in with {name} is not working",
                        "The university's sign-in service answered in a way the tool's "
                        "settings do not fit, so nobody can sign in this way until it is "
                        "fixed. The tool's log says what is wrong.",
                        "Tell the team that runs the tool.")
    if problem.kind == "refused":
        said = f"It said: {problem.error}" + (f" ({problem.description})"
                                              if problem.description else "") + "."
        if problem.error == "access_denied":
            return sso_page(403, f"{name} did not sign you in",
                            f"{said} If you cancelled, that is all it means: start again "
                            "when you are ready.",
                            "If you were refused, your university's IT service desk can say "
                            "why.")
        return sso_page(400, f"{name} did not sign you in",
                        f"{said} Start again from the sign-in page.", OPERATORS)
    if problem.kind == "state":
        return sso_page(400, "This sign-in has expired or was already used",
                        "The answer from the university's sign-in did not match a sign-in "
                        "started in this browser (an old tab, a used link, or another "
                        "browser). Start again from the sign-in page, in one tab.")
    return sso_page(400, f"The answer from {name} could not be trusted",
                    "The signed token it sent failed the tool's checks "
                    f"({CHECKS.get(problem.what, 'it was malformed')}), so nobody was signed "
                    "in. Start again from the sign-in page.",
                    f"{OPERATORS} Clocks, the client id or the provider's keys may need "
                    "checking.")


def refusal_page(problem: SsoRefused, settings: OidcSettings) -> Response:
    """Why a person the university signed in cannot enter the console, and whom to ask."""
    email, name = problem.email, settings.name
    if problem.kind == "unknown":
        return sso_page(403, f"No console account for {email}",
                        f"{name} signed you in as {email}, but this tool has no "
                        "administrator account with that address, so nothing was opened "
                        "(and nothing was created).",
                        "Ask one of the tool's administrators to run `lti-tool admin "
                        f"create-user {email}` on the server, then sign in again.")
    if problem.kind == "inactive":
        return sso_page(403, f"The console account {email} is switched off",
                        "It was deactivated, so it cannot sign in by any route.",
                        f"Ask another administrator to run `lti-tool admin activate {email}` "
                        "if it should be used again.")
    if problem.kind == "unverified":
        return sso_page(403, f"{email} is not a verified address",
                        f"{name} says your email address {email} is not verified, so the "
                        "tool cannot use it to find your account.",
                        "Ask your university's IT service desk to verify it.")
    if problem.kind == "domain":
        return sso_page(403, f"Addresses like {email} cannot sign in here",
                        "This console accepts university sign-in only for addresses at "
                        f"{', '.join(settings.email_domains)}.",
                        "Sign in with an account at one of those, or ask the team that runs "
                        "the tool.")
    if problem.kind == "claim":
        claim, value = settings.required_claim or ("", "")
        return sso_page(403, f"{email} may not sign in to this console",
                        f"The university's sign-in does not list you in {value!r} (its "
                        f"{claim!r} claim), which this console requires.",
                        "Ask your university's IT service desk to add you, or ask the team "
                        "that runs the tool.")
    return sso_page(403, f"{name} did not give your email address",
                    "The tool finds console accounts by email address, and the university's "
                    "sign-in sent none.",
                    "Tell the team that runs the tool: the provider must release the email "
                    "and email_verified claims to it.")
