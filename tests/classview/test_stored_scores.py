"""The element figures stored with each attempt stay equal to a fresh re-score: after answers,
submitting, marking, re-marking and a new module version, when two writers score one attempt at
once, and when the migration fills them in for attempts scored before they existed."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm.exc import StaleDataError

from lti_tool import migrate
from lti_tool.attempts import lifecycle
from lti_tool.attempts.answers import module_of, save_answer, score_of, step_count
from lti_tool.attempts.profile import (
    mastery_of,
    mastery_totals,
    plan_of,
    profile_of,
    scope_versions,
)
from lti_tool.attempts.settings import link_settings
from lti_tool.attempts.totals import stored_totals
from lti_tool.classview.marking import MarkingForm, save_marks
from lti_tool.content import Library
from lti_tool.models import (
    Attempt,
    AttemptElementScore,
    AttemptStatus,
    Context,
    LtiUser,
    Membership,
    ResourceLink,
)
from lti_tool.progress import evidence_by_element

from ..concurrency import together
from .seed import LEARNER, answer_for, seed_students
from .vle import launch

TRIALS = 10


@pytest.fixture
def course(app, vle, vle_server, db):
    """A course with the r4 and p1 links (a lecturer launched from both), the lecturer, and a
    library over the tool's own content store (which the test may add versions to)."""
    lecturer = app.test_client()
    for link in ("r4", "p1"):
        launch(lecturer, vle, vle_server, sub="3", link=link, role="Instructor")
    context = db.scalar(select(Context))
    links = {link.custom["module"]: link for link in db.scalars(select(ResourceLink))}
    marker = db.scalar(select(LtiUser).where(LtiUser.sub == "3"))
    return context, links, marker, Library(store=app.config["CONTENT_STORE"])


def student(db, context, sub: str) -> LtiUser:
    """A learner in the course."""
    user = LtiUser(registration_id=context.deployment.registration_id, sub=sub, name=sub)
    db.add(user)
    db.flush()
    db.add(Membership(context_id=context.id, user_id=user.id, roles=[LEARNER]))
    db.commit()
    return user


def answer(db, attempt: Attempt, module, n: int, upto: int | None = None) -> None:
    """Answer the attempt's steps (up to ``upto``), a wrong answer every third question."""
    last = step_count(module) - 1 if upto is None else upto
    save_answer(attempt, module, 0, module.confidence.id, module.confidence.best_answer())
    for index, step in enumerate(module.steps[:last], start=1):
        if hasattr(step, "score"):
            save_answer(attempt, module, index, step.id, answer_for(step, n, index))
    if upto is None:
        save_answer(attempt, module, last, module.confidence.id, module.confidence.best_answer())
    db.commit()


def mark(db, attempt: Attempt, module, marker: LtiUser, level: float) -> None:
    """Every criterion of every reflection at ``level`` of its points."""
    reflections = [a for a in module.activities if a.type == "reflection"]
    marks = {r.id: {c.id: float(c.points) * level for c in r.rubric} for r in reflections}
    save_marks(db, attempt, module, MarkingForm(marks, {r.id: "" for r in reflections}), marker)
    db.commit()


def submitted(db, library: Library, context, link: ResourceLink, sub: str):
    """A new student's submitted attempt through the link, and its module."""
    user = student(db, context, sub)
    attempt = lifecycle.start(db, library, user, link)
    module = module_of(library, attempt)
    answer(db, attempt, module, 2)
    lifecycle.submit(db, library, user, link, attempt.number)
    db.commit()
    return attempt, module


def same(a: dict, b: dict) -> bool:
    """The same keys, each pair of figures equal to within float rounding."""
    return a.keys() == b.keys() and all(x == pytest.approx(y, abs=1e-12)
                                        for k in a for x, y in zip(a[k], b[k], strict=True))


def stored(attempt: Attempt) -> dict[str, tuple[float, float]]:
    """The attempt's stored element figures."""
    return {e: (row.earned, row.possible) for e, row in attempt.element_scores.items()}


