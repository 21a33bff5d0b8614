"""The `kiosk` command: the same flow as the web screens, for rehearsals and automation.

Every command works on the instance folder named by --home or KIOSK_HOME (default ./instance).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.exc import DBAPIError

from kiosk.config import ConfigError, KioskConfig, ensure_home, home_from, load_config
from kiosk.demo import default_demo_dir, run_demo
from kiosk.serving import gunicorn_command
from shared import backup, booths, crypto, json_input, voting
from shared import election as elections
from shared import manifest as manifests
from shared.box import export_box
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.db_faults import BUSY, classify
from shared.errors import DomainError
from shared.migrations import SchemaError
from shared.staff_accounts import ROLES, create_user, set_disabled, set_password

# An operator at the terminal can wait longer than a tablet (5 s, then "busy"): a close or
# a check-in queued behind casts gets the write lock in milliseconds; 30 s covers a slow disk.
CLI_BUSY_TIMEOUT_MS = 30_000


def _config(args: argparse.Namespace) -> KioskConfig:
    return load_config(home_from(args.home))


def _factory(config: KioskConfig) -> Any:
    engine = make_engine(config.database_url, CLI_BUSY_TIMEOUT_MS)
    init_schema(engine)
    return session_factory(engine, config.session_info())


def cmd_init(args: argparse.Namespace) -> int:
    home = home_from(args.home)
    ensure_home(home, args.database_url)
    _factory(load_config(home))
    print(f"Đã chuẩn bị thư mục {home}")
    return 0


def _upgrade(config: KioskConfig) -> tuple[str | None, str]:
    """Bring the database to this build's schema (shared/migrations); (before, after)."""
    engine = make_engine(config.database_url, CLI_BUSY_TIMEOUT_MS)
    try:
        before, after = init_schema(engine)
    finally:
        engine.dispose()
    if before != after:
        print(f"Đã nâng cấp cơ sở dữ liệu từ phiên bản {before or '(trống)'} lên {after}.")
    return before, after


def cmd_upgrade(args: argparse.Namespace) -> int:
    before, after = _upgrade(_config(args))
    if before == after:
        print(f"Cơ sở dữ liệu đã ở phiên bản lược đồ mới nhất ({after}).")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    password = args.password or os.environ.get("KIOSK_PASSWORD") or getpass.getpass("Mật khẩu: ")
    config = _config(args)
    with transaction(_factory(config)) as s:
        create_user(s, args.username, password, args.role)
    print(f"Đã tạo tài khoản {args.username} ({args.role})")
    return 0


def cmd_user_password(args: argparse.Namespace) -> int:
    """A new password; the account's sessions end at once (shared/staff_accounts.py)."""
    password = args.password or os.environ.get("KIOSK_PASSWORD") or getpass.getpass("Mật khẩu mới: ")
    try:
        with transaction(_factory(_config(args))) as s:
            set_password(s, args.username, password)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"Đã đổi mật khẩu tài khoản {args.username}; các phiên đăng nhập của tài khoản đã kết thúc.")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    """Disable (or, with enable, enable again) an account; disabling ends its sessions at once."""
    disable = args.user_command == "disable"
    try:
        with transaction(_factory(_config(args))) as s:
            set_disabled(s, args.username, disable)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"Đã khóa tài khoản {args.username}; các phiên đăng nhập của tài khoản đã kết thúc."
          if disable else f"Đã mở khóa tài khoản {args.username}.")
    return 0


def cmd_election_create(args: argparse.Namespace) -> int:
    # Refused (exit 1, "Lỗi: …") before the database is opened: shared/json_input.py.
    spec = json_input.read_file(args.spec, f"Tệp cấu hình {args.spec}", elections.MAX_SPEC_BYTES)
    config = _config(args)
    with transaction(_factory(config)) as s:
        election_id = elections.create_election(s, spec, "cli").id
    # No key yet: the board's laptop makes it (`kiosk election definition`, `counter ceremony`).
    print(election_id)
    return 0


