"""Benchmark: how long creating an election holds the database's write lock, by roster size.

Run: python3 -m tests.bench.bench_roster [--db sqlite|postgresql|both] [--sizes 1000,10000,100000]

While one election is being voted on, the chair may create another (the next meeting's,
a rehearsal). Its create transaction holds SQLite's write lock, and every cast of the open
election waits for it. The table gives, per roster size: the create transaction's wall time
(lock held from the first write to the commit), and the longest a cast of an open election
waited when started while the create ran. The largest roster accepted is 100,000 voters
(docs/formats.md, "Roster"); larger rosters are refused before anything is written.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from shared import crypto, voting
from shared import election as elections
from shared.db import transaction
from tests.factories import cast_ballot, election_spec, hold_ceremony, new_factory
from tests.pg_server import running_postgres


def measure(url: str, size: int) -> tuple[float, float]:
    """(create seconds, longest cast wait seconds) for a roster of `size`."""
    factory = new_factory(url)
    key = crypto.generate_signing_key()
    with transaction(factory) as s:
        e = elections.create_election(s, election_spec(persons=2, voters=40), "chair")
        hold_ceremony(s, e, key)
        open_id = e.id
    codes = []
    for i in range(1, 41):
        with transaction(factory) as s:
            codes.append(voting.check_in(s, elections.get_election(s, open_id), f"V{i:03d}", "desk"))
    with transaction(factory) as s:
        elections.open_vote(s, elections.get_election(s, open_id), "chair")
    spec = election_spec(persons=2, voters=size)
    waits: list[float] = []
    running = threading.Event()

    def casts() -> None:
        running.wait()
        for code in codes:
            started = time.perf_counter()
            with transaction(factory) as s:
                cast_ballot(s, open_id, code, [0, 1])
            waits.append(time.perf_counter() - started)
            if not running.is_set():
                return

    caster = threading.Thread(target=casts)
    caster.start()
    started = time.perf_counter()
    running.set()
    with transaction(factory) as s:
        elections.create_election(s, spec, "chair")
    took = time.perf_counter() - started
    running.clear()
    caster.join()
    factory.kw["bind"].dispose()
    return took, max(waits) if waits else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    print(f"{'database':<11} {'voters':>8} {'create s':>9} {'longest cast wait s':>20}")
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            for n, size in enumerate(sizes):
                took, wait = measure(f"sqlite:///{Path(tmp) / f'bench{n}.db'}", size)
                print(f"{'sqlite':<11} {size:>8} {took:>9.2f} {wait:>20.2f}")
    if args.db in ("postgresql", "both"):
        with running_postgres() as url:
            for size in sizes:
                took, wait = measure(url, size)
                print(f"{'postgresql':<11} {size:>8} {took:>9.2f} {wait:>20.2f}")


if __name__ == "__main__":
    main()
