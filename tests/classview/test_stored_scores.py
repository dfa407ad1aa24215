"""The element figures stored with each attempt stay equal to a fresh re-score: after answers,
submitting, marking, re-marking and a new module version, when two writers score one attempt at
once, and when the migration fills them in for attempts scored before they existed."""

from __future__ import annotations


from sqlalchemy import delete, select
from sqlalchemy.orm.exc import StaleDataError

from lti_tool import migrate
from lti_tool.attempts import lifecycle
from lti_tool.attempts.answers import module_of
from lti_tool.content import Library
from lti_tool.models import (
    Attempt,
    AttemptElementScore,
    LtiUser,
)

from ..concurrency import together
from .scoring import (TRIALS, answer, assert_stored_equals_rescore, mark, new_version, same, stored, student, submitted)
from .seed import seed_students



def test_stored_figures_follow_answers_submit_marking_and_a_new_version(app, scored_course, db):
    context, links, marker, library = scored_course
    sam = student(db, context, "sam")
    r4 = links["r4-frozen"]

    # Answers saved: nothing is stored or counted until the attempt is submitted.
    first = lifecycle.start(db, library, sam, r4)
    module = module_of(library, first)
    answer(db, first, module, 1, upto=3)
    assert_stored_equals_rescore(db, library, links)
    answer(db, first, module, 1)
    assert_stored_equals_rescore(db, library, links)

    # Submitted, the reflection waiting for its mark: it is left out of the figures.
    lifecycle.submit(db, library, sam, r4, first.number)
    db.commit()
    assert first.pending_manual and "R4" in stored(first)
    assert_stored_equals_rescore(db, library, links)

    # Marked, then marked again lower: the rows change in place.
    mark(db, first, module, marker, 1.0)
    high = stored(first)
    assert_stored_equals_rescore(db, library, links)
    mark(db, first, module, marker, 0.0)
    assert stored(first)["R4"][0] < high["R4"][0]
    assert_stored_equals_rescore(db, library, links)

    # A new version: the old attempt keeps its figures; a new attempt is stored on 1.1.0.
    new_version(app.config["CONTENT_STORE"])
    library = Library(store=app.config["CONTENT_STORE"])
    assert_stored_equals_rescore(db, library, links)
    second = lifecycle.start(db, library, sam, r4)
    assert second.module_version == "1.1.0"
    answer(db, second, module_of(library, second), 2)
    lifecycle.submit(db, library, sam, r4, second.number)
    db.commit()
    assert second.pending_manual and "R3" not in stored(second)  # only the reflection has it
    assert_stored_equals_rescore(db, library, links)
    mark(db, second, module_of(library, second), marker, 0.5)
    assert "R3" in stored(second) and "R3" not in stored(first)
    assert_stored_equals_rescore(db, library, links)


def test_two_markers_scoring_one_attempt_at_once_leave_one_consistent_score(app, scored_course, db):
    context, links, marker, library = scored_course
    attempt, module = submitted(db, library, context, links["r4-frozen"], "sally")
    make_session = app.extensions["lti_tool.sessionmaker"]

    def writer(level: float):
        """A marker who has opened the attempt; the call saves their marks."""
        session = make_session()
        mine = session.get(Attempt, attempt.id)
        who = session.get(LtiUser, marker.id)
        stored(mine)  # both read the stored rows before either writes

        def save() -> str:
            try:
                mark(session, mine, module, who, level)
                return "saved"
            except StaleDataError:
                session.rollback()
                return "refused"
            finally:
                session.close()
        return save

    for trial in range(TRIALS):
        levels = (1.0, 0.0) if trial % 2 else (0.0, 1.0)
        results = together(writer(levels[0]), writer(levels[1]))
        assert sorted(results) == ["refused", "saved"], results
        winner = levels[results.index("saved")]
        db.expire_all()
        saved = db.get(Attempt, attempt.id)
        given = next(iter(next(iter(saved.marks.values())).values()))
        assert (given > 0) == (winner > 0)  # the winner's marks, and the score from them
        assert_stored_equals_rescore(db, library, links)


