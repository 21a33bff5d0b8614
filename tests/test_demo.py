"""The README's first command: `kiosk demo` serves the kiosk and the counter under gunicorn."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.servers import free_port, wait_for


def test_demo_starts_kiosk_and_counter_with_a_demo_election(tmp_path: Path) -> None:
    kiosk_port, counter_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "demo", "--dir", str(tmp_path / "demo"),
         "--kiosk-port", str(kiosk_port), "--counter-port", str(counter_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(f"http://127.0.0.1:{kiosk_port}/healthz") == "ok"
        assert wait_for(f"http://127.0.0.1:{counter_port}/healthz") == "ok"
        # The booth of an unpaired browser goes to pairing: the demo app is the real one.
        with urllib.request.urlopen(f"http://127.0.0.1:{kiosk_port}/booth/pair") as response:
            assert "Ghép máy tính bảng" in response.read().decode("utf-8")
        assert len(list((tmp_path / "demo" / "shares").glob("share-*.json"))) == 3
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "chutri" in output and "/booth" in output and "Mảnh khóa" in output
    assert process.returncode == 0


def test_demo_on_the_lan_serves_https_with_its_own_ca_and_names_the_tablets_address(tmp_path: Path) -> None:
    import ssl

    kiosk_port, counter_port = free_port(), free_port()
    demo = tmp_path / "demo"
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "demo", "--dir", str(demo), "--lan", "--host", "127.0.0.1",
         "--kiosk-port", str(kiosk_port), "--counter-port", str(counter_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"https://127.0.0.1:{kiosk_port}"
    try:
        ca = demo / "kiosk" / "tls" / "ca.pem"
        deadline = time.time() + 60
        while not ca.exists() and time.time() < deadline:
            time.sleep(0.3)
        # A tablet that installed the demo's CA (from /ca) trusts the kiosk: nothing else needed.
        trusted = ssl.create_default_context(cafile=str(ca))
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2, context=trusted) as response:
                    assert response.read() == b"ok"
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        with urllib.request.urlopen(f"{base}/ca", context=trusted) as response:
            page = response.read().decode("utf-8")
        assert f"{base}/ca.pem" in page  # the address the QR code and the text give the tablet
        assert (demo / "kiosk" / "tls" / "server-key.pem").stat().st_mode & 0o077 == 0
        assert not (demo / "kiosk" / "tls" / "ca-key.pem").exists()
        config = json.loads((demo / "kiosk" / "config.json").read_text(encoding="utf-8"))
        assert config["public_url"] == base
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"{base}/booth/pair" in output and f"{base}/ca" in output
    assert "127.0.0.1:" + str(kiosk_port) + "/booth" not in output.replace(base, "")
    assert "hết hạn sau 10 phút" in output and "Tạo mã ghép máy tính bảng" in output
    assert "kiosk --home" in output and " pair " in output
    assert process.returncode == 0


def test_the_demo_folder_is_never_in_the_checkout_unless_git_ignores_it(tmp_path: Path) -> None:
    from kiosk.demo import CHECKOUT, default_demo_dir, demo_folder_problem, run_demo

    assert not default_demo_dir().resolve().is_relative_to(CHECKOUT)
    assert demo_folder_problem(tmp_path / "demo") is None
    assert demo_folder_problem(CHECKOUT / "demo") is None  # ./demo is in .gitignore
    problem = demo_folder_problem(CHECKOUT / "kiosk" / "demo-shares")
    assert problem is not None and "mảnh khóa" in problem
    # Refused before anything is written there.
    assert run_demo(CHECKOUT / "kiosk" / "demo-shares", free_port(), free_port()) == 1
    assert not (CHECKOUT / "kiosk" / "demo-shares").exists()
