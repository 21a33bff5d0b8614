"""The golden election (tests/golden.py, tests/data/golden/): fixed test vectors for outside
verifiers. The files rebuild byte for byte from their secrets, and they verify with no secret."""

from __future__ import annotations

import json
from pathlib import Path

from counter.cli import main as counter
from shared import crypto
from shared.box import all_passed, verify_box
from shared.recount import check_results
from tests.golden import KIOSK_SIGNING_KEY, MARKS, build_golden
from tests.worked_example import with_example, worked_example

GOLDEN = Path(__file__).parent / "data" / "golden"


def test_golden_files_rebuild_byte_for_byte_from_their_secrets(tmp_path: Path) -> None:
    rebuilt = build_golden(tmp_path)
    for name, data in rebuilt.items():
        assert (GOLDEN / name).read_bytes() == data, f"{name} differs: run `python3 -m tests.golden {GOLDEN}`"


def test_golden_box_and_results_verify_with_no_secret() -> None:
    box = json.loads((GOLDEN / "box.json").read_bytes())
    results = json.loads((GOLDEN / "results.json").read_bytes())
    assert all_passed(verify_box(box, crypto.signing_public_key(KIOSK_SIGNING_KEY).hex()))
    assert check_results(box, results) == []
    counts = [[sum(1 for m in MARKS if m[row] == level) for level in range(3)] for row in range(3)]
    assert [row["counts"] for row in results["tally"]["rows"]] == counts
    assert [[p["high"], p["trust"], p["low"]] for p in results["persons"]] == counts


def test_golden_results_with_one_count_changed_are_refused_by_the_command(tmp_path: Path) -> None:
    results = json.loads((GOLDEN / "results.json").read_bytes())
    results["tally"]["rows"][0]["counts"] = [2, 2, 0]
    changed = tmp_path / "results.json"
    changed.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    assert counter(["verify", str(GOLDEN / "box.json"), "--results", str(changed)]) != 0
    assert counter(["verify", str(GOLDEN / "box.json"), "--results", str(GOLDEN / "results.json")]) == 0


def test_the_worked_example_in_the_protocol_is_the_golden_elections() -> None:
    document = (Path(__file__).parent.parent / "docs" / "crypto-protocol.md").read_text(encoding="utf-8")
    assert with_example(document, worked_example()) == document, \
        "run `python3 -m tests.worked_example docs/crypto-protocol.md`"
