"""The golden election: test vectors for anyone writing a verifier from the documents alone.

`build_golden(directory)` runs a small election through the real domain functions (kiosk:
create, definition, key import, check-in, open, cast, close, export; board laptop: the
ceremony; counter: verify and tally) with every random draw and every clock reading taken
from fixed seeds, and writes:

- `box.json`: the sealed ballot box (docs/ballot-box-format.md);
- `results.json`: the signed results with the aggregates, the partial decryptions and
  their proofs (docs/crypto-protocol.md 6-7);
- `secrets.json`: what made them: the seeds, both signing keys, the board's share codes
  and the marks of every ballot. Never do this in an election: it is here so the vectors
  can be rebuilt and checked.

`python3 -m tests.golden tests/data/golden` writes them again; tests/test_golden.py
rebuilds them in a temporary folder and requires the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from shared import audit, crypto, elgamal, voting
from shared import election as elections
from shared.box import export_box, verified_box
from shared.canonical import canonical_bytes
from shared.ceremony import run_ceremony
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.tally import signed_results, tally_box
from tests.factories import cast_ballot
from tests.seeded import SeededRandomness

SEED = b"cv-golden-election-v2"
KIOSK_SIGNING_KEY = hashlib.sha256(SEED + b"/kiosk-signing-key").digest()
COUNTER_SIGNING_KEY = hashlib.sha256(SEED + b"/counter-signing-key").digest()
SPEC: dict[str, Any] = {
    "title": "Hội nghị lấy phiếu tín nhiệm (bộ dữ liệu mẫu)",
    "organization": "Hội đồng nhân dân tỉnh Hà Giang", "place": "Hội trường tỉnh",
    "date": "2026-12-01", "profile": "nq96", "convened": 5,
    "persons": [{"name": "Nguyễn Văn Sơn", "position": "Chủ tịch", "unit": "Ủy ban nhân dân tỉnh"},
                {"name": "Đặng Thị Hà", "position": "Phó Chủ tịch", "unit": "Ủy ban nhân dân tỉnh"},
                {"name": "Lê Quang Dũng", "position": "Giám đốc", "unit": "Sở Nội vụ"}],
    "voters": [{"id": f"DB{i}", "name": name, "position": "Đại biểu"}
               for i, name in enumerate(["Trần Văn An", "Phạm Thị Bình", "Hoàng Đức Cường",
                                         "Vũ Thu Dung", "Bùi Minh Em"], start=1)],
    "board": {"members": ["Lê Văn Kiểm", "Trần Thị Phiếu", "Phạm Đức Minh"], "threshold": 2},
    "forms": {"ballot_of": "đại biểu Hội đồng nhân dân tỉnh khóa XVIII",
              "ballot_for": "người giữ chức vụ do Hội đồng nhân dân tỉnh bầu", "year": 2026,
              "locality": "Hà Giang", "assigned_by": "Kỳ họp thứ 20 Hội đồng nhân dân tỉnh"},
}
# Four of five vote; the fifth slip is voided at close. Marks: 0 cao, 1 tín nhiệm, 2 thấp.
MARKS = [[0, 1, 2], [0, 0, 2], [1, 2, 2], [0, 1, 1]]
CARDS_USED = (1, 3)  # members 1 and 3 decrypt


class _Stream:
    """SHA-256 in counter mode: the golden run's only source of random bytes."""

    def __init__(self, label: bytes) -> None:
        self.label, self.counter = label, 0

    def bytes(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            self.counter += 1
            out += hashlib.sha256(SEED + self.label + self.counter.to_bytes(8, "big")).digest()
        return out[:n]


class _Clock:
    """A clock that advances one second per reading, from the meeting's morning."""

    def __init__(self) -> None:
        self.seconds = 0

    def now_iso(self) -> str:
        self.seconds += 1
        minutes, second = divmod(self.seconds, 60)
        return f"2026-12-01T01:{minutes:02d}:{second:02d}+00:00"


@contextmanager
def _deterministic() -> Iterator[None]:
    stream, clock = _Stream(b"/bytes"), _Clock()
    rng = SeededRandomness(SEED + b"/group")
    with mock.patch.object(crypto, "random_bytes", stream.bytes), \
            mock.patch.object(audit, "now_iso", clock.now_iso), \
            mock.patch.object(elgamal.SYSTEM_RANDOMNESS, "scalar", rng.scalar), \
            mock.patch.object(elgamal.SYSTEM_RANDOMNESS, "challenge", rng.challenge), \
            mock.patch.object(elgamal.SYSTEM_RANDOMNESS, "batch", rng.batch):
        yield


def build_golden(directory: Path) -> dict[str, bytes]:
    """Run the golden election in `directory` (a scratch database); the three files' bytes."""
    with _deterministic():
        engine = make_engine(f"sqlite:///{directory / 'golden.db'}")
        init_schema(engine)
        factory = session_factory(engine)
        with transaction(factory) as s:
            election = elections.create_election(s, SPEC, "cli")
            election_id = election.id
            definition = elections.election_definition(s, election, KIOSK_SIGNING_KEY)
        ceremony = run_ceremony(definition, COUNTER_SIGNING_KEY, SeededRandomness(SEED + b"/ceremony"))
        with transaction(factory) as s:
            elections.import_election_key(s, elections.get_election(s, election_id, lock=True),
                                          ceremony.key_file.to_json(), KIOSK_SIGNING_KEY, "cli")
        codes = []
        for voter in SPEC["voters"]:
            with transaction(factory) as s:
                codes.append(voting.check_in(s, elections.get_election(s, election_id), voter["id"], "cli"))
        with transaction(factory) as s:
            elections.open_vote(s, elections.get_election(s, election_id, lock=True), "cli",
                                today=dt.date.fromisoformat(SPEC["date"]))
        for code, marks in zip(codes, MARKS, strict=False):  # the fifth voter does not vote
            with transaction(factory) as s:
                cast_ballot(s, election_id, code, marks)
        with transaction(factory) as s:
            elections.close_vote(s, elections.get_election(s, election_id, lock=True), KIOSK_SIGNING_KEY, "cli")
        with transaction(factory) as s:
            box_bytes = export_box(s, elections.get_election(s, election_id), KIOSK_SIGNING_KEY, "cli")
        engine.dispose()
        verified = verified_box(json.loads(box_bytes), crypto.signing_public_key(KIOSK_SIGNING_KEY).hex())
        cards = [c for c in ceremony.cards if c.index in CARDS_USED]
        results = tally_box(verified, cards, "2026-12-01 08:30", "2026-12-01 08:31")
        results_bytes = canonical_bytes(signed_results(results, COUNTER_SIGNING_KEY))
    secrets_doc = {
        "about": "Bộ dữ liệu mẫu: KHÔNG BAO GIỜ công bố bí mật của một cuộc lấy phiếu thật. "
                 "Golden test vectors only: tests/golden.py makes them.",
        "seed": SEED.decode(), "kiosk_signing_key": KIOSK_SIGNING_KEY.hex(),
        "counter_signing_key": COUNTER_SIGNING_KEY.hex(),
        "share_codes": {str(c.index): c.code for c in ceremony.cards},
        "cards_used": list(CARDS_USED), "slip_codes": codes, "marks": MARKS,
    }
    return {"box.json": box_bytes, "results.json": results_bytes,
            "secrets.json": (json.dumps(secrets_doc, ensure_ascii=False, indent=2) + "\n").encode()}


def main(argv: list[str]) -> int:
    """Write the golden files into the folder given (tests/data/golden)."""
    import tempfile

    target = Path(argv[0])
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for name, data in build_golden(Path(scratch)).items():
            (target / name).write_bytes(data)
    print(f"Đã ghi bộ dữ liệu mẫu vào {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
