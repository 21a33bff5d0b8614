"""`counter paper ...`: make a batch of paper ballots and print them; list, export, verify.

- `counter paper new SPEC.json --count N --pdf OUT`: a batch of N serials in COUNTER_HOME
  and the print-ready ballots (Phụ lục 3);
- `counter paper print BATCH --pdf OUT`: the same ballots again (same serials);
- `counter paper list`: the batches and where their count stands;
- `counter paper export BATCH -o FILE`: the batch file and its entry log in one file;
- `counter paper verify BATCH|FILE [--results RESULTS.json]`: the auditor's check.

Keying the ballots in (double entry) is done in the counter's web pages, /paper.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from counter.config import ensure_home, home_path, load_config
from counter.documents.ballots import render_ballots
from counter.documents.fonts import FontMissing, find_fonts
from counter.paper_store import BatchNotFound, PaperStore
from counter.store import Store, results_bytes, write_atomic
from shared import crypto, json_input
from shared.errors import DomainError
from shared.paper import LOG_FORMAT, Batch, check_log, log_record, recount_differences, replay
from shared.tally import check_results_signature

EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE = 0, 1, 2
CLI_ACTOR = "dòng lệnh counter"
MAX_FILE_BYTES = 64 * 1024 * 1024


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _paper_store(args: argparse.Namespace) -> PaperStore:
    return PaperStore(load_config(ensure_home(home_path(getattr(args, "home", None)))))


def _read_json(path: str) -> Any:
    return json_input.read_file(path, f"Tệp {path}", MAX_FILE_BYTES)


def cmd_new(args: argparse.Namespace) -> int:
    """A new batch and its ballots PDF; nothing is created if the spec or the font is wrong."""
    try:
        spec = _read_json(args.spec)
        find_fonts()
    except FontMissing as exc:  # a DomainError too: named first, it is a refusal, not a bad file
        _err(f"Không tạo được PDF: {exc}")
        return EXIT_REFUSED
    except DomainError as exc:
        _err(str(exc))
        return EXIT_UNREADABLE
    store = _paper_store(args)
    try:
        batch = store.create(spec, args.count, CLI_ACTOR)
    except DomainError as exc:
        _err(f"Từ chối: {exc} Không có gì được tạo.")
        return EXIT_REFUSED
    # 0600: a printed ballot is as good as a real one; keep the file with the board.
    write_atomic(Path(args.pdf), render_ballots(batch), 0o600)
    print(f"Đã tạo đợt phiếu giấy {batch.batch_id}: {len(batch.serials)} phiếu, "
          f"{len(batch.persons)} người được lấy phiếu.")
    print(f"Mã băm tệp đợt phiếu: {batch.batch_hash}")
    print(f"Phiếu để in (PDF, A4) ghi vào {args.pdf}. Nhập phiếu tại trang /paper/{batch.batch_id} "
          "của máy kiểm phiếu.")
    return EXIT_OK


def cmd_print(args: argparse.Namespace) -> int:
    """The ballots of an existing batch again."""
    store = _paper_store(args)
    try:
        batch = store.load(args.batch)
        data = render_ballots(batch)
    except BatchNotFound:
        _err(f"Không có đợt phiếu giấy {args.batch} trong thư mục này.")
        return EXIT_REFUSED
    except DomainError as exc:  # FontMissing among them
        _err(str(exc))
        return EXIT_REFUSED
    write_atomic(Path(args.pdf), data, 0o600)
    print(f"Đã ghi {len(batch.serials)} phiếu vào {args.pdf}.")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    """One line per batch: id, title, ballots accepted, counted or not."""
    store = _paper_store(args)
    for batch_id in store.batch_ids():
        try:
            batch = store.load(batch_id)
            state = store.state(batch)
            status = "đã kiểm phiếu" if state.counted else f"đã chấp nhận {len(state.accepted())} phiếu"
            print(f"{batch_id}  {batch.title}  ({len(batch.serials)} phiếu in; {status})")
        except DomainError as exc:
            print(f"{batch_id}  LỖI: {exc}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """The batch and its log as one JSON file for an auditor."""
    store = _paper_store(args)
    try:
        batch = store.load(args.batch)
        events = store.events(batch)
    except BatchNotFound:
        _err(f"Không có đợt phiếu giấy {args.batch} trong thư mục này.")
        return EXIT_REFUSED
    write_atomic(Path(args.output), results_bytes(log_record(batch, events)), 0o600)
    print(f"Đã ghi tệp đợt phiếu và nhật ký nhập phiếu ({len(events)} sự kiện) vào {args.output}.")
    return EXIT_OK


def _source(args: argparse.Namespace) -> tuple[Batch, list[dict[str, Any]], dict[str, Any] | None]:
    """Batch, events and (if any) results, from an export file or from COUNTER_HOME."""
    if Path(args.batch).is_file():
        record = _read_json(args.batch)
        if not isinstance(record, dict) or record.get("format") != LOG_FORMAT:
            raise DomainError("Tệp không phải là tệp nhật ký phiếu giấy (cv-paper-log).")
        batch = Batch.from_dict(record.get("batch"))
        events = record.get("events")
        if not isinstance(events, list):
            raise DomainError("Tệp nhật ký phiếu giấy không có danh sách sự kiện.")
        results = None
    else:
        store = _paper_store(args)
        batch = store.load(args.batch)
        events = store.events(batch)
        results = Store(store.config).load_results(batch.batch_id)
    if args.results:
        results = _read_json(args.results)
    return batch, events, results


def cmd_verify(args: argparse.Namespace) -> int:
    """Chain, rules replayed, and the results recounted from the log; 0 only if all pass."""
    try:
        batch, events, results = _source(args)
    except BatchNotFound:
        _err(f"Không có đợt phiếu giấy {args.batch} (cũng không phải tên tệp).")
        return EXIT_UNREADABLE
    except DomainError as exc:
        _err(str(exc))
        return EXIT_UNREADABLE
    print(f"Đợt phiếu giấy: {batch.title} (mã {batch.batch_id})")
    print(f"Mã băm tệp đợt phiếu: {batch.batch_hash}")
    problems = check_log(batch, events)
    title = (f"Nhật ký nhập phiếu ({len(events)} sự kiện): chuỗi băm liền mạch, gắn với tệp "
             "đợt phiếu, mọi sự kiện đúng quy tắc")
    lines = [(not problems, title, "; ".join(problems[:5]))]
    if not problems and results is not None:
        state = replay(batch, events)
        # Pinned: the given counter key, else this counter's own (paper results are signed where counted).
        pinned = args.counter_key or crypto.signing_public_key(_paper_store(args).config.signing_key).hex()
        signed = check_results_signature(results, pinned) if isinstance(results, dict) else False
        lines.append((signed, "Chữ ký của máy kiểm phiếu trên tệp kết quả", ""))
        differences = recount_differences(batch, state, results) if isinstance(results, dict) \
            else ["tệp kết quả sai định dạng"]
        lines.append((not differences, "Kết quả khớp với kết quả đếm lại từ nhật ký",
                      "; ".join(differences[:5])))
    for ok, title, detail in lines:
        print(("[OK] " if ok else "[LỖI] ") + title + (f": {detail}" if detail and not ok else ""))
    passed = all(ok for ok, _, _ in lines)
    print("Kết luận: " + ("HỢP LỆ." if passed else "KHÔNG HỢP LỆ."))
    return EXIT_OK if passed else EXIT_REFUSED


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """The `paper` command and its sub-commands."""
    paper = sub.add_parser("paper", parents=[common], help="phiếu giấy: in phiếu, nhập hai lượt, kiểm phiếu")
    commands = paper.add_subparsers(dest="paper_command", required=True, metavar="LỆNH")

    new = commands.add_parser("new", parents=[common], help="tạo đợt phiếu giấy và in phiếu (PDF)")
    new.add_argument("spec", metavar="SPEC.json", help="tệp cấu hình cuộc lấy phiếu (docs/formats.md)")
    new.add_argument("--count", type=int, required=True, metavar="N", help="số phiếu cần in")
    new.add_argument("--pdf", required=True, metavar="OUT", help="nơi ghi phiếu để in (PDF)")
    new.set_defaults(func=cmd_new)

    again = commands.add_parser("print", parents=[common], help="in lại phiếu của một đợt (cùng số sê-ri)")
    again.add_argument("batch", metavar="BATCH")
    again.add_argument("--pdf", required=True, metavar="OUT")
    again.set_defaults(func=cmd_print)

    listing = commands.add_parser("list", parents=[common], help="các đợt phiếu giấy")
    listing.set_defaults(func=cmd_list)

    export = commands.add_parser("export", parents=[common],
                                 help="ghi tệp đợt phiếu và nhật ký nhập phiếu cho người giám sát")
    export.add_argument("batch", metavar="BATCH")
    export.add_argument("-o", "--output", required=True, metavar="FILE")
    export.set_defaults(func=cmd_export)

    verify = commands.add_parser("verify", parents=[common],
                                 help="kiểm tra nhật ký nhập phiếu và đếm lại kết quả")
    verify.add_argument("batch", metavar="BATCH|FILE", help="mã đợt phiếu hoặc tệp xuất bằng export")
    verify.add_argument("--results", metavar="RESULTS.json", help="tệp kết quả đã ký cần đối chiếu")
    verify.add_argument("--counter-key", metavar="HEX",
                        help="khóa công khai của máy kiểm phiếu phải đã ký kết quả (mặc định: máy này)")
    verify.set_defaults(func=cmd_verify)
