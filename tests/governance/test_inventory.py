"""The inventory classifies every column, and export and erase cover every personal one."""

from __future__ import annotations

from lti_tool.governance import inventory, minimise, subjects
from lti_tool.lti.constants import Claim
from lti_tool.models import Base


def test_every_column_of_every_table_is_classified():
    # A new column fails here until someone decides whether it holds personal data.
    assert inventory.unclassified(Base.metadata) == []


def test_the_inventory_names_no_column_that_does_not_exist():
    real = {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.columns}
    listed = {(t, c) for t, cols in inventory.COLUMNS.items() for c in cols}
    assert listed - real == set()


def test_every_personal_column_is_covered_by_export_and_erase():
    personal = inventory.personal_columns()
    # Export covers every table holding a person's data (it writes whole rows)...
    assert set(personal) == set(subjects.HOLDINGS)
    # ...and erase says what it does with each personal column of them.
    uncovered = [f"{table}.{column}" for table, columns in personal.items()
                 for column in columns
                 if subjects.HOLDINGS[table] != subjects.DELETED
                 and column not in subjects.HOLDINGS[table]
                 and column != "id"]
    assert uncovered == []


def test_the_minimised_claims_use_the_tools_own_claim_names():
    names = set(minimise.KEPT) | set(minimise.PARTLY_KEPT)
    assert names <= {c.value for c in Claim}
    assert Claim.DEEP_LINKING_SETTINGS.value in names  # the picker reads it
    assert Claim.LAUNCH_PRESENTATION.value in names  # the landing page's return URL


def test_minimal_claims_drop_names_emails_and_student_numbers():
    claims = {"sub": "4", "name": "Sam Student", "given_name": "Sam", "email": "s@example.com",
              "iss": "https://vle", "nonce": "n",
              Claim.MESSAGE_TYPE.value: "LtiResourceLinkRequest",
              "https://purl.imsglobal.org/spec/lti/claim/lis": {"person_sourcedid": "S123"},
              "https://purl.imsglobal.org/spec/lti/claim/ext": {"user_username": "student1"},
              Claim.CUSTOM.value: {"user_login": "student1"},
              Claim.RESOURCE_LINK.value: {"id": "1", "title": "T", "description": "D"},
              Claim.LAUNCH_PRESENTATION.value: {"return_url": "https://vle/back",
                                                "width": 3}}
    kept = minimise.minimal_claims(claims, keep_seconds=0)
    assert kept == {Claim.MESSAGE_TYPE.value: "LtiResourceLinkRequest",
                    Claim.RESOURCE_LINK.value: {"id": "1", "title": "T"},
                    Claim.LAUNCH_PRESENTATION.value: {"return_url": "https://vle/back"}}
    with_raw = minimise.minimal_claims(claims, keep_seconds=60)
    assert with_raw[minimise.RAW_KEY] == claims and minimise.RAW_UNTIL_KEY in with_raw
