"""The independent recount (shared/recount.py) against the tally path, on good and odd ballots."""

from __future__ import annotations

import ast
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import crypto, recount, rules
from shared.ballot import hpke_info
from shared.box import load_box
from shared.canonical import digest
from shared.shares import rebuild_key
from shared.tally import decrypted_marks
from tests.factories import Rehearsal, export, run_election

REPO = Path(__file__).resolve().parent.parent
PERSONS = 3


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_recount_imports_nothing_of_the_tally_path() -> None:
    shared_modules = {m for m in imported_modules(REPO / "shared" / "recount.py") if m.startswith("shared")}
    assert shared_modules <= {"shared", "shared.crypto", "shared.canonical", "shared.canonical.digest"}
    tally_path = {"shared.tally", "shared.rules", "shared.ballot", "counter.counting"}
    assert not imported_modules(REPO / "counter" / "audit_commands.py") & tally_path


@given(collected=st.integers(min_value=0, max_value=5000), data=st.data())
def test_percentages_and_bands_agree_with_the_rules_module(collected: int, data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=0, max_value=collected))
    assert recount.percent(count, collected) == str(rules.percentage(count, collected))
    assert recount.band(count, collected) == rules.low_confidence_band(count, collected)


def test_checked_example_of_the_design_brief() -> None:
    # DESIGN.md 2: N = 47; 19 / 2 / 25 -> 40.43% / 4.26% / 53.19%, over half, under 2/3.
    assert [recount.percent(c, 47) for c in (19, 2, 25)] == ["40.43", "4.26", "53.19"]
    assert recount.band(25, 47) == "over_half"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    r = run_election(f"sqlite:///{tmp_path_factory.mktemp('recount') / 'k.db'}",
                     persons=PERSONS, voters=8, casting=7, seed=21)
    yield r
    r.factory.kw["bind"].dispose()


def sealed_plaintext(box: dict[str, Any], plaintext: bytes) -> dict[str, str]:
    manifest = box["manifest"]
    ciphertext = crypto.seal_ballot(plaintext, bytes.fromhex(manifest["election_public_key"]),
                                    hpke_info(manifest["election_id"], digest(manifest)))
    return {"fingerprint": crypto.fingerprint(ciphertext),
            "ciphertext": base64.b64encode(ciphertext).decode()}


def test_recount_and_tally_agree_on_odd_ballots(rehearsal: Rehearsal) -> None:
    box = load_box(export(rehearsal))
    odd = [b"CVB1\x00\x03\x02",       # a mark that is no level: that row only is invalid
           b"CVB1\x02\xff\x01",
           b"CVB1\x00\x01",           # one row short: invalid in every row
           b"CVB2\x00\x01\x02",       # wrong magic
           b""]
    box["ballots"] += [sealed_plaintext(box, p) for p in odd]
    box["ballots"].append({"fingerprint": "0" * 64, "ciphertext": "not base64!"})
    box["ballots"].append({"fingerprint": "1" * 64, "ciphertext": base64.b64encode(b"x" * 60).decode()})
    key = rebuild_key(rehearsal.cards[1:], box["manifest"])
    try:
        ours = recount.recount(box, key)
        collected, theirs = rules.count_rows(box["manifest"]["persons"], decrypted_marks(
            {**box, "ballots": [b for b in box["ballots"] if b["ciphertext"] != "not base64!"]}, key))
    finally:
        crypto.wipe(key)
    assert ours.collected == collected + 1 == 7 + 7
    assert ours.unreadable == 5  # short, wrong magic, empty, not base64, garbage
    assert [(p.high, p.trust, p.low, p.valid) for p in ours.persons] == \
        [(p.high, p.trust, p.low, p.valid) for p in theirs]
    expected = rehearsal.expected_counts(PERSONS)
    assert [(p.high, p.trust, p.low) for p in ours.persons] == [
        (expected[0][0] + 1, expected[0][1], expected[0][2] + 1),
        (expected[1][0], expected[1][1], expected[1][2]),
        (expected[2][0], expected[2][1] + 1, expected[2][2] + 1)]
