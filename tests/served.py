"""A Flask app served on 127.0.0.1 from a thread of the test process, for Chromium tests
that need no gunicorn (the room screens); HTTPS with a certificate of a throwaway CA when
the app's cookies are Secure (the kiosk's)."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from shared import crypto


@contextlib.contextmanager
def served(app: Flask, tls_dir: Path | None = None) -> Iterator[str]:
    """Serve the app until the block ends; yields the base URL (https:// with tls_dir)."""
    context = None
    if tls_dir is not None:
        tls_dir.mkdir(parents=True, exist_ok=True)
        pems = crypto.make_lan_certificates("localhost", ["127.0.0.1"])
        (tls_dir / "server.pem").write_bytes(pems["server_cert"])
        (tls_dir / "server-key.pem").write_bytes(pems["server_key"])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_dir / "server.pem", tls_dir / "server-key.pem")
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
