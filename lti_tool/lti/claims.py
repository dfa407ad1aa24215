"""The shape every claim the tool reads must have, checked before anything uses it.

A platform's signature proves who sent a token, not that its claims are well formed: a
`resource_link` that is a list or `roles` that is a number must be a clear 400 naming the
claim, never a 500 further on. Claims the tool does not read are not checked (and not kept:
see `kept`). Sizes are generous limits, not LTI's; the whole id_token is capped at
MAX_TOKEN_BYTES before it is even decoded.
"""

from __future__ import annotations

import math
import re
import typing as t

from .constants import Claim

# An id_token larger than this is refused unread (413). Real launches are 2-8 KiB; Moodle's
# with every optional claim and long custom parameters stays under 16 KiB.
MAX_TOKEN_BYTES = 64 * 1024

URL = 2048
ID = 255
TEXT = 1000


class ClaimProblem(ValueError):
    """One claim is not what LTI says it must be; `claim` names it for the page."""

    def __init__(self, claim: str, reason: str, missing: bool = False) -> None:
        super().__init__(f"{claim}: {reason}")
        self.claim = claim
        self.reason = reason
        self.missing = missing  # absent rather than malformed


Check = t.Callable[[object, str], None]


def _claim(path: str) -> str:
    """The claim a path is in: 'roles' for 'roles[3]', 'context' for 'context.id'."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _fail(path: str, what: str) -> t.NoReturn:
    raise ClaimProblem(_claim(path), f"{path} must be {what}")


def text(limit: int = TEXT, *, empty: bool = True, controls: bool = True) -> Check:
    """A string of at most `limit` characters (without control characters unless `controls`)."""
    def check(value: object, path: str) -> None:
        if not isinstance(value, str):
            _fail(path, "a string")
        if len(value) > limit:
            _fail(path, f"at most {limit} characters (it has {len(value)})")
        if not empty and not value.strip():
            _fail(path, "a non-empty string")
        if not controls and any(ord(c) < 32 or ord(c) == 127 for c in value):
            _fail(path, "a string without control characters")
    return check


def number(value: object, path: str) -> None:
    """A finite JSON number (not true/false)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        _fail(path, "a number")


def flag(value: object, path: str) -> None:
    """true or false."""
    if not isinstance(value, bool):
        _fail(path, "true or false")


def scalar(limit: int) -> Check:
    """A string, number, true/false or null (custom parameters)."""
    def check(value: object, path: str) -> None:
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            number(value, path)
        else:
            text(limit)(value, path)
    return check


def many(item: Check, limit: int) -> Check:
    """A list of at most `limit` items, each passing `item`."""
    def check(value: object, path: str) -> None:
        if not isinstance(value, list):
            _fail(path, "a list")
        if len(value) > limit:
            _fail(path, f"a list of at most {limit} items")
        for index, entry in enumerate(value):
            item(entry, f"{path}[{index}]")
    return check


def one_or_many(item: Check, limit: int) -> Check:
    """One value or a list of them (`aud`)."""
    def check(value: object, path: str) -> None:
        many(item, limit)(value, path) if isinstance(value, list) else item(value, path)
    return check


def obj(fields: dict[str, Check], required: tuple[str, ...] = (), *,
        values: Check | None = None, max_keys: int = 100) -> Check:
    """An object whose named fields pass their checks (null counts as absent unless
    required); other keys pass `values` when given, else are left alone."""
    def check(value: object, path: str) -> None:
        if not isinstance(value, dict):
            _fail(path, "an object")
        if len(value) > max_keys:
            _fail(path, f"an object of at most {max_keys} keys")
        for name in required:
            if value.get(name) is None:
                raise ClaimProblem(_claim(path), f"{path}.{name} is missing",
                                   missing=True)
        for name, entry in value.items():
            if not isinstance(name, str) or len(name) > ID:
                _fail(path, f"an object with keys of at most {ID} characters")
            rule = fields.get(name, values)
            if rule is not None and entry is not None:
                rule(entry, f"{path}.{name}")
    return check


def short(uri: str) -> str:
    """The name a person reads: 'resource_link' for the claim's full URI."""
    return uri.rsplit("/", 1)[-1]


