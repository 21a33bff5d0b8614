"""The Phụ lục 4 results report, rendered from a signed results JSON and nothing else.

One Jinja environment serves the web print view and `counter tally --html`, so the paper
the board signs and the file they archive come from the same template and figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from counter.profiles import QD96, ProfileWording, wording_for
from shared.glossary import LEVEL_COLUMNS, LEVELS
from shared.vn_format import vn_number

TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html"]))
_ENV.filters["vn_number"] = vn_number


@dataclass(frozen=True)
class LevelCell:
    """Count and percentage of one level for one person, as printed."""

    count: int
    percent: str


@dataclass(frozen=True)
class ReportRow:
    """One person's row of the "Kết quả kiểm phiếu" table."""

    number: int
    name: str
    position_unit: str
    valid: int
    cells: list[LevelCell]
    band_label: str


@dataclass(frozen=True)
class CountTime:
    """A counted_from/counted_to stamp split for "... giờ ... phút, ngày ..."."""

    hour: str
    minute: str
    day: str


def vn_decimal(value: str) -> str:
    """Two-decimal figure with the Vietnamese decimal comma ("40.43" -> "40,43")."""
    try:
        return f"{Decimal(value):.2f}".replace(".", ",")
    except InvalidOperation:
        return str(value)


def vn_date(iso: str) -> str:
    """"2026-11-27" -> "ngày 27 tháng 11 năm 2026", as on the seed's forms."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def day_month_year(iso: str) -> str:
    """"2026-11-27" -> "27/11/2026", the way dates are written on screen."""
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def count_time(stamp: str) -> CountTime:
    """Split "HH:MM DD/MM/YYYY" (counter.counting.time_stamp); unknown shapes kept whole."""
    clock, _, day = stamp.partition(" ")
    hour, _, minute = clock.partition(":")
    if not (hour.isdigit() and minute.isdigit()):
        return CountTime(stamp, "", "")
    return CountTime(hour, minute, day)


def meeting_phrase(title: str, wording: ProfileWording = QD96) -> str:
    """"Tại hội nghị (kỳ họp) ...": avoid "hội nghị Hội nghị" when the title already says it."""
    lowered = title.lower()
    if lowered.startswith(wording.meeting_words):
        return "Tại " + title[:1].lower() + title[1:]
    return f"{wording.meeting_prefix} {title}"


def _clock(moment: CountTime) -> str:
    return f"{moment.hour} giờ {moment.minute} phút" if moment.minute else moment.hour


def _forms(document: dict[str, Any]) -> dict[str, Any] | None:
    forms = document.get("forms")
    return forms if isinstance(forms, dict) else None


def counting_paragraph(document: dict[str, Any], members: list[str], persons: int,
                       wording: ProfileWording = QD96) -> str:
    """The opening paragraph of Phụ lục 4, filled in: who counted, when, where, for whom.

    "do … giao", "của …" and "đối với …" are the election's own words (the manifest's
    "forms"); a results file made without them uses the rule profile's wording.
    """
    forms = _forms(document) or {}
    assigned_by = str(forms.get("assigned_by") or wording.assigned_by)
    ballot_of = str(forms.get("ballot_of") or wording.voters)
    ballot_for = str(forms.get("ballot_for") or f"{persons} đồng chí được lấy phiếu tín nhiệm")
    start, end = count_time(str(document["counted_from"])), count_time(str(document["counted_to"]))
    # A count that runs past midnight names both dates; otherwise the form's single date.
    when = (f"từ {_clock(start)} đến {_clock(end)}, ngày {end.day}" if start.day == end.day
            else f"từ {_clock(start)} ngày {start.day} đến {_clock(end)} ngày {end.day}")
    head = members[0] if members else "…"
    return (f"Thực hiện nhiệm vụ do {assigned_by} giao, {when}, tại {document['place']}, "
            f"Ban Kiểm phiếu gồm {len(members)} đồng chí, do đồng chí {head} làm Trưởng Ban "
            f"đã tiến hành kiểm phiếu tín nhiệm của {ballot_of} đối với {ballot_for}; "
            "kết quả cụ thể như sau:")


def count_day(document: dict[str, Any]) -> str:
    """The ISO date the count ran (its end, from counted_to); the meeting date if unreadable.

    Phụ lục 4's date line dates the report, which the board signs when the count is done.
    """
    stamp = str(document.get("counted_to", ""))
    for shape in ("%H:%M %d/%m/%Y", "%Y-%m-%d %H:%M"):  # counter.counting.time_stamp; the golden file's
        try:
            return datetime.strptime(stamp, shape).date().isoformat()
        except ValueError:
            continue
    return str(document["date"])


def place_date(document: dict[str, Any]) -> str:
    """"Hà Giang, ngày 02 tháng 12 năm 2026": the locality (not the hall) and the day of the count.

    A results file made without the form wording names the meeting place, as before; one
    whose locality was left empty keeps the form's dots, to be written in by hand.
    """
    forms = _forms(document)
    locality = str(document["place"]) if forms is None else str(forms.get("locality") or "……")
    return f"{locality}, {vn_date(count_day(document))}"


def slips_note(document: dict[str, Any]) -> str:
    """Why "Số phiếu phát ra" is above those present and above the ballots collected; "" if it is not.

    Each voter present got one slip, one more for each spoiled slip handed back (voided);
    a slip handed back by someone who left before the vote was voided too, and a slip never
    used was voided at close. Derived from the report's own figures, so it cannot disagree.
    """
    issued, present = int(document["ballots_issued"]), int(document["present"])
    at_vote, collected = int(document["present_at_vote"]), int(document["ballots_collected"])
    replaced, left, unused = issued - present, present - at_vote, at_vote - collected
    if min(replaced, left, unused) < 0 or issued == collected:
        return ""
    parts = [f"{vn_number(present)} phiếu phát cho người có mặt"]
    if replaced:
        parts.append(f"{vn_number(replaced)} phiếu phát thay phiếu hỏng")
    gone = []
    if replaced:
        gone.append(f"{vn_number(replaced)} phiếu hỏng đã thu lại và hủy")
    if left:
        gone.append(f"{vn_number(left)} phiếu của người rời hội nghị trước thời điểm bỏ phiếu, đã thu lại và hủy")
    if unused:
        gone.append(f"{vn_number(unused)} phiếu không được dùng, đã hủy khi kết thúc bỏ phiếu")
    return (f"Số phiếu phát ra ({vn_number(issued)}) gồm " + " và ".join(parts) + "; "
            f"{vn_number(issued - collected)} phiếu không thu về gồm " + "; ".join(gone) + ".")


def report_rows(document: dict[str, Any]) -> list[ReportRow]:
    """The table rows; band wording per rule profile, empty when no band applies."""
    wording = wording_for(document.get("profile"))
    rows = []
    for person in document["persons"]:
        position_unit = ", ".join(p for p in (person.get("position", ""), person.get("unit", "")) if p)
        rows.append(ReportRow(
            number=int(person["number"]), name=str(person["name"]), position_unit=position_unit,
            valid=int(person["valid"]),
            cells=[LevelCell(int(person[level]), vn_decimal(str(person["pct_" + level])))
                   for level in LEVELS],
            band_label=wording.band_label(person.get("band")),
        ))
    return rows


def attendance_lines(document: dict[str, Any], wording: ProfileWording = QD96
                     ) -> tuple[str, list[str]]:
    """Part 1 of Phụ lục 4: the total convened, then the dash lines (present ... collected)."""
    unit = wording.people_unit
    def n(key: str) -> str:
        return vn_number(int(document[key]))

    total = f"{wording.total}: {n('convened')} {unit}."
    return total, [
        f"{wording.present}: {n('present')} {unit}.",
        f"{wording.absent}: {n('absent')} {unit}.",
        f"{wording.present_at_vote}: {n('present_at_vote')} {unit}.",
        f"Số phiếu phát ra: {n('ballots_issued')} phiếu.",
        f"Số phiếu thu về: {n('ballots_collected')} phiếu.",
    ]


def report_context(document: dict[str, Any]) -> dict[str, Any]:
    """Everything report.html shows, from the results JSON."""
    members = [str(m) for m in document.get("board_members", [])]
    rows = report_rows(document)
    wording = wording_for(document.get("profile"))
    total_line, count_lines = attendance_lines(document, wording)
    return {
        "doc": document,
        "rows": rows,
        "wording": wording,
        "total_line": total_line,
        "count_lines": count_lines,
        "paragraph": counting_paragraph(document, members, len(rows), wording),
        "level_columns": [LEVEL_COLUMNS[level] for level in LEVELS],
        "meeting": meeting_phrase(str(document["title"]), wording),
        "report_date": vn_date(count_day(document)),
        "place_date": place_date(document),
        "slips_note": slips_note(document),
        "members": members,
        "head": members[0] if members else "",
        "signer_key": (document.get("signature") or {}).get("public_key", ""),
    }


def stylesheet_text() -> str:
    """counter.css, for a report file that must print correctly without the web server."""
    return resources.files("counter").joinpath("static/counter.css").read_text(encoding="utf-8")


def render_report(document: dict[str, Any], stylesheet_href: str | None = None,
                  embed_stylesheet: bool = False, links: dict[str, Any] | None = None) -> str:
    """report.html for a results JSON: linked CSS for the web, embedded for a standalone file."""
    return _ENV.get_template("report.html").render(
        **report_context(document),
        stylesheet_href=stylesheet_href,
        # Only the offline file embeds the CSS; the web app serves it from /static under CSP.
        embedded_css=stylesheet_text() if embed_stylesheet else None,
        links=links or {},
    )
