"""The counter web app, through the Flask test client over HTTPS with CSRF on."""

from __future__ import annotations

import io
import json
import re
import stat
from pathlib import Path

import pytest

from counter.app import SECURITY_HEADERS, create_app
from counter.config import ConfigError, CounterConfig, ensure_home, load_config
from counter.pages import grouped_hex
from counter.report import render_report
from shared import crypto
from shared.box import verify_box
from shared.canonical import digest
from shared.glossary import BAND_LABELS
from shared.rules import percentage, person_result
from shared.tally import Results, check_results_signature, signed_results
from shared.web_policy import CONTENT_SECURITY_POLICY
from tests.counter_support import (
    CASTING,
    PERSONS,
    VOTERS,
    Browser,
    Built,
    flip_ballot_byte,
    share_forms,
)
from tests.factories import COUNTER_SIGNING_KEY

TIME_STAMP = re.compile(r"^\d\d:\d\d \d\d/\d\d/\d{4}$")


def import_box(browser: Browser, data: bytes, name: str = "hom-phieu.json"):  # type: ignore[no-untyped-def]
    token = browser.csrf_token("/")
    return browser.post("/import", data={"csrf_token": token, "box_file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")


def post_shares(browser: Browser, election_id: str, typed: list[str],
                files: list[tuple[bytes, str]] | None = None):  # type: ignore[no-untyped-def]
    token = browser.csrf_token(f"/boxes/{election_id}")
    data: dict[str, object] = {"csrf_token": token, "share": typed}
    if files:
        data["share_file"] = [(io.BytesIO(content), name) for content, name in files]
    return browser.post(f"/boxes/{election_id}/tally", data=data, content_type="multipart/form-data")


def stored_boxes(config: CounterConfig) -> list[Path]:
    return sorted(config.boxes_dir.iterdir())


def stored_results(config: CounterConfig) -> list[Path]:
    return sorted(config.results_dir.iterdir())


# --- import ---------------------------------------------------------------------------

def test_upload_stores_box_under_its_election_id_and_redirects_to_checks(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    response = import_box(browser, election.box)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/boxes/{election.election_id}")
    assert (config.boxes_dir / f"{election.election_id}.json").read_bytes() == election.box
    listing = browser.get("/").get_data(as_text=True)
    assert election.election_id in listing and "✓ Hợp lệ" in listing and "Chưa kiểm phiếu" in listing


def test_import_from_path_stores_the_same_bytes(browser: Browser, config: CounterConfig,
                                                election: Built, tmp_path: Path) -> None:
    usb = tmp_path / "usb" / "hom-phieu.json"
    usb.parent.mkdir()
    usb.write_bytes(election.box)
    token = browser.csrf_token("/")
    response = browser.post("/import", data={"csrf_token": token, "box_path": str(usb)})
    assert response.status_code == 302
    assert (config.boxes_dir / f"{election.election_id}.json").read_bytes() == election.box


@pytest.mark.parametrize(("content", "reason"), [
    (b"hello, not a box", "Tệp hòm phiếu không phải JSON hợp lệ (dòng 1, cột 1)."),
    (b'{"format": "cv-results"}', "Tệp không phải là hòm phiếu."),
    (b"\xff\xfe", "Tệp hòm phiếu được lưu bằng mã UTF-16")])
def test_non_box_file_is_refused_in_vietnamese_and_nothing_stored(
        browser: Browser, config: CounterConfig, content: bytes, reason: str) -> None:
    response = import_box(browser, content, "ghi-chu.txt")
    assert response.status_code == 400  # the list page again, with the refusal
    page = response.get_data(as_text=True)
    assert f"Không nhập được: {reason}" in page and "Không có gì được lưu" in page
    assert stored_boxes(config) == []


def test_missing_path_is_refused_and_nothing_stored(browser: Browser, config: CounterConfig,
                                                    tmp_path: Path) -> None:
    token = browser.csrf_token("/")
    browser.post("/import", data={"csrf_token": token, "box_path": str(tmp_path / "khong-co.json")})
    assert "Không tìm thấy tệp theo đường dẫn" in browser.get("/").get_data(as_text=True)
    assert stored_boxes(config) == []


# --- verification page ----------------------------------------------------------------

def test_malformed_box_is_shown_as_failing_without_crashing_the_pages(
        browser: Browser, config: CounterConfig) -> None:
    malformed = {"format": "cv-ballot-box", "version": 2,
                 "manifest": {"election_id": "ABCDEFGH12345678", "board": "x", "title": "Hòm lỗi"},
                 "ballots": "x", "audit": {}, "close": []}
    import_box(browser, json.dumps(malformed).encode())
    page = browser.get("/boxes/ABCDEFGH12345678")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "✗ Không đạt" in html and "<textarea" not in html
    assert "✗ Không hợp lệ" in browser.get("/").get_data(as_text=True)


def test_verify_page_shows_every_check_passed_fingerprints_and_k_share_fields(
        browser: Browser, election: Built) -> None:
    import_box(browser, election.box)
    page = browser.get(f"/boxes/{election.election_id}").get_data(as_text=True)
    box = json.loads(election.box)
    checks = verify_box(box)
    for check in checks:
        if check.id == "kiosk_key":  # no published key to pin it to: shown as not checked
            assert f'<tr class="row-unchecked" data-check="{check.id}">' in page
        else:
            assert f'<tr class="row-ok" data-check="{check.id}">' in page
        assert check.title in page
    assert page.count("✓ Đạt") == len(checks) - 1 and page.count("– Chưa kiểm") == 1 and "✗" not in page
    assert grouped_hex(digest(box["manifest"])) in page
    assert digest(box["manifest"])[:16] in page  # as printed on the kiosk's share cards
    assert grouped_hex(box["manifest"]["kiosk_public_key"]) in page
    assert page.count('<textarea id="share-') == box["manifest"]["board"]["threshold"]


def test_tampered_box_names_failing_check_offers_no_form_and_tally_is_refused(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    import_box(browser, flip_ballot_byte(election.box))
    page = browser.get(f"/boxes/{election.election_id}").get_data(as_text=True)
    assert '<tr class="row-bad" data-check="ballots" data-reason="ballot.fingerprint">' in page
    assert "phiếu thứ 1 bị sửa (dấu vân tay không khớp)" in page
    assert "Hòm phiếu KHÔNG qua kiểm tra" in page and "<textarea" not in page
    # Even a hand-made POST with two good shares decrypts nothing.
    token = browser.csrf_token("/")
    response = browser.post(f"/boxes/{election.election_id}/tally",
                            data={"csrf_token": token, "share": [c.code for c in election.cards[:2]]})
    assert response.status_code == 400
    assert "Hòm phiếu không qua kiểm tra, không giải mã" in response.get_data(as_text=True)
    assert stored_results(config) == []


# --- tally -----------------------------------------------------------------------------

def test_tally_with_k_typed_codes_counts_exactly_the_choices_cast(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    import_box(browser, election.box)
    response = post_shares(browser, election.election_id, [c.code for c in election.cards[:2]])
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/boxes/{election.election_id}/report")
    document = json.loads((config.results_dir / f"{election.election_id}.json").read_text("utf-8"))
    assert document["ballots_collected"] == CASTING
    assert document["ballots_issued"] == VOTERS
    expected = election.rehearsal.expected_counts(PERSONS)
    assert [(p["high"], p["trust"], p["low"]) for p in document["persons"]] == expected
    for person, (high, trust, low) in zip(document["persons"], expected, strict=True):
        assert person["valid"] == CASTING
        assert person["pct_high"] == str(percentage(high, CASTING))
        assert person["pct_trust"] == str(percentage(trust, CASTING))
        assert person["pct_low"] == str(percentage(low, CASTING))
    assert TIME_STAMP.match(document["counted_from"]) and TIME_STAMP.match(document["counted_to"])
    assert check_results_signature(document, crypto.signing_public_key(COUNTER_SIGNING_KEY))
    assert document["signature"]["public_key"] == crypto.signing_public_key(config.signing_key).hex()
    assert stat.S_IMODE((config.results_dir / f"{election.election_id}.json").stat().st_mode) == 0o600


def test_a_counter_that_did_not_hold_the_ceremony_verifies_but_does_not_count(
        tmp_path: Path, election: Built) -> None:
    other = load_config(ensure_home(tmp_path / "other-laptop"))  # its own signing key
    app = create_app(other)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=True)
    browser = Browser(app.test_client())
    import_box(browser, election.box)
    page = browser.get(f"/boxes/{election.election_id}").get_data(as_text=True)
    assert 'id="other-counter"' in page and "Hòm phiếu qua mọi bước kiểm tra" in page
    response = post_shares(browser, election.election_id, [c.code for c in election.cards[:2]])
    assert response.status_code == 400
    assert "không phải máy đã tổ chức lễ tạo khóa" in response.get_data(as_text=True)
    assert stored_results(other) == []


def test_tally_with_uploaded_share_files_gives_the_same_counts(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    import_box(browser, election.box)
    files = [(c.to_json().encode(), f"manh-{c.index}.json") for c in election.cards[1:3]]
    response = post_shares(browser, election.election_id, ["", ""], files)
    assert response.status_code == 302
    document = json.loads((config.results_dir / f"{election.election_id}.json").read_text("utf-8"))
    assert [(p["high"], p["trust"], p["low"]) for p in document["persons"]] == \
        election.rehearsal.expected_counts(PERSONS)


def test_k_minus_one_shares_are_refused_and_no_results_written(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    import_box(browser, election.box)
    response = post_shares(browser, election.election_id, [election.cards[0].code, ""])
    assert response.status_code == 400
    assert "Cần ít nhất 2 mảnh khóa khác nhau; mới có 1." in response.get_data(as_text=True)
    assert stored_results(config) == []
    # The same card twice is still one share.
    response = post_shares(browser, election.election_id, [election.cards[0].code] * 2)
    assert "mới có 1" in response.get_data(as_text=True)
    assert stored_results(config) == []


def test_foreign_share_is_named_as_another_elections_and_nothing_written(
        browser: Browser, config: CounterConfig, election: Built, foreign: Built) -> None:
    import_box(browser, election.box)
    response = post_shares(browser, election.election_id,
                           [election.cards[0].code, foreign.cards[1].code])
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Mảnh khóa ô 2: Mảnh khóa này thuộc cuộc lấy phiếu khác" in text
    assert stored_results(config) == []


def test_mistyped_share_is_named_by_its_field(browser: Browser, config: CounterConfig,
                                              election: Built) -> None:
    import_box(browser, election.box)
    code = election.cards[1].code
    mistyped = code[:5] + ("0" if code[5] != "0" else "1") + code[6:]
    response = post_shares(browser, election.election_id, [election.cards[0].code, mistyped])
    assert "Mảnh khóa ô 2: Mã mảnh khóa gõ sai" in response.get_data(as_text=True)
    assert stored_results(config) == []


def test_counted_election_is_not_recounted_nor_its_box_replaced(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    import_box(browser, election.box)
    post_shares(browser, election.election_id, [c.code for c in election.cards[:2]])
    path = config.results_dir / f"{election.election_id}.json"
    before = path.read_bytes()
    token = browser.csrf_token("/")
    response = browser.post(f"/boxes/{election.election_id}/tally",
                            data={"csrf_token": token, "share": [c.code for c in election.cards[1:]]})
    assert response.status_code == 302 and path.read_bytes() == before
    other_export = flip_ballot_byte(election.box)
    import_box(browser, other_export)
    assert "đã được kiểm phiếu; không thay hòm phiếu" in browser.get("/").get_data(as_text=True)
    assert (config.boxes_dir / f"{election.election_id}.json").read_bytes() == election.box


# --- report and results ----------------------------------------------------------------

def counted(browser: Browser, election: Built) -> str:
    import_box(browser, election.box)
    post_shares(browser, election.election_id, [c.code for c in election.cards[:2]])
    return election.election_id


def test_report_is_phu_luc_4_with_names_marking_and_signature_block(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    election_id = counted(browser, election)
    response = browser.get(f"/boxes/{election_id}/report")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    document = json.loads((config.results_dir / f"{election_id}.json").read_text("utf-8"))
    # The date line: the election's locality and the day the count ran (Phụ lục 4).
    count_day = document["counted_to"][-10:]
    dated = f"Hà Giang, ngày {count_day[:2]} tháng {count_day[3:5]} năm {count_day[6:]}"
    for phrase in ("Mật", "BÁO CÁO KẾT QUẢ PHIẾU TÍN NHIỆM",
                   "Tại hội nghị Ban Chấp hành Đảng bộ tỉnh", "Ủy ban nhân dân tỉnh Hà Giang",
                   dated, "do đồng chí Lê Văn Kiểm 1 làm Trưởng Ban",
                   "Ban Kiểm phiếu gồm 3 đồng chí", f"Tổng số ủy viên ban chấp hành (đại biểu): {VOTERS}",
                   f"Số phiếu phát ra: {VOTERS} phiếu.", f"Số phiếu thu về: {CASTING} phiếu.",
                   "2. Kết quả kiểm phiếu", "Số phiếu hợp lệ",
                   "Ghi chú: Tỷ lệ % tính trên tổng số phiếu thu về.",
                   "T/M BAN KIỂM PHIẾU", "(Ký, ghi rõ họ tên)"):
        assert phrase in html, phrase
    assert "Đóng dấu treo" not in html  # room for the stamp, not text
    hour, minute = document["counted_from"][:2], document["counted_from"][3:5]
    assert f"từ {hour} giờ {minute} phút" in html
    for member in document["board_members"]:
        assert member in html
    for person in document["persons"]:
        assert f'<td class="name">{person["name"]}</td>' in html
        cells = "".join(f'<td class="num">{person[level]}</td><td class="num">'
                        f'{person["pct_" + level].replace(".", ",")}</td>'
                        for level in ("high", "trust", "low"))
        assert cells in html
    assert '<link rel="stylesheet" href="/static/counter.css">' in html


def test_report_refuses_results_edited_after_signing(browser: Browser, config: CounterConfig,
                                                     election: Built) -> None:
    election_id = counted(browser, election)
    path = config.results_dir / f"{election_id}.json"
    document = json.loads(path.read_text("utf-8"))
    document["persons"][0]["low"] += 1
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    for url in (f"/boxes/{election_id}/report", f"/boxes/{election_id}/results.json"):
        response = browser.get(url)
        assert response.status_code == 409
        assert "Tệp kết quả đã bị sửa" in response.get_data(as_text=True)


def test_results_json_download_is_the_signed_file(browser: Browser, config: CounterConfig,
                                                  election: Built) -> None:
    election_id = counted(browser, election)
    response = browser.get(f"/boxes/{election_id}/results.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data == (config.results_dir / f"{election_id}.json").read_bytes()
    assert check_results_signature(json.loads(response.data), crypto.signing_public_key(COUNTER_SIGNING_KEY))


def results_of(persons: list[tuple[int, int, int]], collected: int, profile: str) -> Results:
    rows = [person_result(i, {"name": f"Phạm Thị Ngọc Ánh {i}", "position": "Chủ tịch",
                              "unit": "Hội đồng nhân dân tỉnh"}, h, t, low, collected)
            for i, (h, t, low) in enumerate(persons, start=1)]
    return Results(election_id="ABCDEFGH12345678", manifest_hash="0" * 64, profile=profile,
                   title="Kỳ họp thứ mười bảy Hội đồng nhân dân tỉnh", organization="HĐND tỉnh",
                   place="Vĩnh Phúc", date="2023-12-07", convened=50, checked_in=48,
                   ballots_issued=48, ballots_collected=collected, board_members=["Đỗ Văn Hùng"],
                   counted_from="09:05 07/12/2023", counted_to="09:40 07/12/2023", persons=rows)


def test_report_of_the_checked_example_uses_decimal_commas_and_band_wording() -> None:
    # docs/rules.md: N = 47; 19 / 2 / 25 -> 40.43% / 4.26% / 53.19%, over half.
    document = signed_results(results_of([(19, 2, 25), (40, 5, 2)], 47, "qd96"),
                              crypto.generate_signing_key())
    assert (document["persons"][0]["pct_high"], document["persons"][0]["pct_low"]) == ("40.43", "53.19")
    html = render_report(document, stylesheet_href="/static/counter.css")
    assert '<td class="num">19</td><td class="num">40,43</td>' in html
    assert '<td class="num">2</td><td class="num">4,26</td>' in html
    assert '<td class="num">25</td><td class="num">53,19</td>' in html
    assert '<td class="num">46</td>' in html  # valid = 46: one row was invalid
    assert BAND_LABELS["qd96"]["over_half"] in html
    assert '<td class="band"></td>' in html  # the second person has no band
    assert "Tại kỳ họp thứ mười bảy" in html and "từ 09 giờ 05 phút đến 09 giờ 40 phút" in html


def test_report_uses_the_nq96_wording_for_two_thirds() -> None:
    document = signed_results(results_of([(5, 5, 30)], 40, "nq96"), crypto.generate_signing_key())
    html = render_report(document, stylesheet_href="/static/counter.css")
    assert BAND_LABELS["nq96"]["two_thirds"] in html
    assert BAND_LABELS["qd96"]["two_thirds"] not in html


# --- web security -----------------------------------------------------------------------

def test_post_without_csrf_token_is_400_and_changes_nothing(
        browser: Browser, config: CounterConfig, election: Built) -> None:
    response = browser.post("/import", data={"box_file": (io.BytesIO(election.box), "b.json")},
                            content_type="multipart/form-data")
    assert response.status_code == 400
    assert "thiếu mã bảo vệ (CSRF)" in response.get_data(as_text=True)
    assert stored_boxes(config) == []
    import_box(browser, election.box)
    response = browser.post(f"/boxes/{election.election_id}/tally",
                            data={"share": [c.code for c in election.cards[:2]]})
    assert response.status_code == 400
    response = browser.post(f"/boxes/{election.election_id}/tally",
                            data={"csrf_token": "forged", "share": [c.code for c in election.cards[:2]]})
    assert response.status_code == 400
    assert stored_results(config) == []


def assert_security_headers(response) -> None:  # type: ignore[no-untyped-def]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.path, name)


def test_security_headers_on_every_route_including_errors(
        browser: Browser, election: Built, foreign: Built) -> None:
    election_id = election.election_id
    import_box(browser, election.box)
    post_shares(browser, election_id, [foreign.cards[0].code])
    post_shares(browser, election_id, [c.code for c in election.cards[:2]])
    for path in ("/", f"/boxes/{election_id}", f"/boxes/{election_id}/report",
                 f"/boxes/{election_id}/results.json", "/healthz", "/static/counter.css",
                 "/no-such-page", "/boxes/NOSUCHELECTION1/report", "/boxes/../etc/passwd"):
        browser.get(path)
    browser.post("/healthz")  # 405
    browser.post("/import", data={})  # CSRF 400
    statuses = {r.status_code for r in browser.responses}
    assert {200, 302, 400, 404, 405} <= statuses
    for response in browser.responses:
        assert_security_headers(response)
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_share_text_never_appears_in_any_response(browser: Browser, config: CounterConfig,
                                                  election: Built, foreign: Built) -> None:
    election_id = election.election_id
    import_box(browser, election.box)
    good, wrong = election.cards[:2], foreign.cards[0]
    post_shares(browser, election_id, [good[0].code])                         # too few
    post_shares(browser, election_id, [good[0].code, wrong.code])             # foreign
    post_shares(browser, election_id, [good[0].code + "X", good[1].code])     # mistyped
    post_shares(browser, election_id, [""], [(good[0].to_json().encode(), "a.json")])
    post_shares(browser, election_id, [good[0].code, good[1].code])           # success
    browser.get(f"/boxes/{election_id}/report")
    browser.get(f"/boxes/{election_id}/results.json")
    browser.get("/")
    secrets = [form for card in (*good, wrong) for form in share_forms(card)]
    for response in browser.responses:
        seen = response.get_data(as_text=True) + str(response.headers)
        for secret in secrets:
            assert secret not in seen, response.request.path
    stored = (config.results_dir / f"{election_id}.json").read_text("utf-8")
    assert not any(secret in stored for secret in secrets)


def test_session_cookie_is_counter_session_secure_httponly_samesite_strict(browser: Browser) -> None:
    response = browser.get("/")
    cookies = response.headers.getlist("Set-Cookie")
    session = [c for c in cookies if c.startswith("counter_session=")]
    assert session, cookies
    attributes = {part.strip().lower() for part in session[0].split(";")}
    assert {"secure", "httponly", "samesite=strict"} <= attributes


def test_pages_have_no_inline_script_or_style(browser: Browser, election: Built) -> None:
    election_id = counted(browser, election)
    for path in ("/", f"/boxes/{election_id}", f"/boxes/{election_id}/report", "/missing"):
        html = browser.get(path).get_data(as_text=True)
        assert "<script" not in html and "style=" not in html and "<style" not in html, path
        assert "http://" not in html and "https://" not in html, path  # no third-party assets


def test_healthz_says_ok(browser: Browser) -> None:
    response = browser.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"


# --- configuration -----------------------------------------------------------------------

def test_ensure_home_creates_secrets_0600_and_keeps_existing_ones(tmp_path: Path) -> None:
    home = ensure_home(tmp_path / "home")
    for name in ("secret_key", "signing_key"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
    first = load_config(home)
    again = load_config(ensure_home(home))
    assert (first.secret_key, first.signing_key) == (again.secret_key, again.signing_key)
    assert first.boxes_dir.is_dir() and first.results_dir.is_dir()


@pytest.mark.parametrize("secret", ["", "dev", "changeme", "short-but-random-7f3a"])
def test_create_app_refuses_a_missing_default_or_short_secret(secret: str) -> None:
    config = CounterConfig(home=Path("."), secret_key=secret, signing_key=crypto.generate_signing_key())
    with pytest.raises(ConfigError, match="Khóa bí mật"):
        create_app(config)


def test_load_config_refuses_missing_default_or_readable_secret_file(tmp_path: Path) -> None:
    home = ensure_home(tmp_path / "home")
    (home / "secret_key").unlink()
    with pytest.raises(ConfigError, match="Thiếu tệp bí mật"):
        load_config(home)
    ensure_home(home)
    (home / "secret_key").write_text("changeme\n")
    with pytest.raises(ConfigError, match="mặc định"):
        load_config(home)
    (home / "secret_key").chmod(0o644)
    with pytest.raises(ConfigError, match="0600"):
        load_config(home)
