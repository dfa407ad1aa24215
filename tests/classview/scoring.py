"""What the scoring tests share: a course of two links, its students, and checks that every
stored figure equals a fresh re-score."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

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
    AttemptStatus,
    Context,
    LtiUser,
    Membership,
    ResourceLink,
)
from lti_tool.progress import evidence_by_element

from .seed import LEARNER, answer_for

TRIALS = 10


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


def submitting(make_session, library: Library, user_id: int, link_id: int, number: int):
    """The attempt's submission in a session of its own, for a thread racing another."""
    def submit() -> None:
        session = make_session()
        try:
            lifecycle.submit(session, library, session.get(LtiUser, user_id),
                             session.get(ResourceLink, link_id), number)
            session.commit()
        finally:
            session.close()
    return submit
