"""Two lecturers marking the same reflection at the same moment: one saves, one is told."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_tool.attempts.answers import scoring_answers
from lti_tool.models import Attempt
from lti_tool.models.grades import GradeDelivery

from ..concurrency import together
from ..forms import forms
from .vle import launch, take_module

TRIALS = 20


@pytest.fixture
def marked_twice(app, vle, vle_server, library, db):
    """A submitted r4 attempt with its reflection waiting, and two markers' launches."""
    student = app.test_client()
    take_module(student, launch(student, vle, vle_server, sub="5", link="r4"),
                library.get("r4-frozen"), {})
    markers = []
    for sub, role in (("3", "Instructor"), ("8", "Instructor")):
        client = app.test_client()
        markers.append((client, launch(client, vle, vle_server, sub=sub, link="r4", role=role)))
    return markers, db.scalar(select(Attempt))


def _form(client, launch_id: str, attempt_id: int, level: str) -> tuple[str, dict]:
    """The marking form, filled with the same mark for every criterion."""
    url = f"/c/{launch_id}/marking/{attempt_id}"
    fields = next(f for f in forms(client.get(url).get_data(as_text=True))
                  if "version" in f["fields"])["fields"]
    filled = {k: (level if k.startswith("mark-") else v) for k, v in fields.items()}
    filled.update({k: f"comment {level}" for k in fields if k.startswith("comment-")})
    return url, filled


def test_simultaneous_markings_one_refused_and_record_agrees(marked_twice, library, db):
    ((first, first_id), (second, second_id)), submitted = marked_twice
    attempt_id = submitted.id
    module = library.get(submitted.module_id, submitted.module_version)
    refused = 0
    for trial in range(TRIALS):
        one, two = ("1", "0") if trial % 2 else ("0", "1")
        url1, form1 = _form(first, first_id, attempt_id, one)
        url2, form2 = _form(second, second_id, attempt_id, two)
        results = together(lambda: first.post(url1, data=form1),
                           lambda: second.post(url2, data=form2))
        codes = sorted(r.status_code for r in results)
        # Both forms were read before either was saved: the second save is always refused.
        assert codes == [302, 409], codes
        refused += 1
        loser = results[0] if results[0].status_code == 409 else results[1]
        assert "Someone else has just marked this" in loser.get_data(as_text=True)
        db.expire_all()
        attempt = db.get(Attempt, attempt_id)
        marks = attempt.marks["r1"]
        assert len(set(marks.values())) == 1  # one marker's marks, never a mixture
        # The stored score is the one these marks give...
        again = module.score(scoring_answers(attempt, module), marks=attempt.marks)
        assert attempt.points == pytest.approx(again.points)
        # ...and the newest score in the outbox is that score.
        newest = db.scalars(select(GradeDelivery).where(GradeDelivery.attempt_id == attempt_id)
                            .order_by(GradeDelivery.id.desc())).first()
        assert newest.score_given == pytest.approx(
            attempt.percent / 100 * newest.score_maximum, abs=1e-4)
    assert refused == TRIALS
