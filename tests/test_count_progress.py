"""Counting in the background with a progress bar, through the Flask test client.

The count is held at its start by an event where a test must see it running; it is never
replaced: the real count_box runs, on the real box, and writes the real results.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import counter.count_jobs
from counter.app import create_app
from counter.config import CounterConfig
from counter.count_jobs import read_status
from counter.store import Store
from tests.counter_fixtures import config, election, foreign  # noqa: F401  (fixtures)
from tests.counter_support import CASTING, Browser, Built, flip_ballot_byte, share_forms

POLL_LIMIT = 600  # polls of 0.05 s: a bound on a broken count, not a timing assertion


def counter_browser(config: CounterConfig, wait: float = 0.0) -> Browser:  # noqa: F811
    # wait 0: every count is watched on its progress page, however small the box.
    app = create_app(dataclasses.replace(config, count_wait_seconds=wait))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=True)
    return Browser(app.test_client())


def import_box(browser: Browser, data: bytes) -> None:
    token = browser.csrf_token("/")
    response = browser.post("/import", data={"csrf_token": token, "box_file": (io.BytesIO(data), "b.json")},
                            content_type="multipart/form-data")
    assert response.status_code == 302


def present(browser: Browser, election_id: str, code: str) -> Any:
    token = browser.csrf_token(f"/boxes/{election_id}")
    return browser.post(f"/boxes/{election_id}/shares", data={"csrf_token": token, "share": code},
                        content_type="multipart/form-data")


def tally(browser: Browser, election_id: str, codes: list[str]) -> Any:
    token = browser.csrf_token("/")  # a box that fails its checks has no share form
    return browser.post(f"/boxes/{election_id}/tally", data={"csrf_token": token, "share": codes})


def status(browser: Browser, election_id: str) -> dict[str, Any]:
    response = browser.get(f"/boxes/{election_id}/count/status")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document: dict[str, Any] = response.get_json()
    return document


def until_ended(browser: Browser, election_id: str) -> list[dict[str, Any]]:
    seen = [status(browser, election_id)]
    for _ in range(POLL_LIMIT):
        if seen[-1]["state"] != "running":
            return seen
        time.sleep(0.05)
        seen.append(status(browser, election_id))
    raise AssertionError("the count did not end")


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, list[int]]]:
    """Hold each count at its start until the event is set; count how many counts ran."""
    release, runs = threading.Event(), []
    real: Callable[..., Any] = counter.count_jobs.count_box

    def held_count(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(counter.count_jobs, "count_box", held_count)
    yield release, runs
    release.set()


def test_kth_share_counts_in_the_background_and_the_progress_reaches_the_total_then_the_report(
        config: CounterConfig, election: Built, held: tuple[threading.Event, list[int]]) -> None:  # noqa: F811
    release, runs = held
    browser = counter_browser(config)
    eid = election.election_id
    import_box(browser, election.box)
    present(browser, eid, election.cards[0].code)
    response = present(browser, eid, election.cards[1].code)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/boxes/{eid}/count")
    page = browser.get(f"/boxes/{eid}/count").get_data(as_text=True)
    assert '<progress id="count-progress"' in page and 'src="/static/count.js"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "<script>" not in page and "style=" not in page  # CSP: nothing inline
    assert status(browser, eid)["state"] == "running"
    assert not Store(config).has_results(eid)
    release.set()
    seen = until_ended(browser, eid)
    assert seen[-1] == {"state": "done", "done": CASTING, "total": CASTING, "percent": 100, "message": ""}
    done = [s["done"] for s in seen]
    assert done == sorted(done)
    assert runs == [1]
    report = browser.get(f"/boxes/{eid}/count")
    assert report.status_code == 302 and report.headers["Location"].endswith(f"/boxes/{eid}/report")
    assert "T/M BAN KIỂM PHIẾU" in browser.get(f"/boxes/{eid}/report").get_data(as_text=True)
    document = json.loads(Store(config).results_path(eid).read_text("utf-8"))
    assert document["ballots_collected"] == CASTING
    for card in election.cards:  # no share in any progress page or JSON
        for form in share_forms(card):
            assert all(form not in r.get_data(as_text=True) for r in browser.responses)


def test_a_second_click_while_counting_starts_no_second_count(
        config: CounterConfig, election: Built, held: tuple[threading.Event, list[int]]) -> None:  # noqa: F811
    release, runs = held
    first, second = counter_browser(config), counter_browser(config)
    eid = election.election_id
    import_box(first, election.box)
    codes = [c.code for c in election.cards[:2]]
    assert tally(first, eid, codes).headers["Location"].endswith(f"/boxes/{eid}/count")
    again = tally(second, eid, codes)
    assert again.headers["Location"].endswith(f"/boxes/{eid}/count")
    assert "đang được kiểm phiếu; không bắt đầu lần kiểm thứ hai" in \
        second.get(f"/boxes/{eid}/count").get_data(as_text=True)
    release.set()
    assert until_ended(first, eid)[-1]["state"] == "done"
    assert runs == [1]


def test_a_count_that_ends_within_the_wait_goes_straight_to_the_report(
        config: CounterConfig, election: Built) -> None:  # noqa: F811
    browser = counter_browser(config, wait=60.0)
    eid = election.election_id
    import_box(browser, election.box)
    response = tally(browser, eid, [c.code for c in election.cards[1:3]])
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/boxes/{eid}/report")


def test_a_failed_background_count_is_named_in_vietnamese_and_writes_no_results(
        config: CounterConfig, election: Built, foreign: Built) -> None:  # noqa: F811
    browser = counter_browser(config)
    eid = election.election_id
    import_box(browser, election.box)
    tally(browser, eid, [election.cards[0].code, foreign.cards[1].code])
    assert until_ended(browser, eid)[-1]["state"] == "failed"
    page = browser.get(f"/boxes/{eid}/count").get_data(as_text=True)
    assert "Không kiểm phiếu được: Mảnh khóa ô 2:" in page
    assert "không có kết quả nào được ghi" in page and "<progress" not in page
    assert not Store(config).has_results(eid)
    assert list(config.results_dir.iterdir()) == []


def test_a_tampered_box_fails_its_count_before_any_decryption(
        config: CounterConfig, election: Built) -> None:  # noqa: F811
    browser = counter_browser(config)
    eid = election.election_id
    import_box(browser, flip_ballot_byte(election.box))
    tally(browser, eid, [c.code for c in election.cards[:2]])
    final = until_ended(browser, eid)[-1]
    assert final["state"] == "failed" and final["done"] == 0
    assert "Hòm phiếu không qua kiểm tra, không giải mã" in final["message"]
    assert list(config.results_dir.iterdir()) == []


def test_a_count_whose_worker_died_is_shown_as_interrupted(config: CounterConfig, election: Built) -> None:  # noqa: F811
    browser = counter_browser(config)
    eid = election.election_id
    import_box(browser, election.box)
    # What a killed worker leaves: a running state, and a lock nobody holds any more.
    directory = config.home / counter.count_jobs.COUNTING_DIR
    directory.mkdir()
    (directory / f"{eid}.json").write_text(json.dumps({"state": "running", "done": 3, "total": 10,
                                                       "message": ""}), "utf-8")
    (directory / f"{eid}.lock").touch()
    status_now = read_status(Store(config), eid)
    assert status_now is not None and status_now.state == "failed"
    assert "bị gián đoạn" in browser.get(f"/boxes/{eid}/count").get_data(as_text=True)


def test_progress_pages_of_an_unknown_box_are_not_found(config: CounterConfig) -> None:  # noqa: F811
    browser = counter_browser(config)
    assert browser.get("/boxes/KHONGCO123/count").status_code == 404
    assert browser.get("/boxes/KHONGCO123/count/status").status_code == 404
    assert browser.get("/boxes/..%2F..%2Fetc/count").status_code == 404


def test_no_count_started_sends_the_board_back_to_the_box_page(config: CounterConfig, election: Built) -> None:  # noqa: F811
    browser = counter_browser(config)
    import_box(browser, election.box)
    response = browser.get(f"/boxes/{election.election_id}/count")
    assert response.status_code == 302 and re.search(rf"/boxes/{election.election_id}$", response.headers["Location"])
