"""The document parts of the `counter` command: report files and the consolidated table.

- `counter tally BOX ... --pdf/--docx/--xlsx/--csv OUT` (options added to `tally`);
- `counter report RESULTS.json --pdf/--docx/--xlsx/--csv/--html OUT`: the same files again
  from a stored signed results file (its signature by the pinned counter key, --counter-key
  or the manifest's of --box, is checked first);
- `counter consolidate RESULTS.json... --xlsx OUT --html OUT`: the Sở Nội vụ table.

Every file is rendered in memory before any is written, so a failure leaves none behind.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from counter.consolidate import ConsolidationError, consolidate, read_results
from counter.documents.consolidated import (
    DEFAULT_ORGANIZATION,
    render_consolidated_html,
    render_consolidated_xlsx,
)
from counter.documents.fonts import FontMissing, find_fonts
from counter.documents.formats import FORMATS
from counter.files import MAX_RESULTS_BYTES
from counter.report import render_report
from counter.store import write_atomic
from shared.box import read_box
from shared.errors import BoxInvalid

# The exit codes of counter.cli (0 done, 1 refused, 2 unreadable input).
EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE = 0, 1, 2


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def add_document_options(parser: argparse.ArgumentParser) -> None:
    """--pdf, --docx, --xlsx, --csv: one output file per format, all optional."""
    for document_format in FORMATS.values():
        parser.add_argument(f"--{document_format.key}", metavar="OUT",
                            help=f"nơi ghi tệp {document_format.key.upper()} (từ cùng kết quả đã ký)")


def fonts_ready(args: argparse.Namespace) -> bool:
    """False, with the reason on stderr, if a PDF is asked for and its font is missing.

    Checked before decrypting: a count must not be run only to fail at the last file.
    """
    if not getattr(args, "pdf", None):
        return True
    try:
        find_fonts()
    except FontMissing as exc:
        _err(f"Không tạo được PDF: {exc}")
        return False
    return True


def rendered_documents(document: dict[str, Any], args: argparse.Namespace,
                       html: bool = False) -> list[tuple[Path, bytes]]:
    """(path, bytes) of every file the options ask for, all from the one signed document."""
    outputs = [(Path(getattr(args, key)), f.render(document)) for key, f in FORMATS.items()
               if getattr(args, key, None)]
    if html and getattr(args, "html", None):
        outputs.append((Path(args.html), render_report(document, embed_stylesheet=True).encode("utf-8")))
    return outputs


def write_all(outputs: list[tuple[Path, bytes]]) -> None:
    """Write the rendered files (0600: the report is Mật)."""
    for path, data in outputs:
        write_atomic(path, data, 0o600)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_RESULTS_BYTES + 1)
    except OSError as exc:
        _err(f"Không đọc được tệp {path}: {exc.strerror or exc}.")
        return None
    if len(data) > MAX_RESULTS_BYTES:
        _err(f"Tệp {path} quá lớn, không phải là tệp kết quả.")
        return None
    return data


def _trusted_keys(args: argparse.Namespace) -> list[str] | None:
    """The pinned counter keys: every --counter-key, and the counter key of each --box's manifest."""
    keys = list(args.counter_key or ())
    for path in args.box or ():
        try:
            manifest = read_box(path).get("manifest")
        except BoxInvalid as exc:
            _err(f"{path}: {exc}")
            return None
        if isinstance(manifest, dict) and isinstance(manifest.get("counter_public_key"), str):
            keys.append(manifest["counter_public_key"])
    return keys


def cmd_report(args: argparse.Namespace) -> int:
    """Documents from a stored signed results file; nothing is written if its signature fails."""
    if not any(getattr(args, key, None) for key in (*FORMATS, "html")):
        _err("Hãy chỉ định ít nhất một tệp ra: --pdf, --docx, --xlsx, --csv hoặc --html.")
        return EXIT_REFUSED
    data = _read(args.results)
    if data is None:
        return EXIT_UNREADABLE
    keys = _trusted_keys(args)
    if keys is None:
        return EXIT_UNREADABLE
    try:
        document = read_results(args.results, data, keys)
    except ConsolidationError as exc:
        _err(f"Từ chối: {exc}")
        return EXIT_REFUSED
    if not fonts_ready(args):
        return EXIT_REFUSED
    outputs = rendered_documents(document, args, html=True)
    write_all(outputs)
    print("Đã ghi: " + ", ".join(str(path) for path, _ in outputs) + ".")
    return EXIT_OK


