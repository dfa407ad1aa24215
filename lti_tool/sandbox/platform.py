"""The sandbox platform's people, course and links, its keys, and the id_tokens it signs."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..keys import Keyring
from ..lti.constants import INSTITUTION, MEMBERSHIP, SYSTEM, Claim
from ..models import Deployment, DeploymentStatus, Registration
from ..models.base import utcnow

CLIENT_ID = "sandbox-tool"
DEPLOYMENT_ID = "sandbox-deployment-1"
COURSE = {"id": "sandbox-course-1", "label": "SW101",
          "title": "SW101 Digital capabilities in social work practice",
          "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]}


class Link(TypedDict):
    """An activity of the sandbox course, built in or added by deep linking."""

    id: str
    title: str
    description: str
    module: NotRequired[str | None]
    custom: NotRequired[dict[str, Any]]
    line_item: NotRequired[dict[str, Any] | None]


@dataclass(frozen=True)
class SandboxUser:
    """A person who can launch from the sandbox."""

    sub: str
    given_name: str
    family_name: str
    email: str
    roles: tuple[str, ...]
    label: str

    @property
    def name(self) -> str:
        """Full name."""
        return f"{self.given_name} {self.family_name}"


USERS = {
    "student": SandboxUser("sandbox-student-1", "Sam", "Okafor", "sam.okafor@example.ac.uk",
                           (MEMBERSHIP + "Learner",), "Student"),
    "student2": SandboxUser("sandbox-student-2", "Priya", "Shah", "priya.shah@example.ac.uk",
                            (MEMBERSHIP + "Learner",), "Second student"),
    "lecturer": SandboxUser("sandbox-lecturer-1", "Tina", "Morgan", "tina.morgan@example.ac.uk",
                            (MEMBERSHIP + "Instructor",), "Lecturer"),
    "admin": SandboxUser("sandbox-admin-1", "Ada", "Lovell", "ada.lovell@example.ac.uk",
                         (INSTITUTION + "Administrator", SYSTEM + "Administrator",
                          MEMBERSHIP + "Instructor"), "Administrator"),
}
LINKS: dict[str, Link] = {
    "welcome": {"id": "sandbox-link-welcome", "title": "Digital capabilities: getting started",
                "description": "The introduction module.", "module": "intro-digital-social-work"},
    "safeguarding": {"id": "sandbox-link-safeguarding", "title": "Online safeguarding",
                     "description": "Element R4.", "module": "r4-online-safeguarding"},
    "unset": {"id": "sandbox-link-unset", "title": "A new activity (no module chosen yet)",
              "description": "Shows what happens before a lecturer picks a module."},
}


def issuer(base_url: str) -> str:
    """The sandbox's issuer: its own URL under the tool."""
    return f"{base_url}/sandbox"


def keyring(keys_dir: Path) -> Keyring:
    """The sandbox platform's own signing keys, apart from the tool's."""
    return Keyring(Path(keys_dir) / "sandbox-platform")


def ensure_registration(session: Session, base_url: str) -> Registration:
    """Register the sandbox as a platform with one approved deployment (idempotent)."""
    iss = issuer(base_url)
    row = session.scalar(select(Registration).where(Registration.issuer == iss,
                                                    Registration.client_id == CLIENT_ID))
    if row is None:
        row = Registration(issuer=iss, client_id=CLIENT_ID, name="Sandbox platform")
        session.add(row)
    row.auth_login_url = f"{iss}/auth"
    row.auth_token_url = f"{iss}/token"
    row.key_set_url = f"{iss}/jwks.json"
    row.enabled = True
    session.flush()
    deployment = session.scalar(select(Deployment).where(
        Deployment.registration_id == row.id, Deployment.deployment_id == DEPLOYMENT_ID))
    if deployment is None:
        session.add(Deployment(registration_id=row.id, deployment_id=DEPLOYMENT_ID,
                               name="Sandbox course area", status=DeploymentStatus.APPROVED,
                               approved_at=utcnow()))
    session.flush()
    return row


def message_hint(user_key: str, link_key: str | None, deep_linking: bool = False) -> str:
    """What the sandbox remembers between login initiation and its auth endpoint."""
    return json.dumps({"user": user_key, "link": link_key, "dl": deep_linking})


def id_token_claims(base_url: str, user_key: str, link_key: str | None, nonce: str,
                    target_link_uri: str, deep_linking: bool = False,
                    links: dict[str, Link] | None = None) -> dict[str, Any]:
    """Claims shaped like Moodle 4.5's, for the chosen user and link (from `links`, if given)."""
    user = USERS[user_key]
    iss = issuer(base_url)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss, "aud": CLIENT_ID, "sub": user.sub, "nonce": nonce,
        "iat": now, "exp": now + 60,
        "name": user.name, "given_name": user.given_name, "family_name": user.family_name,
        "email": user.email,
        Claim.DEPLOYMENT_ID.value: DEPLOYMENT_ID,
        Claim.TARGET_LINK_URI.value: target_link_uri,
        Claim.VERSION.value: "1.3.0",
        Claim.ROLES.value: list(user.roles),
        Claim.CONTEXT.value: COURSE,
        Claim.TOOL_PLATFORM.value: {"guid": "sandbox", "name": "Sandbox platform",
                                    "product_family_code": "sandbox", "version": "1"},
        Claim.LAUNCH_PRESENTATION.value: {"locale": "en", "document_target": "iframe",
                                          "return_url": f"{iss}/"},
        Claim.NRPS.value: {"context_memberships_url": f"{iss}/memberships",
                           "service_versions": ["2.0"]},
        Claim.AGS_ENDPOINT.value: {
            "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                      "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                      "https://purl.imsglobal.org/spec/lti-ags/scope/score"],
            "lineitems": f"{iss}/lineitems"},
    }
    if deep_linking:
        claims[Claim.MESSAGE_TYPE.value] = "LtiDeepLinkingRequest"
        claims[Claim.DEEP_LINKING_SETTINGS.value] = {
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True, "auto_create": True,
            "deep_link_return_url": f"{iss}/deep-link-return",
            "data": secrets.token_urlsafe(8)}
    else:
        link = (links or LINKS).get(link_key or "welcome", LINKS["welcome"])
        claims[Claim.MESSAGE_TYPE.value] = "LtiResourceLinkRequest"
        claims[Claim.RESOURCE_LINK.value] = {k: link[k] for k in ("id", "title", "description")}
        claims[Claim.AGS_ENDPOINT.value]["lineitem"] = f"{iss}/lineitems/{link['id']}"
        # Like a Moodle activity's custom parameters: the module this link delivers.
        claims[Claim.CUSTOM.value] = dict(link["custom"]) if link.get("custom") else (
            {"module": link["module"]} if link.get("module") else {})
    return claims
