"""Make the old-build databases in tests/data/dfddf95/ with the code of that build.

Run with the OLD build's code first on the path (nothing installed), e.g.

    git worktree add --detach /tmp/old dfddf95
    PYTHONPATH=/tmp/old python3 tests/data/make_old_kiosks.py tests/data/dfddf95
    git worktree remove /tmp/old

It writes an election stopped mid-vote (voters checked in, some ballots cast, some slips
still unused, some voters not yet come) as a SQLite file (kiosk.db) and as a plain-SQL
PostgreSQL dump (kiosk-postgresql.sql), and for each an <name>.json with what a test needs
to finish the vote: the kiosk signing key, the share files, the unused slip codes, the
voters still to come and the choices already cast. These are test secrets of a made-up
election, never of a real one. tests/test_migrations.py upgrades both with the current
code and finishes the vote.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shared import crypto, voting
from shared import election as elections
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.models import Ballot, Token
from shared.staff_accounts import create_user
from tests import pg_server
from tests.factories import election_spec

PERSONS, VOTERS, CHECKED_IN, CAST = 3, 8, 6, 4


def run_old_election(url: str, signing_key: bytes, seed: int) -> dict[str, Any]:
    """The election up to the middle of the vote; what is needed to finish it."""
    rng = random.Random(seed)
    engine = make_engine(url)
    init_schema(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        create_user(s, "chutri", "mat-khau-chu-tri", "chair")
        create_user(s, "banphat", "mat-khau-ban-phat", "desk")
        e = elections.create_election(s, election_spec(PERSONS, VOTERS), "chair")
        cards = elections.run_key_ceremony(s, e, signing_key, "chair")  # type: ignore[attr-defined]  # the build of dfddf95
        election_id = e.id
    codes = []
    for i in range(1, CHECKED_IN + 1):
        with transaction(factory) as s:
            codes.append(voting.check_in(s, elections.get_election(s, election_id), f"V{i:03d}", "desk"))
    with transaction(factory) as s:
        elections.open_vote(s, elections.get_election(s, election_id), "chair")
    marks = []
    for code in codes[:CAST]:
        choice = [rng.randrange(3) for _ in range(PERSONS)]
        with transaction(factory) as s:
            # dfddf95's voting.cast_ballot(session, election, ...): this runs on that build only
            # (main() refuses a newer one); today's shared.voting has none (tests/factories.py).
            voting.cast_ballot(s, elections.get_election(s, election_id), code, choice)  # type: ignore[attr-defined]
        marks.append(choice)
    with factory() as s:
        fingerprints = sorted(s.scalars(
            select(Ballot.fingerprint).where(Ballot.election_id == election_id)))
    engine.dispose()
    return {
        "built_by": "dfddf95",
        "election_id": election_id,
        "signing_key": signing_key.hex(),
        "persons": PERSONS,
        "share_files": [json.loads(card.to_json()) for card in cards],
        "unused_codes": codes[CAST:],
        "voters_to_come": [f"V{i:03d}" for i in range(CHECKED_IN + 1, VOTERS + 1)],
        "cast_marks": marks,
        "fingerprints": fingerprints,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(out: Path) -> None:
    # The point is the OLD build's schema: refuse to run with a newer build's models.
    assert not hasattr(Token, "cast_hash"), "put the dfddf95 checkout first on PYTHONPATH"
    out.mkdir(parents=True, exist_ok=True)
    signing_key = crypto.generate_signing_key()

    work = Path(tempfile.mkdtemp(prefix="old-kiosk-"))
    db = work / "kiosk.db"
    write_json(out / "kiosk.json", run_old_election(f"sqlite:///{db}", signing_key, seed=1))
    # One self-contained file: the WAL folded in and the journal mode back to DELETE.
    target = sqlite3.connect(out / "kiosk.db")
    sqlite3.connect(db).backup(target)
    target.execute("PRAGMA journal_mode=DELETE")
    target.execute("VACUUM")
    target.close()

    with pg_server.running_postgres() as url:
        write_json(out / "kiosk-postgresql.json", run_old_election(url, signing_key, seed=2))
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        subprocess.run([str(pg_server.find_pg_bin_dir() / "pg_dump"), "--no-owner",
                        "--no-privileges", "--file", str(out / "kiosk-postgresql.sql"), plain],
                       check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
