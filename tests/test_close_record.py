"""The close record as a typed object (shared/close_record.py): one parser, one writer, same bytes.

docs/ballot-box-format.md 7 is the format: exactly its fields, each of its JSON type and
encoding (`structure.*`, section 9 check 2), format `cv-close` version 2 (`close.version`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from shared.box import verified_box
from shared.canonical import canonical_bytes, digest
from shared.close_record import (
    COUNT_FIELDS,
    SHAPE,
    CloseRecord,
    CloseRecordRefused,
    Replacements,
)
from shared.errors import DomainError

DATA = Path(__file__).parent / "data"


def stored(name: str) -> dict[str, Any]:
    """The close record of a stored box: "golden" (with left_before_vote), "pre_forms" (without)."""
    record: dict[str, Any] = json.loads((DATA / name / "box.json").read_bytes())["close"]["record"]
    return record


@pytest.fixture
def record() -> dict[str, Any]:
    return stored("golden")


def refused(obj: Any) -> CloseRecordRefused:
    with pytest.raises(CloseRecordRefused) as caught:
        CloseRecord.from_json(obj)
    return caught.value


@pytest.mark.parametrize("name", ["golden", "pre_forms"])
def test_a_stored_record_round_trips_to_the_same_bytes(name: str) -> None:
    raw = stored(name)
    parsed = CloseRecord.from_json(raw)
    assert canonical_bytes(parsed.to_json_dict()) == canonical_bytes(raw)
    assert digest(parsed.to_json_dict()) == digest(raw)
    assert CloseRecord.from_json(parsed.to_json_dict()) == parsed


def test_a_record_made_before_departures_were_kept_reads_none_left() -> None:
    parsed = CloseRecord.from_json(stored("pre_forms"))
    assert parsed.counts.left_before_vote is None
    assert parsed.counts.present_at_vote == parsed.counts.checked_in
    assert "left_before_vote" not in parsed.to_json_dict()["counts"]


def test_the_attributes_are_the_fields(record: dict[str, Any]) -> None:
    parsed = CloseRecord.from_json(record)
    assert parsed.election_id == record["election_id"] and parsed.closed_by == record["closed_by"]
    assert parsed.counts.to_json_dict() == record["counts"]
    assert parsed.counts.present_at_vote == record["counts"]["checked_in"] - record["counts"]["left_before_vote"]
    assert parsed.audit_head.seq == record["audit_head"]["seq"]
    assert parsed.replaced_by_voter == tuple(Replacements(r["voter_id"], r["count"])
                                             for r in record["replaced_by_voter"])


def test_the_verified_box_carries_the_typed_record_and_manifest() -> None:
    box = json.loads((DATA / "golden" / "box.json").read_bytes())
    verified = verified_box(box)
    assert verified.close_record == CloseRecord.from_json(box["close"]["record"])
    assert verified.manifest.to_json_dict() == box["manifest"]


@pytest.mark.parametrize("field", sorted(SHAPE))
def test_every_field_missing_is_refused(record: dict[str, Any], field: str) -> None:
    del record[field]
    assert refused(record).reason == "structure.fields"


@pytest.mark.parametrize("where", ["record", "counts", "audit_head", "replaced_by_voter"])
def test_an_unknown_field_is_refused_at_every_level(record: dict[str, Any], where: str) -> None:
    if where == "record":
        record["cast_order"] = []
    elif where == "replaced_by_voter":
        record["replaced_by_voter"] = [{"voter_id": "V001", "count": 1, "code": "X"}]
    else:
        record[where]["extra"] = 0
    assert refused(record).reason == "structure.fields"


@pytest.mark.parametrize("field", COUNT_FIELDS)
def test_every_count_missing_or_true_is_refused(record: dict[str, Any], field: str) -> None:
    record["counts"][field] = True
    assert refused(record).reason == "structure.types"
    del record["counts"][field]
    assert refused(record).reason == "structure.fields"


WRONG_TYPES: dict[str, Any] = {
    "format": 1, "version": "2", "election_id": None, "manifest_hash": 0, "closed_at": 20261127,
    "closed_by": [], "counts": [], "mismatches": "", "replaced_by_voter": {}, "ballot_set_digest": True,
    "token_log_digest": None, "audit_head": [14, "ab"],
}


@pytest.mark.parametrize("field", sorted(WRONG_TYPES))
def test_every_field_of_another_json_type_is_refused(record: dict[str, Any], field: str) -> None:
    record[field] = WRONG_TYPES[field]
    assert refused(record).reason == "structure.types"


@pytest.mark.parametrize(("change", "reason"), [
    (lambda r: r.__setitem__("closed_at", r["closed_at"].replace("+00:00", "+07:00")), "structure.encoding"),
    (lambda r: r.__setitem__("token_log_digest", r["token_log_digest"].upper()), "structure.encoding"),
    (lambda r: r["audit_head"].__setitem__("seq", -1), "structure.types"),
    (lambda r: r.__setitem__("mismatches", [1]), "structure.types"),
    (lambda r: r.__setitem__("format", "cv-closing"), "close.version"),
    (lambda r: r.__setitem__("version", 3), "close.version"),
], ids=["a time not in UTC", "upper-case hex", "a negative seq", "a mismatch not text", "another format",
        "another version"])
def test_encodings_and_the_version_are_exact(record: dict[str, Any], change: Any, reason: str) -> None:
    change(record)
    assert refused(record).reason == reason


def test_the_record_is_frozen_and_refusals_are_domain_errors(record: dict[str, Any]) -> None:
    parsed = CloseRecord.from_json(record)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.closed_by = "someone"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.counts.ballots += 1  # type: ignore[misc]
    assert isinstance(parsed.mismatches, tuple)
    assert isinstance(refused("not a record"), DomainError)
