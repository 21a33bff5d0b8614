"""`kiosk demo`: a rehearsal election on SQLite, with the kiosk and the counter under gunicorn.

With --lan the kiosk serves HTTPS on every interface with a certificate of its own CA (in
the demo's kiosk folder, so the /ca page offers it to tablets) and names the LAN address
a tablet must open. The demo folder holds the board's share files: it is never placed in
the checkout unless git ignores it there (`demo_folder_problem`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.config import CONFIG_FILE, ensure_home, load_config
from kiosk.serving import gunicorn_command
from shared import booths, crypto
from shared import election as elections
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.models import Election, User
from shared.staff_accounts import create_user
from shared.states import ElectionState

DEMO_USERS = {"chutri": ("chair", "chutri-demo-2026"), "banphat": ("desk", "banphat-demo-2026"),
              "quantri": ("admin", "quantri-demo-2026")}
CHECKOUT = Path(__file__).resolve().parent.parent


def default_demo_dir() -> Path:
    """Outside any checkout: the user's data folder ($XDG_DATA_HOME or ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "phieu-tin-nhiem-demo"


def demo_folder_problem(demo_dir: Path, checkout: Path = CHECKOUT) -> str | None:
    """Why the demo may not use this folder, or None.

    The folder holds the board's share files: inside a git checkout it must be ignored by
    git, or a `git add .` would publish the key shares of the rehearsal.
    """
    demo_dir = demo_dir.resolve()
    if not (checkout / ".git").exists() or not demo_dir.is_relative_to(checkout):
        return None
    try:
        # The trailing slash: it will be a folder, which a "/demo/" pattern matches even before it exists.
        ignored = subprocess.run(["git", "-C", str(checkout), "check-ignore", "-q", f"{demo_dir}/"],
                                 check=False, capture_output=True).returncode == 0
    except OSError:
        ignored = False
    if ignored:
        return None
    return (f"Thư mục {demo_dir} nằm trong mã nguồn và không được git bỏ qua; nó sẽ chứa mảnh khóa "
            f"của Ban kiểm phiếu. Chọn thư mục khác (mặc định: {default_demo_dir()}) hoặc ./demo.")


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, as tablets on the LAN reach it."""
    found: list[str] = []
    try:  # the address of the interface a LAN packet would leave by (nothing is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.168.255.255", 9))
            found.append(str(probe.getsockname()[0]))
    except OSError:
        pass
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    found += [str(info[4][0]) for info in infos]
    return [a for i, a in enumerate(found) if not a.startswith("127.") and a not in found[:i]]


def is_ip(value: str) -> bool:
    """True for an IP address (a certificate names it as an IP, a name as a DNS name)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def lan_certificates(kiosk_home: Path, host: str) -> tuple[Path, Path]:
    """The demo's CA and server certificate for `host` in the kiosk folder (tls/, where
    `kiosk tls` puts them and the /ca page finds the CA). Made again for another host; the
    CA's key is not kept: a rehearsal CA signs nothing else."""
    tls = kiosk_home / "tls"
    cert, key, stamp = tls / "server.pem", tls / "server-key.pem", tls / "host.txt"
    if cert.exists() and key.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == host:
        return cert, key
    tls.mkdir(parents=True, exist_ok=True)
    pems = crypto.make_lan_certificates(host, [host] if is_ip(host) else [])
    (tls / "ca.pem").write_bytes(pems["ca_cert"])
    cert.write_bytes(pems["server_cert"])
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pems["server_key"])
    stamp.write_text(host, encoding="utf-8")
    return cert, key


def set_public_url(kiosk_home: Path, url: str | None) -> None:
    """Write (or remove) the address the kiosk's pairing and CA pages name (kiosk/lan.py)."""
    path = kiosk_home / CONFIG_FILE
    settings = json.loads(path.read_text(encoding="utf-8"))
    if url is None:
        settings.pop("public_url", None)
    else:
        settings["public_url"] = url
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


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
                      if election.state == ElectionState.DRAFT else None)
    if definition is not None:
        key_text = board_laptop_ceremony(definition, demo_dir)
        with transaction(factory) as s:
            elections.import_election_key(s, elections.get_election(s, election_id, lock=True), key_text,
                                          config.signing_key, "demo")
    with transaction(factory) as s:
        election = elections.get_election(s, election_id)
        pairing = (booths.create_pairing(s, election, "Máy demo", "demo")
                   if election.state != ElectionState.CLOSED else "")
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


def run_demo(demo_dir: Path, kiosk_port: int, counter_port: int, lan: bool = False,
             host: str | None = None) -> int:
    """Prepare the demo, serve kiosk and counter until Ctrl-C: on localhost, or with `lan`
    the kiosk over HTTPS on every interface, for real tablets."""
    problem = demo_folder_problem(demo_dir)
    if problem:
        print(f"Lỗi: {problem}", file=sys.stderr)
        return 1
    kiosk_home = demo_dir / "kiosk"
    ensure_home(kiosk_home)
    if lan:
        address = host or next(iter(lan_addresses()), None)
        if address is None:
            print("Lỗi: không tìm thấy địa chỉ mạng LAN của máy này; chỉ rõ bằng --host 192.168.1.10.",
                  file=sys.stderr)
            return 1
        certfile, keyfile = lan_certificates(kiosk_home, address)
        base = f"https://{f'[{address}]' if ':' in address else address}:{kiosk_port}"
        set_public_url(kiosk_home, base)
        kiosk = gunicorn_command(kiosk_home, f"0.0.0.0:{kiosk_port}", certfile=str(certfile),
                                 keyfile=str(keyfile))
    else:
        base = f"http://127.0.0.1:{kiosk_port}"
        set_public_url(kiosk_home, None)
        kiosk = gunicorn_command(kiosk_home, f"127.0.0.1:{kiosk_port}")
    info = prepare(demo_dir)
    counter_home = demo_dir / "counter"
    processes = [
        subprocess.Popen(kiosk),
        subprocess.Popen([sys.executable, "-m", "counter.cli", "--home", str(counter_home), "serve",
                          "--bind", f"127.0.0.1:{counter_port}"]),
    ]
    print(json.dumps(info, ensure_ascii=False))
    if lan:
        tablet = (f"  Máy tính bảng (cùng mạng LAN): cài chứng chỉ tại {base}/ca (so dấu vân tay),\n"
                  f"                        rồi mở {base}/booth/pair, mã ghép máy: {info['pairing']}")
    else:
        tablet = (f"  Máy tính bảng:        {base}/booth/pair   mã ghép máy: {info['pairing']}\n"
                  "                        (máy tính bảng thật: chạy lại với --lan, HTTPS trên mạng LAN)")
    print(f"""
Máy bỏ phiếu (kiosk):   {base}/
  Chủ trì:              {base}/chair   tài khoản chutri / {DEMO_USERS['chutri'][1]}
  Bàn phát phiếu:       {base}/desk    tài khoản banphat / {DEMO_USERS['banphat'][1]}
  Quản trị tài khoản:   {base}/admin/users/   tài khoản quantri / {DEMO_USERS['quantri'][1]}
{tablet}
  Mã ghép dùng một lần, hết hạn sau {booths.PAIRING_SECONDS // 60} phút. Mã mới: trang Chủ trì → cuộc
  lấy phiếu → “Tạo mã ghép máy tính bảng”, hoặc: kiosk --home {kiosk_home} pair {info['election_id']}
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
