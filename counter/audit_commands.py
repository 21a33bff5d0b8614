"""The auditor's extras of `counter verify`: a voter's receipt and the results check.

- `counter verify BOX --fingerprint F`: is the ballot with this receipt (the 16 hex digits
  the booth showed) or full fingerprint in the box?
- `counter verify BOX --results RESULTS.json`: are the published counts exactly what the
  box's ballots add up to? shared/recount.py recomputes the sums from the box, checks every
  partial decryption's proof against the manifest's commitments, the counts, then the
  percentages and bands, and the signature by the manifest's counter key. No share and no
  secret is needed, and none of the tally's code is used.

Each adds one more check line after the box checks; `counter verify` exits 0 only if
every line passed.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from counter.files import read_results_file
from shared.ballot_list import FingerprintInvalid, find_fingerprint, normalise_fingerprint, receipt
from shared.box import Check
from shared.errors import N_
from shared.recount import check_results

RESULTS_TITLE = N_("Kết quả kiểm phiếu khớp hòm phiếu (kiểm tra độc lập, không cần mảnh khóa)")


@dataclasses.dataclass(frozen=True)
class ResultsCheck(Check):
    """The results line, with every problem it found."""

    differences: tuple[str, ...] = ()


def _fingerprint(value: str) -> str:
    """argparse type: a receipt or fingerprint, any case, with or without dashes."""
    try:
        return normalise_fingerprint(value)
    except FingerprintInvalid as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_verify_options(verify: argparse.ArgumentParser) -> None:
    """--fingerprint and --results on `counter verify`."""
    verify.add_argument("--fingerprint", type=_fingerprint, metavar="MÃ",
                        help="mã biên nhận máy bỏ phiếu hiện (16 ký tự) hoặc dấu vân tay đầy đủ: "
                             "phiếu này có trong hòm không?")
    verify.add_argument("--results", metavar="RESULTS.json",
                        help="tệp kết quả đã ký: kiểm tra các con số với hòm phiếu, không cần mảnh khóa")


def fingerprint_check(box: dict[str, Any], typed: str) -> Check:
    """Is a ballot with this receipt or fingerprint in the box?"""
    title = f"Phiếu có mã biên nhận {receipt(typed)} nằm trong hòm phiếu"
    found = find_fingerprint(box, typed)
    if not found:
        return Check("fingerprint", title, False,
                     "KHÔNG có phiếu nào mang mã này trong hòm. Hãy so lại từng ký tự với mã "
                     "máy bỏ phiếu đã hiện; nếu đúng, báo ngay cho đại diện giám sát")
    return Check("fingerprint", title, True,
                 "có; dấu vân tay đầy đủ: " + ", ".join(found))


def results_check(box: dict[str, Any], box_ok: bool, results_path: str) -> ResultsCheck:
    """Check a results file against the box with no secret (shared/recount.py)."""
    document = read_results_file(results_path)
    problems = check_results(box, document)
    messages = tuple(p.message for p in problems)
    reason = problems[0].reason if problems else ""
    if not box_ok:
        return ResultsCheck("results", RESULTS_TITLE, False,
                            "hòm phiếu không qua các bước kiểm tra ở trên"
                            + (f"; {len(problems)} chỗ không khớp" if problems else ""),
                            reason or "box.invalid", messages)
    if problems:
        return ResultsCheck("results", RESULTS_TITLE, False, f"{len(problems)} chỗ không khớp", reason, messages)
    persons = len(document["persons"])
    return ResultsCheck("results", RESULTS_TITLE, True,
                        f"{document['ballots_collected']} phiếu thu về, {persons} người được lấy phiếu: "
                        "tổng mã hóa, mọi bằng chứng giải mã, số phiếu, tỷ lệ và mức cảnh báo đều khớp; "
                        "chữ ký đúng khóa máy kiểm phiếu trong manifest")


def extra_checks(args: argparse.Namespace, box: dict[str, Any], checks: list[Check]) -> list[Check]:
    """The lines --fingerprint and --results add after the box checks."""
    extras: list[Check] = []
    if args.fingerprint:
        extras.append(fingerprint_check(box, args.fingerprint))
    if args.results:
        extras.append(results_check(box, not any(c.failed for c in checks), args.results))
    return extras


def check_json(check: Check) -> dict[str, Any]:
    """One check for --json: id, title, ok (null: not checked), detail, reason (and the results' problems)."""
    return dataclasses.asdict(check)


def check_lines(check: Check) -> list[str]:
    """The results check's problems, one indented line each, to print under its check line."""
    return [f"  - {difference}" for difference in getattr(check, "differences", ())]
