"""`kiosk tls`: a LAN certificate authority and a server certificate that a TLS client accepts."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.cli import main as kiosk
from tests.servers import free_port


def test_tls_certificates_serve_https_that_a_client_trusting_the_ca_accepts(tmp_path: Path) -> None:
    home = tmp_path / "kiosk"
    assert kiosk(["--home", str(home), "init"]) == 0
    out = tmp_path / "tls"
    assert kiosk(["tls", "--host", "kiosk.local", "--ip", "127.0.0.1", "--out", str(out)]) == 0
    assert (out / "server-key.pem").stat().st_mode & 0o077 == 0
    assert (out / "ca-key.pem").stat().st_mode & 0o077 == 0
    assert kiosk(["tls", "--host", "kiosk.local", "--out", str(out)]) == 1  # never overwrites

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--home", str(home), "serve",
                               "--bind", f"127.0.0.1:{port}", "--workers", "1",
                               "--certfile", str(out / "server.pem"), "--keyfile", str(out / "server-key.pem")])
    try:
        trusting = ssl.create_default_context(cafile=str(out / "ca.pem"))
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                    with trusting.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        tls.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                        reply = tls.recv(4096).decode()
                break
            except (ConnectionRefusedError, ConnectionResetError, TimeoutError):  # not listening yet, or
                # the handshake timed out while the workers were still starting
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        assert reply.startswith("HTTP/1.0 200") or reply.startswith("HTTP/1.1 200")
        # A client that does not trust our CA refuses the connection.
        with pytest.raises(ssl.SSLCertVerificationError):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
    finally:
        server.terminate()
        server.wait(timeout=30)
