"""The accessibility statement is a page of the tool, linked from every page's footer."""

from __future__ import annotations


def test_statement_is_served_and_linked_from_the_footer(client):
    page = client.get("/accessibility")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>Accessibility statement" in html and "WCAG 2.2" in html
    assert "<!--" not in html  # the template's authoring comments are not shown
    for path in ("/", "/accessibility", "/no-such-page"):
        assert 'href="/accessibility">Accessibility statement</a>' in \
            client.get(path).get_data(as_text=True)
