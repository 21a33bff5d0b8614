"""The manifest as a typed object (shared/manifest.py): one parser, one writer, same bytes.

docs/ballot-box-format.md 3 is the format; `Manifest.from_json` refuses anything else with
the reason ids of section 9 (`manifest.version`, `manifest.fields`, `structure.*`,
`key.commitments`, `point.invalid`), and `to_json_dict` gives back exactly what it read.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from shared import elgamal
from shared.canonical import canonical_bytes, digest
from shared.errors import DomainError
from shared.manifest import (
    DEFINITION_FIELDS,
    KEY_PARTS,
    OPTIONAL_CODECS,
    OPTIONAL_FIELDS,
    Manifest,
    ManifestRefused,
)

DATA = Path(__file__).parent / "data"


def stored(name: str) -> dict[str, Any]:
    """The manifest of a stored box: "golden" (with forms and ballot_proof), "pre_forms" (neither)."""
    manifest: dict[str, Any] = json.loads((DATA / name / "box.json").read_bytes())["manifest"]
    return manifest


@pytest.fixture
def manifest() -> dict[str, Any]:
    return stored("golden")


def refused(obj: Any) -> ManifestRefused:
    with pytest.raises(ManifestRefused) as caught:
        Manifest.from_json(obj)
    return caught.value


@pytest.mark.parametrize("name", ["golden", "pre_forms"])
def test_a_stored_manifest_round_trips_to_the_same_bytes_and_hash(name: str) -> None:
    raw = stored(name)
    parsed = Manifest.from_json(raw)
    assert canonical_bytes(parsed.to_json_dict()) == canonical_bytes(raw)
    assert parsed.manifest_hash == digest(raw)
    box = json.loads((DATA / name / "box.json").read_bytes())
    assert parsed.manifest_hash == box["close"]["record"]["manifest_hash"]
    assert Manifest.from_json(parsed.to_json_dict()) == parsed


def test_the_attributes_are_the_fields(manifest: dict[str, Any]) -> None:
    parsed = Manifest.from_json(manifest)
    assert parsed.election_id == manifest["election_id"] and parsed.title == manifest["title"]
    assert [p.to_json_dict() for p in parsed.persons] == manifest["persons"]
    assert parsed.threshold == manifest["board"]["threshold"]
    assert parsed.member_names == [m["name"] for m in manifest["board"]["members"]]
    assert parsed.counter_public_key.hex() == manifest["counter_public_key"]
    assert [c.hex() for c in parsed.share_commitments] == manifest["share_commitments"]
    assert parsed.forms is not None and parsed.forms.to_json_dict() == manifest["forms"]


def test_context_binds_the_id_the_hash_the_key_and_the_layout(manifest: dict[str, Any]) -> None:
    context = Manifest.from_json(manifest).context()
    assert context == elgamal.ElectionContext(
        election_id=manifest["election_id"], manifest_hash=bytes.fromhex(digest(manifest)),
        public_key=bytes.fromhex(manifest["election_public_key"]),
        commitments=tuple(bytes.fromhex(c) for c in manifest["share_commitments"]),
        layout=elgamal.ONE_CHALLENGE)


# --- the exact field set ------------------------------------------------------------------------

REQUIRED = sorted(DEFINITION_FIELDS | set(KEY_PARTS))


@pytest.mark.parametrize("field", REQUIRED)
def test_every_required_field_missing_is_refused_by_name(manifest: dict[str, Any], field: str) -> None:
    del manifest[field]
    # Without its format or version it is not a version-2 manifest at all.
    expected = "manifest.version" if field in ("format", "version") else "manifest.fields"
    assert refused(manifest).reason == expected


@pytest.mark.parametrize("field", ["hpke", "decoy_persons", "ballot_proofs", "note"])
def test_an_unknown_field_is_refused(manifest: dict[str, Any], field: str) -> None:
    manifest[field] = "one-challenge"
    error = refused(manifest)
    assert error.reason == "manifest.fields" and "thừa trường" in str(error)


def test_the_optional_fields_are_exactly_those_with_a_codec() -> None:
    assert set(OPTIONAL_CODECS) == OPTIONAL_FIELDS == {"forms", "ballot_proof"}


# A value of another JSON type for every field: true is no integer, "2" is no 2.
WRONG_TYPES: dict[str, Any] = {
    "title": 5, "organization": None, "place": ["Hội trường"], "date": 20261127, "profile": True,
    "election_id": 1, "group": {}, "convened": "40", "encoding_base": True, "ballot_length": "640",
    "kiosk_public_key": 0, "election_public_key": None, "counter_public_key": [], "levels": "high",
    "persons": {}, "board": [], "share_commitments": "ab", "forms": "Hà Giang", "ballot_proof": 1,
}


@pytest.mark.parametrize("field", sorted(WRONG_TYPES))
def test_every_field_of_another_json_type_is_refused(manifest: dict[str, Any], field: str) -> None:
    manifest[field] = WRONG_TYPES[field]
    assert refused(manifest).reason == "structure.types"


@pytest.mark.parametrize(("field", "value"), [("format", 7), ("version", True), ("version", "2")])
def test_a_format_or_version_of_another_type_is_no_version_2_manifest(
        manifest: dict[str, Any], field: str, value: Any) -> None:
    manifest[field] = value
    assert refused(manifest).reason == "manifest.version"


def test_version_1_is_refused_naming_the_hpke_build(manifest: dict[str, Any]) -> None:
    manifest["version"] = 1
    error = refused(manifest)
    assert error.reason == "manifest.version" and "2baa7f4" in str(error)


NESTED: dict[str, tuple[Any, str]] = {
    "a person without a unit": (lambda m: m["persons"][0].pop("unit"), "structure.fields"),
    "a person with a photo": (lambda m: m["persons"][0].__setitem__("photo", ""), "structure.fields"),
    "a person numbered true": (lambda m: m["persons"][0].__setitem__("number", True), "structure.types"),
    "a member without a name": (lambda m: m["board"]["members"][0].pop("name"), "structure.fields"),
    "a threshold as text": (lambda m: m["board"].__setitem__("threshold", "2"), "structure.types"),
    "a board with a chair": (lambda m: m["board"].__setitem__("chair", 1), "structure.fields"),
    "a level that is a number": (lambda m: m["levels"].__setitem__(0, 0), "structure.types"),
    "forms without a year": (lambda m: m["forms"].pop("year"), "structure.fields"),
    "forms with a year as text": (lambda m: m["forms"].__setitem__("year", "2026"), "structure.types"),
    "an upper-case key": (lambda m: m.__setitem__("kiosk_public_key", m["kiosk_public_key"].upper()),
                          "structure.encoding"),
    "an upper-case commitment": (lambda m: m["share_commitments"].__setitem__(1, m["share_commitments"][1].upper()),
                                 "structure.encoding"),
    "a lower-case election id": (lambda m: m.__setitem__("election_id", m["election_id"].lower()),
                                 "structure.encoding"),
    "a date with slashes": (lambda m: m.__setitem__("date", m["date"].replace("-", "/")), "structure.encoding"),
}


@pytest.mark.parametrize("name", list(NESTED))
def test_nested_objects_and_encodings_are_exact(manifest: dict[str, Any], name: str) -> None:
    change, reason = NESTED[name]
    change(manifest)
    assert refused(manifest).reason == reason


def test_values_outside_the_format_are_refused(manifest: dict[str, Any]) -> None:
    for change in (lambda m: m["persons"].reverse(), lambda m: m.__setitem__("group", "curve25519"),
                   lambda m: m.__setitem__("encoding_base", 2**16), lambda m: m["levels"].reverse(),
                   lambda m: m["board"].__setitem__("threshold", 0), lambda m: m.__setitem__("convened", 0)):
        changed = copy.deepcopy(manifest)
        change(changed)
        refused(changed)


# --- the optional ballot_proof field ----------------------------------------------------------

def test_ballot_proof_present_means_one_challenge(manifest: dict[str, Any]) -> None:
    parsed = Manifest.from_json(manifest)
    assert parsed.ballot_proof == elgamal.ONE_CHALLENGE and parsed.layout == elgamal.ONE_CHALLENGE
    assert parsed.ballot_length == 16 + 192 * len(parsed.persons)


def test_ballot_proof_absent_means_per_row_and_stays_absent() -> None:
    raw = stored("pre_forms")
    parsed = Manifest.from_json(raw)
    assert parsed.ballot_proof is None and parsed.forms is None
    assert parsed.layout == elgamal.PER_ROW and parsed.context().layout == elgamal.PER_ROW
    assert parsed.ballot_length == 208 * len(parsed.persons)
    assert "ballot_proof" not in parsed.to_json_dict() and "forms" not in parsed.to_json_dict()


@pytest.mark.parametrize("value", ["per-row", "one_challenge", "", "ONE-CHALLENGE"])
def test_ballot_proof_of_an_unknown_value_is_refused(manifest: dict[str, Any], value: str) -> None:
    manifest["ballot_proof"] = value
    assert "ballot_proof" in str(refused(manifest))


def test_a_length_that_does_not_follow_the_layout_is_refused(manifest: dict[str, Any]) -> None:
    del manifest["ballot_proof"]  # the one-challenge length, read as per-row
    assert "độ dài lá phiếu" in str(refused(manifest))
    manifest["ballot_length"] = 208 * len(manifest["persons"])
    assert Manifest.from_json(manifest).layout == elgamal.PER_ROW


# --- the key parts -----------------------------------------------------------------------------

OFF_GROUP = "ff" * 32  # not a canonical ristretto255 encoding


@pytest.mark.parametrize(("change", "reason"), [
    (lambda m: m.__setitem__("election_public_key", OFF_GROUP), "point.invalid"),
    (lambda m: m.__setitem__("election_public_key", "00" * 32), "point.invalid"),  # the identity
    (lambda m: m["share_commitments"].__setitem__(1, OFF_GROUP), "point.invalid"),
    (lambda m: m["share_commitments"].pop(), "key.commitments"),
    (lambda m: m["share_commitments"].reverse(), "key.commitments"),
], ids=["key off the group", "key the identity", "commitment off the group", "one commitment short",
        "first commitment not the key"])
def test_key_parts_are_checked_through_the_group(manifest: dict[str, Any], change: Any, reason: str) -> None:
    change(manifest)
    assert refused(manifest).reason == reason


# --- a value, not a dict ------------------------------------------------------------------------

def test_the_manifest_and_its_parts_are_frozen(manifest: dict[str, Any]) -> None:
    parsed = Manifest.from_json(manifest)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.title = "Hội nghị khác"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.persons[0].name = "Người khác"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.board.threshold = 1  # type: ignore[misc]
    assert isinstance(parsed.persons, tuple) and isinstance(parsed.board.members, tuple)


def test_the_refusal_is_a_domain_error_in_vietnamese() -> None:
    error = refused({"format": "cv-manifest", "version": 3})
    assert isinstance(error, DomainError) and "phiên bản 2" in str(error)
    assert refused("not a manifest").reason == "manifest.version"
