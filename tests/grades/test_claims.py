"""Claims in batches: disjoint leases, one score per student and link, few statements."""

from __future__ import annotations

from sqlalchemy import event

from lti_tool.grades import claim
from lti_tool.grades.claims import CLAIM_SIZE
from lti_tool.models import DeliveryStatus
from lti_tool.models.base import utcnow


def test_claims_lease_disjoint_rows_one_per_student_and_link(course):
    students = [course.student(f"c{n}") for n in range(6)]
    for student in students:
        course.queue(course.attempt(student, 50.0))
    for student in students[:3]:  # retakes: the first scores are replaced before any claim
        course.queue(course.attempt(student, 90.0))
    now = utcnow()
    first = claim(course.factory, now, 4)
    second = claim(course.factory, now, 4)
    assert len(first.ids) == 4 and len(second.ids) == 2
    assert not set(first.ids) & set(second.ids)
    assert claim(course.factory, now, 4).ids == []  # everything due is leased
    rows = {r.id: r for r in course.rows()}
    leased = [rows[i] for i in first.ids + second.ids]
    assert {r.user.sub for r in leased} == {s.sub for s in students}  # one each
    assert all(r.status == DeliveryStatus.PENDING and r.score_given in (7.0, 12.6)
               for r in leased)
    assert sum(r.status == DeliveryStatus.SUPERSEDED for r in rows.values()) == 3


def test_a_claim_takes_only_the_given_students_rows(course):
    alice, bob = course.student("a"), course.student("b")
    course.queue(course.attempt(alice, 50.0))
    course.queue(course.attempt(bob, 60.0))
    taken = claim(course.factory, utcnow(), user_id=bob.id)
    assert [r.user.sub for r in course.rows() if r.id in taken.ids] == ["b"]


def test_statements_per_pass_do_not_grow_with_the_scores(course, app):
    """A pass costs a few statements per claim of CLAIM_SIZE scores, not several per score."""
    for n in range(2 * CLAIM_SIZE):
        course.queue(course.attempt(course.student(f"s{n}"), 50.0))
    statements = []
    engine = app.extensions["lti_tool.engine"]

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        report = course.deliver(limit=10 * CLAIM_SIZE)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(report.delivered) == 2 * CLAIM_SIZE
    # Per claim: pick (PostgreSQL), supersede, lease, load, mark delivered; then one empty
    # claim; the token: its row read, a lease on it, the new token stored.
    assert len(statements) <= 2 * 5 + 3 + 4, statements
