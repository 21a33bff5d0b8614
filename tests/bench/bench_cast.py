"""Benchmark: the booth's whole voter flow through gunicorn over HTTPS, at 50, 100 and 200 booths.

Run: python3 -m tests.bench.bench_cast [--db sqlite|postgresql|both] [--cast-rounds 5]
     [--rounds 3] [--paced-rounds 2] [--think 5] [--procs 2] [--persons 20]
     [--levels 50,100,200]

Each voter does what a tablet does: GET /booth/ (start screen), POST /booth/start (the
slip code), GET /booth/ballot, POST /booth/review, POST /booth/cast (the fields of the
review page's cast form, CSRF token included). Three tables:

Before the tables, 60 voters cast from 12 booths warm every worker up (not reported).

(a) cast path, closed loop: the issue's "casts/s". Every booth first takes `--cast-rounds`
    voters through start, ballot and review (not measured), keeping each voter's session
    cookie and cast form as the tablet would hold them; then, from a common start, it
    sends those voters' POST /booth/cast back to back. Only casts are measured: casts/s,
    their latency, and the server CPU they used.
(b) whole flow, closed loop: every booth runs `--rounds` voters back to back with no pause,
    all five requests each. casts/s = casts / wall time from the common start to the last
    cast (ramp and drain included).
    In (a) and (b) latency is of POST /booth/cast; at this load it is mostly queueing: with
    B booths always waiting, it is about B / throughput (Little's law).
(c) paced: each booth runs `--paced-rounds` voters who each pause before scanning, before
    confirming their marks and before casting (exponential think time, mean `--think` s),
    and the tablet sends its heartbeat every 20 s as kiosk.js does. This is the latency a
    voter sees at that load; "review p99" is of POST /booth/review, which seals the ballot
    (at the lowest CPU priority, shared/seal_pool.py), "page p99" covers every request
    (pages and heartbeats).

The load generator runs on the same 2 cores as the server, so it is kept cheap: booths are
threads spread over `--procs` processes, each booth keeps one TLS connection alive, as a
tablet's browser does. The last columns say what the figures are worth on a given machine:
"server CPU ms" (user + system time of gunicorn's processes per cast in (a), per voter
with all five requests and the heartbeats in (b) and (c); with C cores free for the server,
capacity is at most C x 1000 / that figure), "load generator CPU ms" (the same for the
benchmark's own processes: what the server could not use),
the 1-minute load average when the level started (anything above the load the benchmark
itself makes means other work shared the cores), and the p99 and worst fsync of a probe
beside the database during the level (DiskProbe: every commit waits for one).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import multiprocessing
import os
import platform
import random
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from kiosk.cli import main as kiosk
from kiosk.config import load_config
from shared.db import make_engine
from shared.elgamal import ONE_CHALLENGE, ballot_length, verify_ballot
from shared.manifest import Manifest
from shared.models import Ballot, Election
from tests.http_booth import CSRF_RE, Booth, Kiosk, prepare_kiosk, receipt
from tests.servers import stat_fields

HEARTBEAT_SECONDS = 20.0  # kiosk.js startHeartbeat
WARMUP_BOOTHS, WARMUP_VOTERS = 12, 60
CAST_FORM_RE = re.compile(r'<form[^>]*id="cast-form"[^>]*>(.*?)</form>', re.DOTALL)
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Outcome:
    """What one booth measured: cast latencies, every request's latency, errors, end time."""

    casts: list[float] = field(default_factory=list)
    reviews: list[float] = field(default_factory=list)
    requests: list[float] = field(default_factory=list)
    errors: int = 0
    finished: float = 0.0


