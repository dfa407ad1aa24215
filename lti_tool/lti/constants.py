"""Claim URIs, message types and roles of LTI 1.3, named once."""

from __future__ import annotations

import enum

LTI_VERSION = "1.3.0"


class Claim(str, enum.Enum):
    """Claim names used in id_tokens."""

    MESSAGE_TYPE = "https://purl.imsglobal.org/spec/lti/claim/message_type"
    VERSION = "https://purl.imsglobal.org/spec/lti/claim/version"
    DEPLOYMENT_ID = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
    TARGET_LINK_URI = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
    RESOURCE_LINK = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
    ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
    CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
    CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
    LAUNCH_PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
    TOOL_PLATFORM = "https://purl.imsglobal.org/spec/lti/claim/tool_platform"
    AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
    NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
    DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
    DL_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
    DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
    # Submission review: whose work the lecturer asked to see (user_id is the platform's sub).
    FOR_USER = "https://purl.imsglobal.org/spec/lti/claim/for_user"
    # The subs of the people a mentor (observer, parent) watches.
    ROLE_SCOPE_MENTOR = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"
    # A platform migrating from LTI 1.1: the person's 1.1 user_id, signed with the 1.1 secret.
    LTI1P1 = "https://purl.imsglobal.org/spec/lti/claim/lti1p1"


class MessageType(str, enum.Enum):
    """Message types this tool accepts."""

    RESOURCE_LINK = "LtiResourceLinkRequest"
    DEEP_LINKING = "LtiDeepLinkingRequest"
    # A person asks what the tool holds about them (lti_tool/governance/privacy).
    DATA_PRIVACY = "LtiDataPrivacyLaunchRequest"
    # A lecturer clicks a grade in the gradebook (AGS submission review).
    SUBMISSION_REVIEW = "LtiSubmissionReviewRequest"


# Assignment and Grade Services: scopes and media types, shared by the tool and the sandbox.
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
# A line item's offer of submission review (AGS 2.0 / LTI Submission Review 1.0): the platform
# may launch an LtiSubmissionReviewRequest through the link for any of these activityProgress
# values (the class view's drill-down shows attempts in progress too).
SUBMISSION_REVIEW = {"reviewableStatus": ["Started", "InProgress", "Submitted", "Completed"],
                     "label": "Open in the class view"}

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"


class Role(str, enum.Enum):
    """The course roles the tool acts on, from most to least privileged."""

    ADMINISTRATOR = "administrator"  # the course's (context) administrator only
    INSTRUCTOR = "instructor"
    TEACHING_ASSISTANT = "teaching_assistant"
    CONTENT_DEVELOPER = "content_developer"
    MENTOR = "mentor"  # mentors, observers, parents: they watch, they are not students
    LEARNER = "learner"


# Context (membership) roles by their principal name. Institution and system roles
# (".../institution/person#Administrator", ".../system/person#SysAdmin") are deliberately
# absent: they describe someone's job at the university, not their place in this course.
CONTEXT_ROLES: dict[str, Role] = {
    "Administrator": Role.ADMINISTRATOR,
    "Instructor": Role.INSTRUCTOR,
    "TeachingAssistant": Role.TEACHING_ASSISTANT,
    "ContentDeveloper": Role.CONTENT_DEVELOPER,
    "Mentor": Role.MENTOR,
    "Learner": Role.LEARNER,
    "Member": Role.LEARNER,
}
# Sub-roles that mean something other than their principal role.
CONTEXT_SUB_ROLES: dict[tuple[str, str], Role] = {
    ("Instructor", "TeachingAssistant"): Role.TEACHING_ASSISTANT,
    ("Learner", "NonCreditLearner"): Role.LEARNER,
}
MEMBERSHIP_SUB = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
SHORT_ROLES: dict[str, str] = {
    "Administrator": MEMBERSHIP + "Administrator",
    "Instructor": MEMBERSHIP + "Instructor",
    "TeachingAssistant": MEMBERSHIP + "Instructor#TeachingAssistant",
    "ContentDeveloper": MEMBERSHIP + "ContentDeveloper",
    "Learner": MEMBERSHIP + "Learner",
    "Member": MEMBERSHIP + "Member",
    "Mentor": MEMBERSHIP + "Mentor",
    "Manager": MEMBERSHIP + "Manager",
    "Officer": MEMBERSHIP + "Officer",
}


def full_role_uri(role: str) -> str:
    """Expand a short context role ("Learner") to its full URI; leave full URIs alone."""
    return SHORT_ROLES.get(role, role)


def context_role(raw: str) -> Role | None:
    """What one role URI (or short name) means in the course; None for any other vocabulary.

    Context roles come as "...membership#Instructor", as a sub-role
    "...membership/Instructor#TeachingAssistant", or short ("Instructor").
    """
    uri = full_role_uri(raw)
    for prefix in (MEMBERSHIP, MEMBERSHIP_SUB):
        if uri.startswith(prefix):
            # "membership#Instructor#TeachingAssistant" is an older spelling some tools used.
            principal, _, sub = uri[len(prefix):].partition("#")
            return CONTEXT_SUB_ROLES.get((principal, sub)) or CONTEXT_ROLES.get(principal)
    return None


def roles_of(claims_roles: list[str]) -> set[Role]:
    """The tool's course roles for a list of role URIs or short names (context roles only)."""
    found = set()
    for raw in claims_roles:
        role = context_role(raw) if isinstance(raw, str) else None
        if role is not None:
            found.add(role)
    return found


def primary_role(roles: set[Role]) -> Role | None:
    """The most privileged role, which decides what a launch shows."""
    for role in Role:
        if role in roles:
            return role
    return None
