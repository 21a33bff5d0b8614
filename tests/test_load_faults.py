"""Concurrency and crash safety through the real server: gunicorn workers, HTTPS, SQLite WAL.

Sizes are kept small enough for CI; `FAULT_ROUNDS` raises the number of kill -9 rounds
for a longer local run (the issue asks for at least 20: FAULT_ROUNDS=20).
"""

from __future__ import annotations

import http.client
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from kiosk.cli import main as kiosk
from kiosk.config import load_config
from shared.audit import chain_events, verify_chain
from shared.box import all_passed, load_box, verified_box, verify_box
from shared.db import make_engine, session_factory
from shared.models import NO_HASH, Ballot, Token
from shared.tally import tally_box
from tests.http_booth import Booth, Kiosk, cast_form, marks_fields, prepare_kiosk, receipt

RECORDED = "đã được ghi nhận"


def sqlite_integrity_ok(engine: Engine) -> bool:
    """PRAGMA integrity_check on a SQLite engine."""
    with engine.connect() as conn:
        return conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
RECORDED_AGAIN = "Lá phiếu của đồng chí đã được ghi nhận"  # a retry of a cast that succeeded


@pytest.fixture()
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Kiosk]:
    voters = getattr(request, "param", 60)
    with prepare_kiosk(tmp_path, persons=3, voters=voters).serving() as k:
        yield k


def paired_booth(k: Kiosk) -> Booth:
    booth = Booth(k)
    booth.pair(k.pairing_code())
    return booth


def db_counts(k: Kiosk) -> tuple[int, int, set[str]]:
    engine = make_engine(load_config(k.home).database_url)
    try:
        with session_factory(engine)() as s:
            spent = s.scalar(select(func.count()).select_from(Token).where(Token.state == "spent")) or 0
            fingerprints = set(s.scalars(select(Ballot.fingerprint).where(Ballot.fingerprint != NO_HASH)))
            assert verify_chain(k.election_id, chain_events(s, k.election_id)) == []
        assert sqlite_integrity_ok(engine)
        return spent, len(fingerprints), fingerprints
    finally:
        engine.dispose()


def test_token_spends_once_under_50_parallel_casts_across_gunicorn_workers(server: Kiosk) -> None:
    tablet = paired_booth(server)
    code = server.codes[0]
    booths = [Booth(server, {"kiosk_booth": tablet.cookies["kiosk_booth"]}) for _ in range(50)]
    for b in booths:
        assert b.start(code)[0] == 302  # every session sees a fresh, unused slip
    barrier = threading.Barrier(50)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def cast(b: Booth) -> None:
        barrier.wait()
        outcome = b.cast([0, 1, 2])
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=cast, args=(b,)) for b in booths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(RECORDED in html for _, html in results) == 1
    assert all(status < 500 for status, _ in results)
    spent, ballots, _ = db_counts(server)
    assert (spent, ballots) == (1, 1)