def server_cpu_seconds(server: Kiosk) -> float:
    """CPU time (user + system) used so far by the server's processes (gunicorn and workers)."""
    assert server.process is not None
    group = server.process.pid  # `kiosk serve` leads the process group of gunicorn and its workers
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = stat_fields(stat)
        if fields is not None and int(fields[2]) == group:  # pgrp
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Voter:
    """One tablet's booth working through voters; every request is timed."""

    def __init__(self, booth: Booth, outcome: Outcome, persons: int, think: float,
                 rng: random.Random) -> None:
        self.booth = booth
        self.outcome = outcome
        self.marks = {f"p{i}": str(i % 3) for i in range(1, persons + 1)}
        self.think = think
        self.rng = rng
        self.csrf = ""
        self.next_beat = time.monotonic() + rng.uniform(0, HEARTBEAT_SECONDS)

    def _timed(self, method: str, path: str, form: dict[str, str] | None = None,
               referer: str | None = None) -> tuple[int, str, float]:
        t0 = time.perf_counter()
        status, page = self.booth.request(method, path, form, referer=referer)
        elapsed = time.perf_counter() - t0
        self.outcome.requests.append(elapsed)
        match = CSRF_RE.search(page)
        if match:
            self.csrf = match.group(1)
        return status, page, elapsed

    def pause(self) -> None:
        """A voter's think time; the tablet's heartbeat goes on meanwhile."""
        if not self.think:
            return
        end = time.monotonic() + self.rng.expovariate(1 / self.think)
        while True:
            now = time.monotonic()
            if self.next_beat >= end:
                time.sleep(max(0.0, end - now))
                return
            time.sleep(max(0.0, self.next_beat - now))
            self.next_beat += HEARTBEAT_SECONDS
            status, _, _ = self._timed("POST", "/booth/heartbeat", {"csrf_token": self.csrf},
                                       referer="/booth/")
            if status != 200:
                self.outcome.errors += 1

    def open_start_screen(self) -> None:
        """The tablet's first page and TLS connection, before the common start: not measured
        (200 tablets connecting at the same instant is not a moment of the vote)."""
        status, page = self.booth.request("GET", "/booth/")
        match = CSRF_RE.search(page)
        if match:
            self.csrf = match.group(1)
        if status != 200:
            raise RuntimeError(f"start screen answered {status}")

    def _to_review(self, code: str) -> dict[str, str] | None:
        """Scan the slip, open the ballot, mark it and review: the review page's cast form."""
        self.pause()  # walks up, scans the slip
        status, _, _ = self._timed("POST", "/booth/start", {"csrf_token": self.csrf, "code": code},
                                   referer="/booth/")
        if status != 302:
            return None
        status, _, _ = self._timed("GET", "/booth/ballot")
        if status != 200:
            return None
        self.pause()  # marks the ballot
        status, page, elapsed = self._timed("POST", "/booth/review", {"csrf_token": self.csrf, **self.marks},
                                            referer="/booth/ballot")
        self.outcome.reviews.append(elapsed)
        form = CAST_FORM_RE.search(page)
        if status != 200 or not form:
            return None
        return {name: html.unescape(value) for name, value in HIDDEN_RE.findall(form.group(1))}

    def _cast(self, fields: dict[str, str]) -> bool:
        """POST /booth/cast, timed as a cast; True if the receipt came back."""
        status, page, elapsed = self._timed("POST", "/booth/cast", fields, referer="/booth/review")
        self.outcome.casts.append(elapsed)
        return status == 200 and receipt(page) is not None

    def prepare(self, code: str) -> tuple[str, dict[str, str]] | None:
        """Start, ballot and review for one voter, not reported: (session cookie, cast form)."""
        reported, self.outcome = self.outcome, Outcome()
        try:
            self.booth.cookies.pop("kiosk_session", None)  # a new voter's browser session
            status, _, _ = self._timed("GET", "/booth/")
            fields = self._to_review(code) if status == 200 else None
        finally:
            self.outcome = reported
        return None if fields is None else (self.booth.cookies["kiosk_session"], fields)

    def cast_prepared(self, prepared: tuple[str, dict[str, str]]) -> bool:
        """The measured part of (a): one prepared voter's POST /booth/cast."""
        self.booth.cookies["kiosk_session"], fields = prepared
        return self._cast(fields)

    def vote(self, code: str) -> bool:
        """One voter, from the start screen to the 'recorded' screen; True if it was recorded."""
        fields = self._to_review(code)
        if fields is None:
            return False
        self.pause()  # reviews, confirms
        recorded = self._cast(fields)
        self._timed("GET", "/booth/")  # the 'recorded' screen returns to the start screen
        return recorded


