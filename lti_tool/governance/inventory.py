"""Every column of every table, classified: what is personal data, and about whom.

A new column is unclassified until someone adds it here, and tests/governance fail until then;
a column classified as a learner's personal data must also be covered by export and erase
(`subjects.HOLDINGS`). docs/data-protection.md is the readable form of this table.
"""

from __future__ import annotations

from sqlalchemy import MetaData

# Kinds of column.
IDENTITY = "identity"   # names the person: sub, name, email
WORK = "work"           # what the person did or was given: answers, marks, comments, scores
ACTIVITY = "activity"   # when and in what role: timestamps, roles, launch claims
LINK = "link"           # a key tying a row to the person (user id, attempt id)
STAFF = "staff"         # the tool's own administrators (not LTI users): account data
NONE = "none"           # not about a person: ids of courses and links, configuration, protocol

# Kinds that make a column a learner's (or lecturer's) personal data.
PERSONAL = {IDENTITY, WORK, ACTIVITY, LINK}

_TECH = NONE

COLUMNS: dict[str, dict[str, str]] = {
    "admin_session": {"id": STAFF, "admin_user_id": STAFF, "created_at": STAFF,
                      "last_seen_at": STAFF},
    # Sign-in attempts: the address (an IP) and the email typed, which may be anyone's.
    "admin_sign_in": {"id": STAFF, "at": STAFF, "address": STAFF, "email": STAFF, "ok": STAFF},
    "admin_user": {"id": STAFF, "email": STAFF, "password_hash": STAFF, "created_at": STAFF,
                   "last_login_at": STAFF, "failed_attempts": STAFF, "first_failed_at": STAFF,
                   "locked_until": STAFF, "active": STAFF, "totp_secret": STAFF,
                   "totp_last_step": STAFF},
    "attempt": {"id": LINK, "user_id": LINK, "resource_link_id": _TECH, "number": WORK,
                "module_id": WORK, "module_version": WORK, "module_digest": WORK,
                "status": WORK, "position": WORK, "answers": WORK, "confidence_before": WORK,
                "confidence_after": WORK, "marks": WORK, "updated_at": ACTIVITY,
                "submitted_at": ACTIVITY, "points": WORK, "max_points": WORK,
                "percent": WORK, "passed": WORK, "pending_manual": WORK,
                "element_points": WORK, "version": _TECH, "created_at": ACTIVITY},
    # An attempt's score per element, copied from its score for the class view.
    "attempt_element_score": {"attempt_id": LINK, "element": WORK, "earned": WORK,
                              "possible": WORK},
    # A student's element points summed over a course's counted attempts, for the class view.
    "course_element_total": {"context_id": _TECH, "user_id": LINK, "element": WORK,
                             "earned": WORK, "possible": WORK, "pending": WORK},
    # Actors are admins' emails or LTI people by tool id only (never name, email or sub).
    "audit_event": {"id": _TECH, "at": STAFF, "actor": STAFF, "action": STAFF,
                    "target": STAFF, "details": STAFF, "summary": STAFF},
    "context": {"id": _TECH, "deployment_id": _TECH, "context_id": _TECH, "label": _TECH,
                "title": _TECH, "types": _TECH, "nrps_url": _TECH, "nrps_versions": _TECH,
                "created_at": _TECH},
    "deep_link_response": {"id": _TECH, "launch_id": LINK, "content_items": _TECH,
                           "sent_at": ACTIVITY},
    "deployment": {"id": _TECH, "registration_id": _TECH, "deployment_id": _TECH,
                   "name": _TECH, "status": _TECH, "approved_at": _TECH, "created_at": _TECH},
    "grade_delivery": {"id": _TECH, "user_id": LINK, "resource_link_id": _TECH,
                       "attempt_id": LINK, "lineitem_url": _TECH, "lineitem_spec": _TECH,
                       "score_given": WORK, "score_maximum": WORK,
                       "activity_progress": WORK, "grading_progress": WORK,
                       "score_timestamp": ACTIVITY, "comment": WORK, "status": _TECH,
                       "attempts": _TECH, "next_attempt_at": _TECH, "lease_token": _TECH,
                       "lease_until": _TECH, "delivered_at": ACTIVITY,
                       "last_error_status": _TECH,
                       # A VLE's error body can echo the userId it was sent.
                       "last_error_body": IDENTITY, "last_error_explanation": _TECH,
                       "updated_at": _TECH, "created_at": ACTIVITY},
    "launch": {"id": LINK, "deployment_id": _TECH, "user_id": LINK, "context_id": _TECH,
               "resource_link_id": _TECH, "message_type": ACTIVITY, "roles": ACTIVITY,
               "claims": ACTIVITY, "created_at": ACTIVITY},
    # Who failed to launch is not recorded: the platform's ids and a technical reason only.
    "launch_failure": {"id": _TECH, "code": _TECH, "reason": _TECH, "issuer": _TECH,
                       "client_id": _TECH, "deployment_id": _TECH, "created_at": _TECH},
    "line_item_link": {"resource_link_id": _TECH, "url": _TECH, "lease_until": _TECH,
                       "updated_at": _TECH},
    "login_state": {"state": _TECH, "nonce": _TECH, "issuer": _TECH, "client_id": _TECH,
                    "target_link_uri": _TECH, "expires_at": _TECH, "used_at": _TECH,
                    "storage_target": _TECH, "created_at": _TECH},
    "lti_user": {"id": LINK, "registration_id": _TECH, "sub": IDENTITY, "name": IDENTITY,
                 "given_name": IDENTITY, "family_name": IDENTITY, "email": IDENTITY,
                 "lti1p1_user_id": IDENTITY, "last_launch_at": ACTIVITY, "created_at": ACTIVITY},
    "membership": {"id": _TECH, "context_id": _TECH, "user_id": LINK, "roles": ACTIVITY,
                   "updated_at": ACTIVITY, "created_at": ACTIVITY},
    "platform_key_set": {"url": _TECH, "jwks": _TECH, "fetched_at": _TECH},
    "reflection_mark": {"id": _TECH, "attempt_id": LINK, "activity_id": _TECH,
                        "marker_id": LINK, "comment": WORK, "marked_at": ACTIVITY},
    "registration": {"id": _TECH, "name": _TECH, "issuer": _TECH, "client_id": _TECH,
                     "auth_login_url": _TECH, "auth_token_url": _TECH, "key_set_url": _TECH,
                     "auth_audience": _TECH, "lti1p1_key": _TECH, "lti1p1_secret": _TECH,
                     "auto_approve_deployments": _TECH,
                     "enabled": _TECH, "created_at": _TECH},
    "registration_invite": {"id": _TECH, "token_hash": _TECH, "note": _TECH,
                            "expires_at": _TECH, "used_at": _TECH, "registration_id": _TECH,
                            "created_at": _TECH},
    # Platform-wide link settings; see docs/data-protection.md on custom substitutions.
    "resource_link": {"id": _TECH, "context_id": _TECH, "resource_link_id": _TECH,
                      "title": _TECH, "description": _TECH, "custom": _TECH,
                      "ags_lineitems_url": _TECH, "ags_lineitem_url": _TECH,
                      "ags_scopes": _TECH, "module_id": _TECH, "settings": _TECH,
                      "created_at": _TECH},
    "roster_member": {"id": _TECH, "context_id": _TECH, "user_sub": IDENTITY,
                      "name": IDENTITY, "given_name": IDENTITY, "family_name": IDENTITY,
                      "email": IDENTITY, "roles": ACTIVITY, "status": ACTIVITY,
                      "fetched_at": ACTIVITY},
    "sandbox_line_item": {"id": _TECH, "label": _TECH, "score_maximum": _TECH,
                          "resource_id": _TECH, "resource_link_id": _TECH, "tag": _TECH,
                          "created_at": _TECH},
    "sandbox_link": {"id": _TECH, "resource_link_id": _TECH, "title": _TECH, "text": _TECH,
                     "url": _TECH, "custom": _TECH, "line_item": _TECH, "created_at": _TECH},
    "sandbox_score": {"id": _TECH, "line_item_id": _TECH, "user_id": IDENTITY,
                      "score_given": WORK, "score_maximum": WORK, "activity_progress": WORK,
                      "grading_progress": WORK, "comment": WORK, "timestamp": ACTIVITY,
                      "received_at": ACTIVITY},
    "service_token": {"id": _TECH, "registration_id": _TECH, "scope_key": _TECH,
                      "scopes": _TECH, "access_token": _TECH, "expires_at": _TECH,
                      "lease_until": _TECH, "fetched_at": _TECH},
}


def personal_columns() -> dict[str, set[str]]:
    """Tables holding an LTI person's data, with those columns."""
    out: dict[str, set[str]] = {}
    for table, columns in COLUMNS.items():
        names = {name for name, kind in columns.items() if kind in PERSONAL}
        if names:
            out[table] = names
    return out


def unclassified(metadata: MetaData) -> list[str]:
    """`table.column` for every column of the models that this inventory does not classify."""
    return sorted(f"{table.name}.{column.name}" for table in metadata.tables.values()
                  for column in table.columns
                  if column.name not in COLUMNS.get(table.name, {}))
