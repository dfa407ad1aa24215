"""Only the course's instructors, teaching assistants and administrators see the class."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_tool.models import Attempt, LtiUser, RosterMember

from .test_marking import SALLY_WRONG
from .vle import csrf, launch, take_module

DENIED = "This page is for the course teaching staff only"


@pytest.fixture
def submitted(app, vle, vle_server, library, db):
    """Sally's submitted r4 attempt (reflection waiting) and her own client and launch."""
    sally = app.test_client()
    launch_id = launch(sally, vle, vle_server, sub="5", link="r4")
    take_module(sally, launch_id, library.get("r4-frozen"), SALLY_WRONG)
    return sally, launch_id, db.scalar(select(Attempt))


def test_student_is_refused_every_class_page_in_plain_words(submitted, db, vle_server,
                                                            log_records):
    client, launch_id, attempt = submitted
    user = db.scalar(select(LtiUser).where(LtiUser.sub == "5"))
    pages = [f"/c/{launch_id}/link", f"/c/{launch_id}/course",
             f"/c/{launch_id}/link/students/{user.id}",
             f"/c/{launch_id}/course/students/{user.id}",
             f"/c/{launch_id}/link/export.csv", f"/c/{launch_id}/course/export.csv",
             f"/c/{launch_id}/marking", f"/c/{launch_id}/marking?scope=link",
             f"/c/{launch_id}/marking/{attempt.id}"]
    for url in pages:
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 403, url
        assert DENIED in html and "instructors and teaching assistants" in html, url
        assert "Sally-reflects" not in html and "Sam Student" not in html
    # Forms too, with a valid CSRF token from a page the student may see.
    token = csrf(client.get(f"/l/{launch_id}/attempts/1").get_data(as_text=True))
    for url in (f"/c/{launch_id}/link/refresh", f"/c/{launch_id}/marking/{attempt.id}"):
        response = client.post(url, data={"csrf_token": token, "mark-r1-law": "1"})
        assert response.status_code == 403 and DENIED in response.get_data(as_text=True)
    db.refresh(attempt)
    assert attempt.marks == {}
    # Nothing was asked of the platform on the student's behalf.
    assert vle_server.recorded == [] and db.scalar(select(RosterMember)) is None
    assert "class view refused" in log_records.text


def test_student_gets_no_class_links_on_any_page(submitted):
    client, launch_id, _ = submitted
    summary = client.get(f"/l/{launch_id}/attempts/1").get_data(as_text=True)
    assert f"/c/{launch_id}/" not in summary


@pytest.mark.parametrize("role", [
    "Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    "Administrator",  # the course's own administrator (a context role)
])
def test_instructor_teaching_assistant_and_administrator_are_let_in(app, vle, vle_server, db,
                                                                    role):
    client = app.test_client()
    launch_id = launch(client, vle, vle_server, sub="8", role=role)
    for url in (f"/c/{launch_id}/link", f"/c/{launch_id}/course", f"/c/{launch_id}/marking"):
        assert client.get(url).status_code == 200, url
    landing = client.get(f"/launch/{launch_id}").get_data(as_text=True)
    assert f"/c/{launch_id}/link" in landing and f"/c/{launch_id}/marking" in landing


@pytest.mark.parametrize("role", [
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    "Mentor",
])
def test_institution_and_system_administrators_and_mentors_are_refused(app, vle, vle_server,
                                                                       db, role):
    client = app.test_client()
    launch_id = launch(client, vle, vle_server, sub="8", role=role)
    for url in (f"/c/{launch_id}/link", f"/c/{launch_id}/course", f"/c/{launch_id}/marking"):
        response = client.get(url)
        assert response.status_code == 403 and DENIED in response.get_data(as_text=True), url


def test_content_developer_is_not_teaching_staff(app, vle, vle_server, db):
    client = app.test_client()
    launch_id = launch(client, vle, vle_server, sub="8", role="ContentDeveloper")
    assert client.get(f"/c/{launch_id}/course").status_code == 403


def test_someone_elses_launch_id_is_a_session_page(submitted, app, vle, vle_server):
    _, student_launch, _ = submitted
    lecturer = app.test_client()
    launch(lecturer, vle, vle_server, sub="3", role="Instructor")
    # A launch id from another browser is not this lecturer's: no data, the session page.
    response = lecturer.get(f"/c/{student_launch}/course")
    assert response.status_code == 401