def _booth_process(server: Kiosk, cookie: str, assignments: list[list[str]], persons: int,
                   think: float, cast_only: bool, seed: int, barrier: Any, results: Any) -> None:
    """One load-generator process: a thread per booth, each with its list of slip codes."""
    context = ssl.create_default_context(cafile=str(server.tls / "ca.pem"))
    outcomes = [Outcome() for _ in assignments]
    measured_from: list[float] = []  # this process's CPU time when the measured part began

    def all_ready() -> None:
        barrier.wait()  # every process's booths are ready: the common start
        measured_from.append(time.process_time())

    ready = threading.Barrier(len(assignments), action=all_ready)

    def run(index: int) -> None:
        outcome = outcomes[index]
        voter = Voter(Booth(server, {"kiosk_booth": cookie}, context=context), outcome, persons,
                      think, random.Random(seed * 1000 + index))
        prepared: list[tuple[str, dict[str, str]] | None] = []
        try:
            if cast_only:
                prepared = [voter.prepare(code) for code in assignments[index]]
            voter.open_start_screen()  # the tablet is on and connected before voting starts
        finally:
            ready.wait()
        for position, code in enumerate(assignments[index]):
            try:
                if cast_only:
                    voter_ready = prepared[position]
                    recorded = voter_ready is not None and voter.cast_prepared(voter_ready)
                else:
                    recorded = voter.vote(code)
                if not recorded:
                    outcome.errors += 1
            except Exception:  # noqa: BLE001 - a failed request counts as an error, the booth goes on
                outcome.errors += 1
                voter.booth.close()
        outcome.finished = time.time()
        voter.booth.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(assignments))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((time.process_time() - measured_from[0],
                 [(o.casts, o.reviews, o.requests, o.errors, o.finished) for o in outcomes]))


