"""Paper ballots at the scale of the National Assembly, without Flask: saves that do
not re-read the log, passes opened by their members, ballots of several pages, serials typed
without Shift, and a count whose ballots outnumber the people present."""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from shared import codes, crypto
from shared.db import transaction
from shared.errors import InvalidInput
from shared.paper import (
    SERIAL_BYTES,
    Batch,
    LogBroken,
    PagesIncomplete,
    PassNotOpened,
    PinAlreadySet,
    PinNotSet,
    SameEntrant,
    SerialMistyped,
    check_log,
    new_batch,
    page_code,
    parse_serial,
    serial_label,
)
from shared.paper_log import (
    enter_ballot,
    finish_count,
    hash_pin,
    log_events,
    open_pass,
    set_pin,
    valid_pin,
)
from tests.paper_support import (
    HEAD,
    MEMBERS,
    PINS,
    SECOND,
    THIRD,
    PaperCount,
    paper_count,
    persons_spec,
    pin_hash,
    spec,
    tamper,
)

STAMP = "08:00 08/12/2023"
SHIFTED = set("*~$=U")


def events(count: PaperCount) -> list[dict]:  # type: ignore[type-arg]
    with transaction(count.factory) as session:
        return log_events(session)


# --- 1. the cost of a save does not grow with the sheets keyed ---------------------------------------

def test_saves_and_state_reads_never_reread_the_whole_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = paper_count(tmp_path, count=40)
    for serial in count.batch.serials[:20]:
        count.both(serial, ["high"])

    def whole_log(*_: object) -> None:
        raise AssertionError("the whole entry log was read for one save or one page")

    import shared.paper_log as paper_log
    monkeypatch.setattr(paper_log, "log_events", whole_log)
    monkeypatch.setattr(paper_log, "replay", whole_log)
    for serial in count.batch.serials[20:]:
        count.both(serial, ["low"])
        with transaction(count.factory) as session:
            assert paper_log.read_state(session, count.batch, lambda s: s.entered("B")) > 20
    state = count.state()
    assert state.accepted_count == 40 and state.count_with("agreed") == 40


def test_a_save_rolled_back_after_its_check_is_not_remembered(tmp_path: Path) -> None:
    """The state kept between saves moves with the log, never ahead of it."""
    count = paper_count(tmp_path, count=2)
    count.open("A", HEAD)
    serial = count.batch.serials[0]
    with pytest.raises(RuntimeError), transaction(count.factory) as session:
        enter_ballot(session, count.batch, "A", HEAD, serial_label(serial), ["high"])
        raise RuntimeError("the disk filled up before the commit")
    assert count.state().entered("A") == 0
    count.enter("A", HEAD, serial, ["low"])  # the same sheet keys as if never tried
    assert count.state().entries[serial]["A"].marks == ("low",)


def test_a_count_that_fails_to_store_leaves_the_batch_open(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=1)
    count.both(count.batch.serials[0], ["high"])
    with pytest.raises(OSError), transaction(count.factory) as session:
        finish_count(session, count.batch, HEAD, 1, 1, STAMP, STAMP)
        raise OSError("results file not written")
    assert count.state().counted is None
    with transaction(count.factory) as session:
        assert finish_count(session, count.batch, HEAD, 1, 1, STAMP, STAMP).ballots_collected == 1


def test_the_log_refuses_updates_and_a_dropped_guard_is_noticed_at_the_next_read(
        tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=2)
    count.both(count.batch.serials[0], ["high"])
    count.state()  # this process now remembers the log
    with pytest.raises(Exception, match="append-only"), transaction(count.factory) as session:
        session.execute(text("UPDATE paper_events SET actor = 'X' WHERE seq = 2"))
    with pytest.raises(Exception, match="append-only"), transaction(count.factory) as session:
        session.execute(text("DELETE FROM paper_events WHERE seq = 2"))
    with transaction(count.factory) as session:
        tamper(session, "UPDATE paper_events SET actor = :a WHERE seq = 2", {"a": THIRD})
    with pytest.raises(LogBroken):
        count.state()
    with pytest.raises(LogBroken):
        count.enter("A", HEAD, count.batch.serials[1], ["high"])


# --- 2. a pass belongs to a person ---------------------------------------------------------------------

def test_only_the_member_who_opened_a_pass_keys_in_it(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=2)
    serial = serial_label(count.batch.serials[0])
    with pytest.raises(PassNotOpened) as refused, transaction(count.factory) as session:
        enter_ballot(session, count.batch, "A", HEAD, serial, ["high"])
    assert refused.value.message_id == "Đồng chí %(actor)s chưa mở lượt %(slot)s bằng mã PIN của mình."
    assert refused.value.params == {"actor": HEAD, "slot": "A"}
    count.open("B", SECOND)  # opening pass B opens nothing in pass A
    with pytest.raises(PassNotOpened), transaction(count.factory) as session:
        enter_ballot(session, count.batch, "A", SECOND, serial, ["high"])
    count.open("A", HEAD)
    count.enter("A", HEAD, count.batch.serials[0], ["high"])
    log = events(count)
    opened = [(e["actor"], e["data"]["slot"]) for e in log if e["kind"] == "paper.pass_opened"]
    assert opened == [(SECOND, "B"), (HEAD, "A")]
    assert log[-1]["kind"] == "paper.entry" and log[-1]["actor"] == HEAD