def test_the_migration_scores_attempts_made_before_it(app, scored_course, db, database_url,
                                                      monkeypatch):
    context, links, marker, library = scored_course
    seed_students(db, library, context, list(links.values()), range(4), marker=marker)
    before = {(r.attempt_id, r.element): (r.earned, r.possible)
              for r in db.scalars(select(AttemptElementScore))}
    assert len(before) > 8
    db.execute(delete(AttemptElementScore))
    db.commit()
    db.close()
    app.extensions["lti_tool.engine"].dispose()  # nothing may hold the tables while migrating

    migrate.downgrade(database_url, "0013")
    monkeypatch.setenv("LTI_TOOL_CONTENT_STORE", str(app.config["CONTENT_STORE"]))
    migrate.upgrade(database_url)
    after = {(r.attempt_id, r.element): (r.earned, r.possible)
             for r in db.scalars(select(AttemptElementScore))}
    assert same(after, before)
    assert_stored_equals_rescore(db, library, links)


def test_backfill_command_fills_attempts_an_older_release_scored(app, scored_course, db, runner):
    context, links, marker, library = scored_course
    users = seed_students(db, library, context, list(links.values()), range(3), marker=marker)
    # As an older process would have left them during a rolling upgrade: scored, no figures.
    older = [a.id for a in db.scalars(select(Attempt).where(Attempt.user_id == users[1].id))]
    kept = {(r.attempt_id, r.element): r.earned for r in db.scalars(
        select(AttemptElementScore).where(AttemptElementScore.attempt_id.not_in(older)))}
    db.execute(delete(AttemptElementScore).where(AttemptElementScore.attempt_id.in_(older)))
    db.commit()

    result = runner.invoke(["db", "backfill-scores"])
    assert result.exit_code == 0, result.output
    assert f"Stored the figures of {len(older)} attempt(s)" in result.output
    assert_stored_equals_rescore(db, library, links)
    assert {(r.attempt_id, r.element): r.earned for r in db.scalars(
        select(AttemptElementScore).where(AttemptElementScore.attempt_id.not_in(older)))} == kept
    again = runner.invoke(["db", "backfill-scores"])
    assert "Stored the figures of 0 attempt(s)" in again.output


def test_backfill_beside_a_marker_leaves_the_figures_of_the_last_marks(app, scored_course, db):
    """`db backfill-scores` runs beside live traffic: racing a marker on an attempt an older
    release left without figures, the stored figures end as the re-score of the marks saved
    (a marker refused as 'marked first' saves again, as the page asks)."""
    from sqlalchemy.exc import IntegrityError

    from lti_tool.attempts.evidence import backfill

    context, links, marker, library = scored_course
    attempt, module = submitted(db, library, context, links["r4-frozen"], "sally-backfill")
    engine = app.extensions["lti_tool.engine"]
    make_session = app.extensions["lti_tool.sessionmaker"]

    def backfiller() -> None:
        with engine.begin() as connection:
            backfill(connection, library)

    def marker_at(level: float):
        def save() -> None:
            for _ in range(5):  # refused as "marked first": the marker saves again
                session = make_session()
                try:
                    mark(session, session.get(Attempt, attempt.id), module,
                         session.get(LtiUser, marker.id), level)
                    return
                except (IntegrityError, StaleDataError):
                    session.rollback()
                finally:
                    session.close()
            raise AssertionError("the marker was refused five times")
        return save

    for trial in range(TRIALS):
        # As an older release leaves a submission: scored, no stored figures.
        db.execute(delete(AttemptElementScore).where(
            AttemptElementScore.attempt_id == attempt.id))
        db.commit()
        level = 1.0 if trial % 2 else 0.5
        together(backfiller, marker_at(level))
        db.expire_all()
        saved = db.get(Attempt, attempt.id).marks
        assert saved == {r.id: {c.id: float(c.points) * level for c in r.rubric}
                         for r in module.activities if r.type == "reflection"}
        assert_stored_equals_rescore(db, library, links)
