"""Election specs: malformed input is refused in Vietnamese and leaves nothing behind."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from shared import audit, crypto, voting
from shared import election as elections
from shared.db import transaction
from shared.errors import DomainError, ElectionNotFound, InvalidInput, VoterNotFound
from shared.models import Base
from tests.factories import election_spec, new_factory

# Letters only Vietnamese text carries (ASCII English messages have none of them).
VIETNAMESE = re.compile("[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]",
                        re.IGNORECASE)

Edit = Callable[[dict[str, Any]], None]


def without(key: str) -> Edit:
    return lambda spec: spec.pop(key)


def setting(key: str, value: Any) -> Edit:
    return lambda spec: spec.__setitem__(key, value)


def board(**changes: Any) -> Edit:
    return lambda spec: spec["board"].update(changes)


def voter(index: int, **changes: Any) -> Edit:
    return lambda spec: spec["voters"][index].update(changes)


def person(index: int, **changes: Any) -> Edit:
    return lambda spec: spec["persons"][index].update(changes)


def _same_id_as_number_and_text(spec: dict[str, Any]) -> None:
    voter(0, id=7)(spec)
    voter(1, id="7")(spec)


# (what is wrong, how to break a valid spec, a word the message must contain)
MALFORMED: list[tuple[str, Edit, str]] = [
    ("no title", without("title"), "Tên hội nghị"),
    ("blank title", setting("title", "   "), "Tên hội nghị"),
    ("no organization", without("organization"), "tổ chức"),
    ("no place", without("place"), "Địa điểm"),
    ("no date", without("date"), "Ngày"),
    ("bad date", setting("date", "27/11/2026"), "Ngày phải có dạng"),
    ("impossible date", setting("date", "2026-02-30"), "Ngày phải có dạng"),
    ("bad profile", setting("profile", "qd97"), "qd96"),
    ("no profile", without("profile"), "qd96"),
    ("convened as text", setting("convened", "30"), "số nguyên"),
    ("convened as float", setting("convened", 30.0), "số nguyên"),
    ("convened as bool", setting("convened", True), "số nguyên"),
    ("convened zero", setting("convened", 0), "số nguyên"),
    ("no convened", without("convened"), "số nguyên"),
    ("empty persons", setting("persons", []), "ít nhất một người"),
    ("no persons", without("persons"), "ít nhất một người"),
    ("persons not a list", setting("persons", {"name": "A"}), "ít nhất một người"),
    ("person without name", person(1, name=""), "người thứ 2"),
    ("person as text", setting("persons", ["Nguyễn Văn Sơn"]), "sai định dạng"),
    ("duplicate voter id", voter(1, id="V001"), "bị trùng"),
    ("duplicate voter id after trimming", voter(1, id=" V001 "), "bị trùng"),
    ("duplicate voter id as number", lambda s: _same_id_as_number_and_text(s), "bị trùng"),
    ("voter without name", voter(2, name=""), "dòng 3"),
    ("voter id as bool", voter(0, id=True), "chuỗi ký tự hoặc số nguyên"),
    ("voter id as float", voter(1, id=2.0), "chuỗi ký tự hoặc số nguyên"),
    ("the same person twice", lambda s: s["persons"].append(dict(s["persons"][0])), "trùng với người thứ 1"),
    ("the same board member twice", board(members=["Lê Văn Kiểm", "Lê  văn Kiểm"]), "trùng tên"),
    ("voter id too long", voter(0, id="V" * 65), "quá dài"),
    ("voters not a list", setting("voters", "V001"), "danh sách"),
    ("no board", without("board"), "Ban kiểm phiếu"),
    ("blank board member", board(members=["Lê Văn Kiểm", " "]), "Ban kiểm phiếu"),
    ("k above n", board(threshold=4), "từ 1 đến 3"),
    ("k zero", board(threshold=0), "từ 1 đến 3"),
    ("k as bool", board(threshold=True), "từ 1 đến 3"),
    ("k as text", board(threshold="2"), "từ 1 đến 3"),
    ("title too long", setting("title", "Hội nghị " * 60), "quá dài"),
    ("NUL in title", setting("title", "Hội nghị\x00"), "ký tự không hợp lệ"),
    ("lone surrogate in a person's name", person(0, name="Nguyễn\ud800"), "ký tự không hợp lệ"),
    ("NUL in a voter id", voter(0, id="V\x00"), "ký tự không hợp lệ"),
    ("NUL in a board member's name", board(members=["Lê\x00", "B", "C"]), "ký tự không hợp lệ"),
]


def broken(edit: Edit) -> dict[str, Any]:
    spec = copy.deepcopy(election_spec(persons=3, voters=4, members=3, threshold=2))
    edit(spec)
    return spec


def test_valid_spec_is_accepted_and_cleaned() -> None:
    spec = election_spec(persons=2, voters=2)
    spec["title"] = "  " + spec["title"] + "  "
    spec["voters"][0]["id"] = 17
    clean = elections.validate_spec(spec)
    assert clean["title"] == spec["title"].strip()
    assert [v["id"] for v in clean["voters"]] == ["17", "V002"]
    assert clean["board"] == {"members": spec["board"]["members"], "threshold": 2}


@pytest.mark.parametrize(("edit", "word"), [(e, w) for _, e, w in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_malformed_spec_is_refused_with_a_vietnamese_message(edit: Edit, word: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        elections.validate_spec(broken(edit))
    message = str(refused.value)
    assert word in message
    assert VIETNAMESE.search(message), message
    assert message != InvalidInput.message  # a specific message, not the generic one


@pytest.mark.parametrize("spec", [None, [], "{}", 42])
def test_spec_that_is_not_an_object_is_refused(spec: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        elections.validate_spec(spec)
    assert refused.value.message_id == "Tệp cấu hình phải là một đối tượng JSON."


def row_counts(factory: Any) -> dict[str, int]:
    with transaction(factory) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


def test_a_vote_is_created_without_its_board_but_no_key_is_made_before_the_board_is_entered(
        db_url: str) -> None:
    """The board is elected at the meeting (the seed's Bước 2): the vote may be set up first."""
    factory = new_factory(db_url)
    with transaction(factory) as s:
        election = elections.create_election(s, broken(board(members=[])), "chair")
        assert election.members == []
        with pytest.raises(DomainError, match="Ban kiểm phiếu"):
            elections.election_definition(s, election, crypto.generate_signing_key())
    factory.kw["bind"].dispose()


def test_create_election_that_raises_leaves_no_rows_in_any_table(db_url: str) -> None:
    factory = new_factory(db_url)
    for _, edit, _ in MALFORMED:
        with pytest.raises(InvalidInput), transaction(factory) as s:
            elections.create_election(s, broken(edit), "chair")
    assert set(row_counts(factory).values()) == {0}
    factory.kw["bind"].dispose()


def test_create_election_failing_after_its_rows_are_written_rolls_them_all_back(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    factory = new_factory(db_url)
    seen: dict[str, int] = {}

    def failing_append(session: Any, election_id: str, *args: Any, **kwargs: Any) -> None:
        session.flush()  # the election, persons, board and roster are in the transaction now
        seen.update({t: n for t, n in _counts_in(session).items()})
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append_event", failing_append)
    with pytest.raises(RuntimeError, match="disk full"), transaction(factory) as s:
        elections.create_election(s, election_spec(persons=2, voters=3), "chair")
    assert seen["elections"] == 1 and seen["persons"] == 2 and seen["voters"] == 3
    assert set(row_counts(factory).values()) == {0}
    factory.kw["bind"].dispose()


def _counts_in(session: Any) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables}


def test_lookups_with_a_nul_byte_find_nothing_on_every_database(db_url: str) -> None:
    factory = new_factory(db_url)
    with transaction(factory) as s:
        eid = elections.create_election(s, election_spec(persons=1, voters=2), "chair").id
    with pytest.raises(ElectionNotFound), transaction(factory) as s:
        elections.get_election(s, eid + "\x00")
    with pytest.raises(VoterNotFound), transaction(factory) as s:
        voting.get_voter(s, eid, "V001\x00")
    factory.kw["bind"].dispose()


def test_names_are_stored_nfc_so_an_nfd_and_an_nfc_name_are_one_name() -> None:
    import unicodedata
    spec = election_spec(persons=2, voters=2, members=2)
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn Sơn")
    spec["persons"][0]["name"] = decomposed
    spec["voters"][0]["id"] = unicodedata.normalize("NFD", "Đơn-01")
    spec["voters"][1]["id"] = unicodedata.normalize("NFC", "Đơn-01")
    with pytest.raises(InvalidInput) as refused:  # the same id, typed two ways
        elections.validate_spec(spec)
    assert refused.value.message_id == "Mã người ghi phiếu “%(id)s” bị trùng."
    spec["voters"][1]["id"] = "V002"
    spec["board"]["members"] = ["Lê Văn Kiểm", unicodedata.normalize("NFD", "lê văn kiểm")]
    with pytest.raises(InvalidInput) as refused:
        elections.validate_spec(spec)
    assert refused.value.message_id == (
        "Ban kiểm phiếu có hai thành viên trùng tên: mỗi thẻ mảnh khóa phải mang một tên riêng.")
    spec["board"]["members"] = ["Lê Văn Kiểm", "Trần Văn Phiếu"]
    clean = elections.validate_spec(spec)
    assert clean["persons"][0]["name"] == unicodedata.normalize("NFC", "Nguyễn Văn Sơn") != decomposed
    assert clean["voters"][0]["id"] == unicodedata.normalize("NFC", "Đơn-01")


def test_namesakes_on_the_ballot_are_allowed_when_position_or_unit_tells_them_apart() -> None:
    spec = election_spec(persons=2, voters=2)
    spec["persons"][1] = {**spec["persons"][0], "unit": "Sở Nội vụ"}
    assert len(elections.validate_spec(spec)["persons"]) == 2
    spec["persons"][1] = {**spec["persons"][0], "name": "  " + spec["persons"][0]["name"].upper() + " "}
    with pytest.raises(InvalidInput) as refused:
        elections.validate_spec(spec)
    assert refused.value.message_id == "Người được lấy phiếu thứ %(number)s (%(name)s) trùng với người thứ %(first)s."
    assert (refused.value.params["number"], refused.value.params["first"]) == (2, 1)
