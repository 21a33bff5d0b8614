"""Benchmark: the count's rate and peak memory for 10k, 100k and 1M ballots of 20 persons (issue 7).

Run: python3 -m tests.bench.bench_tally [--sizes 10000,100000,1000000] [--skip-verify]

Per size, a box file of n sealed ballots is written (manifest, ballots sorted by
fingerprint, the close record's ballot-set digest, a real box signature), then one fresh
child process reads it:
  floor  - bare HPKE decryption of the same ballots: only the open_ballot calls are timed,
           over the first 50,000 (or all) ballots, once just before and once just after
           the count, in the same process (the machine's load drifts over a long run); the
           mean of the two is the floor, the least any tally must do;
  count  - what `counter tally` does with the box file, streamed (shared/box_file.py):
           read_box, then verify_box (timed as "verify/s": the streamed box signature over
           every ballot, fingerprints, lengths, order, the ballot-set digest), then the
           tally pass (timed as "tally/s": read again, re-hash, decrypt, count rows).
           Its peak memory is the child's peak resident set size (ru_maxrss), the whole
           process: interpreter, libraries and all.
The synthetic box has no token log or audit chain (a 1M-voter chain would take the kiosk
itself hours to produce), so their checks fail here; they cost no decryption.
`verify_box` on a real 10,000-ballot box from the domain functions is measured at the end.
The target: tally >= 40% of the floor, and memory flat in the ballot count.
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

from shared import crypto
from shared.ballot import hpke_info, seal
from shared.canonical import canonical_bytes, digest

PERSONS = 20
ELECTION_ID = "BENCH000"


def synthetic_box_file(path: Path, n: int, persons: int = PERSONS) -> tuple[Path, bytearray]:
    """A box file of n sealed ballots, box-signed, with the ballot-set digest in its close record."""
    from shared.box import BallotSetDigest

    private, public = crypto.generate_election_key()
    signing = crypto.generate_signing_key()
    manifest = {"election_id": ELECTION_ID, "persons": [{"name": f"P{i}"} for i in range(persons)],
                "ballot_ciphertext_length": 52 + persons,
                "kiosk_public_key": crypto.signing_public_key(signing).hex()}
    info = hpke_info(ELECTION_ID, digest(manifest))
    entries = []
    for i in range(n):
        ciphertext = seal([(i + row) % 3 for row in range(persons)], persons, public, info)
        entries.append({"ciphertext": base64.b64encode(ciphertext).decode(),
                        "fingerprint": crypto.fingerprint(ciphertext)})
    entries.sort(key=lambda e: e["fingerprint"])
    fingerprints = BallotSetDigest()
    for entry in entries:
        fingerprints.add(entry["fingerprint"])
    box: dict[str, Any] = {"format": "cv-ballot-box", "version": 1, "manifest": manifest,
                           "ballots": entries, "token_log": [], "audit": [],
                           "close": {"record": {"ballot_set_digest": fingerprints.hexdigest()}}}
    box["box_signature"] = crypto.sign(signing, canonical_bytes(box)).hex()
    path.write_bytes(canonical_bytes(box))
    return path, private


def peak_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_make(path: Path, n: int) -> None:
    _, key = synthetic_box_file(path, n)
    path.with_suffix(".key").write_text(bytes(key).hex())


FLOOR_SAMPLE = 50_000


def floor_rate(box: dict[str, Any], key: bytearray) -> float:
    """Bare decryptions per second: only open_ballot is timed, ciphertexts one at a time."""
    info = hpke_info(ELECTION_ID, digest(box["manifest"]))
    spent, count = 0.0, 0
    for ballot in box["ballots"]:
        ciphertext = base64.b64decode(ballot["ciphertext"])
        t0 = time.perf_counter()
        crypto.open_ballot(ciphertext, key, info)
        spent += time.perf_counter() - t0
        count += 1
        if count == FLOOR_SAMPLE:
            break
    return count / spent


def child_count(path: Path) -> None:
    from shared.box import read_box, verify_box
    from shared.rules import count_rows
    from shared.tally import verified_marks

    key = bytearray.fromhex(path.with_suffix(".key").read_text())
    floor_before = floor_rate(read_box(path), key)
    t0 = time.perf_counter()
    box = read_box(path)
    checks = {c.id: c.ok for c in verify_box(box)}
    t1 = time.perf_counter()
    assert checks["box_signature"], "the streamed box signature check failed"
    collected, rows = count_rows(box["manifest"]["persons"], verified_marks(box, key))
    t2 = time.perf_counter()
    n = len(box["ballots"])
    assert collected == n and rows[0].valid == n
    peak = peak_mb()
    floor = (floor_before + floor_rate(box, key)) / 2
    print(json.dumps({"n": n, "verify": n / (t1 - t0), "tally": n / (t2 - t1), "floor": floor,
                      "peak_mb": peak}))


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "tests.bench.bench_tally", *args],
                         capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    return result


def verify_rate() -> float:
    """verify_box ballots/s on a real 10k-ballot box built by the domain functions, streamed."""
    from shared.box import all_passed, read_box, verify_box
    from tests.factories import export, run_election

    with tempfile.TemporaryDirectory() as tmp:
        r = run_election(f"sqlite:///{tmp}/k.db", persons=PERSONS, voters=10000, casting=10000)
        path = Path(tmp) / "box.json"
        path.write_bytes(export(r))
        t0 = time.perf_counter()
        assert all_passed(verify_box(read_box(path)))
        return 10000 / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--child", choices=["make", "count"])
    parser.add_argument("--path")
    parser.add_argument("--n", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        {"make": lambda: child_make(Path(args.path), args.n),
         "count": lambda: child_count(Path(args.path))}[args.child]()
        return
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores; {PERSONS} persons per ballot; one core used")
    print("| ballots | box MB | floor/s | tally/s | % of floor | verify/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"box-{n}.json"
            run_child("--child", "make", "--path", str(path), "--n", str(n))
            r = run_child("--child", "count", "--path", str(path))
            print(f"| {n:,} | {path.stat().st_size / 1e6:,.1f} | {r['floor']:,.0f} | {r['tally']:,.0f} | "
                  f"{100 * r['tally'] / r['floor']:.0f} % | {r['verify']:,.0f} | {r['peak_mb']:,.0f} |",
                  flush=True)
            path.unlink()
    if not args.skip_verify:
        print(f"verify_box on a real 10,000-ballot box, streamed from its file: {verify_rate():,.0f} ballots/s")


if __name__ == "__main__":
    main()
