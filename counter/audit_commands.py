"""The auditor's extras of `counter verify`: a voter's receipt and an independent recount.

- `counter verify BOX --fingerprint F`: is the ballot with this receipt (the 16 hex digits
  the booth showed) or full fingerprint in the box?
- `counter verify BOX --recount --share FILE --share FILE ... --results RESULTS.json`:
  decrypt with k shares through shared/recount.py, which does not use the tally code, and
  compare with a results file, naming every difference.

Each adds one more check line after the box checks; `counter verify` exits 0 only if
every line passed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from shared import crypto, voting
from shared.ballot_list import FingerprintInvalid, find_fingerprint, normalise_fingerprint
from shared.box import Check, all_passed
from shared.canonical import digest
from shared.errors import ShareError
from shared.recount import compare, expected_results, recount
from shared.shares import parse_share_file

MAX_RESULTS_BYTES = 16 * 1024 * 1024
RECOUNT_TITLE = "Đếm lại độc lập khớp tệp kết quả"


@dataclasses.dataclass(frozen=True)
class RecountCheck(Check):
    """The recount line, with every difference it found."""

    differences: tuple[str, ...] = ()


def _fingerprint(value: str) -> str:
    """argparse type: a receipt or fingerprint, any case, with or without dashes."""
    try:
        return normalise_fingerprint(value)
    except FingerprintInvalid as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_verify_options(verify: argparse.ArgumentParser) -> None:
    """--fingerprint, --recount, --share, --results on `counter verify`."""
    verify.add_argument("--fingerprint", type=_fingerprint, metavar="MÃ",
                        help="mã biên nhận máy bỏ phiếu hiện (16 ký tự) hoặc dấu vân tay đầy đủ: "
                             "phiếu này có trong hòm không?")
    verify.add_argument("--recount", action="store_true",
                        help="giải mã độc lập bằng k mảnh khóa và so với --results")
    verify.add_argument("--share", action="append", default=[], metavar="FILE",
                        help="tệp mảnh khóa cho --recount; lặp lại cho mỗi mảnh")
    verify.add_argument("--results", metavar="RESULTS.json", help="tệp kết quả cần đối chiếu khi --recount")


def _usage_error(message: str) -> None:
    # Same exit code and stream as argparse's own usage errors.
    print(f"counter verify: {message}", file=sys.stderr)
    raise SystemExit(2)


def fingerprint_check(box: dict[str, Any], typed: str) -> Check:
    """Is a ballot with this receipt or fingerprint in the box?"""
    title = f"Phiếu có mã biên nhận {voting.receipt(typed)} nằm trong hòm phiếu"
    found = find_fingerprint(box, typed)
    if not found:
        return Check("fingerprint", title, False,
                     "KHÔNG có phiếu nào mang mã này trong hòm. Hãy so lại từng ký tự với mã "
                     "máy bỏ phiếu đã hiện; nếu đúng, báo ngay cho đại diện giám sát")
    return Check("fingerprint", title, True,
                 "có; dấu vân tay đầy đủ: " + ", ".join(found))


def _read_results(path: str) -> Any:
    from counter.cli import Unreadable  # the command line's own error: exit 2, as for any file

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_RESULTS_BYTES + 1)
        if len(data) > MAX_RESULTS_BYTES:
            raise Unreadable(f"Tệp {path} quá lớn, không phải là tệp kết quả.")
        return json.loads(data.decode("utf-8-sig"))
    except OSError as exc:
        raise Unreadable(f"Không đọc được tệp kết quả {path}: {exc.strerror or exc}.") from exc
    except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
        raise Unreadable(f"Tệp {path} không phải là tệp kết quả (không đọc được JSON).") from exc


def recount_check(box: dict[str, Any], box_ok: bool, share_paths: list[str], results_path: str
                  ) -> RecountCheck:
    """Decrypt with the shares, count independently, compare with the results file."""
    from counter.cli import read_share_file

    if not box_ok:
        return RecountCheck("recount", RECOUNT_TITLE, False,
                            "không giải mã: hòm phiếu không qua các bước kiểm tra ở trên")
    texts = [(path, read_share_file(path)) for path in share_paths]
    document = _read_results(results_path)
    manifest = box["manifest"]
    try:
        cards = []
        for path, text in texts:
            try:
                cards.append(parse_share_file(text, manifest, digest(manifest)))
            except ShareError as exc:
                raise ShareError(f"Tệp mảnh khóa {Path(path).name}: {exc}") from None
        key = rebuild_key(cards, manifest)
    except ShareError as exc:
        return RecountCheck("recount", RECOUNT_TITLE, False, f"không giải mã được: {exc}")
    try:
        counted = recount(box, key)
    finally:
        crypto.wipe(key)
    differences = tuple(compare(expected_results(box, counted), document))
    unreadable = f"; {counted.unreadable} phiếu không giải mã được (không hợp lệ ở mọi dòng)" \
        if counted.unreadable else ""
    if differences:
        return RecountCheck("recount", RECOUNT_TITLE, False,
                            f"{len(differences)} chỗ khác nhau{unreadable}", differences)
    return RecountCheck("recount", RECOUNT_TITLE, True,
                        f"{counted.collected} phiếu thu về, {len(counted.persons)} người được lấy "
                        f"phiếu: mọi con số trùng khớp{unreadable}")


def extra_checks(args: argparse.Namespace, box: dict[str, Any], checks: list[Check]) -> list[Check]:
    """The lines --fingerprint and --recount add after the box checks."""
    if (args.share or args.results) and not args.recount:
        _usage_error("--share và --results chỉ dùng cùng --recount.")
    if args.recount and (not args.share or not args.results):
        _usage_error("--recount cần ít nhất một --share FILE và --results RESULTS.json.")
    extras: list[Check] = []
    if args.fingerprint:
        extras.append(fingerprint_check(box, args.fingerprint))
    if args.recount:
        extras.append(recount_check(box, all_passed(checks), args.share, args.results))
    return extras


def check_json(check: Check) -> dict[str, Any]:
    """One check for --json: id, title, ok, detail (and the recount's differences)."""
    return dataclasses.asdict(check)


def check_lines(check: Check) -> list[str]:
    """The recount's differences, one indented line each, to print under its check line."""
    return [f"  - {difference}" for difference in getattr(check, "differences", ())]
