"""Server-rendered SVG bar chart of a profile, and the same data as table rows for screen readers."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from .bands import (
    CAPABLE_FROM,
    PROFICIENT_FROM,
    percent_label,
    points_label,
    thresholds_sentence,
)
from .models import ElementMastery, Mastery, Profile

# Colours checked for WCAG 2.2 AA on the white background the chart paints itself: text
# >= 4.5:1, and each bar >= 4.5:1 on white and >= 3:1 on the grey track it sits in (1.4.11).
# The band is also written next to every bar, so colour never carries meaning alone (1.4.1).
BACKGROUND = "#ffffff"
TEXT = "#1a1a1a"
MUTED = "#595959"
TRACK = "#e6e6e6"
BAND_COLOURS = {"Developing": "#a3360b", "Capable": "#0b5394", "Proficient": "#1b6932"}

# Narrow on purpose: on a 375 px phone the chart is drawn about 340 px wide, so its 16-unit
# labels stay at 13 px or more; on wider screens the page caps its width (app.css).
WIDTH = 420
PAD = 12
BAR_W = 230  # 0-100% scale
VALUE_X = PAD + BAR_W + 10
ROW_H = 56
GROUP_H = 36
AXIS_H = 30
LABEL_SIZE = 16
CHAR_EM = 0.54  # a generous average glyph width of the sans-serif faces in FONT
PENDING_MARK = "*"  # beside a value whose evidence includes an attempt awaiting manual marking
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"


@dataclass(frozen=True)
class ChartRow:
    """One bar of the chart and one row of its equivalent table."""

    id: str
    label: str  # 'R4 Online safeguarding' or a domain title
    group: str | None  # the DCS domain an element sits in; None for domain rows
    percent: float | None
    percent_text: str  # '80%' or 'No evidence yet'
    band: str | None
    points: float
    max_points: float
    points_text: str  # '8 of 10' ('' when there is no evidence)
    pending_manual: bool
    confidence_before: float | None = None  # element rows only
    confidence_after: float | None = None
    confidence_change: float | None = None

    @property
    def value_text(self) -> str:
        """'80% Proficient' or 'No evidence yet': what is written beside the bar."""
        return self.percent_text if self.band is None else f"{self.percent_text} {self.band}"


def chart_title(profile: Profile, by: str = "element") -> str:
    """The chart's title (and the caption the table should carry)."""
    if by == "element":
        return f"{profile.framework_title}: mastery by element"
    if by == "domain":
        return f"{profile.framework_title}: mastery by domain"
    if by in profile.crosswalk:
        return f"{profile.crosswalk_titles[by]}: mastery by domain, cross-walked from the {profile.framework_title}"
    raise ValueError(f"by must be 'element', 'domain' or one of {sorted(profile.crosswalk)}, not {by!r}")


def profile_table_rows(profile: Profile, by: str = "element") -> list[ChartRow]:
    """Rows for ``by`` = 'element', 'domain', or a cross-walked framework id such as 'pcf-2018'."""
    chart_title(profile, by)  # validates ``by``
    if by == "element":
        titles = {d.id: d.title for d in profile.domains}
        return [_row(e, titles.get(e.domain, e.domain)) for e in profile.elements]
    return [_row(d, None) for d in (profile.domains if by == "domain" else profile.crosswalk[by])]


def _row(m: Mastery, group: str | None) -> ChartRow:
    conf = m.confidence if isinstance(m, ElementMastery) else None
    return ChartRow(m.id, m.label, group, m.percent, percent_label(m.percent), m.band, m.points, m.max_points,
                    "" if m.percent is None else f"{points_label(m.points)} of {points_label(m.max_points)}",
                    m.pending_manual, conf.before if conf else None, conf.after if conf else None,
                    conf.change if conf else None)


