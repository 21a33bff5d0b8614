"""`kiosk demo`: a rehearsal election on SQLite, with the kiosk and the counter under gunicorn."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.config import ensure_home, load_config
from shared import booths
from shared import election as elections
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.models import Election, User

DEMO_USERS = {"chutri": ("chair", "chutri-demo-2026"), "banphat": ("desk", "banphat-demo-2026")}


def demo_spec() -> dict[str, Any]:
    """A rehearsal meeting: 8 persons on the ballot, 30 voters, a 2-of-3 board."""
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
    middle = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quang"]
    given = ["Sơn", "Hương", "Dũng", "Lan", "Tuấn", "Hà", "Thắng", "Yến", "Khoa", "Giang"]
    positions = [("Chủ tịch UBND tỉnh", "Ủy ban nhân dân tỉnh"),
                 ("Phó Chủ tịch UBND tỉnh", "Ủy ban nhân dân tỉnh"),
                 ("Giám đốc Sở Nội vụ", "Sở Nội vụ"), ("Giám đốc Sở Tài chính", "Sở Tài chính"),
                 ("Giám đốc Sở Y tế", "Sở Y tế"), ("Giám đốc Sở Giáo dục và Đào tạo", "Sở Giáo dục và Đào tạo"),
                 ("Chánh Thanh tra tỉnh", "Thanh tra tỉnh"), ("Chánh Văn phòng UBND tỉnh", "Văn phòng UBND tỉnh")]
    persons = [{"name": f"{family[i]} {middle[i % 6]} {given[i]}", "position": pos, "unit": unit}
               for i, (pos, unit) in enumerate(positions)]
    voters = [{"id": f"UV{i:02d}", "name": f"{family[(i * 3) % 10]} {middle[i % 6]} {given[(i * 7) % 10]}",
               "position": "Ủy viên Ban Chấp hành"} for i in range(1, 31)]
    return {"title": "Hội nghị lấy phiếu tín nhiệm giữa nhiệm kỳ (diễn tập)",
            "organization": "Ủy ban nhân dân tỉnh Hà Giang", "place": "Hội trường UBND tỉnh",
            "date": time.strftime("%Y-%m-%d"), "profile": "qd96", "convened": 30,
            "persons": persons, "voters": voters,
            "board": {"members": ["Trần Văn Kiểm", "Lê Thị Phiếu", "Phạm Đức Minh"], "threshold": 2}}


def prepare(demo_dir: Path) -> dict[str, Any]:
    """Create (once) the instance folders, accounts, election, share files and a pairing code."""
    from kiosk.auth import create_user

    kiosk_home = demo_dir / "kiosk"
    ensure_home(kiosk_home)
    config = load_config(kiosk_home)
    engine = make_engine(config.database_url)
    init_schema(engine)
    factory = session_factory(engine)
    shares_dir = demo_dir / "shares"
    with transaction(factory) as s:
        for username, (role, password) in DEMO_USERS.items():
            if s.scalars(select(User).where(User.username == username)).first() is None:
                create_user(s, username, password, role)
        election = s.scalars(select(Election).order_by(Election.date)).first()
        if election is None:
            election = elections.create_election(s, demo_spec(), "demo")
        election_id = election.id
        definition = (elections.election_definition(s, election, config.signing_key)
                      if election.state == "draft" else None)
    if definition is not None:
        key_text = board_laptop_ceremony(definition, demo_dir)
        with transaction(factory) as s:
            elections.import_election_key(s, elections.get_election(s, election_id, lock=True), key_text,
                                          config.signing_key, "demo")
    with transaction(factory) as s:
        election = elections.get_election(s, election_id)
        pairing = booths.create_pairing(s, election, "Máy demo", "demo") if election.state != "closed" else ""
        return {"election_id": election.id, "pairing": pairing, "shares_dir": str(shares_dir)}


def board_laptop_ceremony(definition: dict[str, Any], demo_dir: Path) -> bytes:
    """The key ceremony as the board's laptop runs it: the counter's own command, in its own
    process with its own folder, so the election's private key never enters the kiosk's process."""
    ceremony_dir = demo_dir / "ceremony"
    shutil.rmtree(ceremony_dir, ignore_errors=True)
    ceremony_dir.mkdir(parents=True, mode=0o700)
    definition_path = ceremony_dir / "definition.json"
    definition_path.write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    shares_dir = demo_dir / "shares"
    shutil.rmtree(shares_dir, ignore_errors=True)
    key_path = ceremony_dir / "key.json"
    subprocess.run([sys.executable, "-m", "counter.cli", "--home", str(demo_dir / "counter"), "ceremony",
                    str(definition_path), "--shares-dir", str(shares_dir), "-o", str(key_path)],
                   check=True, stdout=subprocess.DEVNULL)
    return key_path.read_bytes()


def run_demo(demo_dir: Path, kiosk_port: int, counter_port: int) -> int:
    """Prepare the demo, serve kiosk and counter on localhost until Ctrl-C."""
    from kiosk.cli import gunicorn_command

    info = prepare(demo_dir)
    counter_home = demo_dir / "counter"
    processes = [
        subprocess.Popen(gunicorn_command(demo_dir / "kiosk", f"127.0.0.1:{kiosk_port}")),
        subprocess.Popen([sys.executable, "-m", "counter.cli", "--home", str(counter_home), "serve",
                          "--bind", f"127.0.0.1:{counter_port}"]),
    ]
    print(json.dumps(info, ensure_ascii=False))
    print(f"""
Máy bỏ phiếu (kiosk):   http://127.0.0.1:{kiosk_port}/
  Chủ trì:              http://127.0.0.1:{kiosk_port}/chair   tài khoản chutri / {DEMO_USERS['chutri'][1]}
  Bàn phát phiếu:       http://127.0.0.1:{kiosk_port}/desk    tài khoản banphat / {DEMO_USERS['banphat'][1]}
  Máy tính bảng:        http://127.0.0.1:{kiosk_port}/booth   mã ghép máy: {info['pairing']}
Máy kiểm phiếu (counter): http://127.0.0.1:{counter_port}/
Mảnh khóa của Ban kiểm phiếu: {info['shares_dir']}
Dừng: Ctrl-C""", flush=True)
    stop = {"now": False}

    def _stop(_sig: int, _frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stop["now"] and all(p.poll() is None for p in processes):
        time.sleep(0.5)
    for p in processes:
        if p.poll() is None:
            p.terminate()
    for p in processes:
        p.wait(timeout=20)
    return 0
