"""The independent check of a results file against its box, with no secret.

`counter verify BOX --results RESULTS.json` runs it after the box's own checks. On purpose
it shares no code with the count (shared/tally.py, shared/box.py, shared/rules.py): it reads
the raw JSON of both files and re-derives everything from docs/crypto-protocol.md 6-7 and
docs/rules.md, using only the group operations of shared/elgamal.py and shared/canonical.py:

1. the per-row sums (Â, Ĉ) of every ballot in the box (`results.aggregate`);
2. each member's public share key Kᵢ = Σ_j i^j·F_j from the manifest's commitments, and
   every partial decryption's Chaum–Pedersen proof (`results.decryption-proof`);
3. the Lagrange combination D = Σ λᵢ·Dᵢ and the published counts against Ĉ − D
   (`results.counts`);
4. only then the percentages and bands from those counts, compared with the figures the
   results file prints (`results.figures`), and the signature by the manifest's counter key
   (`results.signature`).

A bug in either path shows up as a named problem instead of being repeated in both.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from shared import crypto, elgamal
from shared.canonical import canonical_bytes, digest

RESULTS_FORMAT = "cv-results"
RESULTS_VERSION = 2
GROUP = "ristretto255"
LEVEL_KEYS = ("high", "trust", "low")  # the level order of the encoding (docs/crypto-protocol.md 3)


@dataclass(frozen=True)
class Problem:
    """One thing the check found wrong: a reason id (docs/ballot-box-format.md 10) and a message."""

    reason: str
    message: str


class _Refused(Exception):
    """A part of the results file too broken to check further."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(reason, message)


def percent(count: int, collected: int) -> str:
    """count / N x 100, two decimals, half up, in integers (docs/rules.md); "0.00" if N = 0."""
    if collected == 0:
        return "0.00"
    hundredths = (2 * 10000 * count + collected) // (2 * collected)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def band(low: int, collected: int) -> str | None:
    """The low-confidence band of docs/rules.md, in integers."""
    if collected == 0:
        return None
    if 3 * low >= 2 * collected:
        return "two_thirds"
    if 2 * low > collected:
        return "over_half"
    return None


# --- the sums, from the box ------------------------------------------------------------------

def box_sums(box: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]]]:
    """N and (Â, Ĉ) per row over every ballot of the box, read from its raw entries."""
    persons = len(box["manifest"]["persons"])
    # docs/crypto-protocol.md 5: the ballot's layout is named by the manifest's "ballot_proof".
    layout = elgamal.ONE_CHALLENGE if box["manifest"].get("ballot_proof") == elgamal.ONE_CHALLENGE \
        else elgamal.PER_ROW
    sums = [(elgamal.IDENTITY, elgamal.IDENTITY)] * persons
    count = 0
    for number, entry in enumerate(box["ballots"], start=1):
        try:
            raw = base64.b64decode(entry["ballot"], validate=True)
            rows = [(elgamal.element(a), elgamal.element(c))
                    for a, c in elgamal.row_ciphertexts(raw, persons, layout)]
        except (KeyError, TypeError, ValueError) as exc:  # ProofError is a ValueError
            raise _Refused("results.aggregate", f"Phiếu thứ {number} trong hòm không đọc được: "
                           "không tính được tổng các phiếu.") from exc
        sums = [(elgamal.add(a_sum, a), elgamal.add(c_sum, c))
                for (a_sum, c_sum), (a, c) in zip(sums, rows, strict=True)]
        count += 1
    return count, sums


# --- the decryption proofs -------------------------------------------------------------------

def member_key(commitments: list[bytes], index: int) -> bytes:
    """Kᵢ = Σ_j i^j·F_j (docs/crypto-protocol.md 2)."""
    key = elgamal.IDENTITY
    for j, commitment in enumerate(commitments):
        key = elgamal.add(key, elgamal.mul(pow(index, j, elgamal.ORDER), commitment))
    return key


def lagrange(indices: list[int]) -> dict[int, int]:
    """λᵢ = Π_{j≠i} j / (j − i) mod ℓ (docs/crypto-protocol.md 6)."""
    weights = {}
    for i in indices:
        value = 1
        for j in indices:
            if j != i:
                value = value * j * pow(j - i, -1, elgamal.ORDER) % elgamal.ORDER
        weights[i] = value
    return weights