@pytest.mark.parametrize("server", [200], indirect=True)
def test_200_booths_casting_at_once_get_no_error_and_lose_no_ballot(server: Kiosk) -> None:
    tablet = paired_booth(server)
    booths = [Booth(server, {"kiosk_booth": tablet.cookies["kiosk_booth"]}) for _ in range(200)]
    for b, code in zip(booths, server.codes, strict=True):
        assert b.start(code)[0] == 302
    barrier = threading.Barrier(200)
    receipts: list[str | None] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def cast(b: Booth) -> None:
        barrier.wait()
        status, html = b.cast([2, 1, 0])
        with lock:
            statuses.append(status)
            receipts.append(receipt(html))

    threads = [threading.Thread(target=cast, args=(b,)) for b in booths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 200 and all(r for r in receipts)
    spent, ballots, fingerprints = db_counts(server)
    assert spent == ballots == 200
    assert {f[:16] for f in fingerprints} == set(receipts)


@pytest.mark.parametrize("server", [120], indirect=True)
def test_kill_9_under_load_loses_no_acknowledged_ballot_and_the_vote_continues(
        server: Kiosk, tmp_path: Path) -> None:
    rounds = int(os.environ.get("FAULT_ROUNDS", "3"))
    rng = random.Random(11)
    tablet_cookie = paired_booth(server).cookies["kiosk_booth"]
    unused = list(server.codes)
    acknowledged: set[str] = set()
    failures: list[str] = []
    lock = threading.Lock()
    for _ in range(rounds):
        stop = threading.Event()

        # This round's stop event is passed in, not read from the loop variable.
        def voter(stop: threading.Event) -> None:
            booth = Booth(server, {"kiosk_booth": tablet_cookie})
            while not stop.is_set():
                with lock:
                    if not unused:
                        return
                    code = unused.pop()
                try:
                    _, html = booth.vote(code, [rng.randrange(3) for _ in range(3)])
                except (OSError, http.client.HTTPException):
                    return  # the server died under us: this cast was never acknowledged
                except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                    with lock:
                        failures.append(repr(exc))
                    return
                got = receipt(html)
                if got:
                    with lock:
                        acknowledged.add(got)

        threads = [threading.Thread(target=voter, args=(stop,)) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(2.0, 5.0))  # casts complete and others are mid-flight
        server.kill9()
        stop.set()
        for t in threads:
            t.join()
        assert failures == []
        spent, ballots, fingerprints = db_counts(server)
        assert spent == ballots  # no token spent without its ballot, nor the reverse
        assert acknowledged <= {f[:16] for f in fingerprints}
        server.start()
    # The vote continues after the last restart, then closes and counts.
    booth = Booth(server, {"kiosk_booth": tablet_cookie})
    spent_before, _, _ = db_counts(server)
    fresh = [c for c in unused[:3]]
    for code in fresh:
        assert RECORDED in booth.vote(code, [0, 0, 0])[1]
    server.stop()
    assert kiosk(["--home", str(server.home), "close", server.election_id]) == 0
    box_path = tmp_path / "box.json"
    assert kiosk(["--home", str(server.home), "export", server.election_id, "-o", str(box_path)]) == 0
    box = load_box(box_path.read_bytes())
    assert all_passed(verify_box(box))
    assert len(box["ballots"]) == spent_before + len(fresh)
    assert len(acknowledged) > 0
    cards = sorted((tmp_path / "shares").glob("share-*.json"))
    from shared.manifest import Manifest
    from shared.shares import parse_share_file

    parsed = [parse_share_file(p.read_text(encoding="utf-8"), Manifest.from_json(box["manifest"]))
              for p in cards[:2]]
    assert tally_box(verified_box(box), parsed, "a", "b").ballots_collected == len(box["ballots"])


def _vote_until_done(booth: Booth, code: str, marks: list[int], seen: list[int],
                     lock: threading.Lock) -> str:
    """One voter on an overloaded kiosk: every 503 or lost answer is retried, the cast with
    the same form (same cast id), as kiosk.js and the busy page's button do; the final page."""
    def attempt(send: Callable[[], tuple[int, str]]) -> tuple[int, str]:
        for _ in range(200):
            try:
                status, html = send()
            except (OSError, http.client.HTTPException):
                with lock:
                    seen.append(0)  # no answer: sent again, as the browser's reload would
                continue
            with lock:
                seen.append(status)
            if status != 503:
                return status, html
            time.sleep(random.uniform(0.05, 0.5))
        raise AssertionError("still busy after 200 attempts")

    status, _ = attempt(lambda: booth.start(code))
    assert status == 302, status
    status, html = attempt(lambda: booth.post("/booth/review", "/booth/ballot", marks_fields(marks)))
    form = cast_form(html)
    assert status == 200 and form is not None, status
    cookies = dict(booth.cookies)

    def cast() -> tuple[int, str]:
        booth.cookies = dict(cookies)  # a lost answer's Set-Cookie never arrived
        return booth.request("POST", "/booth/cast", form, referer="/booth/review")

    status, html = attempt(cast)
    assert status == 200, status
    return html


def test_twice_the_design_load_gets_200_or_503_and_every_slip_is_cast_exactly_once(
        tmp_path: Path) -> None:
    """400 booths at once against a kiosk designed for 200, with a 20 ms lock-wait bound, so
    casts that find the write lock taken are answered 503 and retried with their cast id."""
    booths_count = 400
    k = prepare_kiosk(tmp_path, persons=3, voters=booths_count)
    k.configure(db_busy_timeout_ms=20)
    with k.serving():
        tablet_cookie = paired_booth(k).cookies["kiosk_booth"]
        barrier = threading.Barrier(booths_count)
        seen: list[int] = []
        pages: list[str] = []
        failures: list[str] = []
        lock = threading.Lock()

        def voter(code: str) -> None:
            booth = Booth(k, {"kiosk_booth": tablet_cookie})
            barrier.wait()
            try:
                html = _vote_until_done(booth, code, [1, 0, 2], seen, lock)
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                with lock:
                    failures.append(repr(exc))
                return
            finally:
                booth.close()
            with lock:
                pages.append(html)

        threads = [threading.Thread(target=voter, args=(code,)) for code in k.codes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    statuses = Counter(seen)
    print(f"answers at {booths_count} booths: {dict(sorted(statuses.items()))} (0 = no answer)")
    assert failures == []
    assert set(statuses) <= {0, 200, 302, 503}, statuses
    assert statuses[503] > 0  # the bound was reached: the busy path really ran
    receipts = {receipt(html) for html in pages} - {None}
    recorded_again = sum(RECORDED_AGAIN in html for html in pages)
    assert len(receipts) + recorded_again == booths_count
    spent, ballots, fingerprints = db_counts(k)  # also: audit chain verifies, integrity ok
    assert spent == ballots == booths_count  # each distinct slip cast once, none twice
    assert receipts <= {f[:16] for f in fingerprints}