def profile_chart_svg(profile: Profile, by: str = "element", *, id_prefix: str | None = None) -> str:
    """An accessible horizontal bar chart as an SVG string, safe to insert into a page unescaped.

    Pair it with a table of ``profile_table_rows(profile, by)``: the chart's <desc> carries every
    value too, but a table is what screen-reader users can navigate.
    """
    title = chart_title(profile, by)
    rows = profile_table_rows(profile, by)
    prefix = _ident(id_prefix or f"profile-chart-{by}")
    desc = _description(rows)

    body: list[str] = []
    y = PAD + AXIS_H
    group = None
    for row in rows:
        if row.group is not None and row.group != group:
            group = row.group
            body.append(_text(PAD, y + 24, group, weight="bold", size=17, fit=WIDTH - 2 * PAD))
            y += GROUP_H
        body.append(_bar(row, y))
        y += ROW_H
    if any(r.pending_manual for r in rows):
        note = f"{PENDING_MARK} Some marking is still pending: values marked {PENDING_MARK} may rise."
        body.append(_text(PAD, y + 20, note, size=15, fit=WIDTH - 2 * PAD))
        y += GROUP_H
    height = y + PAD
    axis = [  # the scale, with where Capable and Proficient start
        # 100% sits just past the track's end, where it cannot crowd the 80% beside it.
        *(_text(_x(t) + (4 if t == 100 else 0), PAD + 14, f"{t}%", size=15, fill=MUTED,
                anchor="middle" if 0 < t < 100 else "start")
          for t in (0, CAPABLE_FROM, PROFICIENT_FROM, 100)),
    ]
    return "".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" class="profile-chart" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{prefix}-title {prefix}-desc" font-family="{escape(FONT)}">',
        f'<title id="{prefix}-title">{escape(title)}</title>',
        f'<desc id="{prefix}-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="{BACKGROUND}"/>',
        *axis, *body, "</svg>"])


def _description(rows: list[ChartRow]) -> str:
    values = "; ".join(f"{r.label}: {r.value_text}" + (" (some marking pending)" if r.pending_manual else "")
                       for r in rows)
    return f"Percentage of available points earned. {thresholds_sentence()} {values}."


def _bar(row: ChartRow, y: int) -> str:
    parts = [f'<g class="row" data-id="{escape(row.id)}">', _text(PAD, y + 18, row.label, size=LABEL_SIZE,
                                                                  fit=WIDTH - 2 * PAD),
             f'<rect class="track" x="{PAD}" y="{y + 26}" width="{BAR_W}" height="18" fill="{TRACK}"/>']
    if row.percent is not None:
        width = round(BAR_W * row.percent / 100, 1)
        colour = BAND_COLOURS.get(row.band or "", TEXT)
        parts.append(f'<rect class="bar" x="{PAD}" y="{y + 26}" width="{width}" height="18" fill="{colour}"/>')
    # Threshold ticks on the track only, so they never cross the label text.
    parts.extend(f'<line x1="{_x(t)}" y1="{y + 24}" x2="{_x(t)}" y2="{y + 46}" stroke="{MUTED}" stroke-width="1" '
                 f'stroke-dasharray="3 2"/>' for t in (CAPABLE_FROM, PROFICIENT_FROM))
    value = row.value_text + (f" {PENDING_MARK}" if row.pending_manual else "")
    parts.append(_text(VALUE_X, y + 40, value, size=15, weight="bold" if row.band else "normal"))
    parts.append("</g>")
    return "".join(parts)


def _text(x: float, y: float, text: str, *, size: int = 15, weight: str = "normal", fill: str = TEXT,
          anchor: str = "start", fit: float | None = None) -> str:
    # A label likely to run past `fit` units is drawn a little condensed rather than cut off.
    squeeze = (f' textLength="{fit}" lengthAdjust="spacingAndGlyphs"'
               if fit is not None and len(text) * size * CHAR_EM > fit else "")
    return (f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" fill="{fill}" '
            f'text-anchor="{anchor}"{squeeze}>{escape(text)}</text>')


def _x(percent: float) -> float:
    return PAD + BAR_W * percent / 100


def _ident(value: str) -> str:
    # ids end up inside attributes and aria references: keep them to a safe alphabet
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in value)

