"""Markdown rendering is sanitized by nh3, and package images go through the asset URL."""

from __future__ import annotations

from lti_tool.content import render_markdown
from lti_tool.content.markdown import package_path, page_title


def test_scripts_and_handlers_are_removed():
    html = render_markdown('Hi <script>alert(1)</script><img src="images/a.png" onerror="x()">')
    assert "<script" not in html and "alert(1)" not in html and "onerror" not in html


def test_javascript_links_are_not_links():
    html = render_markdown("[click](javascript:alert(1)) and <a href=\"javascript:x()\">y</a>")
    assert "href=\"javascript" not in html


def test_external_links_get_rel():
    html = render_markdown("[Act](https://www.legislation.gov.uk/ukpga/2023/50)")
    assert html == ('<p><a href="https://www.legislation.gov.uk/ukpga/2023/50" rel="noopener noreferrer">'
                    "Act</a></p>\n")


def test_tables_keep_alignment_only():
    html = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |")
    assert '<th style="text-align:left">a</th>' in html and "<td" in html


def test_images_are_rewritten_and_remote_ones_dropped():
    html = render_markdown("![A chart](images/chart.png) ![Remote](https://evil.example/x.png)",
                           asset_url=lambda p: f"/content/m/1.0.0/{p}")
    assert '<img src="/content/m/1.0.0/images/chart.png" alt="A chart">' in html
    assert "evil.example" not in html


def test_inline_rendering_has_no_paragraph():
    assert render_markdown("*Yes*, because", inline=True) == "<em>Yes</em>, because"


def test_package_path_rejects_escapes():
    assert package_path("images/a.png") == "images/a.png"
    assert package_path("./images/a.png") == "images/a.png"
    for bad in ("../a.png", "images/../../a.png", "/etc/passwd", "https://x/a.png", "C:\\a.png",
                "images%2F..%2F..%2Fa.png", "data:image/png;base64,xx", ""):
        assert package_path(bad) is None, bad


def test_page_title_is_first_h1():
    assert page_title("intro\n\n## Not this\n\n# This one\n\n# Later") == "This one"
    assert page_title("no heading") is None


def test_page_render(good_module):
    page = good_module.pages[1].render(asset_url=lambda p: "/a/" + p)
    assert page["title"] == "Warning signs"
    assert '<img src="/a/images/signs.png" alt="A checklist of four common warning signs">' in page["html"]
    assert good_module.asset_path("images/signs.png").name == "signs.png"
    assert good_module.asset_path("../module.yaml") is None
    assert good_module.asset_path("module.yaml") is None  # only images are served as assets
