"""Benchmark: the booth's whole voter flow through gunicorn over HTTPS, at 50, 100 and 200 booths.

Run: python3 -m tests.bench.bench_cast [--db sqlite|postgresql|both] [--rounds 3]
     [--paced-rounds 2] [--think 5] [--procs 2] [--persons 20] [--levels 50,100,200]

Each voter does what a tablet does: GET /booth/ (start screen), POST /booth/start (the
slip code), GET /booth/ballot, POST /booth/review, POST /booth/cast (the fields of the
review page's cast form, CSRF token included). Two tables:

(a) capacity, closed loop: every booth runs `--rounds` voters back to back with no pause.
    casts/s = casts / wall time from the common start to the last cast (ramp and drain
    included). Latency is of POST /booth/cast; at this load it is mostly queueing: with
    B booths always waiting, it is about B / throughput (Little's law).
(b) paced: each booth runs `--paced-rounds` voters who each pause before scanning, before
    confirming their marks and before casting (exponential think time, mean `--think` s),
    and the tablet sends its heartbeat every 20 s as kiosk.js does. This is the latency a
    voter sees at that load; "page p99" covers every request (pages and heartbeats).

The load generator runs on the same 2 cores as the server, so it is kept cheap: booths are
threads spread over `--procs` processes, each booth keeps one TLS connection alive, as a
tablet's browser does. Two more columns say what the figures are worth on a given machine:
"server CPU ms/voter" (user + system time of gunicorn's processes per voter, all five
requests and the heartbeats; with C cores free for the server, capacity is at most
C x 1000 / that figure) and
the 1-minute load average when the level started (anything above the load the benchmark
itself makes means other work shared the cores).
"""

from __future__ import annotations

import argparse
import contextlib
import html
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

from kiosk.cli import main as kiosk
from tests.http_booth import CSRF_RE, Booth, Kiosk, prepare_kiosk, receipt

HEARTBEAT_SECONDS = 20.0  # kiosk.js startHeartbeat
CAST_FORM_RE = re.compile(r'<form[^>]*id="cast-form"[^>]*>(.*?)</form>', re.DOTALL)
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Outcome:
    """What one booth measured: cast latencies, every request's latency, errors, end time."""

    casts: list[float] = field(default_factory=list)
    requests: list[float] = field(default_factory=list)
    errors: int = 0
    finished: float = 0.0


def server_cpu_seconds(server: Kiosk) -> float:
    """CPU time (user + system) used so far by the server's processes (gunicorn and workers)."""
    assert server.process is not None
    group = server.process.pid  # `kiosk serve` leads the process group of gunicorn and its workers
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == group:  # pgrp
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
        status, _, _ = self._timed("GET", "/booth/")
        if status != 200:
            raise RuntimeError(f"start screen answered {status}")

    def vote(self, code: str) -> bool:
        """One voter, from the start screen to the 'recorded' screen; True if it was recorded."""
        self.pause()  # walks up, scans the slip
        status, _, _ = self._timed("POST", "/booth/start", {"csrf_token": self.csrf, "code": code},
                                   referer="/booth/")
        if status != 302:
            return False
        status, _, _ = self._timed("GET", "/booth/ballot")
        if status != 200:
            return False
        self.pause()  # marks the ballot
        status, page, _ = self._timed("POST", "/booth/review", {"csrf_token": self.csrf, **self.marks},
                                      referer="/booth/ballot")
        form = CAST_FORM_RE.search(page)
        if status != 200 or not form:
            return False
        fields = {name: html.unescape(value) for name, value in HIDDEN_RE.findall(form.group(1))}
        self.pause()  # reviews, confirms
        status, page, elapsed = self._timed("POST", "/booth/cast", fields, referer="/booth/review")
        self.outcome.casts.append(elapsed)
        recorded = status == 200 and receipt(page) is not None
        self._timed("GET", "/booth/")  # the 'recorded' screen returns to the start screen
        return recorded