STRINGS = many(text(500), 100)
# Every claim the tool reads, by its full name, with the shape it must have when present.
CLAIMS: dict[str, Check] = {
    "iss": text(URL, empty=False),
    "aud": one_or_many(text(ID, empty=False), 20),
    "azp": text(ID),
    "sub": text(ID, empty=False),
    "nonce": text(ID, empty=False),
    "iat": number,
    "exp": number,
    "nbf": number,
    "name": text(),
    "given_name": text(),
    "family_name": text(),
    "middle_name": text(),
    "email": text(),
    Claim.MESSAGE_TYPE.value: text(100, empty=False),
    Claim.VERSION.value: text(20, empty=False),
    # Stored as sent (it names the deployment): PostgreSQL refuses NUL in text.
    Claim.DEPLOYMENT_ID.value: text(ID, empty=False, controls=False),
    Claim.TARGET_LINK_URI.value: text(URL, empty=False),
    Claim.ROLES.value: STRINGS,
    Claim.RESOURCE_LINK.value: obj({"id": text(ID, empty=False), "title": text(),
                                    "description": text(10000)}, required=("id",)),
    Claim.CONTEXT.value: obj({"id": text(ID, empty=False), "label": text(), "title": text(),
                              "type": STRINGS}, required=("id",)),
    Claim.CUSTOM.value: obj({}, values=scalar(10000), max_keys=200),
    Claim.LAUNCH_PRESENTATION.value: obj({"document_target": text(50), "height": scalar(50),
                                          "width": scalar(50), "return_url": text(URL),
                                          "locale": text(100)}),
    Claim.AGS_ENDPOINT.value: obj({"scope": many(text(URL), 20), "lineitems": text(URL),
                                   "lineitem": text(URL)}),
    Claim.NRPS.value: obj({"context_memberships_url": text(URL),
                           "service_versions": many(text(20), 10)}),
    Claim.DEEP_LINKING_SETTINGS.value: obj(
        {"deep_link_return_url": text(URL, empty=False), "accept_types": STRINGS,
         "accept_presentation_document_targets": STRINGS, "accept_media_types": text(),
         "accept_multiple": flag, "accept_lineitem": flag, "auto_create": flag,
         "accept_copy_advice": flag, "accept_unsigned": flag, "can_confirm": flag,
         "title": text(), "text": text(10000), "data": text(10000)},
        required=("deep_link_return_url",)),
    Claim.FOR_USER.value: obj({"user_id": text(ID, empty=False), "person_sourcedid": text(),
                               "given_name": text(), "family_name": text(), "name": text(),
                               "email": text(), "roles": STRINGS}, required=("user_id",)),
    Claim.ROLE_SCOPE_MENTOR.value: many(text(ID, empty=False), 1000),
    Claim.LTI1P1.value: obj({"user_id": text(ID), "oauth_consumer_key": text(ID),
                             "oauth_consumer_key_sign": text(ID), "resource_link_id": text(ID)}),
}
REQUIRED = ("iss", "aud", "sub", "iat", "exp", "nonce", Claim.MESSAGE_TYPE.value,
            Claim.VERSION.value, Claim.DEPLOYMENT_ID.value, Claim.ROLES.value)
BY_MESSAGE = {
    "LtiResourceLinkRequest": (Claim.RESOURCE_LINK.value,),
    "LtiDeepLinkingRequest": (Claim.DEEP_LINKING_SETTINGS.value,),
    # pylti1p3's validator also wants the AGS claim's `lineitem`; these name the page to show.
    "LtiSubmissionReviewRequest": (Claim.RESOURCE_LINK.value, Claim.FOR_USER.value,
                                   Claim.AGS_ENDPOINT.value),
}


def check_claims(body: t.Mapping[str, t.Any]) -> None:
    """Raise ClaimProblem for the first claim that is missing, of the wrong type or too big."""
    for name in REQUIRED:
        if body.get(name) is None:
            raise ClaimProblem(short(name), f"{short(name)} is missing", missing=True)
    for name, rule in CLAIMS.items():
        if body.get(name) is not None:
            try:
                rule(body[name], short(name))
            except RecursionError:  # pragma: no cover - the token size cap keeps nesting low
                raise ClaimProblem(short(name), f"{short(name)} is nested too deeply") from None
    message_type = body.get(Claim.MESSAGE_TYPE.value)
    for name in BY_MESSAGE.get(message_type, ()):  # type: ignore[arg-type]
        if body.get(name) is None:
            raise ClaimProblem(short(name), f"{short(name)} is missing for {message_type}",
                               missing=True)