def _hex_bytes(value: Any, length: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * length or value != value.lower():
        raise _Refused("results.tally", f"{what}: cần {2 * length} chữ số hex viết thường.")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise _Refused("results.tally", f"{what}: cần {2 * length} chữ số hex viết thường.") from exc


def decryption_proof_holds(election_id: str, manifest_hash: bytes, index: int, key: bytes, row: int,
                           aggregate: tuple[bytes, bytes], share: bytes, c: int, s: int) -> bool:
    """t₁ = s·G − c·Kᵢ, t₂ = s·Â − c·Dᵢ; c must be Hc(...) of them (docs/crypto-protocol.md 6)."""
    if not 0 <= s < elgamal.ORDER:
        return False
    t1 = elgamal.sub(elgamal.mul_base(s), elgamal.mul(c, key))
    t2 = elgamal.sub(elgamal.mul(s, aggregate[0]), elgamal.mul(c, share))
    expected = elgamal.hash_challenge(
        "cv-decryption-proof-v2", elgamal.text_part(election_id), manifest_hash, elgamal.u16(index), key,
        elgamal.u16(row), aggregate[0], aggregate[1], share, t1, t2)
    return expected == c


def _checked_rows(box: dict[str, Any], tally: Any, sums: list[tuple[bytes, bytes]],
                  ballots: int, problems: list[Problem]) -> list[tuple[int, int, int] | None]:
    """Per row, the published counts if everything about that row checks, else None."""
    manifest = box["manifest"]
    threshold = manifest["board"]["threshold"]
    member_indices = {m["index"] for m in manifest["board"]["members"]}
    if not isinstance(tally, dict) or tally.get("group") != GROUP:
        raise _Refused("results.tally", "Tệp kết quả không có phần “tally” (tổng mã hóa, giải mã từng "
                       "phần và bằng chứng) của nhóm ristretto255: không kiểm được số phiếu.")
    members = tally.get("members")
    if not isinstance(members, list) or any(type(i) is not int for i in members) \
            or len(set(members)) != len(members) or len(members) != threshold \
            or not set(members) <= member_indices:
        raise _Refused("results.tally", f"Phần “tally”: cần đúng {threshold} thành viên khác nhau của "
                       "Ban kiểm phiếu đã giải mã.")
    if tally.get("ballots") != ballots or type(tally.get("ballots")) is not int:
        problems.append(Problem("results.aggregate", f"Phần “tally” ghi {tally.get('ballots')!r} phiếu, "
                                f"hòm phiếu có {ballots} phiếu."))
    rows = tally.get("rows")
    if not isinstance(rows, list) or len(rows) != len(sums):
        raise _Refused("results.tally", f"Phần “tally” phải có đúng {len(sums)} dòng, mỗi người một dòng.")
    commitments = [elgamal.element(bytes.fromhex(c)) for c in manifest["share_commitments"]]
    keys = {i: member_key(commitments, i) for i in members}
    weights = lagrange(members)
    manifest_hash = bytes.fromhex(digest(manifest))
    election_id = str(manifest["election_id"])
    found: list[tuple[int, int, int] | None] = []
    for number, (row, aggregate) in enumerate(zip(rows, sums, strict=True), start=1):
        where = f"Dòng {number}"
        if not isinstance(row, dict) or row.get("number") != number or not isinstance(row.get("aggregate"), dict):
            raise _Refused("results.tally", f"{where} của phần “tally” sai định dạng.")
        published = (_hex_bytes(row["aggregate"].get("a"), 32, f"{where}, tổng Â"),
                     _hex_bytes(row["aggregate"].get("c"), 32, f"{where}, tổng Ĉ"))
        if published != aggregate:
            problems.append(Problem("results.aggregate", f"{where}: tổng mã hóa trong tệp kết quả khác tổng "
                                    "tính lại từ các phiếu trong hòm (có phiếu bị thêm, bớt hoặc thay)."))
            found.append(None)
            continue
        decryptions = row.get("decryptions")
        if not isinstance(decryptions, list) or [d.get("index") if isinstance(d, dict) else None
                                                 for d in decryptions] != members:
            raise _Refused("results.tally", f"{where}: cần một giải mã từng phần của mỗi thành viên "
                           "đã giải mã, theo thứ tự.")
        combined = elgamal.IDENTITY
        proven = True
        for d in decryptions:
            index = d["index"]
            share = _hex_bytes(d.get("share"), 32, f"{where}, thành viên {index}")
            c = int.from_bytes(_hex_bytes(d.get("challenge"), elgamal.CHALLENGE_BYTES,
                                          f"{where}, thành viên {index}, challenge"), "little")
            s = int.from_bytes(_hex_bytes(d.get("response"), elgamal.SCALAR_BYTES,
                                          f"{where}, thành viên {index}, response"), "little")
            try:
                elgamal.element(share, identity_allowed=aggregate[0] == elgamal.IDENTITY)
                holds = decryption_proof_holds(election_id, manifest_hash, index, keys[index], number,
                                               aggregate, share, c, s)
            except elgamal.ProofError:
                holds = False
            if not holds:
                problems.append(Problem("results.decryption-proof",
                                        f"{where}: giải mã từng phần của thành viên số {index} không khớp "
                                        "mảnh khóa công khai của thành viên đó (bằng chứng sai)."))
                proven = False
                continue
            combined = elgamal.add(combined, elgamal.mul(weights[index], share))
        if not proven:
            found.append(None)
            continue
        counts = row.get("counts")
        if not isinstance(counts, list) or len(counts) != 3 or any(type(n) is not int for n in counts):
            raise _Refused("results.tally", f"{where}: cần ba số phiếu (cao, tín nhiệm, thấp).")
        try:
            elgamal.check_counts(elgamal.sub(aggregate[1], combined), counts, ballots)
        except elgamal.ProofError:
            problems.append(Problem("results.counts", f"{where}: số phiếu {counts} không khớp tổng đã giải "
                                    f"mã (hoặc không cộng lại bằng {ballots} phiếu)."))
            found.append(None)
            continue
        found.append((counts[0], counts[1], counts[2]))
    return found


# --- the printed figures --------------------------------------------------------------------

FIELD_LABELS = {
    "format": "Loại tệp", "version": "Phiên bản tệp",
    "election_id": "Mã cuộc lấy phiếu", "manifest_hash": "Mã băm manifest",
    "profile": "Quy định áp dụng", "title": "Tên hội nghị", "organization": "Cơ quan, đơn vị",
    "place": "Địa điểm", "date": "Ngày", "convened": "Tổng số người được triệu tập",
    "present": "Số người có mặt", "absent": "Số người vắng mặt",
    "present_at_vote": "Số người có mặt tại thời điểm bỏ phiếu",
    "ballots_issued": "Số phiếu phát ra", "ballots_collected": "Số phiếu thu về",
    "board_members": "Thành viên Ban kiểm phiếu", "forms": "Lời văn của phiếu và báo cáo",
    "number": "số thứ tự", "name": "họ và tên", "position": "chức vụ", "unit": "đơn vị công tác",
    "valid": "số phiếu hợp lệ", "high": "số phiếu tín nhiệm cao", "trust": "số phiếu tín nhiệm",
    "low": "số phiếu tín nhiệm thấp", "pct_high": "tỷ lệ tín nhiệm cao",
    "pct_trust": "tỷ lệ tín nhiệm", "pct_low": "tỷ lệ tín nhiệm thấp", "band": "mức cảnh báo",
}
_MISSING = object()
# When the board counted and its signature are not derived from the box; the tally is checked above.
NOT_RECOUNTED = frozenset({"counted_from", "counted_to", "signature", "tally"})


def expected_results(box: dict[str, Any], ballots: int, counts: list[tuple[int, int, int] | None]
                     ) -> dict[str, Any]:
    """The fields of a results file that follow from the box and the proven counts alone."""
    manifest = box["manifest"]
    record = box["close"]["record"]["counts"]
    checked_in = record["checked_in"]
    persons = []
    for person, row in zip(manifest["persons"], counts, strict=True):
        expected: dict[str, Any] = {"number": person["number"], "name": person["name"],
                                    "position": person.get("position", ""), "unit": person.get("unit", "")}
        if row is not None:
            high, trust, low = row
            expected.update({"valid": high + trust + low, "high": high, "trust": trust, "low": low,
                             "pct_high": percent(high, ballots), "pct_trust": percent(trust, ballots),
                             "pct_low": percent(low, ballots), "band": band(low, ballots)})
        persons.append(expected)
    return {
        "format": RESULTS_FORMAT, "version": RESULTS_VERSION,
        "election_id": manifest["election_id"], "manifest_hash": digest(manifest),
        "profile": manifest["profile"], "title": manifest["title"],
        "organization": manifest["organization"], "place": manifest["place"],
        "date": manifest["date"], "convened": manifest["convened"],
        "present": checked_in, "absent": max(manifest["convened"] - checked_in, 0),
        "present_at_vote": checked_in - record.get("left_before_vote", 0),
        "ballots_issued": record["tokens_issued"],
        "ballots_collected": ballots,
        "board_members": [m["name"] for m in manifest["board"]["members"]],
        **({"forms": manifest["forms"]} if "forms" in manifest else {}),
        "persons": persons,
    }


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
    return f"{label}: tệp kết quả ghi {_shown(recorded)}, tính lại được {_shown(recounted)}."


def compare(expected: dict[str, Any], document: dict[str, Any]) -> list[str]:
    """Every difference between a results document's figures and the expected ones, in Vietnamese."""
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
    labels = set(FIELD_LABELS)
    for position, (row, want) in enumerate(zip(rows, expected["persons"], strict=False), start=1):
        who = f"Người thứ {position} ({want['name']})"
        if not isinstance(row, dict):
            differences.append(f"{who}: dòng trong tệp kết quả sai định dạng.")
            continue
        for key, value in want.items():
            if not _same(row.get(key, _MISSING), value):
                differences.append(_differ(f"{who}, {FIELD_LABELS[key]}", row.get(key, _MISSING), value))
        differences += [f"{who}: tệp kết quả có trường lạ “{key}”." for key in row if key not in labels]
    return differences


# --- the whole check ---------------------------------------------------------------------------

def _signature_problem(document: dict[str, Any], counter_key: str) -> Problem | None:
    signature = document.get("signature")
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        if isinstance(signature, dict) and signature.get("algorithm") == "Ed25519" \
                and str(signature.get("public_key", "")).lower() == counter_key.lower() \
                and crypto.verify_signature(bytes.fromhex(counter_key), bytes.fromhex(signature["value"]),
                                            canonical_bytes(body)):
            return None
    except (KeyError, TypeError, ValueError):
        pass
    return Problem("results.signature", "Tệp kết quả không mang chữ ký hợp lệ của máy kiểm phiếu đã tổ chức "
                   f"lễ tạo khóa (khóa {counter_key} ghi trong manifest): đã bị sửa, ký lại bằng khóa khác, "
                   "hoặc không được ký.")


def check_results(box: dict[str, Any], document: Any) -> list[Problem]:
    """Every problem of a results document against its box (run after the box's own checks)."""
    if not isinstance(document, dict):
        return [Problem("results.format", "Tệp kết quả không phải là một đối tượng JSON.")]
    if document.get("format") != RESULTS_FORMAT or document.get("version") != RESULTS_VERSION:
        return [Problem("results.format", "Không phải tệp kết quả kiểm phiếu phiên bản 2 (cv-results).")]
    problems: list[Problem] = []
    try:
        manifest = box["manifest"]
        signature = _signature_problem(document, str(manifest["counter_public_key"]))
        if signature is not None:
            problems.append(signature)
        ballots, sums = box_sums(box)
        counts = _checked_rows(box, document.get("tally"), sums, ballots, problems)
        figures = compare(expected_results(box, ballots, counts), document)
    except _Refused as refused:
        return [*problems, refused.problem]
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return [*problems, Problem("results.format", "Hòm phiếu hoặc tệp kết quả sai định dạng: không kiểm được.")]
    return problems + [Problem("results.figures", difference) for difference in figures]
