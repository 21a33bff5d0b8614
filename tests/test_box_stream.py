"""Reading a box from its file without holding its ballots, checked like a whole one.

The streamed box must pass and fail exactly the checks a parsed box does, its signature
check must agree with `cryptography`'s, the count must use only what the one verifying pass
added up (a file changed afterwards changes nothing counted), and memory must not grow with
the ballot count.
"""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import crypto
from shared.box import all_passed, check_box, load_box, read_box, verified_box, verify_box
from shared.box_file import BallotStream, canonical_chunks
from shared.canonical import canonical_bytes
from shared.errors import BoxInvalid
from shared.tally import tally_box
from tests.bench.bench_tally import synthetic_box_file
from tests.factories import Rehearsal, export, run_election

PERSONS, VOTERS, CASTING = 5, 40, 33


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    return run_election(f"sqlite:///{tmp_path_factory.mktemp('stream')}/k.db", persons=PERSONS,
                        voters=VOTERS, casting=CASTING)


@pytest.fixture(scope="module")
def sealed(rehearsal: Rehearsal) -> bytes:
    return export(rehearsal)


def write(tmp_path: Path, data: bytes, name: str = "box.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def failed(box: dict[str, Any]) -> set[str]:
    return {c.id for c in verify_box(box) if c.failed}


def test_streamed_box_leaves_ballots_on_disk_and_passes_every_check(tmp_path: Path, sealed: bytes) -> None:
    box = read_box(write(tmp_path, sealed))
    assert isinstance(box["ballots"], BallotStream) and len(box["ballots"]) == CASTING
    assert list(box["ballots"]) == load_box(sealed)["ballots"]  # each pass reads the same entries
    assert all_passed(verify_box(box))


def test_streamed_box_reads_json_the_kiosk_did_not_write_canonically(tmp_path: Path, sealed: bytes) -> None:
    # A verifier must not depend on the canonical layout (docs/ballot-box-format.md 2).
    document = json.loads(sealed)
    spaced = {"version": document.pop("version"), **dict(reversed(list(document.items())))}
    pretty = json.dumps(spaced, indent=3, ensure_ascii=True).encode()
    box = read_box(write(tmp_path, pretty))
    assert all_passed(verify_box(box))
    assert list(box["ballots"]) == load_box(sealed)["ballots"]


# region: (the value's key, the check that must fail). Each value is changed in a way that
# never depends on the box's random content: a symbol replaced by another valid symbol of
# its alphabet, or hex written in upper case (the same bytes, but not the canonical text:
# refused since a reader that accepted it would see one box in two different files).
CHANGES = {"ballot": (b'"ballot":"', "ballots"), "manifest": (b'"organization":"', "manifest_signature"),
           "close": (b'"closed_by":"', "close_record"), "box_signature": (b'"box_signature":"', "box_signature"),
           "upper-case box signature": (b'"box_signature":"', "structure"),
           "upper-case fingerprint": (b'"fingerprint":"', "ballots"),
           "upper-case token hash": (b'"token_log":[{"hash":"', "structure")}


def changed(sealed: bytes, region: str) -> bytes:
    marker = CHANGES[region][0]
    data = bytearray(sealed)
    start = data.index(marker) + len(marker)
    if region.startswith("upper-case"):
        end = data.index(b'"', start)
        data[start:end] = data[start:end].upper()
        # 64 or 128 random hex digits with no letter among them: odds below 10⁻¹³.
        assert data != bytearray(sealed)
    else:
        at = start + 3
        data[at] = ord("0") if data[at] != ord("0") else ord("1")
    return bytes(data)


@pytest.mark.parametrize("region", list(CHANGES))
def test_one_changed_value_fails_the_same_checks_streamed_as_parsed(
        tmp_path: Path, sealed: bytes, region: str) -> None:
    data = changed(sealed, region)
    streamed, parsed = failed(read_box(write(tmp_path, data))), failed(load_box(data))
    assert CHANGES[region][1] in streamed and streamed == parsed


@pytest.mark.parametrize("data", [
    b'{"format":"cv-ballot-box","format":"cv-ballot-box"}',   # a repeated key
    b'{"format":"cv-ballot-box","version":2} trailing',
    b'{"format":"cv-ballot-box","version":2,"ballots":[NaN]}',
    b'{"format":"cv-ballot-box","version":2,"ballots":[{"a":1},]}',
    b'{"format":"cv-ballot-box","version":3}',
    b'{"format":"cv-ballot-box","version":1,"ballots":[]}',  # the HPKE build's
    b'[1, 2]',
    b'\xff\xfe{}',
    b'{"format":"cv-ballot-box","version":2,"ballots":[{"a":1}',  # cut short
])
def test_what_is_not_a_box_is_refused_when_streamed(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(BoxInvalid):
        box = read_box(write(tmp_path, data))
        list(box["ballots"])  # the cut-short file fails when the ballots are read


def test_entries_that_straddle_read_chunks_parse_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      sealed: bytes) -> None:
    import shared.box_file
    monkeypatch.setattr(shared.box_file, "_CHUNK", 7)  # every entry crosses several refills
    box = read_box(write(tmp_path, json.dumps(json.loads(sealed), ensure_ascii=False).encode()))
    assert all_passed(verify_box(box))
    assert list(box["ballots"]) == load_box(sealed)["ballots"]


@settings(max_examples=40, deadline=None)
@given(ballots=st.lists(st.fixed_dictionaries({"fingerprint": st.text(max_size=5),
                                               "ballot": st.text(max_size=5)}), max_size=6),
       other=st.dictionaries(st.text(min_size=1, max_size=4),
                             st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                                          lambda c: st.lists(c, max_size=3)
                                          | st.dictionaries(st.text(max_size=3), c, max_size=3)),
                             max_size=4))
