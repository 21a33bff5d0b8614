"""Vietnamese domain words, in one place (identifiers stay English; the words the law uses live here)."""

from __future__ import annotations

from shared.errors import N_
from shared.states import ElectionState

# docs/rules.md: the three levels, in this order (Phụ lục 3).
LEVELS: tuple[str, ...] = ("high", "trust", "low")
LEVEL_LABELS: dict[str, str] = {
    "high": N_("Tín nhiệm cao"),
    "trust": N_("Tín nhiệm"),
    "low": N_("Tín nhiệm thấp"),
}
# Column headings of the seed's Phụ lục 3 / Phụ lục 4 tables.
LEVEL_COLUMNS: dict[str, str] = {"high": N_("Cao"), "trust": N_("Tín nhiệm"), "low": N_("Thấp")}

PROFILES: tuple[str, ...] = ("qd96", "nq96")
PROFILE_LABELS: dict[str, str] = {
    "qd96": N_("Quy định 96-QĐ/TW (chức danh, chức vụ lãnh đạo, quản lý)"),
    "nq96": N_("Nghị quyết 96/2023/QH15 (chức vụ do Quốc hội, HĐND bầu hoặc phê chuẩn)"),
}

# Band wording per rule profile; the software flags, people decide.
BAND_LABELS: dict[str, dict[str, str]] = {
    "qd96": {
        "over_half": "Trên 50% đến dưới 2/3 phiếu tín nhiệm thấp: xem xét đưa ra khỏi quy hoạch, "
        "cho thôi giữ chức vụ hoặc bỏ phiếu tín nhiệm",
        "two_thirds": "Từ 2/3 trở lên phiếu tín nhiệm thấp: xem xét cho từ chức, miễn nhiệm",
    },
    "nq96": {
        "over_half": "Trên 50% đến dưới 2/3 phiếu tín nhiệm thấp: bỏ phiếu tín nhiệm",
        "two_thirds": "Từ 2/3 trở lên phiếu tín nhiệm thấp: đề nghị miễn nhiệm",
    },
}

ELECTION_STATE_LABELS: dict[ElectionState, str] = {
    ElectionState.DRAFT: N_("Đang chuẩn bị"),
    ElectionState.READY: N_("Sẵn sàng (đã tạo khóa)"),
    ElectionState.OPEN: N_("Đang bỏ phiếu"),
    ElectionState.PAUSED: N_("Tạm dừng"),
    ElectionState.CLOSED: N_("Đã kết thúc"),
}

# Paper ballots (docs/paper-ballots.md): what an entrant may key for one row. The first
# three are the levels; the rest make that row invalid (docs/rules.md).
PAPER_MARKS: tuple[str, ...] = ("high", "trust", "low", "blank", "multiple", "crossed_out")
PAPER_MARK_LABELS: dict[str, str] = {
    "high": N_("Cao"),
    "trust": N_("Tín nhiệm"),
    "low": N_("Thấp"),
    "blank": N_("Để trống"),
    "multiple": N_("Đánh từ 2 ô trở lên"),
    "crossed_out": N_("Tên bị gạch"),
}
PAPER_SLOT_LABELS: dict[str, str] = {"A": N_("Lượt nhập A"), "B": N_("Lượt nhập B")}

# The legal-basis sentence of the seed's Phụ lục 3 ballot (QĐ 96), and its NQ 96 variant
# that names the resolution and addresses the deputies; the paper ballot ends it with
# "bằng cách đánh dấu (X) vào ô tương ứng:", the tablet with how to choose on screen.
BALLOT_BASIS = {
    "qd96": N_("Thực hiện Quy định số 96-QĐ/TW, ngày 02/02/2023 của Bộ Chính trị về việc lấy phiếu "
               "tín nhiệm đối với các chức danh, chức vụ lãnh đạo, quản lý trong các cơ quan, đơn vị, "
               "tổ chức trong hệ thống chính trị"),
    "nq96": N_("Thực hiện Nghị quyết số 96/2023/QH15 ngày 23/6/2023 của Quốc hội về lấy phiếu tín "
               "nhiệm, bỏ phiếu tín nhiệm đối với người giữ chức vụ do Quốc hội, Hội đồng nhân dân "
               "bầu hoặc phê chuẩn"),
}
BALLOT_REQUEST = {
    "qd96": N_("đề nghị đồng chí thể hiện sự tín nhiệm của mình đối với các đồng chí có tên dưới đây"),
    "nq96": N_("đề nghị đại biểu thể hiện sự tín nhiệm của mình đối với những người có tên dưới đây"),
}
