"""`kiosk serve` is gunicorn itself: stopping it (SIGTERM from the service manager) leaves no
server process behind and frees the port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gunicorn.config import KNOWN_SETTINGS

from kiosk import gunicorn_conf
from shared import seal_pool
from tests.servers import alive, descendants, free_port, processes_mentioning, wait_for
from tests.test_seal_pool import helpers


def test_stopping_kiosk_serve_stops_gunicorn_and_its_workers(tmp_path: Path) -> None:
    home = tmp_path / "kiosk-home"
    assert subprocess.call([sys.executable, "-m", "kiosk.cli", "--home", str(home), "init"],
                           stdout=subprocess.DEVNULL) == 0
    port = free_port()
    spawned: list[int] = []
    server = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--home", str(home), "serve",
                               "--bind", f"127.0.0.1:{port}", "--workers", "2"])
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == "ok"
        running = processes_mentioning(f"KIOSK_HOME={home}")
        assert server.pid in running and len(running) >= 3  # the master (this very pid) and 2 workers
        # and each worker's sealing helpers (shared/seal_pool.py)
        spawned = descendants(server.pid)
        assert len(spawned) >= len(running) - 1 + 2 * seal_pool.HELPERS
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        deadline = time.time() + 10
        while (processes_mentioning(f"KIOSK_HOME={home}") or alive(spawned)) and time.time() < deadline:
            time.sleep(0.2)
        assert processes_mentioning(f"KIOSK_HOME={home}") == []
        assert alive(spawned) == []
        with socket.socket() as probe:  # nobody listens on the port any more
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    finally:
        for pid in processes_mentioning(f"KIOSK_HOME={home}") + alive(spawned):
            subprocess.call(["kill", "-9", str(pid)])


def test_each_worker_shortens_the_gil_switch_interval_and_seals_in_helpers() -> None:
    """kiosk/gunicorn_conf.py and shared/seal_pool.py say why; gunicorn calls the hook by its
    setting's name."""
    assert "post_fork" in {setting.name for setting in KNOWN_SETTINGS}
    previous = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        gunicorn_conf.post_fork(None, None)
        assert sys.getswitchinterval() == pytest.approx(gunicorn_conf.SWITCH_INTERVAL)
        assert gunicorn_conf.SWITCH_INTERVAL < 0.005
        assert len(helpers()) == seal_pool.HELPERS
    finally:
        sys.setswitchinterval(previous)
        seal_pool.stop()
    assert helpers() == []
