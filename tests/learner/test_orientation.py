"""What orients a student without JavaScript: feedback headlines and the #feedback target,
numbered question titles, linked steps, "What to revisit" links to read-only pages, the
modules of the course on the profile, and an evidence record with framework names."""

from __future__ import annotations

import re

import pytest

from ..player import answer, begin, submit, take_all
from .test_record_views import launch

Q1, Q2 = 2, 4  # player steps of the fixture module's first two questions (both untitled)


@pytest.fixture
def module(fx_module):
    return fx_module


def test_feedback_headline_is_the_redirects_target_and_missed_answers_stand_apart(
        client, moodle, module):
    launch_id = launch(client, moodle)
    begin(client, launch_id)
    page = client.get(f"/l/{launch_id}/step/{Q1}").get_data(as_text=True)
    assert "<h1>Question 1</h1>" in page and "<title>Question 1 ·" in page

    wrong = answer(client, launch_id, Q1, {"choice": "b"})
    assert wrong.status_code == 302 and wrong.headers["Location"].endswith(f"/step/{Q1}#feedback")
    html = client.get(f"/l/{launch_id}/step/{Q1}").get_data(as_text=True)
    target = re.search(r'<div class="feedback-summary ([\w-]+)"\s+id="feedback" tabindex="-1"', html)
    assert target and target.group(1) == "feedback-wrong"
    assert re.search(r'id="feedback-headline">Not quite\.</h2>', html)
    assert "You scored 0 out of 1." in html

    # Two of three right answers: partly right; the one missed is styled apart from the picks.
    answer(client, launch_id, Q2, {"choice": ["a", "b"]})
    html = client.get(f"/l/{launch_id}/step/{Q2}").get_data(as_text=True)
    assert re.search(r'id="feedback-headline">Partly right\.</h2>', html)
    assert html.count('class="option is-correct"') == 2
    missed = re.findall(r'class="option is-missed">.*?</div>\s*</div>', html, re.S)
    assert len(missed) == 1 and 'value="c"' in missed[0]
    assert "A right answer you did not choose." in missed[0]
    assert "<h1>Question 2</h1>" in html

    # Answered steps stay linked in the progress list, marked done.
    progress = html.split('class="step-list"', 1)[1].split("</ol>", 1)[0]
    assert f'href="/l/{launch_id}/step/{Q1}"' in progress
    assert "Question 1</a> <span class=\"step-done\">(done)</span>" in progress


def test_what_to_revisit_links_to_read_only_pages_of_the_submitted_attempt(
        client, moodle, module):
    launch_id = launch(client, moodle)
    assert client.get(f"/l/{launch_id}/attempts/1/step/{Q1}").status_code == 404  # none yet
    begin(client, launch_id)
    take_all(client, launch_id, module, {"q1": "b"})
    submit(client, launch_id)
    summary = client.get(f"/l/{launch_id}/attempts/1").get_data(as_text=True)
    revisit = summary.split('<ul class="revisit">', 1)[1].split("</ul>", 1)[0]
    links = re.findall(r'href="([^"]+)"', revisit)
    assert links[:2] == [f"/l/{launch_id}/attempts/1/step/{Q1}", f"/l/{launch_id}/attempts/1/step/1"]
    assert ">Question 1</a>" in revisit

    page = client.get(links[0])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "From your submitted attempt 1" in html and "Not quite." in html
    assert "Check my answer" not in html and 'method="post"' not in html
    assert client.get(links[1]).status_code == 200
    assert client.get(f"/l/{launch_id}/attempts/1/step/0").status_code == 404  # ratings
    assert client.get(f"/l/{launch_id}/attempts/2/step/{Q1}").status_code == 404


def test_profile_lists_the_courses_modules_and_evidence_names_frameworks(
        client, moodle, module):
    launch_id = launch(client, moodle)
    profile = client.get(f"/l/{launch_id}/profile").get_data(as_text=True)
    assert re.search(r'<span class="tag">Not started</span>\s*<a href="/l/' + launch_id, profile)
    begin(client, launch_id)
    take_all(client, launch_id, module)
    submit(client, launch_id)
    profile = client.get(f"/l/{launch_id}/profile").get_data(as_text=True)
    assert re.search(r'<span class="tag">Done</span>\s*<a href="/l/' + launch_id, profile)
    assert "1 of 1 done." in profile

    evidence = client.get(f"/l/{launch_id}/evidence").get_data(as_text=True)
    assert re.search(r"Digital Capabilities Statement for Social Workers</strong>:\s*"
                     r"R4 Online safeguarding; R3 Ethical decision-making", evidence)
    assert re.search(r"Subject Benchmark Statement: Social Work</strong>:\s*"
                     r"Using ICT with people who use services</li>", evidence)
    assert "dcs-2020" not in evidence and "qaa-sbs-sw-2019" not in evidence
    assert "Professional Capabilities Framework for Social Work in England" in evidence
    assert "onclick" not in evidence and "data-print" in evidence  # works under a strict CSP
    assert "Record made" in evidence and "Confidence before → after" in evidence


def test_unknown_address_gets_the_tools_own_not_found_page(client):
    page = client.get("/no/such/page")
    html = page.get_data(as_text=True)
    assert page.status_code == 404
    assert "<h1>Page not found</h1>" in html and "open the activity from the course" in html
    assert "requested URL was not found" not in html  # werkzeug's stock words
