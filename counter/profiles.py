"""Report wording per rule profile: qd96 (party and administrative posts) and nq96 (posts
elected by HĐND / Quốc hội).

docs/rules.md: the two profiles share the arithmetic; only the words differ. The
qd96 wording is the seed's Phụ lục 4 form verbatim; nq96 says "kỳ họp" and "đại biểu"
where the form says "hội nghị" and "đồng chí", since those votes are held at a session
of the elected body. Band wording itself lives in shared.glossary.BAND_LABELS.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.glossary import BAND_LABELS, PROFILE_LABELS


@dataclass(frozen=True)
class ProfileWording:
    """The words of the Phụ lục 4 report that depend on the rule profile."""

    profile: str
    report_title: str
    meeting_prefix: str        # "Tại hội nghị (kỳ họp) ..."
    meeting_words: tuple[str, ...]  # a title starting with one of these is used as is
    assigned_by: str           # "Thực hiện nhiệm vụ do ... giao"
    voters: str                # who cast the ballots, in the opening paragraph
    people_unit: str           # the unit after a head count ("12 đồng chí")
    total: str
    present: str
    absent: str
    present_at_vote: str
    band_heading: str
    basis: str                 # the rule the software applied, printed in the small print
    bands: dict[str, str]

    def band_label(self, band: str | None) -> str:
        """The band wording of this profile; empty when no band applies."""
        return self.bands.get(band or "", "")


# Which base the percentages use, said on every report: the 2023 rules (QĐ 96, NQ 96/2023)
# divide by the ballots collected; results published before 2023 (Quốc hội 2013, 2014, 2018)
# divided by the total number of deputies, so the two are not compared figure for figure.
PERCENT_BASIS = ("tỷ lệ % theo quy định năm 2023, tính trên tổng số phiếu thu về (kết quả lấy "
                 "phiếu trước năm 2023 tính trên tổng số đại biểu, không so sánh trực tiếp được)")

# A meeting title that already starts with one of these is not prefixed again.
MEETING_WORDS = ("hội nghị", "kỳ họp", "phiên họp")

QD96 = ProfileWording(
    profile="qd96",
    report_title="BÁO CÁO KẾT QUẢ PHIẾU TÍN NHIỆM",
    meeting_prefix="Tại hội nghị (kỳ họp)",
    meeting_words=MEETING_WORDS,
    assigned_by="hội nghị",
    voters="các đồng chí dự hội nghị",
    people_unit="đồng chí",
    total="Tổng số ủy viên ban chấp hành (đại biểu)",
    present="Số có mặt dự hội nghị (kỳ họp)",
    absent="Số vắng mặt từ đầu hội nghị (kỳ họp) đến trước thời điểm bỏ phiếu",
    present_at_vote="Số có mặt tại thời điểm bỏ phiếu",
    band_heading="Ngưỡng phiếu tín nhiệm thấp",
    basis=f"{PROFILE_LABELS['qd96']}; {PERCENT_BASIS}",
    bands=BAND_LABELS["qd96"],
)

NQ96 = ProfileWording(
    profile="nq96",
    report_title="BÁO CÁO KẾT QUẢ PHIẾU TÍN NHIỆM",
    meeting_prefix="Tại kỳ họp",
    meeting_words=MEETING_WORDS,
    assigned_by="kỳ họp",
    voters="các đại biểu dự kỳ họp",
    people_unit="đại biểu",
    total="Tổng số đại biểu",
    present="Số đại biểu có mặt tại kỳ họp",
    absent="Số đại biểu vắng mặt từ đầu kỳ họp đến trước thời điểm bỏ phiếu",
    present_at_vote="Số đại biểu có mặt tại thời điểm bỏ phiếu",
    band_heading="Ngưỡng phiếu tín nhiệm thấp",
    basis=f"{PROFILE_LABELS['nq96']}; {PERCENT_BASIS}",
    bands=BAND_LABELS["nq96"],
)

WORDINGS: dict[str, ProfileWording] = {w.profile: w for w in (QD96, NQ96)}


def wording_for(profile: object) -> ProfileWording:
    """The wording of a results document's profile; qd96 (the seed's form) if unknown."""
    return WORDINGS.get(str(profile), QD96)
