"""The class view's SQL statements do not grow with the class, and its stored figures match a
full re-scoring (what the student's own pages compute)."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from lti_tool.attempts.profile import (
    mastery_of,
    mastery_totals,
    plan_of,
    profile_of,
    scope_versions,
)
from lti_tool.classview.routes import MARKING_PAGE
from lti_tool.models import Attempt, Context, LtiUser, ResourceLink

from .seed import seed_students
from .vle import launch


@contextmanager
def statements(app):
    """Count the SQL statements the app's engine runs inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.extensions["lti_tool.engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def course(app, vle, vle_server, library, db):
    """A lecturer launched from both links (so the course has two), and a marker."""
    lecturer = app.test_client()
    launch_id = launch(lecturer, vle, vle_server, sub="3", link="p1", role="Instructor")
    launch_id = launch(lecturer, vle, vle_server, sub="3", link="r4", role="Instructor")
    context = db.scalar(select(Context))
    links = list(db.scalars(select(ResourceLink).order_by(ResourceLink.id)))
    marker = db.scalar(select(LtiUser).where(LtiUser.sub == "3"))
    return lecturer, launch_id, context, links, marker


def pages(client, launch_id):
    """Every class page, each fetched once, with the statements each needed."""
    out = {}
    for name, url in (("course", f"/c/{launch_id}/course"), ("link", f"/c/{launch_id}/link"),
                      ("csv", f"/c/{launch_id}/course/export.csv"),
                      ("marking", f"/c/{launch_id}/marking")):
        with statements(client.application) as seen:
            response = client.get(url)
            body = response.get_data(as_text=True)
        assert response.status_code == 200, (url, body[:300])
        out[name] = (len(seen), body)
    return out


def test_statements_do_not_grow_with_the_class(course, app, library, db):
    client, launch_id, context, links, marker = course
    seed_students(db, library, context, links, range(5), marker=marker)
    pages(client, launch_id)  # the first view fetches and caches the class list
    small = pages(client, launch_id)
    seed_students(db, library, context, links, range(5, 20), marker=marker)
    large = pages(client, launch_id)

    assert {k: n for k, (n, _) in small.items()} == {k: n for k, (n, _) in large.items()}
    assert small["course"][0] <= 15
    # What a lecturer sees did grow: 20 seeded students, each with two modules done.
    html = large["course"][1]
    assert html.count("Seeded</a>") == 20 or html.count(" Seeded") >= 20
    table = list(csv.DictReader(io.StringIO(large["csv"][1])))
    seeded = [row for row in table if row["User ID"].startswith("seed-")]
    assert len(seeded) == 20
    assert all(row["Modules completed"] == "2" for row in seeded)
    # Every other student's reflections were marked; the rest wait, and the queue says so.
    waiting = sum(int(row["Awaiting marking"]) for row in seeded)
    assert waiting == 20  # 10 students x 2 modules
    assert "20 attempts waiting" in large["marking"][1]


