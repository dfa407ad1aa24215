"""The sandbox's Names and Role Provisioning Service: its course's class list, two per page.

Two students are enrolled but never launch, so the lecturer's class view shows what it does
for them; pages of two make the tool follow `Link: <...>; rel="next"` as it must on a real
VLE. Roles use Moodle's short names, as Moodle 4.5 sends them.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from flask import Response, current_app, request, url_for
from flask.typing import ResponseReturnValue

from . import bp
from . import platform as sandbox
from .tokens import bearer_scopes

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
PAGE_SIZE = 2
SHORT_ROLES = {"Learner", "Instructor"}

# Enrolled in the sandbox course but never launching the tool.
NEVER_LAUNCH = (
    {"user_id": "sandbox-student-3", "given_name": "Alex", "family_name": "Kowalski",
     "email": "alex.kowalski@example.ac.uk", "roles": ["Learner"]},
    {"user_id": "sandbox-student-4", "given_name": "Bea", "family_name": "Mensah",
     "email": "bea.mensah@example.ac.uk", "roles": ["Learner"]},
)


def members() -> list[dict[str, Any]]:
    """Everyone in the sandbox course, in NRPS member form."""
    out: list[dict[str, Any]] = []
    for user in sandbox.USERS.values():
        # Short names where Moodle uses them; the administrator's system roles stay full URIs.
        roles = [r.rsplit("#", 1)[1] if r.rsplit("#", 1)[1] in SHORT_ROLES and
                 "/membership#" in r else r for r in user.roles]
        out.append({"status": "Active", "roles": roles, "user_id": user.sub,
                    "name": user.name, "given_name": user.given_name,
                    "family_name": user.family_name, "email": user.email})
    for person in NEVER_LAUNCH:
        out.append({"status": "Active", "name": f"{person['given_name']} {person['family_name']}",
                    **person})
    return out


@bp.get("/memberships")
def memberships() -> ResponseReturnValue:
    """One page of the class list, with a Link header to the next page."""
    scopes = bearer_scopes(request.headers.get("Authorization", ""),
                           current_app.config["KEYS_DIR"])
    if scopes is None or SCOPE not in scopes:
        log.info("sandbox NRPS refused: %s", "no valid token" if scopes is None else "scope")
        return _json({"error": "invalid_token"}, 401)
    everyone = members()
    pages = max(1, math.ceil(len(everyone) / PAGE_SIZE))
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= pages:
        return _json({"error": "no such page"}, 404)
    number = int(page)
    base = url_for("sandbox.memberships", _external=False)

    def url(n: int) -> str:
        """The address of page `n`."""
        root: str = current_app.config["BASE_URL"]
        return root + base + (f"?page={n}" if n > 1 else "")

    body = {"id": url(number),
            "context": {k: sandbox.COURSE[k] for k in ("id", "label", "title")},
            "members": everyone[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]}
    response = _json(body, 200)
    if number < pages:
        response.headers["Link"] = f'<{url(number + 1)}>; rel="next"'
    return response


def _json(body: dict[str, Any], status: int) -> Response:
    """A JSON answer with the NRPS media type."""
    return Response(json.dumps(body), status=status,
                    content_type=MEDIA_TYPE if status == 200 else "application/json")
