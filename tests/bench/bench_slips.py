"""Benchmark: the issue path, check-in and slip printing at the desk.

Run: python3 -m tests.bench.bench_slips [--voters 2500] [--persons 20] [--sheets 3] [--singles 100]

Through the real kiosk app (Flask test client: the view, the domain code, the template; no
network), on a fresh SQLite instance folder:

  single  - POST /desk/<id>/checkin, one voter a time (check-in, slip code, QR, slip page);
  sheet   - POST /desk/<id>/batch with 500 voters: one A4 sheet run of 500 slips (target
            <= 5 s), `--sheets` times;
then the parts of a sheet's time, measured apart on the same machine: the domain check-in
of 500 voters in one transaction (shared.voting.check_in_many) and 500 QR codes
(kiosk.qr.qr_data_uri). The rest of a sheet is the view and the template.
Wall time and this process's CPU time are both printed: on a machine shared with other
work, CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Self

from flask import Flask

from kiosk.desk import BATCH_LIMIT
from kiosk.qr import qr_data_uri
from shared import election as elections
from shared import voting
from shared.db import session_factory, transaction
from tests.factories import election_spec
from tests.kiosk_client import SLIP_CODE_RE, Meeting, csrf, make_app

SHEET = 500


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Self:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def voter_ids(start: int, count: int) -> list[str]:
    return [f"V{i:03d}" for i in range(start, start + count)]


def bench(app: Flask, voters: int, persons: int, sheets: int, singles: int) -> list[tuple[str, ...]]:
    meeting = Meeting(app, election_spec(persons=persons, voters=voters))
    meeting.ceremony()
    token = csrf(meeting.desk, f"/desk/{meeting.id}/queue")
    rows: list[tuple[str, ...]] = []
    next_voter = 1

    latencies = []
    cpu = 0.0
    for voter_id in voter_ids(next_voter, singles):
        with Clock() as c:
            page = meeting.desk.post(f"/desk/{meeting.id}/checkin",
                                     data={"csrf_token": token, "voter_id": voter_id})
        assert page.status_code == 200 and len(SLIP_CODE_RE.findall(page.get_data(as_text=True))) == 1
        latencies.append(c.wall)
        cpu += c.cpu
    next_voter += singles
    rows.append(("single check-in + slip page", str(singles), f"{sum(latencies):.2f}",
                 f"{cpu:.2f}", f"{1000 * percentile(latencies, 50):.1f}",
                 f"{1000 * percentile(latencies, 95):.1f}", "-"))

    for sheet in range(1, sheets + 1):
        ids = voter_ids(next_voter, SHEET)
        next_voter += SHEET
        with Clock() as c:
            page = meeting.desk.post(f"/desk/{meeting.id}/batch",
                                     data={"csrf_token": token, "voter_id": ids})
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and len(SLIP_CODE_RE.findall(html)) == SHEET
        rows.append((f"A4 sheet {sheet}: {SHEET} slips, one POST", str(SHEET), f"{c.wall:.2f}",
                     f"{c.cpu:.2f}", f"{1000 * c.wall / SHEET:.1f}", "-",
                     f"{len(html.encode()) / 1e6:.1f}"))

    factory = session_factory(app.extensions["kiosk_engine"])
    ids = voter_ids(next_voter, SHEET)
    with Clock() as c, transaction(factory) as s:
        issued = voting.check_in_many(s, elections.get_election(s, meeting.id), ids, "desk")
    rows.append((f"  part: domain check-in of {SHEET}", str(SHEET), f"{c.wall:.2f}", f"{c.cpu:.2f}",
                 f"{1000 * c.wall / SHEET:.1f}", "-", "-"))
    with Clock() as c:
        for _voter, code in issued:
            qr_data_uri(code)
    rows.append((f"  part: {SHEET} QR codes", str(SHEET), f"{c.wall:.2f}", f"{c.cpu:.2f}",
                 f"{1000 * c.wall / SHEET:.1f}", "-", "-"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voters", type=int, default=2500, help="roster size")
    parser.add_argument("--persons", type=int, default=20, help="persons on the ballot")
    parser.add_argument("--sheets", type=int, default=3, help="A4 sheets of 500 slips to time")
    parser.add_argument("--singles", type=int, default=100, help="one-by-one check-ins to time")
    args = parser.parse_args()
    assert BATCH_LIMIT >= SHEET, "the desk refuses a 500-slip batch"
    needed = args.singles + (args.sheets + 1) * SHEET
    if args.voters < needed:
        parser.error(f"--voters must be at least {needed}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench(make_app(Path(tmp) / "kiosk"), args.voters, args.persons, args.sheets,
                     args.singles)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; roster {args.voters}, {args.persons} persons; SQLite; "
          "Flask test client")
    header = ("what", "slips", "wall s", "cpu s", "ms/slip (p50)", "p95 ms", "page MB")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))))


if __name__ == "__main__":
    main()
