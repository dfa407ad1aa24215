"""The class view after students take modules in the real player: heat map, CSV, drill-down."""

from __future__ import annotations

import csv
import io
import re

import pytest

from .vle import launch, take_module

WRONG = "b"  # in r4 and p1 every single-choice question has "a" right and "b" wrong


def row_of(html: str, name: str) -> list[str]:
    """The cells of a student's row in the heat map, as text."""
    row = re.search(rf'<tr>\s*<th scope="row">(?:<a [^>]*>)?{re.escape(name)}.*?</tr>', html,
                    re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in cells]


def column(html: str, title: str) -> int:
    """Index (among the td cells) of a heat-map column, by its header."""
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    titles = [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(r"<th[^>]*>(.*?)</th>", head,
                                                                     re.S)]
    return titles.index(title) - 1  # the first th is the student's name, not a td


def cell(html: str, name: str, title: str) -> str:
    """One heat-map value."""
    return row_of(html, name)[column(html, title)]


@pytest.fixture
def class_taken(app, vle, vle_server, library):
    """Sam and Sally take modules through the player; returns the lecturer's client and launch."""
    r4 = library.get("r4-frozen")
    p1 = library.get("p1-frozen")
    sam = app.test_client()
    take_module(sam, launch(sam, vle, vle_server, sub="4", link="r4"), r4,
                {"q1": WRONG}, reflection="Sam-reflects")
    take_module(sam, launch(sam, vle, vle_server, sub="4", link="p1"), p1, {"q3": WRONG})
    sally = app.test_client()
    take_module(sally, launch(sally, vle, vle_server, sub="5", link="r4"), r4,
                {"q1": WRONG, "q2": ["a", "d"], "q3": WRONG, "q4": WRONG, "q5": WRONG,
                 "q6": WRONG}, reflection="Sally-reflects")
    lecturer = app.test_client()
    return lecturer, launch(lecturer, vle, vle_server, sub="3", link="r4", role="Instructor")


def test_heat_map_of_the_link_has_hand_computed_mastery(class_taken):
    client, lecturer = class_taken
    page = client.get(f"/c/{lecturer}/link")
    html = page.get_data(as_text=True)
    assert page.status_code == 200

    # Sam, r4 1.0.0, everything best but q1 (1 point, R4); the reflection r1 (3 points, R4)
    # waits for marking, so mastery leaves it out until it is marked:
    #   R4 = q2 2 + q3 1 + q4 1 + q5 0.5 + q6 1 + s1 2 = 7.5 of (1+2+1+1+0.5+1+2) = 8.5 -> 88.2%
    #   R5 = q5 0.5 + s1 2 = 2.5 of 2.5 -> 100%
    #   Practice = (7.5 + 2.5) of (8.5 + 2.5) = 10 of 11 -> 90.9% (shown rounded down: 90%)
    # and "*" because marking is pending.
    assert cell(html, "Sam Student", "Practice") == "Proficient 90% *"
    assert cell(html, "Sam Student", "R4") == "Proficient 88% *"
    assert cell(html, "Sam Student", "R5") == "Proficient 100% *"
    assert cell(html, "Sam Student", "Purpose") == "No evidence"
    assert cell(html, "Sam Student", "P1") == "No evidence"
    assert cell(html, "Sam Student", "Completion").startswith("1 of 1 module")

    # Sally: every single choice wrong, q2 one right and one wrong (1 - 1 = 0 of 2), the
    # scenario s1 best (4 points split R4 2, R5 2), reflection waiting:
    #   R4 = s1 2 of 8.5 -> 23.5%;  R5 = s1 2 of (q5 0.5 + s1 2) = 2.5 -> 80%
    #   Practice = 4 of 11 -> 36.4%
    assert cell(html, "Sally Scholar", "R4") == "Developing 23% *"
    assert cell(html, "Sally Scholar", "R5") == "Proficient 80% *"
    assert cell(html, "Sally Scholar", "Practice") == "Developing 36% *"

    # Students who never launched are listed, with no evidence anywhere.
    never = row_of(html, "Nina Never")
    domains = column(html, "Purpose")  # completion and grade come first, next to the name
    assert never[domains:domains + 3] == ["No evidence"] * 3
    assert "0 of 1 module" in never[column(html, "Completion")]
    assert "Omar Absent" in html and html.count("Never opened the tool") == 2
    # The legend states the thresholds; every cell has text, colour is only a class.
    assert "Developing</strong>: below 50%" in html and "Proficient</strong>: 80% or more" in html
    assert 'class="band-proficient domain"' in html
    assert "2 attempts waiting for marking" in html


