"""The report as plain data, built from the signed results document and nothing else.

It wraps counter.report.report_context (what the HTML print view shows), so the PDF,
DOCX, XLSX and CSV writers print exactly the rows, percentages and sentences of the
print view: one computation, many layouts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from counter.profiles import ProfileWording
from counter.report import ReportRow, report_context
from shared.glossary import LEVEL_LABELS, LEVELS

NOTE = "Ghi chú: Tỷ lệ % tính trên tổng số phiếu thu về."
SECRET_MARK = "MẬT"
SIGN_FOR = "T/M BAN KIỂM PHIẾU"
SIGN_ROLE = "TRƯỞNG BAN"
SIGN_HINT = "(Ký, ghi rõ họ tên)"
SECTION_RESULTS = "2. Kết quả kiểm phiếu"
# Flat column names for files read by programs (CSV, the consolidated table).
COUNT_HEADING, PERCENT_HEADING = "Số phiếu", "Tỷ lệ %"


def nfc(text: str) -> str:
    """Composed Unicode: a name typed with combining marks (NFD) still finds its glyphs."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class ReportModel:
    """Everything printed on the Phụ lục 4 report, in reading order."""

    document: dict[str, Any]
    wording: ProfileWording
    organization: str
    place_date: str
    meeting: str
    paragraph: str
    total_line: str
    count_lines: list[str]
    slips_note: str
    level_columns: list[str]
    rows: list[ReportRow]
    members: list[str]
    head: str
    election_id: str
    manifest_hash: str
    signer_key: str

    @property
    def title(self) -> str:
        """The report's heading for its rule profile."""
        return self.wording.report_title

    @property
    def small_print(self) -> list[str]:
        """What ties the paper to the signed file: ids, hashes, the signer, the rule profile."""
        return [
            f"Mã cuộc lấy phiếu: {self.election_id} · Mã băm manifest: {self.manifest_hash}",
            "Kết quả được ký số (Ed25519) bởi máy kiểm phiếu, khóa công khai: " + self.signer_key,
            f"Quy tắc áp dụng: {self.wording.basis}.",
        ]

    def flat_headings(self) -> list[str]:
        """One header row for a machine-readable table (CSV): level name + count / percent."""
        levels = [f"{LEVEL_LABELS[level]} – {part}" for level in LEVELS
                  for part in (COUNT_HEADING, PERCENT_HEADING)]
        return ["STT", "Họ và tên", "Chức vụ", "Đơn vị công tác", "Số phiếu hợp lệ", *levels,
                self.wording.band_heading]


def report_model(document: dict[str, Any]) -> ReportModel:
    """The report of a signed results document (the caller has checked its signature)."""
    context = report_context(document)
    doc = context["doc"]
    return ReportModel(
        document=document,
        wording=context["wording"],
        organization=str(doc["organization"]),
        place_date=context["place_date"],
        meeting=context["meeting"],
        paragraph=context["paragraph"],
        total_line=context["total_line"],
        count_lines=context["count_lines"],
        slips_note=context["slips_note"],
        level_columns=context["level_columns"],
        rows=context["rows"],
        members=context["members"],
        head=context["head"],
        election_id=str(doc["election_id"]),
        manifest_hash=str(doc["manifest_hash"]),
        signer_key=str(context["signer_key"]),
    )
