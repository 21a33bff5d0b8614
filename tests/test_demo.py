"""The README's first command: `kiosk demo` serves the kiosk and the counter under gunicorn."""

from __future__ import annotations

import subprocess
import sys
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
