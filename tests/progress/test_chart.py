"""The SVG chart and its table rows: structure, accessibility, escaping and colour contrast."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from lti_tool.content import Framework, FrameworkItem
from lti_tool.progress import BAND_COLOURS, capability_profile, chart_title, profile_chart_svg, profile_table_rows
from lti_tool.progress.chart import BACKGROUND, BAR_W, MUTED, TEXT, TRACK

from .helpers import attempt

SVG = "{http://www.w3.org/2000/svg}"
ATTEMPTS = [attempt("a", {"R4": (3, 4), "R1": (1, 2)}), attempt("b", {"R4": (5, 6), "I1": (0, 3)})]


def parse(svg: str) -> ET.Element:
    """Parse as XML: proves the string is well-formed (escaping included)."""
    return ET.fromstring(svg)


def test_element_chart_has_title_desc_and_one_row_per_element(frameworks):
    p = capability_profile(ATTEMPTS, [], frameworks, {})
    svg = profile_chart_svg(p, by="element")
    root = parse(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert (title.get("id"), desc.get("id")) == (title_id, desc_id)
    assert title.text == "Digital Capabilities Statement for Social Workers: mastery by element"
    rows = root.findall(f"{SVG}g[@class='row']")
    assert [g.get("data-id") for g in rows] == ["P1", "P2", "P3", "P4", "P5", "R1", "R2", "R3", "R4", "R5", "I1", "I2"]
    # A bar for each evidenced element (R1, R4, I1), a track for every element.
    bars = {g.get("data-id"): g.find(f"{SVG}rect[@class='bar']") for g in rows}
    assert sorted(k for k, b in bars.items() if b is not None) == ["I1", "R1", "R4"]
    assert len(root.findall(f".//{SVG}rect[@class='track']")) == 12
    # Bar length on the BAR_W-unit scale: R4 8/10 = 80%; R1 1/2 = 50%; I1 0/3 -> 0.
    assert [float(bars[k].get("width")) for k in ("R4", "R1", "I1")] == [
        round(BAR_W * 0.8, 1), round(BAR_W * 0.5, 1), 0.0]
    # Values are written as text, band included, so colour is never the only cue.
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "80% Proficient" in texts and "50% Capable" in texts and "0% Developing" in texts
    assert texts.count("No evidence yet") == 9
    assert "Practice" in texts and "R4 Online safeguarding" in texts
    assert "R4 Online safeguarding: 80% Proficient" in desc.text
    assert "Capable 50% to 79%" in desc.text


def test_no_script_and_no_event_handlers(frameworks):
    svg = profile_chart_svg(capability_profile(ATTEMPTS, [], frameworks, {}))
    assert "<script" not in svg.lower()
    assert not re.search(r"\son\w+\s*=", svg)
    assert "style=" not in svg  # presentation attributes only: a strict CSP cannot break the chart


def test_domain_and_crosswalk_charts(frameworks):
    p = capability_profile(ATTEMPTS, [], frameworks, {})
    root = parse(profile_chart_svg(p, by="domain"))
    assert [g.get("data-id") for g in root.iter(f"{SVG}g")] == ["purpose", "practice", "impact"]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    # Practice: R4 8/10 + R1 1/2 = 9/12 = 75%; Impact: I1 0/3 = 0%
    assert "75% Capable" in texts and "0% Developing" in texts
    pcf = parse(profile_chart_svg(p, by="pcf-2018"))
    assert len(pcf.findall(f"{SVG}g")) == 9
    assert pcf.find(f"{SVG}title").text.startswith("Professional Capabilities Framework")
    with pytest.raises(ValueError):
        profile_chart_svg(p, by="qaa-sbs-sw-2019")


def test_table_rows_hold_the_same_values_as_the_chart(frameworks):
    p = capability_profile(ATTEMPTS, [], frameworks, {})
    rows = profile_table_rows(p, by="element")
    svg_texts = [t.text for t in parse(profile_chart_svg(p)).iter(f"{SVG}text")]
    for row in rows:
        assert row.label in svg_texts and row.value_text in svg_texts
    r4 = next(r for r in rows if r.id == "R4")
    assert (r4.group, r4.percent_text, r4.band, r4.points_text) == ("Practice", "80%", "Proficient", "8 of 10")
    p1 = rows[0]
    assert (p1.id, p1.percent, p1.percent_text, p1.points_text, p1.band) == ("P1", None, "No evidence yet", "", None)
    domain_rows = profile_table_rows(p, by="domain")
    assert [(r.label, r.points_text) for r in domain_rows] == [("Purpose", ""), ("Practice", "9 of 12"),
                                                               ("Impact", "0 of 3")]
    assert domain_rows[0].group is None and domain_rows[1].confidence_change is None
    assert chart_title(p, "domain").endswith("mastery by domain")


def test_text_from_data_is_escaped():
    nasty = 'Safe <script>alert("x")</script> & more'
    fw = Framework("dcs-2020", "Caps & <b>bold</b>", "", "2020", "capability",
                   (FrameworkItem("d1", "Domain <i>one</i>"),),
                   (FrameworkItem("E1", nasty, "", "d1"),), (), {})
    p = capability_profile([attempt("a", {"E1": (1, 2)})], [], {"dcs-2020": fw}, {}, crosswalk_targets=())
    svg = profile_chart_svg(p, id_prefix='x" onload="alert(1)')
    root = parse(svg)  # would fail on a raw '<' or '&'
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "&lt;script&gt;" in svg and "Caps &amp; &lt;b&gt;bold&lt;/b&gt;" in svg
    assert root.find(f"{SVG}title").text == "Caps & <b>bold</b>: mastery by element"
    assert f"E1 {nasty}" in [t.text for t in root.iter(f"{SVG}text")]
    assert root.get("aria-labelledby") == "x--onload--alert-1--title x--onload--alert-1--desc"
    assert not re.search(r"\son\w+\s*=", svg)


def test_pending_values_are_marked_and_explained(frameworks):
    p = capability_profile([attempt("a", {"R4": (4, 5)}, pending=True)], [], frameworks, {})
    root = parse(profile_chart_svg(p))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "80% Proficient *" in texts
    assert any(t.startswith("* Some marking is still pending") for t in texts)
    assert "R4 Online safeguarding: 80% Proficient (some marking pending)" in root.find(f"{SVG}desc").text


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_colours_meet_wcag_aa():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)  # the formula itself
    assert contrast(TEXT, BACKGROUND) >= 4.5
    assert contrast(MUTED, BACKGROUND) >= 4.5  # axis labels are text
    for colour in BAND_COLOURS.values():
        assert contrast(colour, BACKGROUND) >= 4.5  # bar on the chart's white
        assert contrast(colour, TRACK) >= 3.0  # bar against its grey track (non-text contrast)
