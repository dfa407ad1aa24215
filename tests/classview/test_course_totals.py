"""The stored course totals (lti_tool.attempts.totals) stay equal to the class view's live sums:
when one student submits in two tabs at once, when two lecturers mark one student's attempts at
once, after a retention purge (also racing a submission), after `db refresh-totals`, and on the
class view's pages."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm.exc import StaleDataError

from lti_tool.attempts import lifecycle
from lti_tool.attempts.answers import module_of
from lti_tool.governance.retention import purge
from lti_tool.governance.settings import RetentionPolicy
from lti_tool.models import Attempt, AttemptStatus, CourseElementTotal, LtiUser
from lti_tool.models.base import utcnow

from ..concurrency import together
from .scoring import (
    TRIALS,
    answer,
    assert_course_totals_current,
    mark,
    student,
    submitted,
    submitting,
)


def test_two_tabs_submitting_two_modules_at_once_both_count(app, scored_course, db):
    context, links, _, library = scored_course
    make_session = app.extensions["lti_tool.sessionmaker"]
    for trial in range(TRIALS):
        user = student(db, context, f"tabs-{trial}")
        user_id = user.id  # the threads use their own sessions, never the test's
        started = []
        for link in links.values():
            attempt = lifecycle.start(db, library, user, link)
            answer(db, attempt, module_of(library, attempt), trial)
            started.append((link.id, attempt.number))

        together(*(submitting(make_session, library, user_id, link_id, number)
                   for link_id, number in started))
        db.expire_all()
        assert len(db.scalars(select(Attempt).where(
            Attempt.user_id == user_id, Attempt.submitted_at.is_not(None))).all()) == 2
        kept = {row.element for row in db.scalars(select(CourseElementTotal).where(
            CourseElementTotal.user_id == user_id))}
        assert {"R4", "P1"} <= kept, kept  # both modules' elements, whoever committed last
        assert_course_totals_current(db)


def test_two_lecturers_marking_one_students_two_attempts_at_once(app, scored_course, db):
    context, links, marker, library = scored_course
    make_session = app.extensions["lti_tool.sessionmaker"]
    marker_id = marker.id  # the threads use their own sessions, never the test's
    for trial in range(TRIALS):
        sub = f"marked-{trial}"
        first, module = submitted(db, library, context, links["r4-frozen"], sub)
        user = db.get(LtiUser, first.user_id)
        second = lifecycle.start(db, library, user, links["p1-frozen"])
        other = module_of(library, second)
        answer(db, second, other, trial)
        lifecycle.submit(db, library, user, links["p1-frozen"], second.number)
        db.commit()

        def marking(attempt_id: int, of, level: float):
            def save() -> None:
                session = make_session()
                try:
                    mark(session, session.get(Attempt, attempt_id), of,
                         session.get(LtiUser, marker_id), level)
                finally:
                    session.close()
            return save

        together(marking(first.id, module, 1.0), marking(second.id, other, 0.5))
        assert_course_totals_current(db)


def test_a_retention_purge_recomputes_the_totals_of_whom_it_touched(app, scored_course, db):
    context, links, _, library = scored_course
    old, _ = submitted(db, library, context, links["r4-frozen"], "purged")
    kept, _ = submitted(db, library, context, links["p1-frozen"], "kept")
    db.get(Attempt, old.id).updated_at = utcnow() - timedelta(days=4000)
    db.commit()
    assert db.scalars(select(CourseElementTotal.user_id).where(
        CourseElementTotal.user_id == old.user_id)).first() is not None

    report = purge(db, RetentionPolicy(attempts=365), apply=True)
    db.commit()
    assert report.counts["attempts"] == 1
    assert db.scalars(select(CourseElementTotal).where(
        CourseElementTotal.user_id == old.user_id)).all() == []
    assert db.scalars(select(CourseElementTotal).where(
        CourseElementTotal.user_id == kept.user_id)).all() != []
    assert_course_totals_current(db)


def test_refresh_totals_command_mends_what_an_older_release_left(app, scored_course, db, runner):
    context, links, marker, library = scored_course
    attempt, module = submitted(db, library, context, links["r4-frozen"], "older")
    other, _ = submitted(db, library, context, links["p1-frozen"], "older-2")
    # As processes of a release without the totals would leave them: one student missing,
    # another's figures from before a marking they did not see.
    db.execute(delete(CourseElementTotal).where(CourseElementTotal.user_id == other.user_id))
    db.commit()
    before = db.scalars(select(CourseElementTotal.earned).where(
        CourseElementTotal.user_id == attempt.user_id, CourseElementTotal.element == "R4")).one()
    mark(db, db.get(Attempt, attempt.id), module, marker, 1.0)
    db.execute(CourseElementTotal.__table__.update().where(
        CourseElementTotal.user_id == attempt.user_id).values(earned=before))
    db.commit()

    result = runner.invoke(["db", "refresh-totals"])
    assert result.exit_code == 0, result.output
    assert "Recomputed the course totals of 2 student(s)" in result.output
    assert_course_totals_current(db)


def two_attempts(db, library, context, links):
    """A student with two submitted attempts at r4, the first scoring higher; both attempts."""
    first, module = submitted(db, library, context, links["r4-frozen"], "twice")
    user = db.get(LtiUser, first.user_id)
    second = lifecycle.start(db, library, user, links["r4-frozen"])
    answer(db, second, module, 1, upto=2)  # a wrong answer early on: a lower score
    lifecycle.submit(db, library, user, links["r4-frozen"], second.number)
    db.commit()
    assert second.percent < first.percent
    return first, second


def test_a_change_committed_without_a_flush_is_counted(app, scored_course, db):
    context, links, _, library = scored_course
    first, second = two_attempts(db, library, context, links)
    # The lower attempt now scores highest: it becomes the one that counts. Nothing flushes
    # before commit() (which runs its hooks before its own flush).
    db.get(Attempt, second.id).percent = 100.0
    db.commit()
    assert_course_totals_current(db)


def test_a_savepoint_rolled_back_keeps_the_changes_noted_before_it(app, scored_course, db):
    context, links, _, library = scored_course
    first, second = two_attempts(db, library, context, links)
    db.get(Attempt, second.id).percent = 100.0
    db.flush()  # noted here
    with db.begin_nested() as savepoint:
        db.get(Attempt, first.id).module_version = "0.0.0"  # not a counting column
        savepoint.rollback()
    db.commit()
    assert_course_totals_current(db)


def test_erasing_a_student_while_a_lecturer_marks_them_both_succeed(app, scored_course, db):
    """Erasure locks the person, then scrubs their attempts; marking locks an attempt, then its
    commit writes rows that refer to the person (course totals, the grade). In that order the
    two wait on each other unless erasure takes the attempts first."""
    from lti_tool.governance.subjects import erase_person
    from lti_tool.models import Registration

    context, links, marker, library = scored_course
    make_session = app.extensions["lti_tool.sessionmaker"]
    marker_id = marker.id
    for trial in range(TRIALS):
        attempt, module = submitted(db, library, context, links["r4-frozen"], f"gone-{trial}")
        attempt_id = attempt.id

        def marking() -> None:
            session = make_session()
            try:
                mark(session, session.get(Attempt, attempt_id), module,
                     session.get(LtiUser, marker_id), 1.0)
            except StaleDataError:  # erasure scrubbed the answers first: marked again
                session.rollback()
                mark(session, session.get(Attempt, attempt_id), module,
                     session.get(LtiUser, marker_id), 1.0)
            finally:
                session.close()

        def erasure() -> None:
            session = make_session()
            try:
                erase_person(session, session.scalar(select(Registration)), f"gone-{trial}",
                             library=library, force=True)
                session.commit()
            finally:
                session.close()

        together(marking, erasure)
        assert_course_totals_current(db)


def test_a_submissions_commit_recomputes_in_two_statements_and_reads_nothing(app, scored_course, db):
    """The attempt and its link are in the session: the commit needs no query to find the
    course, only the recompute (and its lock, on PostgreSQL)."""
    from sqlalchemy import event

    context, links, _, library = scored_course
    user = student(db, context, "counted")
    attempt = lifecycle.start(db, library, user, links["r4-frozen"])
    answer(db, attempt, module_of(library, attempt), 1)
    lifecycle.submit(db, library, user, links["r4-frozen"], attempt.number)
    db.flush()  # the attempt's own writes, before counting
    seen: list[str] = []
    engine = app.extensions["lti_tool.engine"]
    listener = lambda conn, cursor, text, *args: seen.append(" ".join(text.split()))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        db.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    work = [s for s in seen if not s.startswith(("BEGIN", "COMMIT"))]
    locks = [s for s in work if "pg_advisory_xact_lock" in s]
    assert len(locks) == (1 if engine.dialect.name == "postgresql" else 0)
    rest = [s for s in work if s not in locks]
    assert [s.split()[0] for s in rest] == ["DELETE", "INSERT"], rest
    assert all("course_element_total" in s for s in rest)
    assert_course_totals_current(db)


def test_refresh_totals_beside_a_submission_leaves_both_counted(app, scored_course, db):
    """`db refresh-totals` runs beside live traffic: racing a student's submission, the
    student's stored totals end as the live sums, whichever commits first."""
    from lti_tool.attempts.totals import refresh_everyone

    context, links, _, library = scored_course
    make_session = app.extensions["lti_tool.sessionmaker"]
    for trial in range(TRIALS):
        # Already counted in the course (so the recompute takes them), and about to submit.
        first, _ = submitted(db, library, context, links["p1-frozen"], f"beside-{trial}")
        user = db.get(LtiUser, first.user_id)
        user_id = user.id  # the threads use their own sessions, never the test's
        attempt = lifecycle.start(db, library, user, links["r4-frozen"])
        answer(db, attempt, module_of(library, attempt), trial)
        number, link_id = attempt.number, links["r4-frozen"].id

        def recompute() -> None:
            session = make_session()
            try:
                refresh_everyone(session)
            finally:
                session.close()

        together(submitting(make_session, library, user_id, link_id, number), recompute)
        assert_course_totals_current(db)


