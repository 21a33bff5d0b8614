"""The gunicorn command line that serves the kiosk: for `kiosk serve` and for the demo."""

from __future__ import annotations

import sys
from pathlib import Path

# Inside the package, so `kiosk serve` works from a wheel as well as from a checkout.
GUNICORN_CONF = Path(__file__).resolve().parent / "gunicorn_conf.py"


def gunicorn_command(home: Path, bind: str, workers: int | None = None,
                     certfile: str | None = None, keyfile: str | None = None) -> list[str]:
    """The gunicorn command line that serves the kiosk from an instance folder."""
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--bind", bind,
               "--env", f"KIOSK_HOME={home}"]
    if workers:
        command += ["--workers", str(workers)]
    if certfile and keyfile:
        command += ["--certfile", certfile, "--keyfile", keyfile]
    return command + ["kiosk.wsgi:app"]
