"""The counter's auditor pages (counter/audit.py), through the Flask test client over HTTPS."""

from __future__ import annotations

import html
import io
import json
import re

import pytest

from counter.app import SECURITY_HEADERS
from counter.config import CounterConfig
from counter.counting import count_box
from counter.store import Store
from shared import ballot_list, codes, crypto, voting
from shared.box import load_box, verify_box
from shared.canonical import canonical_bytes
from tests.counter_support import VOTERS, Browser, Built, flip_ballot_byte
from tests.factories import COUNTER_SIGNING_KEY
from tests.tamper import flip_file_byte


def imported(config: CounterConfig, data: bytes) -> str:
    return Store(config).save_box(data)


def page(browser: Browser, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, path
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value
    return html.unescape(response.get_data(as_text=True))


def visible(markup: str) -> str:
    """The text a reader sees: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", markup))


def search(browser: Browser, election_id: str, typed: str) -> str:
    path = f"/audit/{election_id}/ballots"
    response = browser.post(path, data={"csrf_token": browser.csrf_token(path), "receipt": typed})
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


# --- checks -------------------------------------------------------------------------------------

def test_checks_page_shows_every_check_the_cli_prints(browser: Browser, config: CounterConfig,
                                                      election: Built) -> None:
    election_id = imported(config, election.box)
    text = page(browser, f"/audit/{election_id}")
    checks = verify_box(json.loads(election.box))
    for check in checks:
        assert check.title in text
        assert f'data-check="{check.id}"' in text
    # The kiosk key has no published key to compare with here: not checked, never passed.
    assert text.count("✓ Đạt") == len(checks) - 1 and "✗ Không đạt" not in text
    assert text.count("– Chưa kiểm") == 1
    assert "Hòm phiếu qua mọi bước kiểm tra" in text and "1 chưa kiểm" in text
    assert "chưa được kiểm phiếu trên máy này" in text  # no results yet to check


def counted(config: CounterConfig, election: Built) -> tuple[str, dict[str, object]]:
    """The box imported and counted with two cards, its signed results stored."""
    election_id = imported(config, election.box)
    shares = [(f"card {c.index}", c.code) for c in election.cards[:2]]
    document = count_box(load_box(election.box), shares, COUNTER_SIGNING_KEY)
    Store(config).save_results(election_id, document)
    return election_id, document


def test_checks_page_checks_the_stored_results_against_the_box_with_no_share(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    election_id, _ = counted(config, election)
    text = page(browser, f"/audit/{election_id}")
    assert 'data-check="results"' in text
    assert "đều khớp hòm phiếu" in text and "✗ Không đạt" not in text
    assert "<textarea" not in text and 'name="share"' not in text  # no share is ever asked for


def test_checks_page_names_a_changed_and_re_signed_result(browser: Browser, config: CounterConfig,
                                                          election: Built) -> None:
    election_id, document = counted(config, election)
    persons = document["persons"]
    assert isinstance(persons, list)
    persons[0]["high"] += 1
    body = {k: v for k, v in document.items() if k != "signature"}
    forger = crypto.generate_signing_key()
    document["signature"] = {"algorithm": "Ed25519", "public_key": crypto.signing_public_key(forger).hex(),
                             "value": crypto.sign(forger, canonical_bytes(body)).hex()}
    Store(config).save_results(election_id, document)
    text = page(browser, f"/audit/{election_id}")
    assert 'data-check="results" data-reason="results.signature"' in text
    assert "số phiếu tín nhiệm cao: tệp kết quả ghi" in text


def published_key(browser: Browser, election_id: str, typed: str) -> tuple[int, str]:
    path = f"/audit/{election_id}"
    response = browser.post(f"{path}/kiosk-key", data={"csrf_token": browser.csrf_token(path),
                                                        "kiosk_key": typed})
    return response.status_code, html.unescape(response.get_data(as_text=True))


def test_the_kiosk_key_published_before_the_vote_is_compared_on_the_page(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    election_id = imported(config, election.box)
    key = json.loads(election.box)["manifest"]["kiosk_public_key"]
    checks = len(verify_box(json.loads(election.box)))
    grouped_upper = " ".join(key[i:i + 4] for i in range(0, 64, 4)).upper()  # as printed, any case
    status, text = published_key(browser, election_id, grouped_upper)
    assert status == 200 and text.count("✓ Đạt") == checks and "– Chưa kiểm" not in text
    assert 'data-check="kiosk_key">' in text and f"Hòm phiếu qua mọi bước kiểm tra ({checks}/{checks})" in text

    other = crypto.signing_public_key(crypto.generate_signing_key()).hex()
    status, text = published_key(browser, election_id, other)
    assert status == 200 and 'data-check="kiosk_key"' in text
    assert "khóa ký trong hòm khác với khóa được chỉ định" in text
    assert "Hòm phiếu KHÔNG qua kiểm tra: Khóa ký của máy bỏ phiếu đúng như đã công bố" in text

    for typed in ("", key[:-1], key[:-1] + "g"):
        status, text = published_key(browser, election_id, typed)
        assert status == 400 and "64 chữ số hệ 16" in text and "Chưa so khóa nào" in text
        assert "– Chưa kiểm" in text  # the check is left unchecked, never passed


def upload_results(browser: Browser, election_id: str, data: bytes) -> tuple[int, str]:
    """The auditor's own laptop: the published results file posted to the checks page."""
    path = f"/audit/{election_id}"
    response = browser.post(f"{path}/results", content_type="multipart/form-data", data={
        "csrf_token": browser.csrf_token(path), "results_file": (io.BytesIO(data), "ket-qua.json")})
    return response.status_code, html.unescape(response.get_data(as_text=True))


def test_results_brought_by_an_auditor_are_checked_with_no_share_and_not_stored(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    document = count_box(load_box(election.box), [(f"card {c.index}", c.code) for c in election.cards[:2]],
                         COUNTER_SIGNING_KEY)
    election_id = imported(config, election.box)  # a laptop that never counted this box
    status, text = upload_results(browser, election_id, json.dumps(document).encode())
    assert status == 200
    assert 'data-check="results">' in text and "đều khớp hòm phiếu" in text  # passed: no reason
    assert "✗ Không đạt" not in text and "tệp không được lưu lại" in text
    assert not Store(config).has_results(election_id)
    assert "chưa được kiểm phiếu trên máy này" in page(browser, f"/audit/{election_id}")

    persons = document["persons"]
    persons[1]["low"] += 1  # a changed count, left with the board's signature
    status, text = upload_results(browser, election_id, json.dumps(document).encode())
    assert status == 200 and 'data-check="results" data-reason="results.signature"' in text
    assert "✗ Không đạt" in text and "tệp kết quả ghi" in text
    assert not Store(config).has_results(election_id)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "Hãy chọn tệp kết quả"),
    (b'{"format": "cv-results", "format": "x"}', "có khóa “format” lặp lại"),
    (b"\xff not json", "không phải văn bản UTF-8"),
    (b'{"format": ', "không phải JSON hợp lệ"),
])
def test_an_unreadable_results_upload_is_refused_in_vietnamese_and_changes_nothing(
        browser: Browser, config: CounterConfig, election: Built, data: bytes, message: str) -> None:
    election_id = imported(config, election.box)
    status, text = upload_results(browser, election_id, data)
    assert status == 400 and message in text and "Không có gì được lưu" in text
    assert 'data-check="results"' not in text and not Store(config).has_results(election_id)