def test_marking_queue_is_paged(course, app, library, db):
    client, launch_id, context, links, _ = course
    seed_students(db, library, context, links, range(MARKING_PAGE // 2 + 1))  # 2 each: > a page
    total = 2 * (MARKING_PAGE // 2 + 1)
    first = client.get(f"/c/{launch_id}/marking").get_data(as_text=True)
    assert f"{total} attempts waiting, oldest first (page 1 of 2)" in first
    assert first.count(">Mark<") == MARKING_PAGE
    second = client.get(f"/c/{launch_id}/marking?page=2").get_data(as_text=True)
    assert second.count(">Mark<") == total - MARKING_PAGE and 'rel="prev"' in second
    assert client.get(f"/c/{launch_id}/marking?page=99").status_code == 200  # the last page


@pytest.mark.parametrize("counting", ["best", "latest"])
def test_stored_figures_match_a_full_rescoring(course, library, db, counting):
    _, _, context, links, marker = course
    users = seed_students(db, library, context, links, range(8), marker=marker)
    # A second attempt for some, so the counted-attempt rule has a choice to make.
    seed_again = users[::3]
    from .seed import take

    for n, user in enumerate(seed_again):
        for link in links:
            take(db, library, user, link, n + 1, marker if n % 2 else None)
    db.commit()
    link_ids = [link.id for link in links]
    totals = mastery_totals(db, link_ids, counting, scope_versions(db, library, link_ids))
    for user in users:
        full = list(db.scalars(select(Attempt).where(Attempt.user_id == user.id)
                               .order_by(Attempt.created_at, Attempt.id)))
        expected, _ = profile_of(library, full, counting=counting)
        got = mastery_of(plan_of(library), totals.get(user.id, {}))
        for want, have in zip(expected.domains + expected.elements, got.domains + got.elements,
                              strict=True):
            assert (have.id, have.band, have.pending_manual) == \
                (want.id, want.band, want.pending_manual)
            assert have.max_points == pytest.approx(want.max_points, abs=1e-9)
            assert have.points == pytest.approx(want.points, abs=1e-9)


def test_the_collector_is_paused_only_while_a_class_page_is_built():
    import gc

    from lti_tool.classview.services import paused_gc

    assert gc.isenabled()
    with paused_gc():
        with paused_gc():  # another request's page at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    try:
        with paused_gc():
            raise ValueError("a page that failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_class_pages_read_no_answers_and_score_nothing(course, app, library, db, monkeypatch):
    client, launch_id, context, links, marker = course
    seed_students(db, library, context, links, range(4), marker=marker)
    pages(client, launch_id)  # the class list is fetched and cached first

    from lti_tool.content import Module

    def refuse(*args, **kwargs):
        raise AssertionError("a class page scored an attempt")

    monkeypatch.setattr(Module, "score", refuse)
    for name, (_, body) in pages(client, launch_id).items():
        assert "Seeded" in body or name == "marking", name
    with statements(app) as seen:
        for url in (f"/c/{launch_id}/course", f"/c/{launch_id}/link",
                    f"/c/{launch_id}/course/export.csv", f"/c/{launch_id}/marking"):
            assert client.get(url).status_code == 200
    read = " ".join(seen)
    # The figures come from sums the database makes; the answers stay in it.
    assert "attempt.answers" not in read and "attempt.element_points" not in read
    assert "attempt_element_score" in read


def test_grade_column_says_what_each_grades_own_status_says(course, library, db):
    """The class-wide query's wording per student and link equals the outbox's own view of
    that grade, for grades in every state (a column read in the wrong place would differ)."""
    grades = pytest.importorskip("lti_tool.grades")
    from datetime import datetime, timezone

    from lti_tool.classview import gradebook
    from lti_tool.models.grades import DeliveryStatus

    _, _, context, links, marker = course
    users = seed_students(db, library, context, links, range(4), marker=marker)
    when = datetime(2026, 3, 5, 14, 7, tzinfo=timezone.utc)
    states = [
        {"status": DeliveryStatus.DELIVERED, "delivered_at": when, "attempts": 1},
        {"status": DeliveryStatus.FAILED_PERMANENT, "attempts": 1,
         "last_error_explanation": "The VLE refused the score (400)."},
        {"status": DeliveryStatus.PENDING, "attempts": 2, "last_error_explanation": None,
         "next_attempt_at": datetime(2026, 3, 5, 9, 30, tzinfo=timezone.utc)},
        {"status": DeliveryStatus.PENDING, "attempts": 0, "grading_progress": "PendingManual",
         "score_given": 2.5},
    ]
    for user, state in zip(users, states, strict=True):
        newest = grades.latest_delivery(db, user.id, links[0].id)
        for name, value in state.items():
            setattr(newest, name, value)
    db.commit()
    link_ids = [link.id for link in links]
    statuses = gradebook.delivery_statuses(db, link_ids)
    expected = {(user.id, link.id): grades.delivery_status(db, user.id, link.id).label
                for user in users for link in links}
    assert statuses == expected
    texts = [statuses[(user.id, links[0].id)] for user in users]
    assert texts[0].startswith("Sent to the gradebook on 5 Mar 2026, 14:07 GMT: ")
    assert texts[1] == "Not sent: The VLE refused the score (400)."
    assert texts[2].endswith("tried 2 time(s), next try 5 Mar 2026, 09:30 GMT.")
    assert texts[3].startswith("Waiting to be sent: 2.5 of ") and \
        texts[3].endswith("(awaiting marking)")
    # The rows of some students only (the course view's page), the same words.
    some = gradebook.delivery_statuses(db, link_ids, [users[1].id, users[2].id])
    assert some == {key: text for key, text in expected.items()
                    if key[0] in (users[1].id, users[2].id)}


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_grade_times_read_as_utc_whatever_the_servers_time_zone(course, library, db):
    """A PostgreSQL server set to another zone answers in it; the grade column, the outbox's
    own view and the model all still say the UTC time they call it."""
    grades = pytest.importorskip("lti_tool.grades")
    from datetime import datetime, timezone

    from lti_tool.classview import gradebook
    from lti_tool.models.grades import DeliveryStatus

    _, _, context, links, marker = course
    [user] = seed_students(db, library, context, links, range(1), marker=marker)
    when = datetime(2026, 7, 5, 14, 7, tzinfo=timezone.utc)  # summer: London is UTC+1
    newest = grades.latest_delivery(db, user.id, links[0].id)
    newest.status, newest.delivered_at, newest.attempts = DeliveryStatus.DELIVERED, when, 1
    db.commit()
    connection = db.connection()
    connection.exec_driver_sql("SET TIME ZONE 'Asia/Tokyo'")
    try:
        db.expire_all()
        read = grades.latest_delivery(db, user.id, links[0].id).delivered_at
        assert read == when and read.utcoffset().total_seconds() == 0
        text = gradebook.delivery_statuses(db, [links[0].id])[(user.id, links[0].id)]
        assert text.startswith("Sent to the gradebook on 5 Jul 2026, 15:07 BST: ")
        assert grades.delivery_status(db, user.id, links[0].id).label == text
    finally:
        connection.exec_driver_sql("RESET TIME ZONE")


def test_course_rows_count_the_grades_sent_and_describe_the_others(course, library, db):
    """A course-wide row says how many of a student's grades the VLE has (and how many of those
    wait for marking, which Moodle shows as "-") and spells out the ones not sent; the
    student's page and the link view say each grade in full."""
    grades = pytest.importorskip("lti_tool.grades")
    import gc
    import html
    from datetime import datetime, timezone

    from lti_tool.models.grades import DeliveryStatus

    client, launch_id, context, links, marker = course
    users = seed_students(db, library, context, links, range(3), marker=marker)
    when = datetime(2026, 3, 5, 14, 7, tzinfo=timezone.utc)
    for user in users:
        for link in links:
            newest = grades.latest_delivery(db, user.id, link.id)
            newest.status, newest.delivered_at, newest.attempts = \
                DeliveryStatus.DELIVERED, when, 1
            newest.grading_progress = "FullyGraded"
    refused = grades.latest_delivery(db, users[1].id, links[0].id)
    refused.status, refused.delivered_at = DeliveryStatus.FAILED_PERMANENT, None
    refused.last_error_explanation = "The VLE refused the score (400)."
    grades.latest_delivery(db, users[2].id, links[0].id).grading_progress = "PendingManual"
    waiting = grades.latest_delivery(db, users[2].id, links[1].id)
    waiting.status, waiting.delivered_at, waiting.attempts = DeliveryStatus.PENDING, None, 0
    db.commit()
    first, second = (link.title or link.resource_link_id for link in links)
    sent_on = "Sent to the gradebook on 5 Mar 2026, 14:07 GMT: "
    expected = {users[0].name: "2 of 2 grades sent to the gradebook",
                users[1].name: f"1 of 2 grades sent to the gradebook; {first}: Not sent: "
                               "The VLE refused the score (400).",
                users[2].name: "1 of 2 grades sent to the gradebook (1 awaiting marking); "
                               f"{second}: Waiting to be sent: "}

    page = html.unescape(client.get(f"/c/{launch_id}/course").get_data(as_text=True))
    for text in expected.values():
        assert f"<td>{text}" in page
    assert sent_on not in page
    assert ("Grade delivery</strong>: how many of the student's grades the VLE has"
            in " ".join(page.split()))
    exported = client.get(f"/c/{launch_id}/course/export.csv").get_data(as_text=True)
    assert gc.isenabled()  # the export paused the cycle collector only while it summed
    cells = {row["Name"]: row["Grade delivery"] for row in csv.DictReader(io.StringIO(exported))}
    assert {name: cells[name][:len(text)] for name, text in expected.items()} == expected
    # One student's page: every grade in words.
    one = html.unescape(client.get(f"/c/{launch_id}/course/students/{users[1].id}")
                        .get_data(as_text=True))
    assert (f"<li>{first}: Not sent: The VLE refused the score (400).</li>"
            f"<li>{second}: {sent_on}" in one)
    # Someone with nothing sent is told so.
    nothing = seed_students(db, library, context, [], range(3, 4))[0]
    none = client.get(f"/c/{launch_id}/course/students/{nothing.id}").get_data(as_text=True)
    assert "Nothing has been sent to the gradebook for this student yet." in none
    # The lecturer launched from the second link: its view has one grade per row, in words.
    link_view = html.unescape(client.get(f"/c/{launch_id}/link").get_data(as_text=True))
    assert link_view.count(f"<td>{sent_on}") == 2 and "sent to the gradebook" not in link_view
    assert "<td>Waiting to be sent: " in link_view
    assert "Grade delivery</strong>" not in link_view  # the legend explains the count only


def test_the_course_rows_query_counts_sent_grades_and_words_the_rest(course, library, db):
    """With sent grades counted, not described, the query answers Sent for each of them (and
    whether it awaits marking) and the outbox's own words for every other state. (That the
    sent grades' other columns are left unread is a matter of speed, not of what this shows.)"""
    grades = pytest.importorskip("lti_tool.grades")
    from lti_tool.classview import gradebook
    from lti_tool.models.grades import DeliveryStatus

    _, _, context, links, marker = course
    users = seed_students(db, library, context, links, range(3), marker=marker)
    for user, status in zip(users, (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED_PERMANENT,
                                    DeliveryStatus.PENDING), strict=True):
        newest = grades.latest_delivery(db, user.id, links[0].id)
        newest.status, newest.attempts = status, 1
        newest.last_error_explanation = "Refused." if status != DeliveryStatus.DELIVERED else None
    db.commit()
    link_ids = [link.id for link in links]
    in_words = gradebook.delivery_statuses(db, link_ids)
    counted = gradebook.delivery_statuses(db, link_ids, sent_in_words=False)
    views = {(user.id, link.id): grades.delivery_status(db, user.id, link.id)
             for user in users for link in links}
    sent = {key: gradebook.Sent.AWAITING_MARKING if view.grading_progress == "PendingManual"
            else gradebook.Sent.GRADED
            for key, view in views.items() if view.status == DeliveryStatus.DELIVERED}
    assert (users[0].id, links[0].id) in sent and (users[1].id, links[0].id) not in sent
    assert gradebook.Sent.AWAITING_MARKING in sent.values()  # the unmarked reflections
    assert counted == {key: sent.get(key, text) for key, text in in_words.items()}
    assert counted[(users[1].id, links[0].id)] == "Not sent: Refused."


def test_last_activity_is_shown_in_the_tools_time_zone(course, library, db):
    """A summer time stored as UTC reads as London's time with its zone on the class view and
    the student's page (13:07 UTC is 14:07 BST), and as UTC in the CSV's column so named."""
    from datetime import datetime, timezone

    from sqlalchemy import update

    from lti_tool.models import Membership

    client, launch_id, context, links, marker = course
    [user] = seed_students(db, library, context, links, range(1), marker=marker)
    when = datetime(2026, 7, 5, 13, 7, tzinfo=timezone.utc)
    db.execute(update(Attempt).where(Attempt.user_id == user.id)
               .values(updated_at=when, submitted_at=when))
    db.execute(update(Membership).where(Membership.user_id == user.id).values(updated_at=when))
    db.commit()
    page = client.get(f"/c/{launch_id}/course").get_data(as_text=True)
    assert "<td>5 Jul 2026, 14:07 BST</td>" in page
    one = client.get(f"/c/{launch_id}/course/students/{user.id}").get_data(as_text=True)
    assert "last activity 5 Jul 2026, 14:07 BST" in one
    exported = client.get(f"/c/{launch_id}/course/export.csv").get_data(as_text=True)
    [row] = [r for r in csv.DictReader(io.StringIO(exported)) if r["Name"] == user.name]
    assert row["Last activity (UTC)"] == "2026-07-05 13:07"
