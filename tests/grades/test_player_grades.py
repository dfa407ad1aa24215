"""End to end: a student takes a module in the player and the VLE's gradebook gets the grade."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from lti_tool.grades import deliver_pending, requeue_after_marking
from lti_tool.keys import Keyring
from lti_tool.attempts.answers import rescore
from lti_tool.attempts.settings import link_settings
from lti_tool.models import Attempt, DeliveryStatus, GradeDelivery

from ..forms import forms
from ..player import land
from ..lti_platform import TestPlatform
from .conftest import CLIENT_ID, ISSUER

# The content tests' fixture module (14 points, a 3-point reflection), imported by fx_module.
MODULE = "fx-online-safety"

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"


@pytest.fixture(autouse=True)
def module(fx_module):
    return fx_module


@pytest.fixture
def vle(jwks_server, db, ags, request):
    """A Moodle site whose launches name the recording grade service, inline delivery on."""
    platform = TestPlatform(jwks_server, f"moodle-grades-{id(request)}", ISSUER, CLIENT_ID)
    platform.auth_token_url = ags.token_url
    platform.register(db)
    return platform


def launch(client, vle, ags, lineitem: str | None, **custom):
    """A student launch whose AGS claim points at the recording service."""
    def mutate(claims):
        claims[CUSTOM] = {"module": MODULE, **custom}
        claims[AGS] = {**claims[AGS], "lineitems": ags.lineitems_url}
        claims[AGS].pop("lineitem")
        if lineitem:
            claims[AGS]["lineitem"] = lineitem
        return claims
    response, _, _ = vle.launch(client, "student_launch", mutate=mutate)
    assert response.status_code == 303
    return land(client, response.headers["Location"])


def post(client, url: str, data: dict, form_page: str | None = None):
    """Submit a form with the CSRF token of the page it is on (`url` unless given)."""
    page = client.get(form_page or url)
    token = next(f["fields"]["csrf_token"] for f in forms(page.get_data(as_text=True))
                 if "csrf_token" in f["fields"])
    return client.post(url, data={**data, "csrf_token": token})


def take_module(client, page, module) -> str:
    """Answer every step (all best answers), submit; returns the summary page's text."""
    base = page.request.path.rsplit("/", 1)[0]
    ratings = {f"rating-{s.id}": "3" for s in module.confidence.statements}
    assert post(client, f"{base}/0", ratings).status_code == 302
    for index, item in enumerate(module.steps, start=1):
        if not hasattr(item, "score"):
            continue
        if item.type == "scenario":
            for choice in item.best_answer():
                assert post(client, f"{base}/{index}", {"choice": choice}).status_code == 302
        elif item.type == "reflection":
            text = " ".join(["thought"] * (item.min_words + 5))
            assert post(client, f"{base}/{index}", {"text": text}).status_code == 302
        else:
            answer = item.best_answer()
            assert post(client, f"{base}/{index}", {
                "choice": sorted(answer) if isinstance(answer, (list, set)) else answer
            }).status_code == 302
    last = len(module.steps) + 1
    assert post(client, f"{base}/{last}", ratings).status_code == 302
    summary = post(client, base.replace("/step", "/submit"), {},
                   form_page=base.replace("/step", "/review"))
    assert summary.status_code == 302
    return client.get(summary.headers["Location"]).get_data(as_text=True)


def test_completed_module_reaches_the_gradebook_during_the_submit(app, client, vle, ags, db,
                                                                  module):
    app.config["GRADES_DELIVER_INLINE"] = True
    lineitem = ags.add_lineitem(resourceLinkId="1")
    page = launch(client, vle, ags, lineitem, reflection_marking="completion")
    html = take_module(client, page, module)
    assert "100%" in html

    # No worker ran: the submit request itself delivered the grade.
    scores = ags.accepted_scores()
    assert [s["lineitem"] for s in scores] == [1]
    [final] = scores
    assert final["userId"] == "4"
    assert (final["activityProgress"], final["gradingProgress"]) == ("Completed", "FullyGraded")
    assert final["scoreGiven"] == 14.0 and final["scoreMaximum"] == 14.0
    rows = db.scalars(select(GradeDelivery).order_by(GradeDelivery.id)).all()
    # Started, then InProgress once (not once per answer), then the grade.
    assert [(r.activity_progress, r.status) for r in rows] == [
        ("Started", DeliveryStatus.SUPERSEDED), ("InProgress", DeliveryStatus.SUPERSEDED),
        ("Completed", DeliveryStatus.DELIVERED)]


def test_reflection_for_the_lecturer_then_marking_sends_fully_graded(app, client, vle, ags,
                                                                      db, module):
    app.config["GRADES_DELIVER_INLINE"] = True
    launch_page = launch(client, vle, ags, lineitem=None)  # no line item: the tool creates it
    take_module(client, launch_page, module)
    [pending] = ags.accepted_scores()
    assert (pending["activityProgress"], pending["gradingProgress"]) == ("Submitted",
                                                                         "PendingManual")
    assert pending["scoreGiven"] == 11.0  # 14 points less the unmarked reflection's 3
    [create] = [r for r in ags.requests if r.kind == "lineitem_create"]
    assert create.json["resourceId"] == MODULE and create.json["tag"] == "practice"

    # The lecturer marks the reflection (the marking page does this, then commits).
    attempt = db.scalar(select(Attempt))
    reflection = next(a for a in module.activities if a.type == "reflection")
    attempt.marks = {reflection.id: {c.id: float(c.points) for c in reflection.rubric}}
    settings = link_settings(attempt.resource_link)
    rescore(attempt, module, settings)
    requeue_after_marking(db, attempt, settings, module=module)
    db.commit()
    with requests.Session() as http:
        deliver_pending(app.extensions["lti_tool.sessionmaker"], http,
                        keyring=Keyring(app.config["KEYS_DIR"]))
    marked = ags.accepted_scores()[-1]
    assert (marked["activityProgress"], marked["gradingProgress"]) == ("Completed",
                                                                       "FullyGraded")
    assert marked["scoreGiven"] == 14.0


def test_a_dead_vle_does_not_fail_the_students_page(app, client, vle, ags, db, module):
    app.config["GRADES_DELIVER_INLINE"] = True
    ags.fail("score", 503, times=10)
    page = launch(client, vle, ags, ags.add_lineitem(resourceLinkId="1"),
                  reflection_marking="completion")
    html = take_module(client, page, module)
    assert "100%" in html  # the summary shows as usual
    row = db.scalars(select(GradeDelivery).order_by(GradeDelivery.id.desc())).first()
    assert row.status == DeliveryStatus.PENDING and row.last_error_status == 503


def test_lecturers_trying_a_module_send_no_grade(app, client, vle, ags, db, module):
    def mutate(claims):
        claims[CUSTOM] = {"module": MODULE}
        return claims
    response, _, _ = vle.launch(client, "teacher_launch", mutate=mutate, login_hint="3")
    landing = client.get(response.headers["Location"], follow_redirects=True)
    launch_id = landing.request.path.split("/")[2]
    client.get(f"/l/{launch_id}/", follow_redirects=True)
    assert db.scalars(select(GradeDelivery)).all() == []