def cmd_election_definition(args: argparse.Namespace) -> int:
    definition = _with_election(args, lambda s, e, c: elections.election_definition(s, e, c.signing_key))
    Path(args.output).write_text(json.dumps(definition, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"Đã ghi định nghĩa cuộc lấy phiếu vào {args.output}: mang sang máy của Ban kiểm phiếu "
          "(counter ceremony).")
    return 0


def cmd_election_key(args: argparse.Namespace) -> int:
    try:
        with open(args.key_file, "rb") as handle:
            key_text = handle.read(manifests.MAX_FILE_BYTES + 1)
    except OSError as exc:
        print(f"Không đọc được tệp khóa {args.key_file}: {exc.strerror}", file=sys.stderr)
        return 1
    manifest = _with_election(args, lambda s, e, c: elections.import_election_key(
        s, e, key_text, c.signing_key, "cli"))
    print(f"Đã nhập khóa công khai; mã băm của bản kê khai: {manifest.manifest_hash}")
    return 0


def _with_election(args: argparse.Namespace, action: Callable[[Any, Any, KioskConfig], Any]) -> Any:
    config = _config(args)
    with transaction(_factory(config)) as s:
        return action(s, elections.get_election(s, args.election, lock=True), config)


def cmd_checkin(args: argparse.Namespace) -> int:
    print(_with_election(args, lambda s, e, c: voting.check_in(s, e, args.voter_id, "cli")))
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    _with_election(args, lambda s, e, c: elections.open_vote(s, e, "cli", date_confirmed=args.confirm_date))
    print("Đã mở bỏ phiếu.")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    _with_election(args, lambda s, e, c: elections.pause_vote(s, e, "cli"))
    print("Đã tạm dừng bỏ phiếu.")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    record = _with_election(args, lambda s, e, c: elections.close_vote(s, e, c.signing_key, "cli"))
    counts = record.counts
    print(f"Đã kết thúc. Phiếu: {counts.ballots}; mã đã phát: {counts.tokens_issued}, "
          f"đã dùng: {counts.tokens_spent}, đã hủy: {counts.tokens_voided}.")
    for problem in record.mismatches:
        print(f"CẢNH BÁO: {problem}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    data = _with_election(args, lambda s, e, c: export_box(s, e, c.signing_key, "cli"))
    Path(args.output).write_bytes(data)
    print(f"Đã xuất hòm phiếu: {args.output}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    backup.backup(_config(args).database_url, Path(args.output))
    print(f"Đã sao lưu: {args.output}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    backup.restore(_config(args).database_url, Path(args.backup))
    print(f"Đã khôi phục từ {args.backup}. Khởi động lại máy chủ kiosk.")
    return 0


def cmd_tls(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"ca_cert": "ca.pem", "ca_key": "ca-key.pem", "server_cert": "server.pem",
             "server_key": "server-key.pem"}
    if any((out / name).exists() for name in files.values()):
        print(f"Thư mục {out} đã có chứng chỉ; không ghi đè.", file=sys.stderr)
        return 1
    for key, pem in crypto.make_lan_certificates(args.host, args.ip or []).items():
        mode = 0o600 if key.endswith("_key") else 0o644
        fd = os.open(out / files[key], os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    print(f"Đã tạo {out}/ca.pem (cài lên máy tính bảng), {out}/server.pem và {out}/server-key.pem "
          f"(dùng với kiosk serve --certfile/--keyfile). Cất {out}/ca-key.pem ngoại tuyến.")
    return 0


def cmd_pair(args: argparse.Namespace) -> int:
    print(_with_election(args, lambda s, e, c: booths.create_pairing(s, e, args.label, "cli")))
    return 0


def cmd_serve(args: argparse.Namespace) -> NoReturn:
    home = home_from(args.home)
    config = load_config(home)  # refuse early, with a clear message, if the folder is not ready
    # Upgrade once here, before the workers start: each worker's create_app then finds the
    # schema current, and a database this build cannot upgrade is named on this terminal.
    _upgrade(config)
    command = gunicorn_command(home, args.bind, args.workers, args.certfile, args.keyfile)
    exec_server(command)


def exec_server(command: list[str]) -> NoReturn:
    """Become gunicorn (exec, not a child): the service manager's SIGTERM and a terminal's
    Ctrl-C then reach gunicorn's master itself, and stopping `kiosk serve` leaves no server
    behind."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)


def cmd_demo(args: argparse.Namespace) -> int:
    demo_dir = Path(args.dir).resolve() if args.dir else default_demo_dir()
    return run_demo(demo_dir, args.kiosk_port, args.counter_port, lan=args.lan, host=args.host)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Máy bỏ phiếu tín nhiệm điện tử")
    parser.add_argument("--home", help="thư mục cài đặt (mặc định $KIOSK_HOME hoặc ./instance)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="tạo thư mục cài đặt, khóa bí mật và cơ sở dữ liệu")
    p.add_argument("--database-url", help="ví dụ postgresql+psycopg://user@host/db (mặc định SQLite)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("upgrade", help="nâng cấp lược đồ cơ sở dữ liệu lên bản này (khởi động "
                                       "kiosk cũng tự làm); sao lưu trước (docs/runbook.md)")
    p.set_defaults(func=cmd_upgrade)

    user = sub.add_parser("user", help="tài khoản").add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="thêm tài khoản (quyền của từng vai trò: kiosk/permissions.py)")
    p.add_argument("username")
    p.add_argument("--role", choices=ROLES, required=True,
                   help="admin: kỹ thuật viên; chair: chủ trì; desk: bàn phát phiếu; "
                        "board: Ban kiểm phiếu; auditor: giám sát (board, auditor chỉ xem số liệu)")
    p.add_argument("--password", help="mật khẩu (hoặc $KIOSK_PASSWORD, hoặc hỏi)")
    p.set_defaults(func=cmd_user_add)
    p = user.add_parser("password", help="đổi mật khẩu (các phiên đăng nhập của tài khoản kết thúc)")
    p.add_argument("username")
    p.add_argument("--password", help="mật khẩu mới (hoặc $KIOSK_PASSWORD, hoặc hỏi)")
    p.set_defaults(func=cmd_user_password)
    for command, text in (("disable", "khóa tài khoản (các phiên đăng nhập kết thúc ngay)"),
                          ("enable", "mở khóa tài khoản")):
        p = user.add_parser(command, help=text)
        p.add_argument("username")
        p.set_defaults(func=cmd_user_disable)

    election = sub.add_parser("election", help="cuộc lấy phiếu").add_subparsers(dest="election_command",
                                                                                   required=True)
    p = election.add_parser("create", help="tạo cuộc lấy phiếu từ SPEC.json (chưa có khóa)")
    p.add_argument("spec")
    p.set_defaults(func=cmd_election_create)
    p = election.add_parser("definition", help="xuất định nghĩa cho lễ tạo khóa trên máy Ban kiểm phiếu")
    p.add_argument("election")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_election_definition)
    p = election.add_parser("key", help="nhập tệp khóa công khai do máy Ban kiểm phiếu tạo (KEY.json)")
    p.add_argument("election")
    p.add_argument("key_file")
    p.set_defaults(func=cmd_election_key)

    p = sub.add_parser("checkin", help="điểm danh và phát phiếu, in mã phiếu")
    p.add_argument("election")
    p.add_argument("voter_id")
    p.set_defaults(func=cmd_checkin)
    for name, func, text in (("open", cmd_open, "mở bỏ phiếu"), ("pause", cmd_pause, "tạm dừng"),
                             ("close", cmd_close, "kết thúc bỏ phiếu")):
        p = sub.add_parser(name, help=text)
        p.add_argument("election")
        if name == "open":
            p.add_argument("--confirm-date", action="store_true",
                           help="mở dù ngày hội nghị đã nhập không phải hôm nay")
        p.set_defaults(func=func)
    p = sub.add_parser("export", help="xuất hòm phiếu đã niêm phong")
    p.add_argument("election")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("backup", help="sao lưu cơ sở dữ liệu (được cả khi đang bỏ phiếu)")
    p.add_argument("output")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="khôi phục cơ sở dữ liệu từ bản sao lưu (dừng máy chủ trước)")
    p.add_argument("backup")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("tls", help="tạo CA nội bộ và chứng chỉ HTTPS cho mạng LAN")
    p.add_argument("--host", required=True, help="tên máy chủ trên LAN, ví dụ kiosk.local")
    p.add_argument("--ip", action="append", help="địa chỉ IP trên LAN (có thể lặp)")
    p.add_argument("--out", default="tls")
    p.set_defaults(func=cmd_tls)

    p = sub.add_parser("pair", help="tạo mã ghép máy tính bảng")
    p.add_argument("election")
    p.add_argument("--label", default="Máy tính bảng")
    p.set_defaults(func=cmd_pair)

    p = sub.add_parser("serve", help="chạy máy chủ web (gunicorn)")
    p.add_argument("--bind", default="127.0.0.1:8000")
    p.add_argument("--workers", type=int)
    p.add_argument("--certfile")
    p.add_argument("--keyfile")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="chạy thử: tạo cuộc lấy phiếu mẫu, chạy máy bỏ phiếu và máy kiểm phiếu")
    p.add_argument("--dir", help="thư mục của buổi chạy thử (chứa mảnh khóa; mặc định "
                                 "~/.local/share/phieu-tin-nhiem-demo, ngoài mã nguồn)")
    p.add_argument("--lan", action="store_true",
                   help="phục vụ HTTPS trên mạng LAN (CA riêng, trang /ca) cho máy tính bảng thật")
    p.add_argument("--host", help="địa chỉ LAN máy tính bảng sẽ mở (mặc định: tự tìm)")
    p.add_argument("--kiosk-port", type=int, default=8000)
    p.add_argument("--counter-port", type=int, default=8001)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except (DomainError, ConfigError, backup.BackupError, SchemaError, ValueError) as err:
        print(f"Lỗi: {err}", file=sys.stderr)
        return 1
    except DBAPIError as err:
        fault = classify(err.orig) if err.orig is not None else None
        if fault is None:
            raise
        # Named by its code only: the statement and its parameters stay out of the terminal.
        if fault.kind == BUSY:
            print(f"Lỗi: cơ sở dữ liệu đang bận ({fault.code}); chưa có gì được ghi. Hãy chạy lại "
                  "lệnh sau giây lát.", file=sys.stderr)
        else:
            print(f"Lỗi: không ghi được vào cơ sở dữ liệu ({fault.code}: ổ đĩa đầy, chỉ cho đọc "
                  "hoặc không truy cập được); chưa có gì được ghi.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