def assert_stored_equals_rescore(db, library: Library, links) -> None:
    """Every attempt's stored figures equal its fresh re-score, and the class view's mastery
    summed from them equals the student's own profile, counting the best or the latest."""
    db.expire_all()
    link_ids = [link.id for link in links.values()]
    attempts = list(db.scalars(select(Attempt).where(Attempt.resource_link_id.in_(link_ids))
                               .order_by(Attempt.created_at, Attempt.id)))
    for attempt in attempts:
        if attempt.status != AttemptStatus.SUBMITTED:
            assert stored(attempt) == {}, attempt.id  # nothing counts until it is submitted
            continue
        fresh = evidence_by_element(score_of(attempt, module_of(library, attempt),
                                             link_settings(attempt.resource_link)))
        assert same(stored(attempt), fresh), (attempt.id, stored(attempt), fresh)
    for counting in ("best", "latest"):
        totals = mastery_totals(db, link_ids, counting, scope_versions(db, library, link_ids))
        for user_id in {a.user_id for a in attempts}:
            mine = [a for a in attempts if a.user_id == user_id]
            want, _ = profile_of(library, mine, counting=counting)
            have = mastery_of(plan_of(library), totals.get(user_id, {}))
            for w, h in zip(want.domains + want.elements, have.domains + have.elements,
                            strict=True):
                assert (h.id, h.band, h.pending_manual) == (w.id, w.band, w.pending_manual)
                assert (h.points, h.max_points) == pytest.approx((w.points, w.max_points),
                                                                 abs=1e-9)
    assert_course_totals_current(db)


def assert_course_totals_current(db) -> None:
    """Every course's stored totals equal the class view's live sums of its attempts (best
    attempt per module across the course's links): same students, elements and figures."""
    db.expire_all()
    for context_id in db.scalars(select(Context.id)):
        link_ids = list(db.scalars(select(ResourceLink.id).where(
            ResourceLink.context_id == context_id)))
        live = mastery_totals(db, link_ids, "best", {}) if link_ids else {}
        kept = stored_totals(db, context_id)
        assert kept.keys() == live.keys(), (context_id, kept.keys(), live.keys())
        for user_id, elements in live.items():
            assert kept[user_id].keys() == elements.keys(), user_id
            for element, (points, max_points, pending) in elements.items():
                have = kept[user_id][element]
                assert have[:2] == pytest.approx((points, max_points), abs=1e-9), element
                assert have[2] == pending, (user_id, element)


def new_version(store, module_id: str = "r4-frozen") -> None:
    """Version 1.1.0 of the module: its reflection now evidences R3 as well as R4."""
    old, new = store / module_id / "1.0.0", store / module_id / "1.1.0"
    shutil.copytree(old, new)
    yaml = new / "module.yaml"
    text = yaml.read_text().replace("version: 1.0.0\n", "version: 1.1.0\n", 1)
    reflection = "      id: r1\n      type: reflection\n      elements: [R4]\n"
    assert reflection in text
    yaml.write_text(text.replace(reflection, reflection.replace("[R4]", "[R4, R3]"), 1))


def test_stored_figures_follow_answers_submit_marking_and_a_new_version(app, course, db):
    context, links, marker, library = course
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


def test_two_markers_scoring_one_attempt_at_once_leave_one_consistent_score(app, course, db):
    context, links, marker, library = course
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


def test_the_migration_scores_attempts_made_before_it(app, course, db, database_url,
                                                      monkeypatch):
    context, links, marker, library = course
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


def test_backfill_command_fills_attempts_an_older_release_scored(app, course, db, runner):
    context, links, marker, library = course
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


def test_backfill_beside_a_marker_leaves_the_figures_of_the_last_marks(app, course, db):
    """`db backfill-scores` runs beside live traffic: racing a marker on an attempt an older
    release left without figures, the stored figures end as the re-score of the marks saved
    (a marker refused as 'marked first' saves again, as the page asks)."""
    from sqlalchemy.exc import IntegrityError

    from lti_tool.attempts.evidence import backfill

    context, links, marker, library = course
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