def test_a_member_who_opened_both_passes_still_cannot_key_both_of_one_sheet(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=1)
    count.enter("A", HEAD, count.batch.serials[0], ["high"])
    count.open("B", HEAD)
    with pytest.raises(SameEntrant):
        count.enter("B", HEAD, count.batch.serials[0], ["high"])


def test_a_pin_is_set_once_only_its_hash_is_kept_and_the_log_holds_neither(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=1)
    with pytest.raises(PinAlreadySet), transaction(count.factory) as session:
        set_pin(session, count.batch, HEAD, hash_pin("975310"))
    log_text = json.dumps(events(count), ensure_ascii=False)
    assert [e["data"] for e in events(count) if e["kind"] == "paper.pin_set"] == [{}, {}, {}]
    with transaction(count.factory) as session:
        rows = session.execute(text("SELECT member, pin_hash FROM paper_pins")).all()
        stored = {str(member): str(hashed) for member, hashed in rows}
    assert set(stored) == set(MEMBERS)
    for member, hashed in stored.items():
        assert hashed.startswith("scrypt$") and crypto.verify_password(PINS[member], hashed)
        assert PINS[member] not in log_text and hashed not in log_text
        assert PINS[member] not in hashed


def test_pins_are_six_to_twelve_digits_and_not_trivial() -> None:
    for bad in ("12345", "1234567890123", "12a456", "000000", "123456", "987654", "１２３４５６"):
        with pytest.raises(InvalidInput):
            valid_pin(bad)
    assert valid_pin("246810") == "246810"


def test_pins_are_gone_once_the_count_ends(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=1)
    count.both(count.batch.serials[0], ["high"])
    with transaction(count.factory) as session:
        finish_count(session, count.batch, HEAD, 1, 1, STAMP, STAMP)
    with transaction(count.factory) as session:
        assert session.execute(text("SELECT count(*) FROM paper_pins")).scalar_one() == 0


