"""`counter`: verify a sealed box (and its results), tally it with k share files, check signed results, serve.

Exit codes: 0 success; 1 refused (a check failed, a share is wrong, a signature is bad);
2 a file could not be read at all (or a usage error, as argparse does).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from counter import audit_commands, ceremony_commands, document_commands, paper_commands
from counter.config import (
    COUNT_WAIT_ENV,
    HOME_ENV,
    ConfigError,
    CounterConfig,
    ensure_home,
    home_path,
    load_config,
)
from counter.counting import count_box
from counter.files import MAX_RESULTS_BYTES, Unreadable, read_box_file, read_share_file, stream_box_file
from counter.store import results_bytes, write_atomic
from shared import json_input
from shared.box import Check, all_passed, verify_box
from shared.canonical import digest
from shared.errors import BoxInvalid, ShareError
from shared.server_banner import hide_server_banner
from shared.tally import RESULTS_FORMAT, TallyFailed, WrongCounter, check_results_signature

EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE = 0, 1, 2
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _hex_key(value: str) -> str:
    """argparse type: a 32-byte public key in hex."""
    if not _HEX_KEY.match(value):
        raise argparse.ArgumentTypeError("khóa phải là 64 ký tự hex (32 byte)")
    return value.lower()


def _config(args: argparse.Namespace) -> CounterConfig:
    return load_config(ensure_home(home_path(getattr(args, "home", None))))


def _check_line(check: Check) -> str:
    mark = "[OK]" if check.ok else "[CHƯA KIỂM]" if check.ok is None else "[LỖI]"
    # A failure names its reason id, which docs/ballot-box-format.md 9 explains.
    reason = f" ({check.reason})" if check.failed and check.reason else ""
    return f"{mark} {check.title}" + (f": {check.detail}" if check.detail else "") + reason


def cmd_verify(args: argparse.Namespace) -> int:
    """Every box check, one line each, then --fingerprint and --results; 0 only if none failed."""
    box = read_box_file(args.box)
    checks = verify_box(box, args.kiosk_key)
    extras = audit_commands.extra_checks(args, box, checks)
    if args.json:
        print(json.dumps([audit_commands.check_json(c) for c in checks + extras],
                         ensure_ascii=False, indent=2))
        return EXIT_OK if all_passed(checks + extras) else EXIT_REFUSED
    manifest = box.get("manifest") if isinstance(box.get("manifest"), dict) else {}
    if manifest:
        print(f"Hòm phiếu: {manifest.get('title', '')} (mã {manifest.get('election_id', '')})")
        print(f"Mã băm manifest: {digest(manifest)}")
        print(f"Khóa ký của máy bỏ phiếu: {manifest.get('kiosk_public_key', '')}")
    for check in checks:
        print(_check_line(check))
    passed = sum(c.ok is True for c in checks)
    unchecked = sum(c.ok is None for c in checks)
    tail = f", {unchecked} chưa kiểm" if unchecked else ""
    if all_passed(checks):
        print(f"Kết luận: hòm phiếu HỢP LỆ ({passed}/{len(checks)} kiểm tra đạt{tail}).")
    else:
        print(f"Kết luận: hòm phiếu KHÔNG HỢP LỆ ({passed}/{len(checks)} kiểm tra đạt{tail}).")
    for extra in extras:
        print("\n".join([_check_line(extra), *audit_commands.check_lines(extra)]))
    return EXIT_OK if all_passed(checks + extras) else EXIT_REFUSED


def cmd_tally(args: argparse.Namespace) -> int:
    """Decrypt the totals with the share files; writes nothing unless the whole count succeeds."""
    config = _config(args)
    box = stream_box_file(args.box)
    shares = [(f"Tệp mảnh khóa {path}", read_share_file(path)) for path in args.share]
    if not document_commands.fonts_ready(args):
        return EXIT_REFUSED
    try:
        document = count_box(box, shares, config.signing_key, args.kiosk_key)
    except (ShareError, BoxInvalid, WrongCounter, TallyFailed) as exc:
        _err(f"Từ chối kiểm phiếu: {exc}")
        _err("Không giải mã, không ghi tệp kết quả nào.")
        return EXIT_REFUSED
    # Render before writing anything, so a failure leaves no half-written set of files; every
    # file comes from the one signed document.
    documents = document_commands.rendered_documents(document, args, html=True)
    write_atomic(Path(args.json), results_bytes(document), 0o600)
    document_commands.write_all(documents)
    print(f"Đã kiểm phiếu: {document['ballots_collected']} phiếu thu về, "
          f"{len(document['persons'])} người được lấy phiếu.")
    print(f"Kết quả đã ký ghi vào {args.json}"
          + "".join(f"; {path.suffix[1:].upper()} ghi vào {path}" for path, _ in documents) + ".")
    return EXIT_OK


def cmd_check_results(args: argparse.Namespace) -> int:
    """0 if the results JSON is signed by the pinned counter key (--counter-key, or the box's manifest)."""
    try:
        document = json_input.read_file(args.results, f"Tệp kết quả {args.results}",
                                        MAX_RESULTS_BYTES)
    except json_input.JsonRefused as exc:
        _err(str(exc))
        return EXIT_REFUSED
    if not isinstance(document, dict) or document.get("format") != RESULTS_FORMAT:
        _err("Tệp không phải là tệp kết quả kiểm phiếu.")
        return EXIT_REFUSED
    if args.box:
        manifest = read_box_file(args.box).get("manifest")
        pinned = str(manifest.get("counter_public_key", "")) if isinstance(manifest, dict) else ""
        if isinstance(manifest, dict) and document.get("manifest_hash") != digest(manifest):
            _err("Tệp kết quả này không thuộc hòm phiếu đã chỉ định (mã băm manifest khác).")
            return EXIT_REFUSED
    else:
        pinned = args.counter_key
    # A signature by any key but the pinned one proves nothing: anyone can re-sign an edited file.
    if not check_results_signature(document, pinned):
        _err("Chữ ký KHÔNG hợp lệ: tệp kết quả đã bị sửa, được ký lại bằng khóa khác với khóa máy "
             "kiểm phiếu đã chỉ định, hoặc không được ký.")
        return EXIT_REFUSED
    print(f"Chữ ký hợp lệ, đúng khóa máy kiểm phiếu {pinned}.")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web app under gunicorn; workers import counter.wsgi, which reads COUNTER_HOME."""
    # Imported here: only `serve` needs gunicorn; every other command starts without loading it.
    from gunicorn.app.base import BaseApplication

    home = home_path(getattr(args, "home", None))
    load_config(ensure_home(home))  # fail here, with a clear message, not in every worker
    os.environ[HOME_ENV] = str(home.resolve())
    if args.count_wait is not None:
        os.environ[COUNT_WAIT_ENV] = str(args.count_wait)
        load_config(home)  # a bad value fails here too, not in every worker
    host = args.bind.rsplit(":", 1)[0]
    if not args.certfile and host not in ("127.0.0.1", "localhost", "[::1]"):
        _err("Cảnh báo: phục vụ qua HTTP trên mạng LAN; cookie Secure chỉ hoạt động qua HTTPS. "
             "Dùng --certfile/--keyfile hoặc proxy TLS (deploy/).")
    options = {"bind": [args.bind], "workers": args.workers, "timeout": 120,
               "accesslog": "-", "errorlog": "-", "proc_name": "counter",
               "certfile": args.certfile, "keyfile": args.keyfile,
               # gunicorn >= 26 opens a control socket in ~/.gunicorn; the counter needs none.
               "control_socket_disable": True}

    class CounterServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if value is not None and key in self.cfg.settings:  # older gunicorn lacks some
                    self.cfg.set(key, value)

        def load(self) -> Any:
            # Imported here, in the worker: counter.wsgi builds the app (Flask, the store) at import.
            from counter.wsgi import app
            return app

    print(f"Máy kiểm phiếu phục vụ tại {args.bind} (thư mục {home}).")
    hide_server_banner()  # no "Server: gunicorn" on the answers (shared/server_banner.py)
    CounterServer().run()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; --home is accepted before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS,
                        help=f"thư mục dữ liệu của máy kiểm phiếu (mặc định: ${HOME_ENV} hoặc ./counter-home)")
    parser = argparse.ArgumentParser(prog="counter", parents=[common],
                                     description="Máy kiểm phiếu: kiểm tra hòm phiếu, giải mã, kiểm phiếu.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="LỆNH")

    verify = sub.add_parser("verify", parents=[common],
                            help="kiểm tra hòm phiếu và (--results) tệp kết quả, độc lập, không cần mảnh khóa")
    verify.add_argument("box", metavar="BOX", help="tệp hòm phiếu")
    verify.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
    verify.add_argument("--kiosk-key", type=_hex_key, metavar="HEX", help="khóa ký máy bỏ phiếu đã công bố")
    audit_commands.add_verify_options(verify)
    verify.set_defaults(func=cmd_verify)

    tally = sub.add_parser("tally", parents=[common], help="giải mã tổng các phiếu bằng k mảnh khóa và kiểm phiếu")
    tally.add_argument("box", metavar="BOX", help="tệp hòm phiếu")
    tally.add_argument("--share", action="append", required=True, metavar="FILE",
                       help="tệp mảnh khóa (JSON hoặc mã gõ); lặp lại cho mỗi mảnh")
    tally.add_argument("--json", required=True, metavar="OUT", help="nơi ghi kết quả đã ký (JSON)")
    tally.add_argument("--html", metavar="OUT", help="nơi ghi báo cáo in (Phụ lục 4, HTML)")
    tally.add_argument("--kiosk-key", type=_hex_key, metavar="HEX", help="khóa ký máy bỏ phiếu đã công bố")
    document_commands.add_document_options(tally)
    tally.set_defaults(func=cmd_tally)

    check = sub.add_parser("check-results", parents=[common], help="kiểm tra chữ ký trên tệp kết quả")
    check.add_argument("results", metavar="RESULTS.json")
    signer = check.add_mutually_exclusive_group(required=True)
    signer.add_argument("--counter-key", type=_hex_key, metavar="HEX",
                        help="khóa công khai của máy kiểm phiếu phải đã ký")
    signer.add_argument("--box", metavar="BOX",
                        help="hòm phiếu: khóa máy kiểm phiếu ghi trong manifest của hòm phải đã ký")
    check.set_defaults(func=cmd_check_results)

    ceremony_commands.add_commands(sub, common)
    document_commands.add_commands(sub, common, _hex_key)
    paper_commands.add_commands(sub, common)

    serve = sub.add_parser("serve", parents=[common], help="chạy ứng dụng web (gunicorn)")
    serve.add_argument("--bind", default="127.0.0.1:8099", metavar="HOST:PORT")
    serve.add_argument("--workers", type=int, default=2, metavar="N")
    serve.add_argument("--certfile", metavar="PEM", help="chứng chỉ TLS (HTTPS trên LAN)")
    serve.add_argument("--keyfile", metavar="PEM", help="khóa riêng TLS")
    serve.add_argument("--count-wait", type=float, metavar="GIÂY",
                       help="chờ kiểm phiếu xong bao lâu trước khi chuyển sang trang tiến độ (mặc định 3)")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `counter` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except Unreadable as exc:
        _err(str(exc))
        return EXIT_UNREADABLE
    except ConfigError as exc:
        _err(f"Lỗi cấu hình: {exc}")
        return EXIT_UNREADABLE
    return code


if __name__ == "__main__":
    sys.exit(main())
