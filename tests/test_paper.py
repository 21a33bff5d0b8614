"""Paper ballots without Flask: serials, double entry, the board's decisions, the count, the log."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from shared import codes, crypto
from shared.canonical import digest
from shared.db import make_engine, session_factory, transaction
from shared.errors import DomainError, InvalidInput
from shared.paper import (
    SERIAL_BYTES,
    AlreadyEntered,
    Batch,
    BatchCounted,
    CountNotReady,
    LogBroken,
    NothingToResolve,
    SameEntrant,
    SerialMistyped,
    SerialNotIssued,
    ballots_for_count,
    check_log,
    new_batch,
    parse_serial,
    recount_differences,
    replay,
    serial_label,
)
from shared.paper_log import (
    enter_ballot,
    finish_count,
    log_events,
    record_not_issued,
    resolve_ballot,
)
from shared.tally import check_results_signature, signed_results
from tests.paper_support import (
    HEAD,
    SECOND,
    THIRD,
    PaperCount,
    paper_count,
    spec,
    tamper,
    vinh_phuc_marks,
)

STAMP = "08:00 08/12/2023"


def finish(count: PaperCount, present: int = 47, issued: int = 47):  # type: ignore[no-untyped-def]
    with transaction(count.factory) as session:
        return finish_count(session, count.batch, HEAD, present, issued, STAMP, STAMP)


def events(count: PaperCount) -> list[dict]:  # type: ignore[type-arg]
    with transaction(count.factory) as session:
        return log_events(session)


# --- the published figures ---------------------------------------------------------------------

@pytest.mark.parametrize("invalid", ["multiple", "crossed_out"])
def test_2023_figures_entered_on_paper_give_40_43_4_26_53_19_and_over_half(
        tmp_path: Path, invalid: str) -> None:
    count = paper_count(tmp_path)
    for serial, marks in zip(count.batch.serials, vinh_phuc_marks(invalid), strict=True):
        count.both(serial, marks)
    signer = crypto.generate_signing_key()
    document = signed_results(finish(count), signer)
    person = document["persons"][0]
    assert document["ballots_collected"] == 47
    assert (person["valid"], person["high"], person["trust"], person["low"]) == (46, 19, 2, 25)
    assert (person["pct_high"], person["pct_trust"], person["pct_low"]) == ("40.43", "4.26", "53.19")
    assert person["band"] == "over_half"
    assert check_results_signature(document, crypto.signing_public_key(signer))


def test_2023_figures_with_a_ballot_not_issued_as_the_invalid_one(tmp_path: Path) -> None:
    count = paper_count(tmp_path)
    # 46 ballots keyed; the 47th serial is recorded as not issued below.
    for serial, marks in zip(count.batch.serials, vinh_phuc_marks()[:46], strict=False):
        count.both(serial, marks)
    with transaction(count.factory) as session:
        record_not_issued(session, count.batch, THIRD, "", "Không có số sê-ri hoặc không đọc được")
    person = finish(count, issued=46).persons[0]
    assert (person.valid, str(person.pct_high), str(person.pct_trust), str(person.pct_low)) == (
        46, "40.43", "4.26", "53.19")


# --- per-row and per-ballot validity -------------------------------------------------------------

def test_blank_multiple_and_crossed_out_make_only_that_row_invalid(tmp_path: Path) -> None:
    count = paper_count(tmp_path, persons=2, count=4)
    s = count.batch.serials
    count.both(s[0], ["blank", "high"])
    count.both(s[1], ["high", "multiple"])
    count.both(s[2], ["crossed_out", "low"])
    count.both(s[3], ["trust", "trust"])
    first, second = finish(count, present=4, issued=4).persons
    assert (first.valid, first.high, first.trust, first.low) == (2, 1, 1, 0)
    assert (second.valid, second.high, second.trust, second.low) == (3, 1, 1, 1)


def test_a_ballot_not_issued_is_in_n_and_invalid_in_every_row(tmp_path: Path) -> None:
    count = paper_count(tmp_path, persons=2, count=3)
    for serial in count.batch.serials:
        count.both(serial, ["high", "low"])
    with transaction(count.factory) as session:
        record_not_issued(session, count.batch, THIRD, "ZZZZ-ZZZZ-ZZZ", "Số sê-ri không có trong danh sách")
    state = count.state()
    assert ballots_for_count(state)[-1] is None
    results = finish(count, present=4, issued=3)
    assert results.ballots_collected == 4
    assert [(p.valid, str(p.pct_high), str(p.pct_low)) for p in results.persons] == [
        (3, "75.00", "0.00"), (3, "0.00", "75.00")]


def test_an_issued_serial_not_yet_keyed_cannot_be_set_aside_as_not_issued(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=2)
    with pytest.raises(InvalidInput) as refused, \
            transaction(count.factory) as session:
        record_not_issued(session, count.batch, THIRD, serial_label(count.batch.serials[0]),
                          "Tờ phiếu thứ hai mang số sê-ri đã nhập")
    assert refused.value.message_id == (
        "Số sê-ri này có trong danh sách phát hành và chưa được nhập: hãy nhập phiếu này theo hai lượt như bình "
        "thường.")
    count.both(count.batch.serials[0], ["high"])
    with transaction(count.factory) as session:  # a second sheet with that serial: now it may
        record_not_issued(session, count.batch, THIRD, serial_label(count.batch.serials[0]),
                          "Tờ phiếu thứ hai mang số sê-ri đã nhập")
    assert len(count.state().not_issued) == 1


# --- double entry ------------------------------------------------------------------------------------

def test_disagreeing_entries_block_acceptance_until_the_board_resolves(tmp_path: Path) -> None:
    count = paper_count(tmp_path, persons=2, count=2)
    serial, other = count.batch.serials
    count.both(other, ["high", "high"])
    count.both(serial, ["high", "low"], marks_b=["high", "trust"])
    state = count.state()
    assert state.status(serial) == "disagreed" and state.accepted() == [other]
    with pytest.raises(CountNotReady, match="chênh lệch"):
        finish(count, present=2, issued=2)
    with pytest.raises(NothingToResolve), transaction(count.factory) as session:
        resolve_ballot(session, count.batch, other, THIRD, ["low", "low"], "")
    with transaction(count.factory) as session:
        resolve_ballot(session, count.batch, serial, THIRD, ["high", "low"], "lượt B nhầm dòng 2")
    state = count.state()
    assert state.status(serial) == "resolved"
    assert state.accepted_marks(serial) == ("high", "low")
    assert [e["kind"] for e in events(count)][-1] == "paper.resolved"
    assert events(count)[-1]["actor"] == THIRD
    second = finish(count, present=2, issued=2).persons[1]
    assert (second.high, second.trust, second.low) == (1, 0, 1)


def test_a_ballot_keyed_by_one_pass_only_blocks_the_count(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=2)
    count.both(count.batch.serials[0], ["high"])
    count.enter("A", HEAD, count.batch.serials[1], ["low"])
    with pytest.raises(CountNotReady, match="một lượt"):
        finish(count, present=2, issued=2)


def test_unissued_serial_is_rejected_and_nothing_is_logged(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=3)
    count.open("A", HEAD)
    before = len(events(count))
    foreign = new_batch(spec(), 1, "x").serials[0]  # well formed, check symbol right, not ours
    with pytest.raises(SerialNotIssued, match="không có trong danh sách phiếu do Ban kiểm phiếu"):
        count.enter("A", HEAD, foreign, ["high"])
    assert len(events(count)) == before


def test_mistyped_serial_is_caught_by_its_check_symbol(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=1)
    serial = count.batch.serials[0]
    wrong_check = serial[:-1] + next(c for c in codes.ALPHABET if c != serial[-1])
    typos = [wrong_check, serial[:-2], serial + "7"]
    if serial[0] != serial[1]:  # the GF(32) check catches every swap of two symbols
        typos.append(serial[1] + serial[0] + serial[2:])
    for typo in typos:
        with pytest.raises(SerialMistyped), transaction(count.factory) as session:
            enter_ballot(session, count.batch, "A", HEAD, typo, ["high"])


def test_serial_entered_twice_by_the_same_pass_is_caught_however_it_is_typed(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=2)
    serial = count.batch.serials[0]
    count.enter("A", HEAD, serial, ["high"])
    count.open("A", SECOND)
    retyped = serial.lower().replace("0", "o").replace("1", "l")  # look-alikes, no dashes
    with pytest.raises(AlreadyEntered) as refused, transaction(count.factory) as session:
        enter_ballot(session, count.batch, "A", SECOND, retyped, ["low"])
    assert refused.value.message_id.startswith("Phiếu số %(serial)s đã được nhập ở lượt %(slot)s")
    assert refused.value.params["slot"] == "A"
    count.enter("B", SECOND, serial, ["high"])
    with pytest.raises(AlreadyEntered) as refused:
        count.enter("B", THIRD, serial, ["high"])
    assert refused.value.params["slot"] == "B"
    assert count.state().status(serial) == "agreed"


def test_both_passes_of_one_ballot_by_the_same_member_are_refused(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=1)
    count.enter("A", HEAD, count.batch.serials[0], ["high"])
    with pytest.raises(SameEntrant, match="thành viên khác"):
        count.enter("B", HEAD, count.batch.serials[0], ["high"])


def test_only_board_members_key_and_every_row_needs_a_choice(tmp_path: Path) -> None:
    count = paper_count(tmp_path, persons=2, count=1)
    with pytest.raises(DomainError) as refused:
        count.enter("A", "Người lạ", count.batch.serials[0], ["high", "low"])
    assert refused.value.message_id == "Người thực hiện không phải thành viên Ban kiểm phiếu của đợt này."
    with pytest.raises(InvalidInput) as refused:
        count.enter("A", HEAD, count.batch.serials[0], ["high", ""])
    assert (refused.value.message_id, refused.value.params) == ("Chưa chọn cho dòng %(rows)s.", {"rows": "2"})


def test_nothing_is_keyed_after_the_count(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=2)
    count.both(count.batch.serials[0], ["high"])
    finish(count, present=2, issued=2)
    with pytest.raises(BatchCounted):
        count.enter("A", HEAD, count.batch.serials[1], ["high"])


def test_count_figures_are_checked_against_the_log(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=3)
    for serial in count.batch.serials:
        count.both(serial, ["trust"])
    with pytest.raises(InvalidInput) as refused:
        finish(count, present=3, issued=2)
    assert refused.value.message_id == (
        "Số phiếu phát ra (%(issued)s) ít hơn số phiếu mang số sê-ri đã phát hành được nhập (%(genuine)s): hãy kiểm "
        "tra lại số phiếu phát ra.")
    with pytest.raises(InvalidInput) as refused:
        finish(count, present=3, issued=4)
    assert refused.value.message_id == "Số phiếu phát ra (%(issued)s) lớn hơn số phiếu đã in (%(serials)s)."
    with pytest.raises(InvalidInput) as refused:
        finish(count, present=51, issued=3)
    assert refused.value.message_id == "Số có mặt (%(present)s) lớn hơn tổng số được triệu tập (%(convened)s)."
    assert finish(count, present=3, issued=3).ballots_collected == 3


def test_two_workers_keying_at_once_lose_nothing_and_keep_one_chain(tmp_path: Path) -> None:
    count = paper_count(tmp_path, count=30)
    # A second engine on the same file, as a second gunicorn worker would have.
    other = session_factory(make_engine(f"sqlite:///{tmp_path / 'log.db'}"))
    errors: list[BaseException] = []

    def key(slot: str, entrant: str, factory) -> None:  # type: ignore[no-untyped-def]
        try:
            for serial in count.batch.serials:
                with transaction(factory) as session:
                    enter_ballot(session, count.batch, slot, entrant, serial, ["low"])
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    count.open("A", HEAD)
    count.open("B", SECOND)
    threads = [threading.Thread(target=key, args=("A", HEAD, count.factory)),
               threading.Thread(target=key, args=("B", SECOND, other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    state = count.state()
    assert len(state.accepted()) == 30 and check_log(count.batch, events(count)) == []


# --- serials -------------------------------------------------------------------------------------

def test_serials_are_random_48_bit_codes_with_a_check_symbol_and_unique() -> None:
    batch = new_batch(spec(), 500, "x")
    assert len(set(batch.serials)) == 500
    for serial in batch.serials[:50]:
        assert len(codes.decode_checked(serial, SERIAL_BYTES, codes.Check.GF32)) == 6
        assert parse_serial(serial_label(serial).lower()) == serial


def test_batch_file_round_trips_and_refuses_an_extra_field() -> None:
    batch = new_batch({**spec(), "ballot_of": "các đại biểu HĐND tỉnh"}, 3, "x")
    data = json.loads(json.dumps(batch.to_dict()))
    assert Batch.from_dict(data) == batch and Batch.from_dict(data).batch_hash == batch.batch_hash
    with pytest.raises(InvalidInput):
        Batch.from_dict({**data, "extra": 1})


# --- the entry log ---------------------------------------------------------------------------------

def _keyed(tmp_path: Path) -> PaperCount:
    count = paper_count(tmp_path, count=3)
    for serial in count.batch.serials:
        count.both(serial, ["high"])
    return count


def test_entry_log_verifies_and_records_who_keyed_which_serial(tmp_path: Path) -> None:
    count = _keyed(tmp_path)
    log = events(count)
    assert check_log(count.batch, log) == []
    entries = [(e["actor"], e["data"]["serial"], e["data"]["slot"]) for e in log
               if e["kind"] == "paper.entry"]
    assert entries[:2] == [(HEAD, count.batch.serials[0], "A"), (SECOND, count.batch.serials[0], "B")]
    assert all(e["at"] for e in log)


def first_entry_seq(count: PaperCount) -> int:
    return next(e["seq"] for e in events(count) if e["kind"] == "paper.entry")


def test_entry_log_names_a_changed_entry_and_stops_the_count(tmp_path: Path) -> None:
    count = _keyed(tmp_path)
    seq = first_entry_seq(count)
    with transaction(count.factory) as session:
        row = session.execute(text("SELECT data FROM paper_events WHERE seq = :s"), {"s": seq}
                              ).scalar_one()
        changed = json.loads(row)
        changed["marks"] = ["low"]
        tamper(session, "UPDATE paper_events SET data = :d WHERE seq = :s",
               {"d": json.dumps(changed, ensure_ascii=False), "s": seq})
    assert f"sự kiện {seq} bị sửa (hash không khớp)" in check_log(count.batch, events(count))
    with pytest.raises(LogBroken):
        count.state()
    with pytest.raises(LogBroken):
        count.enter("A", HEAD, count.batch.serials[0], ["high"])


def test_entry_log_names_a_removed_event(tmp_path: Path) -> None:
    count = _keyed(tmp_path)
    with transaction(count.factory) as session:
        tamper(session, "DELETE FROM paper_events WHERE seq = :s", {"s": first_entry_seq(count) + 1})
    problems = check_log(count.batch, events(count))
    assert any("không nối" in p or "số thứ tự" in p for p in problems)


def test_a_rehashed_forged_entry_is_still_caught_by_the_rules_or_the_chain(tmp_path: Path) -> None:
    """Whoever rewrites an event and its hash breaks the next link; rewriting the whole chain
    consistently still cannot add a serial that was never issued."""
    count = _keyed(tmp_path)
    log = events(count)
    from shared.audit import event_hash
    forged = [dict(e) for e in log]
    at = first_entry_seq(count) - 1
    forged[at] = {**forged[at], "data": {**forged[at]["data"], "serial": "ZZZZZZZZZZ" + "0"}}
    prev = forged[at - 1]["hash"]
    for event in forged[at:]:
        event["prev"] = prev
        event["hash"] = event_hash(count.batch.batch_id, event)
        prev = event["hash"]
    assert any("trái quy tắc" in p for p in check_log(count.batch, forged))


def test_a_serial_added_to_the_batch_file_is_detected(tmp_path: Path) -> None:
    count = _keyed(tmp_path)
    extended = Batch.from_dict({**count.batch.to_dict(),
                                "serials": [*count.batch.serials, new_batch(spec(), 1, "x").serials[0]]})
    with pytest.raises(LogBroken):
        replay(extended, events(count))


def test_recount_from_the_log_matches_the_results_and_names_a_changed_figure(tmp_path: Path) -> None:
    count = _keyed(tmp_path)
    document = signed_results(finish(count, present=3, issued=3), crypto.generate_signing_key())
    state = count.state()
    assert recount_differences(count.batch, state, document) == []
    edited = {**document, "persons": [{**document["persons"][0], "high": 2}]}
    assert recount_differences(count.batch, state, edited) == [
        "trường persons khác với kết quả đếm lại từ nhật ký"]
    assert digest({k: v for k, v in document.items() if k != "signature"}) == \
        state.counted["results_hash"]  # type: ignore[index]
