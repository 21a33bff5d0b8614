"""An independent recount: decrypt a box and count it again, then compare with a results file.

`counter verify BOX --recount` runs it. On purpose it shares nothing with the tally path
(shared/tally.py, shared/rules.py, shared/ballot.py) but the crypto API and the key rebuilt
from the board's shares: the HPKE info, the plaintext decoding, the counting, the
percentages and the bands are written again here from docs/ballot-box-format.md and
DESIGN.md 2, so a bug in either path shows up as a named difference instead of being
repeated in both.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from shared import crypto
from shared.canonical import digest

PLAINTEXT_MAGIC = b"CVB1"


@dataclass(frozen=True)
class PersonCount:
    """One person's recounted row."""

    number: int
    name: str
    position: str
    unit: str
    high: int
    trust: int
    low: int

    @property
    def valid(self) -> int:
        """Ballots with a valid mark in this row."""
        return self.high + self.trust + self.low


@dataclass(frozen=True)
class Recount:
    """What the recount found: N, the ballots that would not open, and every row."""

    collected: int
    unreadable: int
    persons: list[PersonCount]


def ballot_info(manifest: dict[str, Any]) -> bytes:
    """HPKE info: "cv-ballot-v1" NUL election_id NUL manifest hash (hex), as documented."""
    return b"cv-ballot-v1\x00" + str(manifest["election_id"]).encode() + b"\x00" + \
        digest(manifest).encode()


def _marks(ciphertext_b64: Any, key: bytes | bytearray, info: bytes, persons: int) -> bytes | None:
    """The mark bytes of one ballot, or None if it does not decode, open or parse."""
    try:
        ciphertext = base64.b64decode(ciphertext_b64, validate=True)
        plaintext = crypto.open_ballot(ciphertext, key, info)
    except (crypto.CryptoError, binascii.Error, TypeError, ValueError):
        return None
    if len(plaintext) != len(PLAINTEXT_MAGIC) + persons or not plaintext.startswith(PLAINTEXT_MAGIC):
        return None
    return plaintext[len(PLAINTEXT_MAGIC):]


def recount(box: dict[str, Any], key: bytes | bytearray) -> Recount:
    """Decrypt every ballot of a verified box with the election key and count the rows.

    DESIGN.md 2: every ballot in the box is collected (N); a ballot that does not open is
    invalid in every row; a row whose byte is not 0, 1 or 2 is invalid in that row only.
    """
    manifest = box["manifest"]
    persons = manifest["persons"]
    info = ballot_info(manifest)
    tallies = [[0, 0, 0] for _ in persons]
    collected = unreadable = 0
    for ballot in box["ballots"]:
        collected += 1
        marks = _marks(ballot.get("ciphertext"), key, info, len(persons))
        if marks is None:
            unreadable += 1
            continue
        for row, mark in enumerate(marks):
            if mark < 3:  # 0 high, 1 trust, 2 low (docs/ballot-box-format.md)
                tallies[row][mark] += 1
    rows = [PersonCount(int(p["number"]), str(p["name"]), str(p.get("position", "")),
                        str(p.get("unit", "")), *counts) for p, counts in zip(persons, tallies)]
    return Recount(collected, unreadable, rows)


def percent(count: int, collected: int) -> str:
    """count / N x 100, two decimals, half up, in integers (DESIGN.md 2); "0.00" if N = 0."""
    if collected == 0:
        return "0.00"
    hundredths = (2 * 10000 * count + collected) // (2 * collected)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def band(low: int, collected: int) -> str | None:
    """The low-confidence band of DESIGN.md 2, in integers."""
    if collected == 0:
        return None
    if 3 * low >= 2 * collected:
        return "two_thirds"
    if 2 * low > collected:
        return "over_half"
    return None


