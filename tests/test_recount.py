"""The independent results check (shared/recount.py): no secret, no tally code, every forgery named."""

from __future__ import annotations

import ast
import base64
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from counter.counting import count_box
from shared import box as box_module
from shared import crypto, elgamal, recount, rules, tally
from shared.box import load_box
from shared.canonical import canonical_bytes
from shared.manifest import Manifest
from tests.factories import COUNTER_SIGNING_KEY, Rehearsal, export, run_election
from tests.servers import REPO

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


def test_results_check_imports_nothing_of_the_tally_path() -> None:
    shared_modules = {m for m in imported_modules(REPO / "shared" / "recount.py") if m.startswith("shared")}
    assert shared_modules <= {"shared", "shared.crypto", "shared.elgamal", "shared.canonical",
                              "shared.canonical.canonical_bytes", "shared.canonical.digest"}
    # The command line takes the Check line type from shared.box, nothing that counts.
    tally_path = {"shared.tally", "shared.rules", "shared.ballot", "counter.counting"}
    assert not imported_modules(REPO / "counter" / "audit_commands.py") & tally_path


@given(collected=st.integers(min_value=0, max_value=5000), data=st.data())
def test_percentages_and_bands_agree_with_the_rules_module(collected: int, data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=0, max_value=collected))
    assert recount.percent(count, collected) == str(rules.percentage(count, collected))
    assert recount.band(count, collected) == rules.low_confidence_band(count, collected)


def test_checked_example_of_the_design_brief() -> None:
    # docs/rules.md: N = 47; 19 / 2 / 25 -> 40.43% / 4.26% / 53.19%, over half, under 2/3.
    assert [recount.percent(c, 47) for c in (19, 2, 25)] == ["40.43", "4.26", "53.19"]
    assert recount.band(25, 47) == "over_half"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    r = run_election(f"sqlite:///{tmp_path_factory.mktemp('recount') / 'k.db'}",
                     persons=PERSONS, voters=8, casting=7, seed=21)
    yield r
    r.factory.kw["bind"].dispose()


@pytest.fixture(scope="module")
def sealed(rehearsal: Rehearsal) -> bytes:
    return export(rehearsal)


@pytest.fixture(scope="module")
def signed(sealed: bytes, rehearsal: Rehearsal) -> dict[str, Any]:
    """The board's signed results, counted with cards 2 and 3."""
    shares = [(f"card {c.index}", c.code) for c in rehearsal.cards[1:]]
    return count_box(load_box(sealed), shares, COUNTER_SIGNING_KEY)


@pytest.fixture
def box(sealed: bytes) -> dict[str, Any]:
    return load_box(sealed)