def test_a_retention_purge_beside_a_submission_leaves_the_totals_current(app, scored_course, db):
    """A purge taking a student's old attempt while that student submits another module: the
    new attempt stays, the old one goes, and the stored totals end as the live sums."""
    context, links, _, library = scored_course
    make_session = app.extensions["lti_tool.sessionmaker"]
    for trial in range(TRIALS):
        old, _ = submitted(db, library, context, links["p1-frozen"], f"purged-{trial}")
        db.get(Attempt, old.id).updated_at = utcnow() - timedelta(days=4000)
        user = db.get(LtiUser, old.user_id)
        user_id, old_id = user.id, old.id  # the threads use their own sessions
        attempt = lifecycle.start(db, library, user, links["r4-frozen"])
        answer(db, attempt, module_of(library, attempt), trial)
        number, link_id, new_id = attempt.number, links["r4-frozen"].id, attempt.id

        def purging() -> None:
            session = make_session()
            try:
                purge(session, RetentionPolicy(attempts=365), apply=True)
                session.commit()
            finally:
                session.close()

        together(submitting(make_session, library, user_id, link_id, number), purging)
        db.expire_all()
        assert db.get(Attempt, old_id) is None
        assert db.get(Attempt, new_id).status == AttemptStatus.SUBMITTED
        kept = db.scalars(select(CourseElementTotal).where(
            CourseElementTotal.user_id == user_id)).all()
        assert kept != []  # the new submission counts
        assert_course_totals_current(db)
