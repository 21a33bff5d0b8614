"""Benchmark: verifying a box (every row proof) and counting it, for growing ballot counts.

Run: python3 -m tests.bench.bench_tally [--sizes 1000,10000] [--persons 20] [--skip-real]

Per size, a box file of n ballots with real row proofs is written (a version-2 manifest
from a real key ceremony, ballots sorted by fingerprint, the close record's ballot-set
digest, a real box signature), then one fresh child process reads it:
  floor  - bare `elgamal.verify_ballot` of the same ballots, over the first 2,000 (or all),
           once before and once after the verifying pass (the machine's load drifts); the
           mean of the two is the least any verifier must do;
  verify - what `counter tally` does before any share is used, streamed from the file
           (shared/box_file.py): read_box, then check_box (the streamed box signature over
           every ballot, fingerprints, lengths, order, the ballot-set digest, every row
           proof and the per-row sums), as ballots per second;
  peak   - the child's peak resident set size (ru_maxrss), the whole process.
The synthetic box has no token log or audit chain (a large voter chain would take the kiosk
itself hours to produce), so those checks fail here; they cost no group operation. The
count itself never reads a ballot: it decrypts the k·rows sums (docs/crypto-protocol.md 6);
`--skip-real` leaves out its timing on a real box built by the domain functions.
Target: verify within 80% of the floor, and memory flat in the ballot count.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from shared import crypto, elgamal
from shared.canonical import canonical_bytes
from shared.ceremony import run_ceremony
from shared.glossary import LEVELS
from shared.shares import ShareCard

PERSONS = 20
ELECTION_ID = "BENCH0000000000A"


def synthetic_definition(persons: int, signing: bytes) -> dict[str, Any]:
    """A version-2 election definition (shared/manifest.py) for a synthetic box."""
    return {
        "format": "cv-election-definition", "version": 2, "election_id": ELECTION_ID,
        "title": "Bench", "organization": "Bench", "place": "Bench", "date": "2026-11-27",
        "profile": "qd96", "convened": 1, "levels": list(LEVELS),
        "persons": [{"number": i, "name": f"P{i}", "position": "", "unit": ""} for i in range(1, persons + 1)],
        "board": {"threshold": 2, "members": [{"index": i, "name": f"M{i}"} for i in (1, 2, 3)]},
        "kiosk_public_key": crypto.signing_public_key(signing).hex(),
        "group": "ristretto255", "encoding_base": elgamal.BASE,
        "ballot_length": elgamal.ballot_length(persons, elgamal.ONE_CHALLENGE),
        "ballot_proof": elgamal.ONE_CHALLENGE,
    }


def synthetic_box_file(path: Path, n: int, persons: int = PERSONS) -> tuple[Path, list[ShareCard]]:
    """A box file of n ballots with real proofs, box-signed, with the ballot-set digest in its close record."""
    from shared.box import BallotSetDigest
    signing = crypto.generate_signing_key()
    ceremony = run_ceremony(synthetic_definition(persons, signing), crypto.generate_signing_key())
    context = ceremony.manifest.context()
    entries = []
    for i in range(n):
        ballot = elgamal.encrypt_ballot(context, [(i + row) % 3 for row in range(persons)])
        entries.append({"ballot": base64.b64encode(ballot).decode(), "fingerprint": crypto.fingerprint(ballot)})
    entries.sort(key=lambda e: e["fingerprint"])
    fingerprints = BallotSetDigest()
    for entry in entries:
        fingerprints.add(entry["fingerprint"])
    box: dict[str, Any] = {"format": "cv-ballot-box", "version": 2, "manifest": ceremony.manifest.to_json_dict(),
                           "ballots": entries, "token_log": [], "audit": [],
                           "close": {"record": {"ballot_set_digest": fingerprints.hexdigest()}}}
    box["box_signature"] = crypto.sign(signing, canonical_bytes(box)).hex()
    path.write_bytes(canonical_bytes(box))
    return path, list(ceremony.cards)


def peak_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


FLOOR_SAMPLE = 2_000


def floor_rate(box: dict[str, Any]) -> float:
    """Bare ballot verifications per second: only verify_ballot is timed."""
    from shared.manifest import Manifest

    context = Manifest.from_json(box["manifest"]).context()
    persons = len(box["manifest"]["persons"])
    spent, count = 0.0, 0
    for entry in box["ballots"]:
        ballot = base64.b64decode(entry["ballot"])
        t0 = time.perf_counter()
        elgamal.verify_ballot(context, ballot, persons)
        spent += time.perf_counter() - t0
        count += 1
        if count == FLOOR_SAMPLE:
            break
    return count / spent


def child_count(path: Path) -> None:
    from shared.box import check_box, read_box

    floor_before = floor_rate(read_box(path))
    t0 = time.perf_counter()
    box = read_box(path)
    checks = {c.id: c.ok for c in check_box(box).checks}
    t1 = time.perf_counter()
    assert checks["box_signature"] and checks["ballot_proofs"], checks
    n = len(box["ballots"])
    floor = (floor_before + floor_rate(box)) / 2
    print(json.dumps({"n": n, "verify": n / (t1 - t0), "floor": floor, "peak_mb": peak_mb()}))


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "tests.bench.bench_tally", *args],
                         capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    return result


def real_count(persons: int, ballots: int = 500) -> tuple[float, float]:
    """(verify_box s, tally_box s) on a real box of `ballots` ballots built by the domain functions."""
    from shared.box import load_box, verified_box
    from shared.tally import tally_box
    from tests.factories import export, run_election

    with tempfile.TemporaryDirectory() as tmp:
        r = run_election(f"sqlite:///{tmp}/k.db", persons=persons, voters=ballots, casting=ballots)
        box = load_box(export(r))
        t0 = time.perf_counter()
        verified = verified_box(box)
        t1 = time.perf_counter()
        tally_box(verified, r.cards[:2], "a", "b")
        return t1 - t0, time.perf_counter() - t1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--persons", type=int, default=PERSONS)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--child", choices=["make", "count"])
    parser.add_argument("--path")
    parser.add_argument("--n", type=int, default=0)
    args = parser.parse_args()
    if args.child == "make":
        synthetic_box_file(Path(args.path), args.n, args.persons)
        return
    if args.child == "count":
        child_count(Path(args.path))
        return
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores; {args.persons} persons per ballot; one core used")
    print("| ballots | box MB | floor ballots/s | verify ballots/s | % of floor | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"box-{n}.json"
            run_child("--child", "make", "--path", str(path), "--n", str(n), "--persons", str(args.persons))
            r = run_child("--child", "count", "--path", str(path))
            print(f"| {n:,} | {path.stat().st_size / 1e6:,.1f} | {r['floor']:,.1f} | {r['verify']:,.1f} | "
                  f"{100 * r['verify'] / r['floor']:.0f} % | {r['peak_mb']:,.0f} |", flush=True)
            path.unlink()
    if not args.skip_real:
        verify_s, tally_s = real_count(args.persons)
        print(f"real 500-ballot box of {args.persons} persons: verify_box {verify_s:.1f} s, "
              f"tally_box (k = 2, totals only) {tally_s:.2f} s")


if __name__ == "__main__":
    main()
