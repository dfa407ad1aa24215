"""Line items: the launch's, else found in the platform's list, else created once."""

from __future__ import annotations

from lti_tool.grades.ags import scores_url
from lti_tool.models import DeliveryStatus, LineItemLink

from .conftest import MODULE, make_course


def test_scores_url_keeps_moodles_query_string():
    url = "http://127.0.0.1:8080/mod/lti/services.php/2/lineitems/2/lineitem?type_id=1"
    assert scores_url(url) == \
        "http://127.0.0.1:8080/mod/lti/services.php/2/lineitems/2/lineitem/scores?type_id=1"
    assert scores_url("https://lms.test/items/7/") == "https://lms.test/items/7/scores"


def test_line_item_is_created_when_the_launch_named_none(app, db, ags, log_records):
    course = make_course(app, db, ags, lineitem=False)
    for sub in ("4", "5", "6"):
        course.queue(course.attempt(course.student(sub), 50.0))
    report = course.deliver()
    assert len(report.delivered) == 3
    [create] = [r for r in ags.requests if r.kind == "lineitem_create"]
    assert create.headers["Content-Type"] == "application/vnd.ims.lis.v2.lineitem+json"
    # The platform may open a grade in the tool (LtiSubmissionReviewRequest), at any stage.
    assert create.json == {"scoreMaximum": 14.0, "label": "Lab LTI Activity",
                           "resourceId": MODULE, "tag": "", "resourceLinkId": "1",
                           "submissionReview": {
                               "reviewableStatus": ["Started", "InProgress", "Submitted",
                                                    "Completed"],
                               "label": "Open in the class view"}}
    assert ags.count("lineitems") == 1  # looked once, created once, reused after
    # The log names the line item the tool created, not "None".
    delivered = [r.getMessage() for r in log_records.records
                 if r.getMessage().startswith("delivered grade")]
    assert len(delivered) == 3 and all("to line item http" in m for m in delivered)
    assert {s["lineitem"] for s in ags.accepted_scores()} == {1}
    assert db.get(LineItemLink, course.link.id).url == ags.lineitem_url(1)


def test_existing_line_item_is_found_by_resource_link_id_over_pages(app, db, ags):
    course = make_course(app, db, ags, lineitem=False, link_id="7")
    for n in range(5):
        ags.add_lineitem(label=f"Other {n}", resourceLinkId=str(100 + n))
    ags.add_lineitem(label="Ours", resourceLinkId="7")
    ags.page_size = 2  # three pages joined by Link: rel="next"
    course.queue(course.attempt(course.student("4"), 50.0))
    assert course.deliver().delivered
    assert ags.count("lineitems") == 3
    assert ags.count("lineitem_create") == 0
    assert [s["lineitem"] for s in ags.accepted_scores()] == [6]


def test_unbound_line_item_with_our_resource_id_is_used(app, db, ags):
    course = make_course(app, db, ags, lineitem=False)
    ags.add_lineitem(label="Made by deep linking", resourceId=MODULE)
    course.queue(course.attempt(course.student("4"), 50.0))
    assert course.deliver().delivered
    assert ags.count("lineitem_create") == 0
    assert [s["lineitem"] for s in ags.accepted_scores()] == [1]


def test_no_grade_service_at_all_is_explained(app, db, ags):
    course = make_course(app, db, ags, lineitem=False)
    course.link.ags_lineitems_url = None
    db.commit()
    course.queue(course.attempt(course.student("4"), 50.0))
    assert course.deliver().failed
    [row] = course.rows()
    assert row.status == DeliveryStatus.FAILED_PERMANENT
    assert "did not offer grade passback" in row.last_error_explanation
    assert "Use this service for grade sync and column management" in \
        row.last_error_explanation
    assert ags.requests == []


def test_line_item_service_failing_is_retried(app, db, ags):
    course = make_course(app, db, ags, lineitem=False)
    ags.fail("lineitems", 500, times=1)
    course.queue(course.attempt(course.student("4"), 50.0))
    assert course.deliver().retrying
    assert db.get(LineItemLink, course.link.id).lease_until is None  # released for others
    assert course.deliver(course.later(7200)).delivered
    assert ags.count("lineitem_create") == 1
