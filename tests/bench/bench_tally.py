"""Benchmark: decrypt-and-count rate and peak memory for 10k, 100k and 1M ballots of 20 persons.

Run: python3 -m tests.bench.bench_tally [--sizes 10000,100000,1000000]
Each size runs in a fresh child process so its peak memory (ru_maxrss) is its own. Per
size it measures, on the same ballots:
  floor  - bare HPKE decryption of every ciphertext (the least any tally must do);
  tally  - shared.tally.decrypted_marks + shared.rules.count_rows, the counting path of
           `counter tally` (the box verification is timed separately: it hashes, it does
           not decrypt);
  verify - shared.box.verify_box on a real box from the domain functions (10k only: a
           1M-voter audit chain would take the kiosk itself hours to produce).
The target (issue 7) is tally >= 40% of the floor, and memory flat in the ballot count.
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

from shared import crypto
from shared.ballot import hpke_info, seal
from shared.canonical import digest
from shared.rules import count_rows
from shared.tally import decrypted_marks

PERSONS = 20


def synthetic_box(n: int) -> tuple[dict[str, object], bytearray]:
    """A box holding only what the counting path reads: manifest and n sealed ballots."""
    private, public = crypto.generate_election_key()
    manifest = {"election_id": "BENCH", "persons": [{"name": f"P{i}"} for i in range(PERSONS)]}
    info = hpke_info("BENCH", digest(manifest))
    marks = [i % 3 for i in range(PERSONS)]
    ballots = [{"ciphertext": base64.b64encode(seal(marks, PERSONS, public, info)).decode()}
               for _ in range(n)]
    return {"manifest": manifest, "ballots": ballots}, private


def child(n: int) -> None:
    box, key = synthetic_box(n)
    manifest = box["manifest"]
    info = hpke_info("BENCH", digest(manifest))  # type: ignore[arg-type]
    ciphertexts = [base64.b64decode(b["ciphertext"]) for b in box["ballots"]]  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    for ct in ciphertexts:
        crypto.open_ballot(ct, key, info)
    floor = n / (time.perf_counter() - t0)
    del ciphertexts
    t0 = time.perf_counter()
    collected, rows = count_rows(manifest["persons"], decrypted_marks(box, key))  # type: ignore[index]
    tally = n / (time.perf_counter() - t0)
    assert collected == n and rows[0].valid == n
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "floor": floor, "tally": tally, "peak_mb": peak_mb}))


def verify_rate() -> float:
    """verify_box ballots/s on a real 10k-ballot box built by the domain functions."""
    from shared.box import all_passed, load_box, verify_box
    from tests.factories import export, run_election

    with tempfile.TemporaryDirectory() as tmp:
        r = run_election(f"sqlite:///{tmp}/k.db", persons=PERSONS, voters=10000, casting=10000)
        box = load_box(export(r))
    t0 = time.perf_counter()
    assert all_passed(verify_box(box))
    return 10000 / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--child", type=int)
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores; {PERSONS} persons per ballot; one core used")
    print(f"{'ballots':>9}{'floor/s':>10}{'tally/s':>10}{'% floor':>9}{'peak MB':>9}")
    for n in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, "-m", "tests.bench.bench_tally", "--child", str(n)],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['n']:>9}{r['floor']:>10.0f}{r['tally']:>10.0f}{100 * r['tally'] / r['floor']:>8.0f}%"
              f"{r['peak_mb']:>9.0f}")
    if not args.skip_verify:
        print(f"verify_box on a real 10,000-ballot box: {verify_rate():.0f} ballots/s")


if __name__ == "__main__":
    main()