def _booth_process(server: Kiosk, cookie: str, assignments: list[list[str]], persons: int,
                   think: float, seed: int, barrier: Any, results: Any) -> None:
    """One load-generator process: a thread per booth, each with its list of slip codes."""
    context = ssl.create_default_context(cafile=str(server.tls / "ca.pem"))
    outcomes = [Outcome() for _ in assignments]

    def run(index: int) -> None:
        outcome = outcomes[index]
        voter = Voter(Booth(server, {"kiosk_booth": cookie}, context=context), outcome, persons,
                      think, random.Random(seed * 1000 + index))
        try:
            voter.open_start_screen()  # the tablet is on and connected before voting starts
        finally:
            barrier.wait()
        for code in assignments[index]:
            try:
                if not voter.vote(code):
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
    results.put([(o.casts, o.requests, o.errors, o.finished) for o in outcomes])


def run_level(server: Kiosk, cookie: str, codes: list[str], booths: int, persons: int,
              think: float, procs: int) -> tuple[float, Outcome]:
    """Every code cast by `booths` booths over `procs` processes: (wall seconds, merged outcome)."""
    per_booth = [codes[i::booths] for i in range(booths)]
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(booths + 1)
    results = ctx.Queue()
    workers = [ctx.Process(target=_booth_process,
                           args=(server, cookie, per_booth[p::procs], persons, think, p, barrier, results))
               for p in range(procs)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.time()
    merged = Outcome()
    for _ in workers:
        for casts, requests, errors, finished in results.get():
            merged.casts += casts
            merged.requests += requests
            merged.errors += errors
            merged.finished = max(merged.finished, finished)
    for w in workers:
        w.join()
    return merged.finished - started, merged


@contextlib.contextmanager
def database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    from tests.pg_server import running_postgres

    with running_postgres() as url:
        yield url


Row = tuple[str, int, int, float, float, float, float, float, int, float, float]


def bench(kind: str, args: argparse.Namespace) -> tuple[list[Row], list[Row]]:
    capacity: list[Row] = []
    paced: list[Row] = []
    levels = [int(n) for n in args.levels.split(",")]
    needed = sum(levels) * (args.rounds + args.paced_rounds)
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
            for table, rounds, think in ((capacity, args.rounds, 0.0),
                                         (paced, args.paced_rounds, args.think)):
                for level in levels if rounds else []:
                    codes, pool = pool[:level * rounds], pool[level * rounds:]
                    load = os.getloadavg()[0]
                    cpu = server_cpu_seconds(server)
                    wall, out = run_level(server, cookie, codes, level, args.persons, think, args.procs)
                    cpu = server_cpu_seconds(server) - cpu
                    table.append((kind, level, len(out.casts), len(out.casts) / wall,
                                  percentile(out.casts, 50) * 1000, percentile(out.casts, 95) * 1000,
                                  percentile(out.casts, 99) * 1000,
                                  percentile(out.requests, 99) * 1000, out.errors,
                                  cpu * 1000 / max(1, len(out.casts)), load))
        finally:
            server.stop()
    return capacity, paced


def print_table(title: str, rows: list[Row], pages: bool) -> None:
    print(title)
    print()
    head = "| db | booths | casts | casts/s | cast p50 ms | cast p95 ms | cast p99 ms |"
    head += " page p99 ms |" if pages else ""
    head += " errors | server CPU ms/voter | load avg |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for kind, level, n, rate, p50, p95, p99, page99, errors, cpu, load in rows:
        line = f"| {kind} | {level} | {n} | {rate:.1f} | {p50:.0f} | {p95:.0f} | {p99:.0f} |"
        line += f" {page99:.0f} |" if pages else ""
        line += f" {errors} | {cpu:.1f} | {load:.1f} |"
        print(line)
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="voters per booth, closed loop")
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
    print_table(f"(a) capacity, closed loop: {args.rounds} voters per booth back to back, no think "
                "time; latency of POST /booth/cast (mostly queueing: booths / throughput)",
                [row for capacity, _ in results for row in capacity], pages=False)
    print_table(f"(b) paced: {args.paced_rounds} voters per booth, exponential think time of mean "
                f"{args.think:g} s before scan, review and cast, heartbeat every 20 s; latency of "
                "POST /booth/cast and of every request (page p99)",
                [row for _, paced in results for row in paced], pages=True)


if __name__ == "__main__":
    main()
