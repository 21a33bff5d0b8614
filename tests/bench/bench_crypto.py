"""Benchmark: the election cryptography (docs/crypto-protocol.md) for ballots of 20 persons, against its floor.

Run: python3 -m tests.bench.bench_crypto [--quick] [--cpu N]

One process pinned to one core (`--cpu`, default the last one it may use). Every figure
stands beside its floor: the median cost of one fixed-base (`mul_base`) and one
variable-base (`mul`) scalar multiplication and of one group addition (`add`) through
shared.elgamal (libsodium plus the module's thin wrapper), times the number of them the
protocol needs (docs/crypto-protocol.md section 8). The machine is shared, so every time
is CPU time (time.process_time: what the one core spent on it; the wall-clock time is in
its own column, and is what other work on the same core inflates), and each figure has its
own floor, measured in the same run around it: just before and just after a short phase,
and every 250 ballots (outside the timed part) in the long loops; the floor is the mean of
those. The "load" column is the 1-minute load average when the phase ended.

  encrypt + prove, verify   median of 40 ballots each
  decrypt + count (500)     aggregate the 500 verified ballots (sums only), partial
                            decryptions with proofs by 2 of the 3 members, verification
                            of those 40 proofs, combine, count-finding (CountFinder),
                            the verifier's check_counts
  full verification         every ballot's proofs and the aggregation, ballots streamed
                            one at a time from a file of fixed-length records, for 500
                            and (unless --quick) 10,000 ballots, generated once
  memory                    ru_maxrss (the whole process), and tracemalloc's peak over the
                            streamed verification loop at each size: flat if the loop
                            holds one ballot at a time. tracemalloc slows the loop, so
                            each size is verified twice: timed untraced, then traced

Progress goes to stderr; the table (Markdown) to stdout.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from shared.elgamal import (
    ONE_CHALLENGE,
    Aggregate,
    CountFinder,
    ElectionContext,
    KeyShare,
    PartialDecryption,
    Row,
    add,
    ballot_length,
    check_counts,
    combine,
    encrypt_ballot,
    mul,
    mul_base,
    partial_decrypt,
    share_election_key,
    verify_ballot,
    verify_partial,
)
from tests.seeded import SeededRandomness

PERSONS = 20
THRESHOLD, MEMBERS = 2, 3
SMALL, LARGE = 500, 10_000
SAMPLES = 40
FLOOR_EVERY = 250  # ballots between floor samples in the streamed loops

# docs/crypto-protocol.md section 8: (fixed-base, variable-base) multiplications.
ENCRYPT_ROW = (4, 8)
VERIFY_ROW = (3, 9)
DECRYPT_ROW = (1, 2)  # per row per member
VERIFY_DECRYPTION = (1, 3)  # per row per member: c·Kᵢ, s·Â, c·Dᵢ besides s·G (Kᵢ cached per count)
AGGREGATE_ROW = 2  # additions per row per ballot

T = TypeVar("T")


@dataclass(frozen=True)
class Floor:
    """Median seconds of one fixed-base multiplication, one variable-base one, one addition."""

    fixed: float
    variable: float
    addition: float

    def of(self, fixed: int = 0, variable: int = 0, additions: int = 0) -> float:
        return fixed * self.fixed + variable * self.variable + additions * self.addition

    def mults(self, per_row: tuple[int, int], rows: int = PERSONS) -> float:
        return self.of(fixed=per_row[0] * rows, variable=per_row[1] * rows)

    @staticmethod
    def mean(floors: Sequence[Floor]) -> Floor:
        return Floor(statistics.fmean(f.fixed for f in floors), statistics.fmean(f.variable for f in floors),
                     statistics.fmean(f.addition for f in floors))


def measure_floor(batches: int = 30, batch: int = 50) -> Floor:
    """The median over `batches` of the mean cost in a batch of `batch` calls, random scalars."""
    rng = SeededRandomness(b"floor")
    scalars = [rng.scalar() for _ in range(batch)]
    point = mul_base(rng.scalar())

    def median(op: Callable[[int], bytes]) -> float:
        times = []
        for _ in range(batches):
            t0 = time.process_time()
            for k in scalars:
                op(k)
            times.append((time.process_time() - t0) / batch)
        return statistics.median(times)

    return Floor(median(mul_base), median(lambda k: mul(k, point)), median(lambda k: add(point, point)))


@dataclass(frozen=True)
class Phase:
    """A timed phase: its CPU and wall seconds, the floor measured around it, the load when it ended."""

    seconds: float
    wall: float
    floor: Floor
    load: float


class Clock:
    """CPU and wall time since start, pausable (the long loops sample the floor outside it)."""

    def __init__(self) -> None:
        self.seconds = self.wall = 0.0
        self.resume()

    def resume(self) -> None:
        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def pause(self) -> None:
        self.seconds += time.process_time() - self._cpu
        self.wall += time.perf_counter() - self._wall


def bracketed(run: Callable[[], T]) -> tuple[T, Phase]:
    """Run once, timed, between two floor measurements."""
    before = measure_floor()
    clock = Clock()
    result = run()
    clock.pause()
    return result, Phase(clock.seconds, clock.wall, Floor.mean([before, measure_floor()]), os.getloadavg()[0])


def median_of(runs: Sequence[Callable[[], object]]) -> tuple[float, float]:
    """The median CPU and the median wall seconds of the runs."""
    cpu, wall = [], []
    for run in runs:
        clock = Clock()
        run()
        clock.pause()
        cpu.append(clock.seconds)
        wall.append(clock.wall)
    return statistics.median(cpu), statistics.median(wall)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_box(path: Path, context: ElectionContext, n: int, choices: random.Random) -> list[list[int]]:
    """n encrypted ballots as fixed-length records in `path`; the levels chosen, per ballot."""
    chosen = []
    t0 = time.perf_counter()
    with path.open("wb") as f:
        for i in range(n):
            levels = [choices.randrange(3) for _ in range(PERSONS)]
            f.write(encrypt_ballot(context, levels))
            chosen.append(levels)
            if (i + 1) % 500 == 0:
                rate = (i + 1) / (time.perf_counter() - t0)
                progress(f"  generated {i + 1:,}/{n:,} ballots ({rate:.0f}/s, {(n - i - 1) / rate:.0f} s left)")
    return chosen


def stream(path: Path, n: int) -> Iterator[bytes]:
    """The first n ballots of a box file, one at a time."""
    length = ballot_length(PERSONS, ONE_CHALLENGE)
    with path.open("rb") as f:
        for _ in range(n):
            yield f.read(length)


@dataclass(frozen=True)
class Verified:
    phase: Phase
    aggregate: Aggregate
    traced_peak: int  # bytes; 0 when not traced


def verify_stream(context: ElectionContext, path: Path, n: int, *, traced: bool) -> Verified:
    """Full verification: every ballot's row proofs, then its rows into the running sums.

    Untraced, the floor is sampled every FLOOR_EVERY ballots, outside the timed part.
    """
    aggregate = Aggregate(PERSONS)
    floors = [] if traced else [measure_floor()]
    if traced:
        tracemalloc.start()
    clock = Clock()
    for i, data in enumerate(stream(path, n), start=1):
        aggregate.add(verify_ballot(context, data, PERSONS))
        if i % FLOOR_EVERY == 0:
            if not traced:
                clock.pause()
                floors.append(measure_floor(batches=8))
                clock.resume()
            if n >= 2000 and i % 1000 == 0:
                progress(f"  verified {i:,}/{n:,} ballots")
    clock.pause()
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        floors.append(measure_floor())
    assert aggregate.ballots == n
    phase = Phase(clock.seconds, clock.wall, Floor.mean(floors or [measure_floor()]), os.getloadavg()[0])
    return Verified(phase, aggregate, peak)


def true_counts(chosen: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    return [(sum(b[p] == 0 for b in chosen), sum(b[p] == 1 for b in chosen), sum(b[p] == 2 for b in chosen))
            for p in range(PERSONS)]


@dataclass(frozen=True)
class Figure:
    """One table line: a measured figure, its floor and its target."""

    name: str
    measured: str
    phase: Phase | None = None
    floor: float | None = None
    floor_ops: str = ""
    target: str = ""
    target_met: bool | None = None

    def ratio(self) -> float | None:
        return self.phase.seconds / self.floor if self.phase is not None and self.floor else None

    def met(self) -> str:
        checks = []
        if self.target_met is not None:
            checks.append("met" if self.target_met else "**not met**")
        ratio = self.ratio()
        if ratio is not None:
            checks.append("≤ 1.5× met" if ratio <= 1.5 else "≤ 1.5× **not met**")
        return "; ".join(checks) or "—"

    def line(self) -> str:
        ratio = self.ratio()
        floor = f"{fmt(self.floor)} ({self.floor_ops})" if self.floor is not None else "—"
        wall, load = (fmt(self.phase.wall), f"{self.phase.load:.2f}") if self.phase is not None else ("—", "—")
        return (f"| {self.name} | {self.measured} | {floor} | {f'{ratio:.2f}' if ratio is not None else '—'} | "
                f"{self.target or '—'} | {self.met()} | {wall} | {load} |")


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:,.2f} ms"
    return f"{seconds:,.2f} s"


def timed(name: str, phase: Phase, floor: float, floor_ops: str, target: str = "",
          limit: float | None = None) -> Figure:
    return Figure(name, fmt(phase.seconds), phase, floor, floor_ops, target,
                  None if limit is None else phase.seconds <= limit)


@dataclass(frozen=True)
class Count:
    """The counting board's and the verifier's steps after full verification, each timed."""

    decrypt: Phase
    verify_partials: Phase
    combine: Phase
    find: Phase
    check: Phase
    found: list[tuple[int, int, int]]


def decrypt_and_count(context: ElectionContext, shares: Sequence[KeyShare], rows: list[tuple[bytes, bytes]],
                      ballots: int) -> Count:
    partials: list[list[PartialDecryption]]
    partials, decrypt = bracketed(lambda: [partial_decrypt(context, share, rows) for share in shares])

    def verify_all() -> None:
        for member in partials:
            for number, (row, p) in enumerate(zip(rows, member, strict=True), start=1):
                verify_partial(context, number, row, p)

    _, verify = bracketed(verify_all)
    totals, combined = bracketed(lambda: [combine([m[i] for m in partials], row) for i, row in enumerate(rows)])

    def find_all() -> list[tuple[int, int, int]]:
        finder = CountFinder(ballots)
        return [finder.counts(total) for total in totals]

    found, find = bracketed(find_all)

    def check_all() -> None:
        for total, counts in zip(totals, found, strict=True):
            check_counts(total, counts, ballots)

    _, check = bracketed(check_all)
    return Count(decrypt, verify, combined, find, check, found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help=f"skip the {LARGE:,}-ballot size")
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)))
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    load_before = os.getloadavg()

    board = share_election_key(THRESHOLD, MEMBERS)
    context = ElectionContext("BENCH-2025", bytes(32), board.public_key, board.commitments)
    choices = random.Random(2025)

    progress(f"pinned to cpu {args.cpu}; encrypt + prove, verify: one ballot at a time")
    samples = [[choices.randrange(3) for _ in range(PERSONS)] for _ in range(SAMPLES)]
    encrypt, encrypt_phase = bracketed(lambda: median_of([partial(encrypt_ballot, context, levels)
                                                          for levels in samples]))
    sealed = [encrypt_ballot(context, levels) for levels in samples]
    verify, verify_phase = bracketed(lambda: median_of([partial(verify_ballot, context, data, PERSONS)
                                                        for data in sealed]))
    size = len(sealed[0])
    json_size = len(json.dumps(base64.b64encode(sealed[0]).decode("ascii")))

    sizes = [SMALL] if args.quick else [SMALL, LARGE]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "box.bin"
        progress(f"generating {sizes[-1]:,} ballots once (the first {SMALL} are the {SMALL}-ballot box)")
        chosen = write_box(path, context, sizes[-1], choices)
        progress(f"full verification of {SMALL} ballots, streamed: untraced, then traced")
        small = verify_stream(context, path, SMALL, traced=False)
        small_traced = verify_stream(context, path, SMALL, traced=True)
        large = large_traced = None
        if not args.quick:
            progress(f"full verification of {LARGE:,} ballots, streamed: untraced, then traced")
            large = verify_stream(context, path, LARGE, traced=False)
            large_traced = verify_stream(context, path, LARGE, traced=True)

    progress(f"decrypting and counting the {SMALL}-ballot box")
    parsed: list[list[Row]] = [verify_ballot(context, data, PERSONS) for data in sealed]

    def aggregate_only() -> None:
        aggregate = Aggregate(PERSONS)
        for i in range(SMALL):
            aggregate.add(parsed[i % len(parsed)])

    _, aggregate_phase = bracketed(aggregate_only)
    k = THRESHOLD
    count = decrypt_and_count(context, (board.shares[0], board.shares[2]), small.aggregate.rows(), SMALL)
    assert count.found == true_counts(chosen[:SMALL]), "the counts found are not the counts chosen"
    load_after = os.getloadavg()

    def ops(per_row: tuple[int, int], rows: int = PERSONS) -> str:
        return f"{per_row[0] * rows:,} fixed + {per_row[1] * rows:,} var"

    def full(f: Floor, n: int) -> float:
        return n * f.mults(VERIFY_ROW) + f.of(additions=AGGREGATE_ROW * PERSONS * n)

    def full_ops(n: int) -> str:
        return (f"{n:,} × ({VERIFY_ROW[0] * PERSONS} fixed + {VERIFY_ROW[1] * PERSONS} var) "
                f"+ {AGGREGATE_ROW * PERSONS * n:,} add")

    giant_steps = sum(c[2] + 1 for c in count.found)
    count_additions = SMALL + 1 + giant_steps + PERSONS
    floors = {
        "decrypt": count.decrypt.floor.mults(DECRYPT_ROW, k * PERSONS),
        "verify_partials": count.verify_partials.floor.mults(VERIFY_DECRYPTION, k * PERSONS),
        "combine": count.combine.floor.of(variable=k * PERSONS, additions=(k + 1) * PERSONS),
        "find": count.find.floor.of(fixed=3, additions=count_additions),
        "check": count.check.floor.of(fixed=PERSONS),
    }
    steps = (small.phase, count.decrypt, count.verify_partials, count.combine, count.find, count.check)
    box = Phase(sum(p.seconds for p in steps), sum(p.wall for p in steps), small.phase.floor, count.check.load)
    figures = [
        timed("encrypt + prove one ballot", Phase(*encrypt, encrypt_phase.floor, encrypt_phase.load),
              encrypt_phase.floor.mults(ENCRYPT_ROW), ops(ENCRYPT_ROW), "≤ 30 ms", 0.030),
        timed("verify one ballot", Phase(*verify, verify_phase.floor, verify_phase.load),
              verify_phase.floor.mults(VERIFY_ROW), ops(VERIFY_ROW), "≤ 30 ms", 0.030),
        Figure("ballot size", f"{size:,} B binary; {json_size:,} B as a base64 JSON string",
               target="≤ 4 KB (4,096 B) binary", target_met=size <= 4096),
        timed(f"aggregate {SMALL} ballots (sums only)", aggregate_phase,
              aggregate_phase.floor.of(additions=AGGREGATE_ROW * PERSONS * SMALL),
              f"{AGGREGATE_ROW * PERSONS * SMALL:,} add"),
        timed(f"2-of-3 partial decryption with proofs, {PERSONS} totals", count.decrypt, floors["decrypt"],
              ops(DECRYPT_ROW, k * PERSONS), "≤ 1 s", 1.0),
        timed(f"verify the {k * PERSONS} decryption proofs", count.verify_partials, floors["verify_partials"],
              ops(VERIFY_DECRYPTION, k * PERSONS)),
        timed(f"combine {PERSONS} rows", count.combine, floors["combine"],
              f"{k * PERSONS} var + {(k + 1) * PERSONS} add, not in §8"),
        timed(f"find the counts, N = {SMALL}", count.find, floors["find"], f"3 fixed + {count_additions:,} add"),
        timed(f"check_counts, {PERSONS} rows", count.check, floors["check"], f"{PERSONS} fixed"),
        timed(f"full verification of {SMALL} ballots (proofs + aggregation)", small.phase,
              full(small.phase.floor, SMALL), full_ops(SMALL)),
        timed(f"{SMALL}-ballot box fully verified and counted", box, full(small.phase.floor, SMALL)
              + sum(floors.values()), "the 6 lines above", "≤ 20 s", 20.0),
    ]
    if large is not None:
        figures.append(timed(f"full verification of {LARGE:,} ballots (proofs + aggregation)", large.phase,
                             full(large.phase.floor, LARGE), full_ops(LARGE)))
    peaks = f"{small_traced.traced_peak / 1024:,.0f} KiB at {SMALL}"
    flat = None
    if large_traced is not None:
        peaks += f", {large_traced.traced_peak / 1024:,.0f} KiB at {LARGE:,}"
        flat = large_traced.traced_peak <= 1.1 * small_traced.traced_peak + 64 * 1024
    figures += [
        Figure("tracemalloc peak of the streamed verification loop", peaks,
               target="flat in the ballot count", target_met=flat),
        Figure("peak RSS (ru_maxrss, whole process)",
               f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"),
    ]

    f = small.phase.floor
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores, pinned to cpu {args.cpu}; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after; {PERSONS} persons per ballot, {THRESHOLD}-of-{MEMBERS} board")
    print(f"floor during the {SMALL}-ballot verification (median, shared.elgamal over libsodium): fixed-base "
          f"{fmt(f.fixed)}, variable-base {fmt(f.variable)}, addition {fmt(f.addition)}")
    print(f"tracemalloc's cost on the {SMALL}-ballot loop: {small_traced.phase.seconds / small.phase.seconds:.2f}×")
    print()
    print("| figure | measured (CPU) | floor | × floor | target | met | wall | load |")
    print("|---|---|---|---|---|---|---|---|")
    for figure in figures:
        print(figure.line())
    print()
    print(f"Floors count multiplications only (section 8), except where additions are listed; shared.elgamal's "
          f"add/sub decode and re-encode both points ({fmt(f.addition)} each), and a row costs 7 of them to "
          f"encrypt and 9 to verify besides its multiplications. A decryption proof's check is 1 fixed + 3 "
          f"variable-base multiplications; each member's Kᵢ is derived from the commitments once per count "
          f"({k} variable-base each, not in the floor).")

if __name__ == "__main__":
    main()
