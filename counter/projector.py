"""The room screen: per person one horizontal stacked bar of the three levels, drawn as SVG
on the server from the signed results (no chart library; CSP stays strict). The one script,
static/projector.js, only pages the list when it is taller than the screen.

Each bar spans the ballots collected (N), the denominator of every percentage, so rows
that were invalid show as a grey part and the three coloured parts keep the printed
percentages' proportions. The low-confidence part is drawn from the right end, with
marks at 1/2 and 2/3 of N: a red part that crosses a mark is in that band, visibly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, render_template, url_for

from counter.pages import trusted_results, untrusted_page
from counter.profiles import wording_for
from counter.report import meeting_phrase, vn_decimal
from shared.glossary import LEVEL_LABELS

bp = Blueprint("projector", __name__)

# SVG user units: the bar is drawn on a 1000-unit-wide canvas and scaled to the screen.
BAR_WIDTH = 1000
# A segment narrower than this has no room for its percentage inside; it is in the legend.
MIN_LABEL_WIDTH = 170  # "14,29%" in bold at font-size 34 is about 150 units wide
# Dark fills under white text: contrast above 7:1, and distinct without colour vision
# because each part is also labelled and the order never changes.
FILLS = {"high": "#1b5e20", "trust": "#0d47a1", "invalid": "#757575", "low": "#b71c1c"}
INVALID_LABEL = "Không hợp lệ"
# When the persons do not fit one screen, projector.js shows them a screenful at a time.
PAGE_SECONDS = 12


@dataclass(frozen=True)
class Segment:
    """One coloured part of a bar, in SVG user units."""

    level: str
    label: str
    count: int
    percent: str      # as printed, decimal comma; "" for the invalid part
    x: int
    width: int
    fill: str

    @property
    def text_x(self) -> int:
        """Horizontal centre of the segment, where its label sits."""
        return self.x + self.width // 2

    @property
    def labelled(self) -> bool:
        """True if the percentage fits inside the segment."""
        return self.width >= MIN_LABEL_WIDTH


@dataclass(frozen=True)
class Mark:
    """A band threshold drawn across the bar (1/2 or 2/3 of N, measured from the right)."""

    label: str
    x: int


@dataclass(frozen=True)
class PersonBar:
    """One person's row on the screen."""

    number: int
    name: str
    position_unit: str
    collected: int
    segments: list[Segment]
    band: str | None
    band_label: str

    @property
    def figures(self) -> list[Segment]:
        """The three levels, for the legend under the bar (the invalid part is not a level)."""
        return [s for s in self.segments if s.level != "invalid"]

    @property
    def summary(self) -> str:
        """What the bar shows, as a sentence for screen readers."""
        parts = ", ".join(f"{s.label} {s.count} phiếu ({s.percent}%)" for s in self.figures)
        return f"{self.name}: {parts}."


def _position(count: int, collected: int) -> int:
    """Where count/N falls on the bar, in whole SVG units (integer arithmetic, no floats)."""
    return count * BAR_WIDTH // collected if collected else 0


def threshold_marks() -> list[Mark]:
    """The two band thresholds, measured from the right end where the low part starts."""
    return [Mark("1/2", BAR_WIDTH - BAR_WIDTH // 2), Mark("2/3", BAR_WIDTH - 2 * BAR_WIDTH // 3)]


def person_bar(person: dict[str, Any], collected: int, band_label: str) -> PersonBar:
    """The bar of one person of a signed results document."""
    high, trust, low = int(person["high"]), int(person["trust"]), int(person["low"])
    invalid = max(collected - high - trust - low, 0)
    parts = (("high", high), ("trust", trust), ("invalid", invalid), ("low", low))
    segments = []
    running = 0
    # Edges from running totals, so rounding never leaves a gap or an overlap between parts.
    for level, count in parts:
        start = _position(running, collected)
        running += count
        end = _position(running, collected)  # the last edge is N: the low part ends at the right
        segments.append(Segment(
            level=level, label=LEVEL_LABELS.get(level, INVALID_LABEL), count=count,
            percent=vn_decimal(str(person["pct_" + level])) if level != "invalid" else "",
            x=start, width=end - start, fill=FILLS[level]))
    return PersonBar(number=int(person["number"]), name=str(person["name"]),
                     position_unit=", ".join(p for p in (person.get("position", ""),
                                                         person.get("unit", "")) if p),
                     collected=collected, segments=segments, band=person.get("band"),
                     band_label=band_label)


def projector_bars(document: dict[str, Any]) -> list[PersonBar]:
    """Every person's bar, in ballot order, from the signed results."""
    wording = wording_for(document.get("profile"))
    collected = int(document["ballots_collected"])
    return [person_bar(p, collected, wording.band_label(p.get("band")))
            for p in document["persons"]]


@bp.get("/boxes/<election_id>/projector")
def screen(election_id: str) -> Response | tuple[str, int]:
    """The results for the room's projector."""
    document = trusted_results(election_id)
    if document is None:
        return untrusted_page()
    return projector_page(document, url_for("board.report", election_id=election_id))


def projector_page(document: dict[str, Any], report_url: str) -> Response:
    """The room screen for one signed results document (electronic or paper count)."""
    html = render_template(
        "projector.html", doc=document, bars=projector_bars(document), marks=threshold_marks(),
        bar_width=BAR_WIDTH, fills=FILLS, invalid_label=INVALID_LABEL,
        meeting=meeting_phrase(str(document["title"]), wording_for(document.get("profile"))),
        report_url=report_url, page_seconds=PAGE_SECONDS)
    return Response(html, mimetype="text/html")