def cmd_consolidate(args: argparse.Namespace) -> int:
    """The consolidated table of several signed results; refuses any unsigned or repeated file."""
    if not (args.xlsx or args.html):
        _err("Hãy chỉ định ít nhất một tệp ra: --xlsx hoặc --html.")
        return EXIT_REFUSED
    keys = _trusted_keys(args)
    if keys is None:
        return EXIT_UNREADABLE
    documents = []
    for path in args.results:
        data = _read(path)
        if data is None:
            return EXIT_UNREADABLE
        try:
            documents.append((Path(path).name, read_results(path, data, keys)))
        except ConsolidationError as exc:
            _err(f"Từ chối tổng hợp: {exc}")
            _err("Không ghi tệp nào.")
            return EXIT_REFUSED
    try:
        consolidation = consolidate(documents)
    except ConsolidationError as exc:
        _err(f"Từ chối tổng hợp: {exc}")
        return EXIT_REFUSED
    outputs = []
    if args.xlsx:
        outputs.append((Path(args.xlsx), render_consolidated_xlsx(consolidation, args.organization)))
    if args.html:
        outputs.append((Path(args.html),
                        render_consolidated_html(consolidation, args.organization).encode("utf-8")))
    write_all(outputs)
    print(f"Đã tổng hợp {len(consolidation.meetings)} cuộc lấy phiếu, "
          f"{len(consolidation.persons)} người được lấy phiếu.")
    for person in consolidation.in_several_places:
        print(f"Được lấy phiếu ở {person.places} nơi: {person.name}")
    print("Đã ghi: " + ", ".join(str(path) for path, _ in outputs) + ".")
    return EXIT_OK


def add_commands(sub: Any, common: argparse.ArgumentParser, hex_key: Any) -> None:
    """The `report` and `consolidate` sub-commands."""
    report = sub.add_parser("report", parents=[common],
                            help="tạo lại báo cáo (PDF, DOCX, XLSX, CSV, HTML) từ tệp kết quả đã ký")
    report.add_argument("results", metavar="RESULTS.json")
    add_document_options(report)
    report.add_argument("--html", metavar="OUT", help="nơi ghi báo cáo in (Phụ lục 4, HTML)")
    report.add_argument("--counter-key", type=hex_key, action="append", metavar="HEX",
                        help="khóa công khai của máy kiểm phiếu phải đã ký")
    report.add_argument("--box", action="append", metavar="BOX",
                        help="hòm phiếu: khóa máy kiểm phiếu ghi trong manifest của hòm phải đã ký")
    report.set_defaults(func=cmd_report)

    merge = sub.add_parser("consolidate", parents=[common],
                           help="tổng hợp kết quả nhiều cuộc lấy phiếu (Sở Nội vụ)")
    merge.add_argument("results", metavar="RESULTS.json", nargs="+")
    merge.add_argument("--xlsx", metavar="OUT", help="nơi ghi bảng tổng hợp (XLSX)")
    merge.add_argument("--html", metavar="OUT", help="nơi ghi bảng tổng hợp (HTML)")
    merge.add_argument("--organization", default=DEFAULT_ORGANIZATION, metavar="TÊN",
                       help=f"cơ quan tổng hợp (mặc định: {DEFAULT_ORGANIZATION})")
    merge.add_argument("--counter-key", type=hex_key, action="append", metavar="HEX",
                       help="chỉ nhận kết quả do các máy kiểm phiếu có khóa này ký (lặp lại được)")
    merge.add_argument("--box", action="append", metavar="BOX",
                       help="hòm phiếu: nhận kết quả do máy kiểm phiếu ghi trong manifest của hòm ký (lặp lại được)")
    merge.set_defaults(func=cmd_consolidate)
