"""The class list from the platform's NRPS: paging, role names, the cache, and refusals."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from lti_tool.models import RosterMember, utcnow

from .vle import MEMBERSHIP, NRPS_MEDIA, NRPS_SCOPE, csrf, launch


def students_listed(html: str) -> list[str]:
    """Names in the row headers of the class table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"<[^>]+>", "", m).strip() for m in
            re.findall(r'<th scope="row">(?:<a [^>]*>)?([^<]+)', body)]


def test_class_list_is_read_through_three_pages_with_one_token(client, vle, vle_server, db):
    lecturer = launch(client, vle, vle_server, sub="3", role="Instructor")
    page = client.get(f"/c/{lecturer}/course")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html

    # Six members at two per page: three pages, each asked with the bearer token and the
    # NRPS media type; page 2 came from a relative Link URL resolved against page 1.
    pages = vle_server.nrps_requests
    assert [r.query for r in pages] == ["", "page=2", "page=3"]
    assert len(vle_server.token_requests) == 1
    token_form = vle_server.token_requests[0].form
    assert token_form["scope"] == NRPS_SCOPE
    assert token_form["client_assertion_type"] == \
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    for request in pages:
        assert request.headers["Authorization"] == "Bearer " + next(iter(vle_server.tokens))
        assert request.headers["Accept"] == NRPS_MEDIA

    # Students only (not the instructor or the TA), those who never launched included.
    assert students_listed(html) == ["Omar Absent", "Nina Never", "Sally Scholar",
                                     "Sam Student"]
    assert html.count("Never opened the tool") == 4  # nobody but the lecturer has launched
    assert "Tina Teacher" not in html and "Tom Assistant" not in html


def test_short_and_full_role_names_are_stored_as_full_uris(client, vle, vle_server, db):
    lecturer = launch(client, vle, vle_server, sub="3", role="Instructor")
    client.get(f"/c/{lecturer}/course")
    roles = {m.user_sub: m.roles for m in db.scalars(select(RosterMember))}
    assert roles["4"] == [MEMBERSHIP + "Learner"]  # sent as "Learner"
    assert roles["5"] == [MEMBERSHIP + "Learner"]  # sent in full
    assert roles["3"] == [MEMBERSHIP + "Instructor"]
    assert len(roles) == 6


def test_roster_is_cached_refreshed_on_demand_and_when_old(client, vle, vle_server, db):
    lecturer = launch(client, vle, vle_server, sub="3", role="Instructor")
    client.get(f"/c/{lecturer}/course")
    assert len(vle_server.nrps_requests) == 3

    # Within the hour: the cache answers, the platform is not asked again.
    client.get(f"/c/{lecturer}/course")
    client.get(f"/c/{lecturer}/link")
    assert len(vle_server.nrps_requests) == 3

    # The button: fetched again at once, with the cached token (still one token request).
    vle_server.members = [m for m in vle_server.members if m["user_id"] != "7"]
    view = client.get(f"/c/{lecturer}/course").get_data(as_text=True)
    refreshed = client.post(f"/c/{lecturer}/course/refresh",
                            data={"csrf_token": csrf(view)}, follow_redirects=True)
    html = refreshed.get_data(as_text=True)
    assert "Class list refreshed: 5 people in the course." in html
    assert "Omar Absent" not in html
    assert len(vle_server.nrps_requests) == 6
    assert len(vle_server.token_requests) == 1

    # Older than an hour: fetched again on the next view.
    db.execute(update(RosterMember).values(fetched_at=utcnow() - timedelta(hours=2)))
    db.commit()
    client.get(f"/c/{lecturer}/course")
    assert len(vle_server.nrps_requests) == 9
    assert db.scalar(select(RosterMember).where(RosterMember.user_sub == "4")).fetched_at > \
        utcnow() - timedelta(minutes=5)


def test_nrps_refusal_is_a_plain_message_not_an_error(client, app, vle, vle_server, db,
                                                     log_records):
    vle_server.nrps_status = 401
    lecturer = launch(client, vle, vle_server, sub="3", role="Instructor")
    launch(app.test_client(), vle, vle_server, sub="4")  # a student who launched is shown
    client_view = client.get(f"/c/{lecturer}/course")
    html = client_view.get_data(as_text=True)
    assert client_view.status_code == 200
    assert "refused to give the tool the class list" in html
    assert "IMS LTI Names and Role Provisioning" in html
    assert students_listed(html) == ["Sam Student"]
    # The refused token was dropped and a fresh one tried once before giving up.
    assert len(vle_server.token_requests) == 2 and len(vle_server.nrps_requests) == 2
    assert "class list of context" in log_records.text


def test_token_refused_for_the_nrps_scope_is_a_plain_message(client, vle, vle_server, db):
    # Moodle with the service switched off refuses the scope at its token endpoint.
    vle_server.token_status, vle_server.token_error = 400, "invalid_scope"
    lecturer = launch(client, vle, vle_server, sub="3", role="Instructor")
    page = client.get(f"/c/{lecturer}/course")
    assert page.status_code == 200
    assert "IMS LTI Names and Role Provisioning" in page.get_data(as_text=True)
    assert vle_server.nrps_requests == []


def test_refresh_that_fails_says_why(client, vle, vle_server, db):
    lecturer = launch(client, vle, vle_server, sub="3", role="Instructor")
    view = client.get(f"/c/{lecturer}/course").get_data(as_text=True)
    vle_server.nrps_status = 503
    vle_server.tokens.clear()
    refreshed = client.post(f"/c/{lecturer}/course/refresh", data={"csrf_token": csrf(view)},
                            follow_redirects=True)
    html = refreshed.get_data(as_text=True)
    assert refreshed.status_code == 200
    assert "could not be fetched from your learning environment just now" in html
    assert "Nina Never" in html  # the cached list is still shown


def test_platform_without_nrps_says_so(client, vle, vle_server, db):
    lecturer = launch(client, vle, vle_server, sub="3", role="Instructor", nrps=False)
    html = client.get(f"/c/{lecturer}/course").get_data(as_text=True)
    assert "did not offer the class list" in html
    assert vle_server.recorded == []


def test_next_page_on_another_site_is_not_followed(client, vle, vle_server, db):
    # The bearer token must never travel to a host the Link header names.
    vle_server.next_link_override = "http://127.0.0.2:9/steal"
    lecturer = launch(client, vle, vle_server, sub="3", role="Instructor")
    html = client.get(f"/c/{lecturer}/course").get_data(as_text=True)
    assert len(vle_server.nrps_requests) == 1
    assert students_listed(html) == ["Sam Student"]  # page 1: Tina (staff) and Sam
