"""Benchmark: keying paper ballots at the scale of the National Assembly.

Run: python3 -m tests.bench.bench_paper [--sizes 50,500,2000] [--persons 44] [--saves 200]

Per size n, in a fresh COUNTER_HOME on this machine's disk, a batch of n + saves serials
(persons rows each: the Quốc hội's 2023 ballot had 44) whose first n sheets are already
keyed in both passes (through the domain functions, in one transaction, not timed). Then,
through the real counter app (Flask test client: the view, the domain code, the template,
the entry log on SQLite with synchronous=FULL; no network), pass A and pass B are opened
with their members' PINs and `saves` more sheets are keyed the way the entry form sends
them:

  save  - POST /paper/<batch>/enter/<slot>: one sheet of one pass saved (both passes timed);
  page  - GET  /paper/<batch>/enter/<slot>: the empty form the save redirects to;
  first - the first request of a process that has not read this log yet (after a restart):
          the whole log read and every event checked once;
  count - ending the entry: the whole log checked again, counted, signed and stored.

A short batch is keyed first and not reported (the process's imports and templates).

Wall time and this process's CPU time of each save are both printed: on a machine shared
with other work, CPU time is the steadier figure (the wall time adds the fsync and the wait).
Target: save p99 <= 50 ms at 2,000 sheets, and the same at 50 as at 2,000.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from counter.app import create_app
from counter.config import ensure_home, load_config
from counter.paper_store import PaperStore
from shared.paper import Batch, serial_label
from shared.paper_log import enter_ballot, open_pass
from tests.counter_support import BASE_URL, counter_home
from tests.paper_support import HEAD, PINS, SECOND, persons_spec, set_pins

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MARKS = ("high", "trust", "low")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def marks_for(number: int, persons: int) -> list[str]:
    return [MARKS[(number + row) % 3] for row in range(persons)]


def page_codes(batch: Batch, serial: str) -> dict[str, str]:
    """What the scanner sends for pages 2, 3, ... of a sheet."""
    return {f"page-{page}": f"{serial_label(serial)} {page}/{batch.pages}"
            for page in range(2, batch.pages + 1)}


def prefill(store: PaperStore, batch: Batch, sheets: int) -> None:
    """The first `sheets` sheets keyed in both passes, in one transaction (not timed)."""
    persons = len(batch.persons)
    with store.session(batch.batch_id) as session:
        open_pass(session, batch, HEAD, "A")
        open_pass(session, batch, SECOND, "B")
        for number, serial in enumerate(batch.serials[:sheets]):
            codes = list(page_codes(batch, serial).values())
            for slot, member in (("A", HEAD), ("B", SECOND)):
                enter_ballot(session, batch, slot, member, serial_label(serial),
                             marks_for(number, persons), codes)


def timed(action: Any, cpu: list[float] | None = None) -> tuple[float, Any]:
    """Wall milliseconds of action (and its CPU milliseconds appended to cpu)."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = action()
    if cpu is not None:
        cpu.append((time.process_time() - start_cpu) * 1000)
    return (time.perf_counter() - start) * 1000, result


def run_size(root: Path, sheets: int, persons: int, saves: int) -> dict[str, float]:
    config = load_config(ensure_home(counter_home(root / f"home-{sheets}")))
    store = PaperStore(config)
    spec = {**persons_spec(persons), "convened": sheets + saves}
    batch = store.create(spec, sheets + saves, HEAD)
    set_pins(store, batch)
    prefill(store, batch, sheets)

    client: FlaskClient = create_app(config).test_client()
    base = f"/paper/{batch.batch_id}/enter"
    first, page = timed(lambda: client.get(f"{base}/a", base_url=BASE_URL))
    assert page.status_code == 200, page.status_code
    match = _CSRF.search(page.get_data(as_text=True))
    assert match
    token = match.group(1)
    for slot, member in (("a", HEAD), ("b", SECOND)):
        opened = client.post(f"{base}/{slot}/open", base_url=BASE_URL,
                             data={"csrf_token": token, "member": member, "pin": PINS[member]})
        assert opened.status_code == 302, opened.get_data(as_text=True)[:500]

    save_ms: list[float] = []
    save_cpu: list[float] = []
    page_ms: list[float] = []
    for number, serial in enumerate(batch.serials[sheets:], start=sheets):
        form = {"csrf_token": token, "serial": serial_label(serial), **page_codes(batch, serial),
                **{f"row-{row}": mark for row, mark in enumerate(marks_for(number, persons), 1)}}
        for slot in ("a", "b"):
            spent, response = timed(lambda slot=slot, form=form: client.post(
                f"{base}/{slot}", base_url=BASE_URL, data=form), save_cpu)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            save_ms.append(spent)
            spent, response = timed(lambda slot=slot: client.get(f"{base}/{slot}", base_url=BASE_URL))
            assert response.status_code == 200
            page_ms.append(spent)

    count_ms, response = timed(lambda: client.post(
        f"/paper/{batch.batch_id}/finish", base_url=BASE_URL,
        data={"csrf_token": token, "present": str(sheets + saves),
              "issued": str(sheets + saves), "actor": HEAD, "pin": PINS[HEAD]}))
    assert response.status_code == 302 and response.headers["Location"].endswith("/report"), \
        response.get_data(as_text=True)[:500]
    return {"save50": percentile(save_ms, 50), "save99": percentile(save_ms, 99),
            "cpu50": percentile(save_cpu, 50), "cpu99": percentile(save_cpu, 99),
            "page50": percentile(page_ms, 50), "page99": percentile(page_ms, 99),
            "first": first, "count": count_ms, "pages": float(batch.pages)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50,500,2000")
    parser.add_argument("--persons", type=int, default=44)
    parser.add_argument("--saves", type=int, default=200, help="sheets keyed (both passes) per size")
    parser.add_argument("--dir", default=None, help="where the COUNTER_HOMEs go (default: a temp dir)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} cores; {args.persons} persons per "
          f"ballot; {args.saves} sheets x 2 passes timed per size; SQLite synchronous=FULL")
    print("| sheets keyed before | pages per ballot | save p50 ms | save p99 ms | save CPU p50 ms | "
          "save CPU p99 ms | page p50 ms | page p99 ms | first read ms | count ms | load avg (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        # Not reported: the process's first requests import modules and compile templates, a
        # cost a counter pays once per start, which would land on the first size's p99.
        run_size(Path(tmp) / "warm-up", 5, args.persons, 20)
        for sheets in (int(s) for s in args.sizes.split(",")):
            load = os.getloadavg()[0]  # other work on the machine shows here: read the figures with it
            r = run_size(Path(tmp), sheets, args.persons, args.saves)
            print(f"| {sheets:,} | {r['pages']:.0f} | {r['save50']:.1f} | {r['save99']:.1f} | "
                  f"{r['cpu50']:.1f} | {r['cpu99']:.1f} | {r['page50']:.1f} | {r['page99']:.1f} | "
                  f"{r['first']:.0f} | {r['count']:.0f} | {load:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