def test_course_view_adds_up_both_modules(class_taken):
    client, lecturer = class_taken
    html = client.get(f"/c/{lecturer}/course").get_data(as_text=True)
    # Sam's p1 1.0.0: everything best but q3 (1 point, P1 and R5: 0.5 each); r1 waits.
    #   P1 = q1 0.5 + q2 1 + q4 2/3 + s1 4/3 + q5 1 = 4.5 of (4.5 + q3 0.5) = 5 -> 90%
    #   I1 = q1 0.5 + s1 4/3 = 11/6 of 11/6 -> 100%
    #   R3 = q2 1 + q4 2/3 + s1 4/3 = 3 of 3
    #   R5 = r4's 2.5 of 2.5 + p1's (q4 2/3 of 2/3, q3 0 of 0.5) = 19/6 of 22/6 -> 86.4%
    #   Practice = R3 3 + R4 7.5 + R5 19/6 = 13.67 of (3 + 8.5 + 22/6) = 15.17 -> 90.1%
    assert cell(html, "Sam Student", "Purpose") == "Proficient 90% *"
    assert cell(html, "Sam Student", "Impact") == "Proficient 100% *"
    assert cell(html, "Sam Student", "R5") == "Proficient 86% *"
    assert cell(html, "Sam Student", "R3") == "Proficient 100% *"
    assert cell(html, "Sam Student", "Practice") == "Proficient 90% *"
    assert cell(html, "Sam Student", "Completion").startswith("2 of 2 modules")
    assert cell(html, "Sally Scholar", "Completion").startswith("1 of 2 modules")


def test_drill_down_shows_attempts_and_reflections(class_taken, db):
    from sqlalchemy import select

    from lti_tool.models import LtiUser

    client, lecturer = class_taken
    sam = db.scalar(select(LtiUser).where(LtiUser.sub == "4"))
    view = client.get(f"/c/{lecturer}/course").get_data(as_text=True)
    url = f"/c/{lecturer}/course/students/{sam.id}"
    assert f'href="{url}"' in view
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    attempts = html.split("<h2>Attempts</h2>", 1)[1].split("<h2>Reflections</h2>", 1)[0]
    # p1: 14 points, q3 (1) wrong and r1 (3) waiting -> 10 of 14 = 71%; r4 likewise 10 of 14.
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", attempts, re.S)
    assert len(rows) == 2
    assert "Professional standards" in rows[0] or "professional" in rows[0].lower()
    for row in rows:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
        assert "1.0.0" in text and "71% (10 of 14)" in text and "awaiting marking" in text
        assert text.strip().endswith("Yes")  # the only attempt through its link counts
    reflections = html.split("<h2>Reflections</h2>", 1)[1]
    assert "Sam-reflects Sam-reflects" in reflections
    assert reflections.count("Waiting for marks.") == 2
    assert "Choose one online risk from this module" in reflections  # r4's prompt


def test_csv_export_has_the_same_values_and_neutralises_formulas(app, vle, vle_server, library):
    # Names a spreadsheet would run as formulas, as a hostile or careless roster could carry.
    vle_server.members += [
        {"user_id": "90", "name": "=HYPERLINK(\"http://evil.example\",\"x\")",
         "email": "@SUM(1+1)@example.com", "roles": ["Learner"]},
        {"user_id": "91", "name": "+44 7700 900000", "email": "-2+3@example.com",
         "roles": ["Learner"]},
    ]
    sam = app.test_client()
    take_module(sam, launch(sam, vle, vle_server, sub="4", link="r4"),
                library.get("r4-frozen"), {"q1": WRONG})
    lecturer = app.test_client()
    launch_id = launch(lecturer, vle, vle_server, sub="3", link="r4", role="Instructor")
    response = lecturer.get(f"/c/{launch_id}/link/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="class-LTILAB-link.csv"'
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_id = {row["User ID"]: row for row in table}
    sam_row = by_id["4"]
    # The same hand-computed values as the heat map: R4 7.5 of 8.5, Practice 10 of 11.
    assert (sam_row["Practice %"], sam_row["Practice band"]) == ("90", "Proficient")
    assert (sam_row["R4 %"], sam_row["R4 band"]) == ("88", "Proficient")
    assert (sam_row["Purpose %"], sam_row["Purpose band"]) == ("", "No evidence")
    assert sam_row["Modules completed"] == "1" and sam_row["Submitted attempts"] == "1"
    assert sam_row["Awaiting marking"] == "1" and sam_row["Launched"] == "yes"
    assert by_id["6"]["Launched"] == "no" and by_id["6"]["Name"] == "Nina Never"
    # Formula injection: a leading = + - @ is made text by a leading apostrophe.
    assert by_id["90"]["Name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert by_id["90"]["Email"] == "'@SUM(1+1)@example.com"
    assert by_id["91"]["Name"] == "'+44 7700 900000"
    assert by_id["91"]["Email"] == "'-2+3@example.com"
    for row in table:
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@")
    assert list(table[0].keys())[:4] == ["Name", "Email", "User ID", "Status"]
    assert "I2 band" in table[0]