def test_a_member_without_a_pin_can_neither_open_a_pass_nor_count(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    batch = paper_count(tmp_path / "a", count=1).batch
    from shared.db import make_engine, session_factory
    from shared.paper_log import init_log, start_log
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    init_log(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        start_log(session, batch, HEAD)
    with pytest.raises(PinNotSet), transaction(factory) as session:
        open_pass(session, batch, HEAD, "A")
    with transaction(factory) as session:
        set_pin(session, batch, HEAD, pin_hash(HEAD))
        open_pass(session, batch, HEAD, "A")
        set_pin(session, batch, SECOND, pin_hash(SECOND))
        open_pass(session, batch, SECOND, "B")
        for slot, member in (("A", HEAD), ("B", SECOND)):
            enter_ballot(session, batch, slot, member, batch.serials[0], ["high"])
    with pytest.raises(PinNotSet), transaction(factory) as session:
        finish_count(session, batch, THIRD, 1, 1, STAMP, STAMP)


# --- 3. ballots of several pages --------------------------------------------------------------------------

def test_a_sheet_of_three_pages_is_keyed_only_with_every_page_of_its_own(tmp_path: Path) -> None:
    count = paper_count(tmp_path, persons=2, count=2, page_rows=[1, 1])
    two = count.batch.laid_out([1, 1])  # two rows on two pages
    assert two.pages == 2 and two.page_starts() == [1, 2]
    first, other = count.batch.serials
    count.open("A", HEAD)

    def key(pages: list[str], typed: str | None = None) -> None:
        with transaction(count.factory) as session:
            enter_ballot(session, count.batch, "A", HEAD, typed or serial_label(first),
                         ["high", "low"], pages)

    with pytest.raises(PagesIncomplete, match="Chưa nhập trang 2/2"):
        key([])
    with pytest.raises(PagesIncomplete) as refused:
        key([page_code(other, 2, 2)])
    assert refused.value.message_id == (
        "%(where_capitalized)s mang số sê-ri %(found)s, khác với phiếu số %(serial)s: trang này thuộc một phiếu "
        "khác. Để riêng các tờ này và báo Ban kiểm phiếu.")
    with pytest.raises(PagesIncomplete, match="là của trang 1/2"):
        key([page_code(first, 1, 2)])
    with pytest.raises(PagesIncomplete) as refused:
        key([page_code(first, 2, 2)], typed=page_code(first, 2, 2))
    assert refused.value.message_id == (
        "Mã đã quét vào ô số sê-ri là của trang %(page)s/%(pages)s: hãy quét mã QR in trên trang 1 của phiếu.")
    assert count.state().entered("A") == 0
    key([serial_label(first)], typed=page_code(first, 1, 2))  # scanned page 1, typed page 2
    entry = events(count)[-1]
    assert entry["data"]["pages"] == 2 and count.state().entered("A") == 1


def test_a_logged_entry_that_claims_fewer_pages_breaks_the_rules(tmp_path: Path) -> None:
    count = paper_count(tmp_path, persons=2, count=1, page_rows=[1, 1])
    count.both(count.batch.serials[0], ["high", "high"])
    log = events(count)
    from shared.audit import event_hash
    at = next(i for i, e in enumerate(log) if e["kind"] == "paper.entry")
    log[at] = {**log[at], "data": {**log[at]["data"], "pages": 1}}
    for i in range(at, len(log)):
        log[i]["prev"] = log[i - 1]["hash"]
        log[i]["hash"] = event_hash(count.batch.batch_id, log[i])
    assert any("trang" in p for p in check_log(count.batch, log))


def test_the_batch_file_says_how_many_rows_each_page_holds() -> None:
    batch = new_batch(persons_spec(30), 2, "x", [10, 17, 3])
    data = json.loads(json.dumps(batch.to_dict()))
    assert data["version"] == 2 and data["page_rows"] == [10, 17, 3]
    assert Batch.from_dict(data) == batch
    for wrong in ([10, 17, 2], [10, 0, 20], []):
        with pytest.raises(InvalidInput) as refused:
            Batch.from_dict({**data, "page_rows": wrong})
        assert refused.value.message_id == (
            "Bố cục trang của phiếu (page_rows) không khớp với danh sách người được lấy phiếu.")


# --- 4. serials typed without Shift ----------------------------------------------------------------------

def test_no_serial_needs_shift_to_type_in_a_batch_of_five_thousand() -> None:
    batch = new_batch(spec(), 5000, "x")
    symbols = set("".join(batch.serials))
    assert symbols <= set(codes.ALPHABET)
    assert not symbols & SHIFTED
    assert {serial[-1] for serial in batch.serials} == set(codes.ALPHABET)  # all 32 occur


def test_gf32_check_catches_every_wrong_symbol_and_every_swap() -> None:
    for _ in range(40):
        code = codes.with_check(os.urandom(SERIAL_BYTES), codes.Check.GF32)
        for i, symbol in itertools.product(range(len(code)), codes.ALPHABET):
            if symbol != code[i]:
                with pytest.raises(codes.CodeError):
                    codes.decode_checked(code[:i] + symbol + code[i + 1:], SERIAL_BYTES, codes.Check.GF32)
        for i, j in itertools.combinations(range(len(code)), 2):
            if code[i] != code[j]:
                swapped = list(code)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                with pytest.raises(codes.CodeError):
                    codes.decode_checked("".join(swapped), SERIAL_BYTES, codes.Check.GF32)


def test_the_slips_mod_37_check_symbol_is_unchanged() -> None:
    """Slips and share cards still use it (until their own change): same symbols, `*` and all."""
    data = bytes([32]) * 12
    assert codes.with_check(data) == "40G2081040G2081040G0*"
    assert codes.check_symbol("40G2081040G2081040G0") == "*"
    assert codes.decode_checked("40g2-0810-40g2-0810-40g0-*", 12) == data
    assert codes.check_symbol("40G2081040G2081040G0", codes.Check.GF32) in codes.ALPHABET


def test_a_version_1_batch_keeps_its_old_serials(tmp_path: Path) -> None:
    """A batch printed by an earlier build: mod-37 check symbols, no layout, no PINs needed."""
    old = [codes.with_check(os.urandom(SERIAL_BYTES)) for _ in range(40)]
    batch = replace(new_batch(spec(), 1, "x"), serials=old, page_rows=[], version=1)
    data = json.loads(json.dumps(batch.to_dict()))
    assert "page_rows" not in data and Batch.from_dict(data) == batch
    assert all(batch.parse_serial(serial_label(s).lower()) == s for s in old)
    with pytest.raises(SerialMistyped):
        parse_serial(old[0])  # a version-2 batch reads the check symbol the new way
    from shared.db import make_engine, session_factory
    from shared.paper_log import init_log, start_log
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    init_log(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        start_log(session, batch, HEAD)
        enter_ballot(session, batch, "A", HEAD, serial_label(old[0]), ["high"])


# --- 6. the ballots collected cannot outnumber the people present ------------------------------------------

def test_a_count_with_more_ballots_collected_than_people_present_is_refused(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=3)
    for serial in count.batch.serials[:2]:
        count.both(serial, ["high"])
    from shared.paper_log import record_not_issued
    with transaction(count.factory) as session:
        record_not_issued(session, count.batch, THIRD, "", "Không có số sê-ri hoặc không đọc được")
    with pytest.raises(InvalidInput, match=r"Số phiếu thu về \(3\) nhiều hơn số có mặt tại thời điểm "
                                           r"bỏ phiếu \(2\)"), transaction(count.factory) as session:
        finish_count(session, count.batch, HEAD, 2, 2, STAMP, STAMP)
    assert count.state().counted is None
    with transaction(count.factory) as session:
        assert finish_count(session, count.batch, HEAD, 3, 2, STAMP, STAMP).ballots_collected == 3