class DiskProbe:
    """What the disk did meanwhile: a 4 KiB write and fsync every 50 ms beside the database.

    Every commit of the kiosk waits for fsync (synchronous=FULL), and while one waits no other
    transaction can commit or even begin to read (rollback journal, docs/storage-secrecy.md
    D4). On a shared virtual machine fsync now and then takes hundreds of milliseconds, idle
    or not; a cast that meets such a moment waits for it, so a table's tail is worth reading
    beside this probe's.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / "fsync-probe"
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            while not self._stop.wait(0.05):
                t0 = time.perf_counter()
                os.pwrite(fd, os.urandom(4096), 0)
                os.fsync(fd)
                self.latencies.append(time.perf_counter() - t0)
        finally:
            os.close(fd)
            self.path.unlink()

    def __enter__(self) -> DiskProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_level(server: Kiosk, cookie: str, codes: list[str], booths: int, persons: int,
              think: float, procs: int, cast_only: bool) -> tuple[float, float, float, Outcome]:
    """Every code cast by `booths` booths over `procs` processes, from a common start:
    (wall seconds, server CPU seconds, load generator CPU seconds, merged outcome)."""
    per_booth = [codes[i::booths] for i in range(booths)]
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(procs + 1)
    results = ctx.Queue()
    workers = [ctx.Process(target=_booth_process,
                           args=(server, cookie, per_booth[p::procs], persons, think, cast_only, p,
                                 barrier, results))
               for p in range(procs)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.time()
    cpu = server_cpu_seconds(server)
    merged = Outcome()
    generator_cpu = 0.0
    for _ in workers:
        process_cpu, outcomes = results.get()
        generator_cpu += process_cpu
        for casts, reviews, requests, errors, finished in outcomes:
            merged.casts += casts
            merged.reviews += reviews
            merged.requests += requests
            merged.errors += errors
            merged.finished = max(merged.finished, finished)
    cpu = server_cpu_seconds(server) - cpu
    for w in workers:
        w.join()
    return merged.finished - started, cpu, generator_cpu, merged


def check_stored_ballots(server: Kiosk, persons: int, recorded: int, errors: int, sample: int = 20) -> None:
    """The figures are of the real cast path: as many ballots stored as receipts came back (at
    most as many casts as were sent, if any failed), each an ElGamal ballot of the election's
    length, and the row proofs of a sample (the first by fingerprint: no order of casting) verify."""
    engine = make_engine(load_config(server.home).database_url)
    try:
        with engine.connect() as conn:
            where = Ballot.election_id == server.election_id
            stored = conn.execute(select(func.count()).select_from(Ballot).where(where)).scalar_one()
            assert stored == recorded if not errors else stored <= recorded + errors, \
                f"{stored} ballots stored, {recorded} receipts, {errors} errors"
            lengths = conn.execute(select(func.length(Ballot.ciphertext)).where(where).distinct()).scalars()
            assert set(lengths) == {ballot_length(persons, ONE_CHALLENGE)}
            manifest = conn.execute(select(Election.manifest_json)
                                    .where(Election.id == server.election_id)).scalar_one()
            assert manifest is not None
            context = Manifest.from_json(json.loads(manifest)).context()
            for ciphertext in conn.execute(select(Ballot.ciphertext).where(where)
                                           .order_by(Ballot.fingerprint).limit(sample)).scalars():
                verify_ballot(context, ciphertext, persons)  # raises on a failed proof
    finally:
        engine.dispose()


@contextlib.contextmanager
def database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    from tests.pg_server import running_postgres

    with running_postgres() as url:
        yield url


@dataclass
class Row:
    """One line of a table: a database and a number of booths."""

    db: str
    booths: int
    casts: int
    rate: float
    p50: float
    p95: float
    p99: float
    review_p99: float
    page_p99: float
    errors: int
    server_cpu_ms: float  # per cast in (a), per voter in (b) and (c)
    generator_cpu_ms: float
    load: float
    fsync_p99: float
    fsync_max: float


def bench(kind: str, args: argparse.Namespace) -> tuple[list[Row], list[Row], list[Row]]:
    cast_path: list[Row] = []
    capacity: list[Row] = []
    paced: list[Row] = []
    levels = [int(n) for n in args.levels.split(",")]
    needed = sum(levels) * (args.cast_rounds + args.rounds + args.paced_rounds) + WARMUP_VOTERS
    with tempfile.TemporaryDirectory() as tmp, database(kind) as url:
        directory = Path(tmp)
        if url:
            kiosk(["--home", str(directory / "kiosk"), "init", "--database-url", url])
        server = prepare_kiosk(directory, persons=args.persons, voters=needed)
        server.start()
        try:
            pairing = Booth(server)
            pairing.pair(server.pairing_code())
            cookie = pairing.cookies["kiosk_booth"]
            pairing.close()
            pool = list(server.codes)
            # Warm-up, not reported: each worker's first casts import modules and compile
            # templates; a kiosk pays that once per start, not per level.
            warm, pool = pool[:WARMUP_VOTERS], pool[WARMUP_VOTERS:]
            *_, out = run_level(server, cookie, warm, WARMUP_BOOTHS, args.persons, 0.0, args.procs, True)
            recorded, errors = len(out.casts) - out.errors, out.errors
            for table, rounds, think, cast_only in ((cast_path, args.cast_rounds, 0.0, True),
                                                    (capacity, args.rounds, 0.0, False),
                                                    (paced, args.paced_rounds, args.think, False)):
                for level in levels if rounds else []:
                    codes, pool = pool[:level * rounds], pool[level * rounds:]
                    load = os.getloadavg()[0]
                    with DiskProbe(server.home) as disk:
                        wall, cpu, generator_cpu, out = run_level(server, cookie, codes, level,
                                                                  args.persons, think, args.procs,
                                                                  cast_only)
                    n = max(1, len(out.casts))
                    recorded, errors = recorded + len(out.casts) - out.errors, errors + out.errors
                    table.append(Row(kind, level, len(out.casts), len(out.casts) / wall,
                                     percentile(out.casts, 50) * 1000, percentile(out.casts, 95) * 1000,
                                     percentile(out.casts, 99) * 1000,
                                     percentile(out.reviews, 99) * 1000,
                                     percentile(out.requests, 99) * 1000, out.errors,
                                     cpu * 1000 / n, generator_cpu * 1000 / n, load,
                                     percentile(disk.latencies, 99) * 1000,
                                     max(disk.latencies, default=float("nan")) * 1000))
            check_stored_ballots(server, args.persons, recorded, errors)
        finally:
            server.stop()
    return cast_path, capacity, paced


def print_table(title: str, rows: list[Row], pages: bool, per: str = "voter") -> None:
    if not rows:
        return  # that part was not run (--rounds 0 and the like)
    print(title)
    print()
    head = "| db | booths | casts | casts/s | cast p50 ms | cast p95 ms | cast p99 ms |"
    head += " review p99 ms | page p99 ms |" if pages else ""
    head += f" errors | server CPU ms/{per} | load generator CPU ms/{per} | load avg |"
    head += " disk fsync p99 ms | disk fsync max ms |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for r in rows:
        line = f"| {r.db} | {r.booths} | {r.casts} | {r.rate:.1f} | {r.p50:.0f} | {r.p95:.0f} | {r.p99:.0f} |"
        line += f" {r.review_p99:.0f} | {r.page_p99:.0f} |" if pages else ""
        line += f" {r.errors} | {r.server_cpu_ms:.1f} | {r.generator_cpu_ms:.1f} | {r.load:.1f} |"
        line += f" {r.fsync_p99:.0f} | {r.fsync_max:.0f} |"
        print(line)
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cast-rounds", type=int, default=5, help="voters per booth, cast path only")
    parser.add_argument("--rounds", type=int, default=3, help="voters per booth, whole flow")
    parser.add_argument("--paced-rounds", type=int, default=2, help="voters per booth, paced")
    parser.add_argument("--think", type=float, default=5.0,
                        help="mean think time (s) before each of scan, review and cast (paced)")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--persons", type=int, default=20, help="persons on the ballot")
    parser.add_argument("--levels", default="50,100,200", help="numbers of booths, comma-separated")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [bench(kind, args) for kind in kinds]
    from kiosk import gunicorn_conf as conf

    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} cores (server and load generator share "
          f"them); {args.persons} persons per ballot; gunicorn {conf.worker_class} "
          f"{conf.workers} workers x {conf.threads} threads, HTTPS, keep-alive; "
          f"{args.procs} load-generator processes")
    print()
    print_table(f"(a) cast path, closed loop: {args.cast_rounds} prepared voters per booth cast back "
                "to back; only POST /booth/cast measured (latency mostly queueing: booths / "
                "throughput)", [row for cast_path, _, _ in results for row in cast_path], pages=False,
                per="cast")
    print_table(f"(b) whole flow, closed loop: {args.rounds} voters per booth back to back, all five "
                "requests each, no think time; latency of POST /booth/cast",
                [row for _, capacity, _ in results for row in capacity], pages=False)
    print_table(f"(c) paced: {args.paced_rounds} voters per booth, exponential think time of mean "
                f"{args.think:g} s before scan, review and cast, heartbeat every 20 s; latency of "
                "POST /booth/cast, of POST /booth/review (which seals the ballot) and of every "
                "request (page p99)",
                [row for _, _, paced in results for row in paced], pages=True)


if __name__ == "__main__":
    main()
