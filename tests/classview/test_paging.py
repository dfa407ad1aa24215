"""The class view shows a page of students at a time; the summary row and the CSV cover everyone."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from lti_tool.attempts.profile import mastery_of, mastery_totals, plan_of, scope_versions
from lti_tool.classview import routes
from lti_tool.classview import services as classview
from lti_tool.models import Context, Launch, LtiUser, ResourceLink

from .seed import seed_students
from .test_class_glance import names
from .vle import launch

PAGE = 3


@pytest.fixture
def seven(app, vle, vle_server, library, db, monkeypatch):
    """Seven seeded students (every other one's reflections marked), pages of three."""
    monkeypatch.setattr(routes, "CLASS_PAGE", PAGE)
    lecturer = app.test_client()
    for link in ("p1", "r4"):
        launch_id = launch(lecturer, vle, vle_server, sub="3", link=link, role="Instructor")
    context = db.scalar(select(Context))
    links = list(db.scalars(select(ResourceLink).order_by(ResourceLink.id)))
    marker = db.scalar(select(LtiUser).where(LtiUser.sub == "3"))
    seed_students(db, library, context, links, range(7), marker=marker)
    return lecturer, launch_id


def test_pages_split_the_class_and_the_summary_counts_everyone(seven):
    client, launch_id = seven
    first = client.get(f"/c/{launch_id}/course").get_data(as_text=True)
    shown = names(first)
    assert len(shown) == PAGE
    summary = first.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    assert "7 started, 7 submitted" in summary
    pages = int(re.search(r"page 1 of (\d+)", first).group(1))
    seen = list(shown)
    for page in range(2, pages + 1):
        html = client.get(f"/c/{launch_id}/course?page={page}").get_data(as_text=True)
        # The same whole-class row on every page.
        assert html.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0] == summary
        seen += names(html)
    assert len(seen) == len(set(seen)) > 7  # the class list's learners and the seeded ones
    assert f"Whole class <span class=\"student-facts\">{len(seen)} students" in summary
    assert seen == sorted(seen, key=lambda n: (n.split()[-1].lower(), n.lower()))
    # A page past the end shows the last; the CSV has everyone, whatever the page.
    last = client.get(f"/c/{launch_id}/course?page=99").get_data(as_text=True)
    assert names(last) == seen[(pages - 1) * PAGE:]
    table = list(csv.DictReader(io.StringIO(
        client.get(f"/c/{launch_id}/course/export.csv").get_data(as_text=True))))
    assert sorted(row["Name"] for row in table) == sorted(seen)


def test_filters_and_sorting_carry_across_pages(seven):
    client, launch_id = seven
    html = client.get(f"/c/{launch_id}/course?show=waiting&sort=completion")\
        .get_data(as_text=True)
    # Odd-numbered students had their reflections marked; the even ones' wait.
    assert "waiting for marking: 4 of" in html and len(names(html)) == PAGE
    after = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "show=waiting" in after and "sort=completion" in after and "page=2" in after
    rest = names(client.get(after).get_data(as_text=True))
    assert len(rest) == 1 and rest[0] not in names(html)


def test_summary_means_are_those_of_every_students_own_figures(seven, library, db):
    _, launch_id = seven
    scope = classview.class_scope(db, db.get(Launch, launch_id), "course")
    students = classview.class_students(db, library, scope, [])
    summary = classview.summary(db, library, scope, students)
    totals = mastery_totals(db, scope.link_ids, scope.counting,
                            scope_versions(db, library, scope.link_ids))
    by_domain: dict[str, list[float]] = {}
    for student in students:
        for domain in mastery_of(plan_of(library), totals.get(student.user_id, {})).domains:
            if domain.percent is not None:
                by_domain.setdefault(domain.id, []).append(domain.percent)
    assert by_domain and summary.domains.keys() == by_domain.keys()
    for domain, values in by_domain.items():
        assert summary.domains[domain] == pytest.approx(sum(values) / len(values), abs=1e-9)