def expected_results(box: dict[str, Any], counted: Recount) -> dict[str, Any]:
    """The fields of a results file that follow from the box and the recount alone."""
    manifest = box["manifest"]
    counts = box["close"]["record"]["counts"]
    checked_in = counts["checked_in"]
    n = counted.collected
    return {
        "format": "cv-results", "version": 1,
        "election_id": manifest["election_id"], "manifest_hash": digest(manifest),
        "profile": manifest["profile"], "title": manifest["title"],
        "organization": manifest["organization"], "place": manifest["place"],
        "date": manifest["date"], "convened": manifest["convened"],
        "present": checked_in, "absent": max(manifest["convened"] - checked_in, 0),
        "present_at_vote": checked_in, "ballots_issued": counts["tokens_issued"],
        "ballots_collected": n,
        "board_members": [m["name"] for m in manifest["board"]["members"]],
        "persons": [{
            "number": p.number, "name": p.name, "position": p.position, "unit": p.unit,
            "valid": p.valid, "high": p.high, "trust": p.trust, "low": p.low,
            "pct_high": percent(p.high, n), "pct_trust": percent(p.trust, n),
            "pct_low": percent(p.low, n), "band": band(p.low, n),
        } for p in counted.persons],
    }


FIELD_LABELS = {
    "format": "Loại tệp", "version": "Phiên bản tệp",
    "election_id": "Mã cuộc lấy phiếu", "manifest_hash": "Mã băm manifest",
    "profile": "Quy định áp dụng", "title": "Tên hội nghị", "organization": "Cơ quan, đơn vị",
    "place": "Địa điểm", "date": "Ngày", "convened": "Tổng số người được triệu tập",
    "present": "Số người có mặt", "absent": "Số người vắng mặt",
    "present_at_vote": "Số người có mặt tại thời điểm bỏ phiếu",
    "ballots_issued": "Số phiếu phát ra", "ballots_collected": "Số phiếu thu về",
    "board_members": "Thành viên Ban kiểm phiếu",
    "number": "số thứ tự", "name": "họ và tên", "position": "chức vụ", "unit": "đơn vị công tác",
    "valid": "số phiếu hợp lệ", "high": "số phiếu tín nhiệm cao", "trust": "số phiếu tín nhiệm",
    "low": "số phiếu tín nhiệm thấp", "pct_high": "tỷ lệ tín nhiệm cao",
    "pct_trust": "tỷ lệ tín nhiệm", "pct_low": "tỷ lệ tín nhiệm thấp", "band": "mức cảnh báo",
}
_MISSING = object()
# When the board counted and its signature: `counter check-results` checks those.
NOT_RECOUNTED = frozenset({"counted_from", "counted_to", "signature"})


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "(không có)"
    if value is None:
        return "(trống)"
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    # type() too: True == 1 and 1 == 1.0 in Python, but not in a results file.
    return type(a) is type(b) and a == b


def _differ(label: str, recorded: Any, recounted: Any) -> str:
    return f"{label}: tệp kết quả ghi {_shown(recorded)}, đếm lại được {_shown(recounted)}."


def compare(expected: dict[str, Any], document: Any) -> list[str]:
    """Every difference between a results document and the recount, each named in Vietnamese."""
    if not isinstance(document, dict):
        return ["Tệp kết quả không phải là một đối tượng JSON."]
    differences = []
    for key, value in expected.items():
        if key == "persons":
            continue
        if not _same(document.get(key, _MISSING), value):
            differences.append(_differ(FIELD_LABELS[key], document.get(key, _MISSING), value))
    differences += [f"Tệp kết quả có trường lạ “{key}”." for key in document
                    if key not in expected and key not in NOT_RECOUNTED]
    rows = document.get("persons")
    if not isinstance(rows, list):
        return differences + ["Tệp kết quả không có bảng kết quả từng người."]
    if len(rows) != len(expected["persons"]):
        differences.append(_differ("Số người được lấy phiếu", len(rows), len(expected["persons"])))
    for position, (row, want) in enumerate(zip(rows, expected["persons"]), start=1):
        who = f"Người thứ {position} ({want['name']})"
        if not isinstance(row, dict):
            differences.append(f"{who}: dòng trong tệp kết quả sai định dạng.")
            continue
        for key, value in want.items():
            if not _same(row.get(key, _MISSING), value):
                differences.append(_differ(f"{who}, {FIELD_LABELS[key]}", row.get(key, _MISSING), value))
        differences += [f"{who}: tệp kết quả có trường lạ “{key}”." for key in row if key not in want]
    return differences
