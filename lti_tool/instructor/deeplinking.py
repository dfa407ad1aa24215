"""Deep linking: the module catalogue, the lecturer's marking choices and the signed response.

Functions take plain values and flush; the view commits. The custom parameters written here
are exactly those `attempts.settings.link_settings` reads back on every launch of the link.
"""

from __future__ import annotations

import copy
import logging
import math
import secrets
import time
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..content import Library, Module
from ..content.frameworks import DCS, Framework
from ..keys import Keyring
from ..lti.constants import LTI_VERSION, SUBMISSION_REVIEW, Claim, MessageType
from ..models import DeepLinkResponse, Launch, ResourceLink

log = logging.getLogger(__name__)

COUNTING = {"best": "The best attempt counts", "latest": "The latest attempt counts"}
MARKING = {"manual": "Marked by you (the grade waits for your mark)",
           "completion": "Credited in full when the student writes them"}
MAX_POINTS_LIMIT = 1000
MAX_ATTEMPTS_LIMIT = 100
RESPONSE_LIFETIME = 600  # seconds the platform has to accept the response
FIELDS = ("max_points", "pass_mark", "max_attempts", "counting", "reflection_marking")
RAW_LIMIT = 50  # longer form values are cut before being shown back


class DeepLinkingProblem(Exception):
    """A deep linking request the tool cannot answer; the message is for the lecturer."""

    def __init__(self, message: str, reason: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status


class AlreadySent(Exception):
    """This request has been answered; a platform takes one response per request."""

    def __init__(self, response: DeepLinkResponse | None) -> None:
        super().__init__("deep linking response already sent")
        self.response = response  # None when a concurrent submission has just recorded it


class InvalidChoices(ValueError):
    """What the lecturer entered cannot be used; `errors` say what to change."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class BadFilter(ValueError):
    """A filter value that names no domain or element."""


# -- the catalogue -------------------------------------------------------------------------
@dataclass(frozen=True)
class ModuleCard:
    """A module as the picker shows it: its DCS alignment and the domains that covers."""

    module: Module
    elements: tuple[str, ...]
    domains: tuple[str, ...]

    @property
    def tag(self) -> str:
        """The line item tag: the module's DCS domain ('practice'), joined with + if several."""
        return "+".join(self.domains)

    @property
    def default_max_points(self) -> float:
        """The module's own maximum, so a grade reads the same as the module's score."""
        return float(self.module.max_points) or 100.0


def dcs(library: Library) -> Framework:
    """The Digital Capabilities Statement, which the picker filters by."""
    return library.frameworks[DCS]


def cards(library: Library) -> list[ModuleCard]:
    """Every module (latest version) with its alignment, in the framework's order (P1..I2)."""
    framework = dcs(library)
    position = {item: i for i, item in enumerate(framework.alignable)}
    out = []
    for module in library.modules():
        elements = tuple(module.alignment.get(DCS, ()))
        out.append(ModuleCard(module, elements, framework.domains_of(elements)))
    # Broad modules (the introduction) come before the focused ones of their first element.
    return sorted(out, key=lambda c: (min((position.get(e, len(position)) for e in c.elements),
                                          default=len(position)),
                                      -len(c.elements), c.module.title))


def check_filter(framework: Framework, domain: str | None,
                 element: str | None) -> tuple[str | None, str | None]:
    """The filter values if they name a domain and element of the DCS; BadFilter otherwise."""
    domain, element = (domain or None), (element or None)
    if domain is not None and domain not in {d.id for d in framework.domains}:
        names = ", ".join(d.title for d in framework.domains)
        raise BadFilter(f"There is no domain called “{domain[:RAW_LIMIT]}”: choose {names}.")
    if element is not None and element not in framework.alignable:
        raise BadFilter(f"There is no element called “{element[:RAW_LIMIT]}”: choose one of "
                        f"{', '.join(framework.alignable)}.")
    return domain, element


def filter_cards(all_cards: list[ModuleCard], domain: str | None,
                 element: str | None) -> list[ModuleCard]:
    """The modules aligned to the domain and element asked for (either may be None)."""
    return [c for c in all_cards
            if (domain is None or domain in c.domains)
            and (element is None or element in c.elements)]


# -- the lecturer's choices ----------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """One module and how it is marked, as the lecturer set it."""

    module_id: str
    title: str
    max_points: float
    pass_mark: int
    max_attempts: int | None
    counting: str
    reflection_marking: str

    def settings(self) -> dict[str, str]:
        """The marking settings as strings, the form LTI custom parameters take."""
        return {"max_attempts": str(self.max_attempts) if self.max_attempts else "unlimited",
                "counting": self.counting, "reflection_marking": self.reflection_marking,
                "pass_mark": str(self.pass_mark), "max_points": _number_text(self.max_points)}

    def custom(self) -> dict[str, str]:
        """Custom parameters for the platform to send back on every launch of the link."""
        return {"module": self.module_id, **self.settings()}


def default_values(card: ModuleCard) -> dict[str, str]:
    """The form's starting values for a module: its own maximum and pass mark, no limit."""
    return {"max_points": _number_text(card.default_max_points),
            "pass_mark": str(card.module.pass_mark), "max_attempts": "",
            "counting": "best", "reflection_marking": "manual"}


def values_for_link(card: ModuleCard, settings: t.Any) -> dict[str, str]:
    """Form values showing a link's current settings (a `LinkSettings`) for its module."""
    values = default_values(card)
    if settings.max_points:
        values["max_points"] = _number_text(settings.max_points)
    if settings.pass_mark:
        values["pass_mark"] = str(settings.pass_mark)
    values["max_attempts"] = str(settings.max_attempts or "")
    values["counting"] = settings.counting
    values["reflection_marking"] = "completion" if settings.completion_credit else "manual"
    return values


def submitted_values(form: t.Mapping[str, str], all_cards: list[ModuleCard]
                     ) -> dict[str, dict[str, str]]:
    """What the lecturer typed, per module, to show again beside the error messages."""
    out = {}
    for card in all_cards:
        values = default_values(card)
        for name in FIELDS:
            raw = form.get(f"{name}-{card.module.id}")
            if raw is not None:
                values[name] = str(raw)[:RAW_LIMIT]
        out[card.module.id] = values
    return out


def chosen_ids(form: t.Any) -> list[str]:
    """The module ids ticked on the form, in order, without repeats."""
    raw = form.getlist("module") if hasattr(form, "getlist") else [form.get("module")]
    return list(dict.fromkeys(str(v) for v in raw if v))


def parse_choices(form: t.Any, all_cards: list[ModuleCard], *, multiple: bool) -> list[Choice]:
    """The lecturer's choices from the picker form; InvalidChoices lists every problem."""
    by_id = {c.module.id: c for c in all_cards}
    ids = chosen_ids(form)
    errors: list[str] = []
    if not ids:
        raise InvalidChoices(["Choose a module first."])
    if len(ids) > 1 and not multiple:
        raise InvalidChoices(["Your learning environment takes one activity at a time from "
                              "here: choose a single module."])
    choices = []
    for module_id in ids:
        card = by_id.get(module_id)
        if card is None:
            errors.append(f"“{module_id[:RAW_LIMIT]}” is not one of this tool's modules: "
                          "choose from the list.")
            continue
        try:
            choices.append(_choice(card, form))
        except InvalidChoices as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidChoices(errors)
    return choices


def _choice(card: ModuleCard, form: t.Mapping[str, str]) -> Choice:
    """One module's settings, checked; blank fields take the module's defaults."""
    module = card.module
    defaults = default_values(card)

    def raw(name: str) -> str:
        value = str(form.get(f"{name}-{module.id}") or "").strip()
        return value or defaults[name]

    errors = []
    max_points = _number(raw("max_points"))
    if max_points is None or not 0 < max_points <= MAX_POINTS_LIMIT:
        errors.append(f"{module.title}: maximum points must be a number greater than 0 and at "
                      f"most {MAX_POINTS_LIMIT}.")
    pass_mark = _whole(raw("pass_mark"))
    if pass_mark is None or not 1 <= pass_mark <= 100:
        errors.append(f"{module.title}: the pass mark must be a whole percentage from 1 to 100.")
    attempts_raw = raw("max_attempts")
    attempts = _whole(attempts_raw) if attempts_raw else None
    if attempts_raw and (attempts is None or not 1 <= attempts <= MAX_ATTEMPTS_LIMIT):
        errors.append(f"{module.title}: attempts allowed must be a whole number from 1 to "
                      f"{MAX_ATTEMPTS_LIMIT}, or blank for unlimited.")
    counting = raw("counting")
    if counting not in COUNTING:
        errors.append(f"{module.title}: choose whether the best or the latest attempt counts.")
    marking = raw("reflection_marking")
    if marking not in MARKING:
        errors.append(f"{module.title}: choose whether you mark reflections or they are "
                      "credited on completion.")
    if errors:
        raise InvalidChoices(errors)
    assert max_points is not None and pass_mark is not None
    return Choice(module_id=module.id, title=module.title, max_points=round(max_points, 2),
                  pass_mark=pass_mark, max_attempts=attempts, counting=counting,
                  reflection_marking=marking)


def _number(text: str) -> float | None:
    """A finite decimal number, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole(text: str) -> int | None:
    """A whole number written as digits, or None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _number_text(value: float) -> str:
    """14.0 -> '14', 12.5 -> '12.5'."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def _json_number(value: float) -> int | float:
    """An integral score maximum as an int, as platforms show it."""
    return int(value) if float(value).is_integer() else value


# -- existing links ------------------------------------------------------------------------
def apply_to_link(link: ResourceLink, choice: Choice) -> None:
    """Make an existing link deliver the chosen module with these settings (no JWT involved)."""
    link.module_id = choice.module_id
    link.settings = choice.settings()


# -- the deep linking request and response -------------------------------------------------
@dataclass(frozen=True)
class DeepLinkingRequest:
    """What the platform asked for, read from the launch's claims."""

    return_url: str
    accept_multiple: bool
    data: t.Any  # None when the request carried no `data`
    has_data: bool


def request_of(launch: Launch) -> DeepLinkingRequest:
    """The deep linking settings of a launch; DeepLinkingProblem if they cannot be answered."""
    if launch.message_type != MessageType.DEEP_LINKING.value:
        raise DeepLinkingProblem("This page answers a request to add activities, and this "
                                 "launch was not one.", f"launch {launch.id} is "
                                 f"{launch.message_type}", status=404)
    settings = launch.claims.get(Claim.DEEP_LINKING_SETTINGS.value)
    if not isinstance(settings, dict):
        settings = {}
    url = settings.get("deep_link_return_url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise DeepLinkingProblem(
            "Your learning environment did not say where to send the chosen activities. "
            "Start again from your course; if it happens again, tell your administrator.",
            f"launch {launch.id} has deep_link_return_url {url!r}")
    if "ltiResourceLink" not in (settings.get("accept_types") or []):
        raise DeepLinkingProblem(
            "Your learning environment asked for a kind of content this tool does not "
            "provide (it provides activity links).",
            f"launch {launch.id} accept_types {settings.get('accept_types')!r}")
    # accept_multiple is optional and defaults to true in the specification.
    multiple = settings.get("accept_multiple", True)
    return DeepLinkingRequest(return_url=str(url), accept_multiple=multiple is not False
                              and str(multiple).lower() != "false",
                              data=settings.get("data"), has_data="data" in settings)


def sent_response(session: Session, launch: Launch) -> DeepLinkResponse | None:
    """The response already sent for this request, if any."""
    return session.scalar(select(DeepLinkResponse).where(DeepLinkResponse.launch_id == launch.id))


def content_item(choice: Choice, card: ModuleCard, launch_url: str) -> dict[str, t.Any]:
    """An `ltiResourceLink` content item with its line item and custom parameters."""
    return {
        "type": "ltiResourceLink",
        "title": card.module.title,
        "text": card.module.summary,
        "url": launch_url,
        "custom": choice.custom(),
        "lineItem": {"scoreMaximum": _json_number(choice.max_points),
                     "label": card.module.title, "resourceId": card.module.id,
                     "tag": card.tag, "submissionReview": copy.deepcopy(SUBMISSION_REVIEW)},
    }


def response_claims(launch: Launch, request: DeepLinkingRequest, items: list[dict[str, t.Any]],
                    now: int | None = None) -> dict[str, t.Any]:
    """The LtiDeepLinkingResponse: from our client id to the platform, for its deployment."""
    registration = launch.deployment.registration
    now = int(time.time()) if now is None else now
    claims = {
        "iss": registration.client_id,
        "aud": registration.issuer,
        "iat": now,
        "exp": now + RESPONSE_LIFETIME,
        "nonce": secrets.token_urlsafe(24),
        Claim.DEPLOYMENT_ID.value: launch.deployment.deployment_id,
        Claim.MESSAGE_TYPE.value: "LtiDeepLinkingResponse",
        Claim.VERSION.value: LTI_VERSION,
        Claim.DL_CONTENT_ITEMS.value: items,
    }
    if request.has_data:
        claims[Claim.DL_DATA.value] = request.data
    return claims


def send(session: Session, launch: Launch, choices: list[Choice], all_cards: list[ModuleCard],
         keyring: Keyring, launch_url: str) -> str:
    """Sign the response and record that it was sent (flushed); AlreadySent on a replay.

    Signing comes first, so a missing key leaves no record of a response never shown.
    """
    request = request_of(launch)
    by_id = {c.module.id: c for c in all_cards}
    items = [content_item(choice, by_id[choice.module_id], launch_url) for choice in choices]
    token = keyring.sign(response_claims(launch, request, items))
    previous = sent_response(session, launch)
    if previous is not None:
        raise AlreadySent(previous)
    session.add(DeepLinkResponse(launch_id=launch.id, content_items=items))
    try:
        session.flush()
    except IntegrityError:
        # Another submission of the same picker won the race; the caller rolls back.
        raise AlreadySent(None) from None
    log.info("deep linking response for launch %s: %s", launch.id,
             ", ".join(c.module_id for c in choices))
    return token
