"""Helpers for the counter tests: a built election, box tampering, an HTTPS test browser."""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared.shares import ShareCard
from tests.factories import COUNTER_SIGNING_KEY, Rehearsal, export, run_election

# Small elections keep the suite fast; numbers chosen so percentages are not all round.
PERSONS, VOTERS, CASTING = 4, 12, 10
# Secure cookies are only sent back over HTTPS, as a real browser would.
BASE_URL = "https://localhost"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Built:
    """A closed election and its sealed box bytes."""

    rehearsal: Rehearsal
    box: bytes

    @property
    def cards(self) -> list[ShareCard]:
        """The board's share cards."""
        return self.rehearsal.cards

    @property
    def election_id(self) -> str:
        """The election id (also the box file name in COUNTER_HOME)."""
        return self.rehearsal.election_id


def build_election(directory: Path, seed: int = 1) -> Built:
    """Run a small election through the domain functions and seal its box."""
    rehearsal = run_election(f"sqlite:///{directory}/k.db", persons=PERSONS, voters=VOTERS,
                             casting=CASTING, seed=seed)
    return Built(rehearsal, export(rehearsal))


def flip_ballot_byte(box: bytes, ballot: int = 0, position: int = 40) -> bytes:
    """The box with one byte flipped inside one ballot, re-saved as JSON."""
    document: dict[str, Any] = json.loads(box)
    raw = bytearray(base64.b64decode(document["ballots"][ballot]["ballot"]))
    raw[position] ^= 0x01
    document["ballots"][ballot]["ballot"] = base64.b64encode(bytes(raw)).decode()
    return json.dumps(document, ensure_ascii=False).encode()


def counter_home(path: Path) -> Path:
    """A COUNTER_HOME whose signing key is the one that held the test elections' key ceremony.

    Only that counter may count (shared.tally.require_ceremony_counter), as on the board's
    laptop; the other secrets are made by the counter itself on first use.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file = path / "signing_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(COUNTER_SIGNING_KEY.hex() + "\n")
    return path


def share_forms(card: ShareCard) -> list[str]:
    """Every way a share could leak into a page: typed form, without dashes, inside the file."""
    return [card.code, card.code.replace("-", ""), card.code.replace("-", "").lower()]


@dataclass
class Browser:
    """A Flask test client that always uses HTTPS and keeps every response it saw."""

    client: FlaskClient
    responses: list[TestResponse] = field(default_factory=list)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET over HTTPS."""
        response = self.client.get(path, base_url=BASE_URL, **kwargs)
        self.responses.append(response)
        return response

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        """POST over HTTPS."""
        response = self.client.post(path, base_url=BASE_URL, **kwargs)
        self.responses.append(response)
        return response

    def csrf_token(self, path: str) -> str:
        """The csrf_token hidden input of the page at path."""
        match = _CSRF.search(self.get(path).get_data(as_text=True))
        assert match, f"no csrf_token field on {path}"
        return match.group(1)