def test_canonical_chunks_join_to_canonical_bytes(tmp_path_factory: pytest.TempPathFactory,
                                                  ballots: list[dict[str, str]], other: dict[str, Any]) -> None:
    body = {**{k: v for k, v in other.items() if k != "ballots"}, "ballots": ballots}
    path = tmp_path_factory.mktemp("c") / "b.json"
    path.write_text(json.dumps({"format": "cv-ballot-box", "version": 2, **body}), "utf-8")
    streamed = read_box(path)
    expected = canonical_bytes({"format": "cv-ballot-box", "version": 2, **body})
    assert b"".join(canonical_chunks(streamed)) == expected


@settings(max_examples=30, deadline=None)
@given(message=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=300),
       flip=st.integers(min_value=0, max_value=63))
def test_streamed_signature_check_agrees_with_cryptography(message: bytes, cut: int, flip: int) -> None:
    key = crypto.generate_signing_key()
    public = crypto.signing_public_key(key)
    signature = crypto.sign(key, message)
    chunks = [message[:cut], message[cut:]]
    assert crypto.verify_signature_stream(public, signature, chunks) is True
    bad = bytearray(signature)
    bad[flip] ^= 0x01
    assert crypto.verify_signature_stream(public, bytes(bad), chunks) is \
        crypto.verify_signature(public, bytes(bad), message) is False
    assert crypto.verify_signature_stream(public, signature, [message, b"x"]) is False


def test_streamed_signature_check_refuses_an_s_not_reduced_modulo_the_group_order() -> None:
    key = crypto.generate_signing_key()
    public = crypto.signing_public_key(key)
    signature = crypto.sign(key, b"box")
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(signature[32:], "little") + order  # the same point: malleable if accepted
    forged = signature[:32] + s.to_bytes(32, "little")
    assert not crypto.verify_signature(public, forged, b"box")
    assert not crypto.verify_signature_stream(public, forged, [b"box"])


def test_progress_reports_monotonic_counts_ending_at_the_ballot_count(
        tmp_path: Path, sealed: bytes, rehearsal: Rehearsal, monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.box
    monkeypatch.setattr(shared.box, "PROGRESS_EVERY", 4)
    box = read_box(write(tmp_path, sealed))
    seen: list[tuple[int, int]] = []
    verified = check_box(box, progress=lambda d, t: seen.append((d, t))).require()
    assert [d for d, _ in seen] == [*range(4, CASTING, 4), CASTING]
    assert {t for _, t in seen} == {CASTING}
    results = tally_box(verified, rehearsal.cards[:2], "a", "b")
    assert results.ballots_collected == CASTING
    assert [(p.high, p.trust, p.low) for p in results.persons] == rehearsal.expected_counts(PERSONS)


def test_a_box_file_changed_after_verifying_changes_nothing_counted(
        tmp_path: Path, sealed: bytes, rehearsal: Rehearsal) -> None:
    path = write(tmp_path, sealed)
    verified = verified_box(read_box(path))
    # Swap one ballot character in place: the count uses the sums of the verifying pass only.
    data = bytearray(path.read_bytes())
    at = data.index(b'"ballot":"') + len(b'"ballot":"') + 10
    data[at] = ord("A") if data[at] != ord("A") else ord("B")
    path.write_bytes(bytes(data))
    results = tally_box(verified, rehearsal.cards[1:], "a", "b")
    assert [(p.high, p.trust, p.low) for p in results.persons] == rehearsal.expected_counts(PERSONS)
    with pytest.raises(BoxInvalid) as refused:  # and the changed file is refused as such
        verified_box(read_box(path))
    assert refused.value.message_id == "Hòm phiếu không qua kiểm tra, không giải mã: %(failed)s."


# --- memory -------------------------------------------------------------------------------

def traced_peak(path: Path) -> int:
    """tracemalloc's peak while reading and checking a box file (every proof, every sum)."""
    tracemalloc.start()
    try:
        box = read_box(path)
        checks = {c.id: c for c in check_box(box).checks}
        assert checks["box_signature"].ok  # the streamed signature check ran over every ballot
        assert checks["ballot_proofs"].ok and str(len(box["ballots"])) in checks["ballot_proofs"].detail
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_for_reading_and_verifying_does_not_grow_with_the_ballots(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The count itself reads no ballot: it decrypts the per-row sums the verifying pass made.
    # One-row ballots keep the proofs quick; smaller read chunks keep both files many chunks long.
    import shared.box_file
    monkeypatch.setattr(shared.box_file, "_CHUNK", 16 * 1024)
    small, _ = synthetic_box_file(tmp_path / "small.json", 300, persons=1)
    large, _ = synthetic_box_file(tmp_path / "large.json", 3_000, persons=1)
    assert os.path.getsize(large) > 9 * os.path.getsize(small)
    small_peak, large_peak = traced_peak(small), traced_peak(large)
    # Held whole, ten times the ballots is about ten times the memory.
    assert large_peak < 1.5 * small_peak + 512 * 1024, (small_peak, large_peak)