def test_checks_page_of_a_tampered_box_names_the_failed_check(browser: Browser, config: CounterConfig,
                                                              election: Built) -> None:
    election_id = imported(config, flip_file_byte(election.box, "audit event"))
    text = page(browser, f"/audit/{election_id}")
    assert "Hòm phiếu KHÔNG qua kiểm tra" in text
    assert re.search(r'class="row-bad" data-check="audit_chain"', text)
    for other in ("ballots", "token_log", "close_record"):
        assert re.search(rf'class="row-ok" data-check="{other}"', text)


def test_box_download_is_the_imported_file_byte_for_byte(browser: Browser, config: CounterConfig,
                                                         election: Built) -> None:
    election_id = imported(config, election.box)
    response = browser.get(f"/audit/{election_id}/box.json")
    assert response.status_code == 200 and response.data == election.box


@pytest.mark.parametrize("suffix", ["", "/ballots", "/tokens", "/box.json"])
def test_unknown_or_unsafe_election_ids_are_404(browser: Browser, suffix: str) -> None:
    for election_id in ("KHONGCO12345678", "..%2Fsecret_key", "abc"):
        assert browser.get(f"/audit/{election_id}{suffix}").status_code == 404


# --- the published ballot list -------------------------------------------------------------------

def test_ballot_list_shows_every_fingerprint_sorted_with_its_receipt(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    election_id = imported(config, election.box)
    text = page(browser, f"/audit/{election_id}/ballots")
    fingerprints = sorted(b["fingerprint"] for b in json.loads(election.box)["ballots"])
    shown = re.findall(r'<td class="mono receipt">([0-9A-F-]+)</td>', text)
    assert shown == [ballot_list.receipt(fp) for fp in fingerprints]
    rests = re.findall(r'<td class="mono rest">([0-9a-f ]+)</td>', text)
    assert [r.replace(" ", "") for r in rests] == [fp[16:] for fp in fingerprints]
    assert f"Danh sách {len(fingerprints)} phiếu đã niêm phong" in text


def test_receipt_search_finds_the_ballot_whatever_the_typing(browser: Browser, config: CounterConfig,
                                                            election: Built) -> None:
    election_id = imported(config, election.box)
    fingerprints = sorted(b["fingerprint"] for b in json.loads(election.box)["ballots"])
    receipt = ballot_list.receipt(fingerprints[6])
    for typed in (receipt, receipt.lower().replace("-", ""), " " + receipt.replace("-", " ") + " ",
                  fingerprints[6].upper()):
        text = search(browser, election_id, typed)
        assert f"Có: phiếu mang mã biên nhận {receipt} nằm trong hòm phiếu (dòng 7)" in visible(text)
        assert '<tr id="phieu-7" class="found">' in text


def test_receipt_search_says_loudly_when_the_ballot_is_not_there(
        browser: Browser, config: CounterConfig, election: Built, foreign: Built) -> None:
    election_id = imported(config, election.box)
    stranger = ballot_list.receipt(json.loads(foreign.box)["ballots"][0]["fingerprint"])
    text = search(browser, election_id, stranger)
    assert f"KHÔNG có phiếu nào mang mã biên nhận {stranger} trong hòm phiếu" in visible(text)
    assert 'class="found"' not in text
    text = search(browser, election_id, "1234-XYZ")
    assert "Mã biên nhận chỉ gồm chữ số 0–9 và chữ cái A–F." in text


def test_receipt_search_is_posted_not_put_in_the_address(browser: Browser, config: CounterConfig,
                                                         election: Built) -> None:
    # A receipt in a URL would reach the access log and the history, next to a time.
    election_id = imported(config, election.box)
    receipt = ballot_list.receipt(json.loads(election.box)["ballots"][0]["fingerprint"])
    text = page(browser, f"/audit/{election_id}/ballots?receipt={receipt}")
    assert "Có: phiếu" not in text and f'value="{receipt}"' not in text
    assert '<form method="post"' in text
    path = f"/audit/{election_id}/ballots"
    assert browser.post(path, data={"receipt": receipt}).status_code == 400  # CSRF, like every form


# --- the token log -----------------------------------------------------------------------------

def test_token_log_lists_every_token_event_by_hash_and_never_a_slip_code(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    election_id = imported(config, election.box)
    text = page(browser, f"/audit/{election_id}/tokens")
    box = json.loads(election.box)
    token_events = [e for e in box["audit"] if e["kind"].startswith("token.")]
    rows = re.findall(r'<tr>\s*<td class="num">(\d+)</td>', text)
    assert [int(seq) for seq in rows] == [e["seq"] for e in token_events]
    assert text.count("<td>Phát phiếu</td>") == VOTERS
    for entry in box["token_log"]:
        # A void event names its token and the final log lists it; a spend names no token (D1).
        assert text.count(entry["hash"]) == (2 if entry["state"] == "voided" else 1)
    for code in election.rehearsal.codes:
        token = voting.parse_token(code)
        plain = codes.normalise(code)
        for form in (code, plain, plain.lower(), plain[:-1], token.hex(), token.hex().upper()):
            assert form not in text
    assert "không dùng, hủy khi kết thúc" in text  # the two unused slips voided at close


def test_token_log_reconciles_the_close_record(browser: Browser, config: CounterConfig,
                                               election: Built) -> None:
    election_id = imported(config, election.box)
    text = page(browser, f"/audit/{election_id}/tokens")
    counts = json.loads(election.box)["close"]["record"]["counts"]
    assert text.count("✓ Đúng") == 6 and "✗ Sai" not in text
    issued, spent, voided = counts["tokens_issued"], counts["tokens_spent"], counts["tokens_voided"]
    assert f"{issued} = {spent} + {voided} + 0" in text
    assert f"{counts['ballots']} = {spent}" in text
    assert "Biên bản kết thúc ghi nhận chênh lệch" not in text


def test_token_log_shows_a_mismatch_when_a_ballot_went_missing(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    document = json.loads(election.box)
    document["ballots"].pop()
    election_id = imported(config, json.dumps(document, ensure_ascii=False).encode())
    text = page(browser, f"/audit/{election_id}/tokens")
    assert "✗ Sai" in text and "Số phiếu trong hòm = số mã đã dùng" in text
    assert "Hòm phiếu KHÔNG qua kiểm tra" in text


@pytest.mark.parametrize("breakage", [
    lambda b: b.update(audit="x", token_log=[1, None], close=[]),
    lambda b: b.update(ballots=[{"fingerprint": 5}, "x"], close={"record": "x"}),
    lambda b: b["audit"].insert(2, {"kind": "token.spent", "data": "x"}),
])
def test_pages_of_a_malformed_box_fail_its_checks_without_crashing(
        browser: Browser, config: CounterConfig, election: Built, breakage: object) -> None:
    document = json.loads(flip_ballot_byte(election.box))
    breakage(document)  # type: ignore[operator]
    election_id = imported(config, json.dumps(document, ensure_ascii=False).encode())
    for suffix in ("", "/ballots", "/tokens"):
        assert "Hòm phiếu KHÔNG qua kiểm tra" in page(browser, f"/audit/{election_id}{suffix}")


def test_box_page_links_to_the_auditor_pages(browser: Browser, config: CounterConfig,
                                             election: Built) -> None:
    election_id = imported(config, election.box)
    assert f'href="/audit/{election_id}"' in page(browser, f"/boxes/{election_id}")