@pytest.fixture
def document(signed: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(signed)


def resign(document: dict[str, Any], key: bytes = COUNTER_SIGNING_KEY) -> None:
    """Re-sign an edited results file; with the ceremony's counter key by default (an insider)."""
    body = {k: v for k, v in document.items() if k != "signature"}
    document["signature"] = {"algorithm": "Ed25519", "public_key": crypto.signing_public_key(key).hex(),
                             "value": crypto.sign(key, canonical_bytes(body)).hex()}


def reasons(box: dict[str, Any], document: Any) -> list[str]:
    return [p.reason for p in recount.check_results(box, document)]


def messages(box: dict[str, Any], document: Any) -> str:
    return "\n".join(p.message for p in recount.check_results(box, document))


def test_genuine_results_pass_with_no_secret(box: dict[str, Any], document: dict[str, Any],
                                            rehearsal: Rehearsal) -> None:
    assert recount.check_results(box, document) == []
    assert [row["counts"] for row in document["tally"]["rows"]] == \
        [list(c) for c in rehearsal.expected_counts(PERSONS)]


def test_the_check_uses_none_of_the_tally_code(box: dict[str, Any], document: dict[str, Any],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the results check used the tally code")

    for name in ("tally_box", "signed_results", "check_results_signature"):
        monkeypatch.setattr(tally, name, forbidden)
    for name in ("count_rows", "percentage", "person_result", "low_confidence_band"):
        monkeypatch.setattr(rules, name, forbidden)
    for name in ("check_box", "verify_box", "verified_box"):
        monkeypatch.setattr(box_module, name, forbidden)
    for name in ("verify_partial", "combine", "lagrange_at_zero", "share_public_key", "partial_decrypt",
                 "Aggregate", "CountFinder"):
        monkeypatch.setattr(elgamal, name, forbidden)
    assert recount.check_results(box, document) == []


def test_a_changed_count_is_named_even_when_re_signed(box: dict[str, Any], document: dict[str, Any]) -> None:
    person = document["persons"][1]
    true_high = person["high"]
    person["high"] += 1
    resign(document)
    assert reasons(box, document) == ["results.figures"]
    assert (f"Người thứ 2 ({person['name']}), số phiếu tín nhiệm cao: tệp kết quả ghi {true_high + 1}, "
            f"tính lại được {true_high}.") in messages(box, document)


def test_a_changed_count_in_the_tally_section_fails_against_the_decrypted_total(
        box: dict[str, Any], document: dict[str, Any]) -> None:
    row = document["tally"]["rows"][0]
    row["counts"] = [row["counts"][0] + 1, row["counts"][1] - 1, row["counts"][2]] if row["counts"][1] \
        else [row["counts"][0] - 1, row["counts"][1] + 1, row["counts"][2]]
    document["persons"][0].update(dict(zip(("high", "trust", "low"), row["counts"], strict=True)))
    resign(document)
    assert "results.counts" in reasons(box, document)
    assert "Dòng 1: số phiếu" in messages(box, document)


def test_a_changed_percentage_or_band_is_named(box: dict[str, Any], document: dict[str, Any]) -> None:
    document["persons"][2]["pct_low"] = "99.99"
    document["persons"][0]["band"] = "two_thirds"
    resign(document)
    assert reasons(box, document) == ["results.figures", "results.figures"]
    text = messages(box, document)
    assert "tỷ lệ tín nhiệm thấp: tệp kết quả ghi “99.99”" in text
    assert "Người thứ 1" in text and "mức cảnh báo: tệp kết quả ghi “two_thirds”" in text


def test_results_re_signed_with_another_key_are_refused(box: dict[str, Any], document: dict[str, Any]) -> None:
    resign(document, crypto.generate_signing_key())
    assert reasons(box, document) == ["results.signature"]
    document["persons"][0]["high"] += 1  # and an edit without any signature
    assert reasons(box, document)[0] == "results.signature"


def test_a_partial_decryption_from_a_wrong_share_is_named(box: dict[str, Any], document: dict[str, Any],
                                                          rehearsal: Rehearsal) -> None:
    # Member 2 decrypts with a wrong share and proves it honestly for that wrong value.
    context = Manifest.from_json(box["manifest"]).context()
    row = document["tally"]["rows"][1]
    aggregate = (bytes.fromhex(row["aggregate"]["a"]), bytes.fromhex(row["aggregate"]["c"]))
    wrong = (rehearsal.cards[1].share.value + 7) % elgamal.ORDER
    share_key = elgamal.mul_base(wrong)
    d = elgamal.mul(wrong, aggregate[0])
    w = 12345
    t1, t2 = elgamal.mul_base(w), elgamal.mul(w, aggregate[0])
    c = elgamal.hash_challenge("cv-decryption-proof-v2", elgamal.text_part(context.election_id),
                               context.manifest_hash, elgamal.u16(2), share_key, elgamal.u16(2),
                               aggregate[0], aggregate[1], d, t1, t2)
    s = (w + c * wrong) % elgamal.ORDER
    row["decryptions"][0].update(share=d.hex(), challenge=c.to_bytes(16, "little").hex(),
                                 response=s.to_bytes(32, "little").hex())
    resign(document)
    assert reasons(box, document) == ["results.decryption-proof"]
    assert "Dòng 2: giải mã từng phần của thành viên số 2" in messages(box, document)


def test_a_dropped_ballot_makes_every_sum_differ(box: dict[str, Any], document: dict[str, Any]) -> None:
    del box["ballots"][4]
    found = reasons(box, document)
    assert found[:4] == ["results.aggregate"] * 4  # the ballot count, then each row's sums
    assert "Số phiếu thu về: tệp kết quả ghi 7, tính lại được 6." in messages(box, document)


def test_a_duplicated_ballot_makes_every_sum_differ(box: dict[str, Any], document: dict[str, Any]) -> None:
    box["ballots"].insert(2, dict(box["ballots"][2]))
    assert set(reasons(box, document)) == {"results.aggregate", "results.figures"}
    assert "tổng mã hóa trong tệp kết quả khác" in messages(box, document)


def test_results_without_their_proofs_cannot_be_checked(box: dict[str, Any], document: dict[str, Any]) -> None:
    del document["tally"]
    resign(document)
    assert reasons(box, document) == ["results.tally"]


@pytest.mark.parametrize("breakage", [
    lambda d: d["tally"].__setitem__("members", [1]),
    lambda d: d["tally"].__setitem__("members", [2, 2]),
    lambda d: d["tally"]["rows"].pop(),
    lambda d: d["tally"]["rows"][0]["decryptions"].reverse(),
    lambda d: d["tally"]["rows"][0]["decryptions"][0].__setitem__("share", "zz"),
    lambda d: d["tally"]["rows"][0].__setitem__("counts", "x"),
    lambda d: d["tally"]["rows"][0]["aggregate"].__setitem__("a", 7),
    lambda d: d.__setitem__("tally", []),
])
def test_malformed_tally_sections_are_named_not_crashed_on(
        box: dict[str, Any], document: dict[str, Any], breakage: Any) -> None:
    breakage(document)
    resign(document)
    assert reasons(box, document) == ["results.tally"]


@pytest.mark.parametrize("document", [None, [], "x", {"format": "cv-results", "version": 1}])
def test_what_is_not_a_version_2_results_file_is_named(box: dict[str, Any], document: Any) -> None:
    assert reasons(box, document) == ["results.format"]


def test_an_unreadable_ballot_in_the_box_is_named(box: dict[str, Any], document: dict[str, Any]) -> None:
    box["ballots"][0] = {"fingerprint": "0" * 64, "ballot": base64.b64encode(b"x" * 10).decode()}
    assert reasons(box, document) == ["results.aggregate"]
