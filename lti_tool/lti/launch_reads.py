"""What a launch reads before pylti1p3 checks it: the id_token's claims, unverified and only to
find rows, and the login with its registration and deployment, in Core statements built once
(a launch pays neither the ORM's loading nor a statement's cache key)."""

from __future__ import annotations

import base64
import json
import typing as t

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..models import Deployment, LoginState, Registration
from ..sqltools import prefixed, table_of

_LOGIN, _REGISTRATION, _DEPLOYMENT = (table_of(LoginState), table_of(Registration),
                                      table_of(Deployment))
# The login with its registration and the deployment the token names, in one read.
LOGIN_WITH_PLATFORM = (
    select(*prefixed(_LOGIN, "l_"), *prefixed(_REGISTRATION, "r_"),
           *prefixed(_DEPLOYMENT, "d_"))
    .select_from(_LOGIN.outerjoin(_REGISTRATION, (_REGISTRATION.c.issuer == _LOGIN.c.issuer)
                                  & (_REGISTRATION.c.client_id == _LOGIN.c.client_id))
                 .outerjoin(_DEPLOYMENT, (_DEPLOYMENT.c.registration_id == _REGISTRATION.c.id)
                            & (_DEPLOYMENT.c.deployment_id == bindparam("deployment_id"))))
    .where(_LOGIN.c.state == bindparam("state")))
# Conditional, so of two racing launches with one login exactly one consumes it.
CONSUME_LOGIN = (update(_LOGIN).where(_LOGIN.c.state == bindparam("consumed_state"),
                                      _LOGIN.c.used_at.is_(None))
                 .values(used_at=bindparam("consumed_at")))


def rows_of(found: t.Any) -> tuple[LoginState | None, Registration | None, Deployment | None]:
    """The login, registration and deployment of the joined read, as detached objects."""
    if found is None:
        return None, None, None
    data = found._mapping

    def part(prefix: str, model: t.Any, table: t.Any) -> t.Any:
        if data[f"{prefix}{table.primary_key.columns[0].name}"] is None:
            return None  # no such row in the outer join
        return model(**{c.key: data[f"{prefix}{c.name}"] for c in table.c})

    login = part("l_", LoginState, _LOGIN)
    registration = part("r_", Registration, _REGISTRATION)
    deployment = part("d_", Deployment, _DEPLOYMENT)
    if deployment is not None:
        set_committed_value(deployment, "registration", registration)
    return login, registration, deployment


def peek(token: str) -> tuple[t.Any, t.Any]:
    """A compact JWT's header and claims, unverified, with the standard library.

    PyJWT checks every character of a token in Python, which a launch then pays twice; the
    rows this finds are trusted only once PyJWT has verified the same token.
    """
    header, claims, _signature = token.split(".")
    read = json.loads(_unpadded(header)), json.loads(_unpadded(claims))
    if not all(isinstance(part, dict) for part in read):
        raise ValueError("header or claims are not a JSON object")
    return read


def _unpadded(segment: str) -> bytes:
    """base64url without padding, decoded."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def str_or_none(value: object, limit: int | None = 500) -> str | None:
    """A non-empty string (or number) claim value as a string; None for anything else, so a
    list-valued id is never recorded as "['p1-dep']"."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return None
    return str(value)[:limit]
