"""The key ceremony from the command line, as a meeting holds it: the kiosk exports the
definition, the board's laptop (the counter's command, with its own home folder) makes the
key and the share files, the kiosk imports only the key file."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from counter.cli import main as counter
from kiosk.cli import main as kiosk


def cli_ceremony(kiosk_home: Path, election_id: str, directory: Path) -> Path:
    """Run the three commands; the folder of share files (share-1.json …)."""
    definition, key, shares = directory / "definition.json", directory / "key.json", directory / "shares"
    with contextlib.redirect_stdout(io.StringIO()):
        assert kiosk(["--home", str(kiosk_home), "election", "definition", election_id, "-o", str(definition)]) == 0
        assert counter(["--home", str(directory / "board-laptop"), "ceremony", str(definition),
                        "--shares-dir", str(shares), "-o", str(key)]) == 0
        assert kiosk(["--home", str(kiosk_home), "election", "key", election_id, str(key)]) == 0
    return shares
