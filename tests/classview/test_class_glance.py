"""The lecturer's class at a glance: filters by query string, the summary row, the landing
page's counts, and next/previous through the marking queue."""

from __future__ import annotations

import re

from .test_classview import class_taken, row_of  # noqa: F401  (class_taken is a fixture)


def names(html: str) -> list[str]:
    """The students listed in the heat map, in order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [n.strip() for n in re.findall(r'<th scope="row">(?:<a [^>]*>)?([^<]+)', body)]


def test_filters_work_from_the_query_string_and_the_summary_counts_everyone(
        class_taken, library):  # noqa: F811
    client, lecturer = class_taken
    html = client.get(f"/c/{lecturer}/link").get_data(as_text=True)
    everyone = names(html)
    assert {"Sam Student", "Sally Scholar", "Nina Never", "Omar Absent"} <= set(everyone)
    # Status next to the name: both reflections wait for marks.
    sam = re.search(r'<th scope="row"><a [^>]*>Sam Student</a>.*?</th>', html, re.S).group(0)
    assert "Waiting for marking" in sam
    summary = html.split("<tfoot>", 1)[1]
    assert f"{len(everyone)} students" in summary
    assert "2 started, 2 submitted, 1 passed" in summary  # Sam: 71% before his reflection
    assert "mean " in summary  # the Practice domain's mean over Sam (90.9%) and Sally (36.4%)
    assert "mean 63%" in summary
    assert 'href="/c/%s/link?show=waiting">waiting for marking (2)</a>' % lecturer in html

    waiting = client.get(f"/c/{lecturer}/link?show=waiting").get_data(as_text=True)
    assert sorted(names(waiting)) == ["Sally Scholar", "Sam Student"]
    assert "waiting for marking: 2 of" in waiting
    not_started = client.get(f"/c/{lecturer}/link?show=not-started").get_data(as_text=True)
    assert "Sam Student" not in names(not_started) and "Nina Never" in names(not_started)
    # r4's pass mark is above Sally's 4 of 14 (29%) and below Sam's 10 of 14 (71%).
    assert library.get("r4-frozen").pass_mark in range(30, 72)
    below = client.get(f"/c/{lecturer}/link?show=below").get_data(as_text=True)
    assert names(below) == ["Sally Scholar"]
    by_activity = client.get(f"/c/{lecturer}/link?sort=activity").get_data(as_text=True)
    assert names(by_activity)[:2] == ["Sally Scholar", "Sam Student"]  # latest first
    # Anything else in the query string is ignored, not an error.
    assert names(client.get(f"/c/{lecturer}/link?show=x&sort=y").get_data(as_text=True)) == \
        everyone


def test_landing_page_counts_link_to_the_class_and_marking_is_a_queue(class_taken):  # noqa: F811
    client, lecturer = class_taken
    landing = client.get(f"/launch/{lecturer}").get_data(as_text=True)
    glance = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", landing.split('class="glance"', 1)[1]
                                        .split("</ul>", 1)[0]))
    assert "2 students started" in glance and "2 submitted" in glance
    assert "2 waiting for marking" in glance
    assert "verified and recorded" not in landing

    queue = client.get(f"/c/{lecturer}/marking?scope=link").get_data(as_text=True)
    marks = re.findall(r'href="(/c/[^"]+/marking/\d+\?scope=link)"', queue)
    assert len(marks) == 2
    first = client.get(marks[0]).get_data(as_text=True)
    assert "Reflection 1 of 2 waiting for marks." in first
    assert f'href="{marks[1]}">Next in the queue</a>' in first
    assert "Previous in the queue" not in first
    second = client.get(marks[1]).get_data(as_text=True)
    assert f'href="{marks[0]}">Previous in the queue</a>' in second
    # The rubric's scale, in words: r4's four criteria, 0 to 1 each, scaled to its 3 points.
    assert re.search(r"4 criteria,\s+0 to 1 each, adding up to 4\.\s+That total is scaled to "
                     r"the 3 points", first)
