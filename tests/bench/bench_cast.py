"""Benchmark: the cast path through gunicorn over HTTPS, at 50, 100 and 200 concurrent booths.

Run: python3 -m tests.bench.bench_cast [--db sqlite|postgresql|both] [--rounds 3] [--think S]
Prints a table: throughput (casts/s) and latency percentiles of POST /booth/cast.
Each booth loops: enter a fresh slip code and load the ballot (untimed), cast (timed), then
waits a random "think time" (exponential, mean --think seconds; 0 = as fast as it can).
The booths run as threads of this process, on the same 2 cores as the server, so the
figures are a lower bound on what the server alone would do.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from kiosk.cli import main as kiosk
from tests.http_booth import Booth, Kiosk, prepare_kiosk, receipt

LEVELS = (50, 100, 200)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@contextlib.contextmanager
def database(kind: str, directory: Path) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    from tests.pg_server import running_postgres

    with running_postgres() as url:
        yield url


def run_level(server: Kiosk, cookie: str, codes: list[str], booths: int,
              think: float) -> tuple[float, list[float], int]:
    """Cast every code with `booths` concurrent booths; (wall seconds, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    pool = list(codes)
    barrier = threading.Barrier(booths)
    rng = random.Random(1)

    def booth() -> None:
        nonlocal errors
        b = Booth(server, {"kiosk_booth": cookie})
        barrier.wait()
        while True:
            with lock:
                if not pool:
                    return
                code = pool.pop()
            status, _ = b.start(code)
            t0 = time.perf_counter()
            status, html = b.cast([0, 1, 2] * 6 + [0, 1])
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                if status != 200 or not receipt(html):
                    errors += 1
            if think:
                time.sleep(rng.expovariate(1 / think))

    threads = [threading.Thread(target=booth) for _ in range(booths)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, errors


def bench(kind: str, rounds: int, think: float
          ) -> list[tuple[str, int, int, float, float, float, float, int]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        directory = Path(tmp)
        if url:
            home = directory / "kiosk"
            kiosk(["--home", str(home), "init", "--database-url", url])
        total = sum(level * rounds for level in LEVELS)
        server = prepare_kiosk(directory, persons=20, voters=total)
        server.start()
        try:
            cookie_booth = Booth(server)
            cookie_booth.pair(server.pairing_code())
            cookie = cookie_booth.cookies["kiosk_booth"]
            offset = 0
            for level in LEVELS:
                codes = server.codes[offset:offset + level * rounds]
                offset += len(codes)
                wall, lat, errors = run_level(server, cookie, codes, level, think)
                rows.append((kind, level, len(codes), len(codes) / wall, percentile(lat, 50) * 1000,
                             percentile(lat, 95) * 1000, percentile(lat, 99) * 1000, errors))
        finally:
            server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="casts per booth at each level")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds between casts per booth")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    rows = [row for kind in kinds for row in bench(kind, args.rounds, args.think)]
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores; 20 persons per ballot; gunicorn 3 workers, HTTPS; "
          f"think time {args.think} s")
    print(f"{'db':<11}{'booths':>7}{'casts':>7}{'casts/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>7}")
    for kind, level, n, rate, p50, p95, p99, errors in rows:
        print(f"{kind:<11}{level:>7}{n:>7}{rate:>9.1f}{p50:>8.0f}{p95:>8.0f}{p99:>8.0f}{errors:>7}")


if __name__ == "__main__":
    main()
