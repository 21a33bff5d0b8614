"""`counter ceremony`: the key ceremony on the counting board's laptop.

Reads the election definition exported by the kiosk, makes the election key in memory
(shared/ceremony.py), writes one share file per board member (to print as share cards)
and the key file for the kiosk, which holds only public parts. The private key is never
written: it exists only inside shared.elgamal.share_election_key.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from counter.config import ensure_home, home_path, load_config
from shared import json_input
from shared import manifest as manifests
from shared.ceremony import run_ceremony
from shared.errors import DomainError

EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE = 0, 1, 2


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def cmd_ceremony(args: argparse.Namespace) -> int:
    config = load_config(ensure_home(home_path(getattr(args, "home", None))))
    try:
        definition = json_input.read_file(args.definition, f"Tệp định nghĩa {args.definition}",
                                          manifests.MAX_FILE_BYTES)
    except json_input.JsonRefused as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_UNREADABLE
    shares_dir, key_path = Path(args.shares_dir), Path(args.output)
    if shares_dir.exists() and any(shares_dir.iterdir()):
        print(f"Thư mục {shares_dir} không rỗng: không ghi đè mảnh khóa.", file=sys.stderr)
        return EXIT_REFUSED
    if key_path.exists():
        print(f"Tệp {key_path} đã có: không ghi đè.", file=sys.stderr)
        return EXIT_REFUSED
    try:
        result = run_ceremony(definition, config.signing_key)
    except DomainError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    # Share files go to a side folder first and move into place whole, so a failure leaves
    # no half set of cards.
    partial = shares_dir.with_name(shares_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True, mode=0o700)
    try:
        for card in result.cards:
            _write_private(partial / f"share-{card.index}.json", card.to_json() + "\n")
        if shares_dir.exists():
            shares_dir.rmdir()
        partial.rename(shares_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    key_path.write_text(result.key_file.to_json(), encoding="utf-8")
    manifest_hash = result.manifest.manifest_hash
    print(f"Đã tạo khóa và {len(result.cards)} mảnh khóa (cần {result.manifest.threshold} "
          f"mảnh để kiểm phiếu); mỗi mảnh đã được kiểm tra với cam kết công khai.")
    print(f"Mảnh khóa: {shares_dir}  ·  Tệp khóa cho máy kiosk: {key_path}")
    print(f"Mã băm bản kê khai: {manifest_hash}")
    print(f"Khóa ký của máy kiểm phiếu (công bố trước khi bỏ phiếu): {result.key_file.counter_public_key.hex()}")
    return EXIT_OK


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `counter ceremony`."""
    p = sub.add_parser("ceremony", parents=[common],
                       help="lễ tạo khóa trên máy của Ban kiểm phiếu (từ tệp định nghĩa của máy kiosk)")
    p.add_argument("definition", metavar="DEF.json")
    p.add_argument("--shares-dir", required=True, metavar="DIR", help="thư mục ghi mỗi mảnh khóa một tệp")
    p.add_argument("-o", "--output", required=True, metavar="KEY.json", help="tệp khóa công khai cho máy kiosk")
    p.set_defaults(func=cmd_ceremony)
