"""The `counter` command line: verify (with --results, no secret), tally, check-results, serve."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from counter.app import SECURITY_HEADERS
from counter.cli import main
from shared import ballot_list, crypto, rules, tally
from shared.box import verify_box
from shared.canonical import canonical_bytes
from shared.rules import percentage
from shared.tally import check_results_signature
from tests.counter_support import CASTING, PERSONS, Built, counter_home, flip_ballot_byte
from tests.factories import COUNTER_SIGNING_KEY
from tests.servers import REPO
from tests.tamper import REGIONS, flip_file_byte


@pytest.fixture
def box_file(tmp_path: Path, election: Built) -> Path:
    path = tmp_path / "hom-phieu.json"
    path.write_bytes(election.box)
    return path


@pytest.fixture
def share_files(tmp_path: Path, election: Built) -> list[Path]:
    """Card 1 as a share JSON file, card 2 as the bare typed code in a text file."""
    first, second = tmp_path / "manh-1.json", tmp_path / "manh-2.txt"
    first.write_text(election.cards[0].to_json(), "utf-8")
    second.write_text(election.cards[1].code + "\n", "utf-8")
    return [first, second]


def run(tmp_path: Path, *argv: str) -> int:
    """The command on the laptop that held the test elections' key ceremony."""
    return main(["--home", str(counter_home(tmp_path / "home")), *argv])


COUNTER_KEY = crypto.signing_public_key(COUNTER_SIGNING_KEY).hex()


def shares_args(paths: list[Path]) -> list[str]:
    return [arg for path in paths for arg in ("--share", str(path))]


# --- verify ------------------------------------------------------------------------------

def test_verify_prints_one_line_per_check_and_exits_0(
        tmp_path: Path, box_file: Path, election: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "verify", str(box_file)) == 0
    out = capsys.readouterr().out
    checks = verify_box(json.loads(election.box))
    for check in checks:
        mark = "[CHƯA KIỂM]" if check.id == "kiosk_key" else "[OK]"
        assert f"{mark} {check.title}" in out
    # Without --kiosk-key the kiosk key is shown as not checked, never as [OK].
    assert out.count("[OK]") == len(checks) - 1 and "[LỖI]" not in out
    assert "hòm phiếu HỢP LỆ" in out and "1 chưa kiểm" in out


def test_verify_json_lists_id_title_ok_detail_reason(tmp_path: Path, box_file: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "verify", str(box_file), "--json") == 0
    checks = json.loads(capsys.readouterr().out)
    assert [set(c) for c in checks] == [{"id", "title", "ok", "detail", "reason"}] * len(checks)
    assert {c["id"]: c["ok"] for c in checks}["kiosk_key"] is None
    assert all(c["ok"] for c in checks if c["id"] != "kiosk_key")
    assert {"manifest", "box_signature", "audit_chain", "close_record", "token_log", "ballots",
            "ballot_proofs"} <= {c["id"] for c in checks}


def test_verify_names_the_failing_check_of_a_tampered_box(
        tmp_path: Path, election: Built, capsys: pytest.CaptureFixture[str]) -> None:
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(flip_ballot_byte(election.box))
    assert run(tmp_path, "verify", str(tampered)) == 1
    out = capsys.readouterr().out
    assert "[LỖI] Phiếu: đúng định dạng" in out
    assert "phiếu thứ 1 bị sửa (dấu vân tay không khớp) (ballot.fingerprint)" in out
    assert "[LỖI] Chữ ký trên toàn bộ hòm phiếu" in out
    assert "KHÔNG HỢP LỆ" in out
    assert run(tmp_path, "verify", str(tampered), "--json") == 1
    failed = {c["id"] for c in json.loads(capsys.readouterr().out) if c["ok"] is False}
    assert failed == {"box_signature", "ballots"}


def test_verify_pins_the_published_kiosk_key(tmp_path: Path, box_file: Path, election: Built,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    published = json.loads(election.box)["manifest"]["kiosk_public_key"]
    assert run(tmp_path, "verify", str(box_file), "--kiosk-key", published.upper()) == 0
    assert "[OK] Khóa ký của máy bỏ phiếu đúng như đã công bố" in capsys.readouterr().out
    assert run(tmp_path, "verify", str(box_file), "--kiosk-key", "ab" * 32) == 1
    assert "[LỖI] Khóa ký của máy bỏ phiếu đúng như đã công bố" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, b"not json at all", b'{"format": "something-else"}'])
def test_verify_exits_2_for_an_unreadable_file(tmp_path: Path, content: bytes | None,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "box.json"
    if content is not None:
        path.write_bytes(content)
    assert run(tmp_path, "verify", str(path)) == 2
    assert capsys.readouterr().err.strip()


@pytest.mark.parametrize("region", list(REGIONS))
def test_verify_names_the_check_when_one_byte_of_the_file_is_flipped(
        tmp_path: Path, election: Built, region: str, capsys: pytest.CaptureFixture[str]) -> None:
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(flip_file_byte(election.box, region))
    named = REGIONS[region][3]
    title = next(c.title for c in verify_box(json.loads(election.box)) if c.id == named)
    assert run(tmp_path, "verify", str(tampered)) == 1
    out = capsys.readouterr().out
    assert f"[LỖI] {title}" in out and "KHÔNG HỢP LỆ" in out


# --- verify --fingerprint ------------------------------------------------------------------

def receipts_of(election: Built) -> list[str]:
    return [ballot_list.receipt(b["fingerprint"]) for b in json.loads(election.box)["ballots"]]


def test_fingerprint_finds_the_receipt_the_booth_showed_in_any_form(
        tmp_path: Path, box_file: Path, election: Built, capsys: pytest.CaptureFixture[str]) -> None:
    fingerprint = json.loads(election.box)["ballots"][3]["fingerprint"]
    shown = ballot_list.receipt(fingerprint)  # "5F6A-CEC2-7C88-E019", as the booth shows it
    for typed in (shown, shown.replace("-", "").lower(), shown.replace("-", " "), fingerprint.upper()):
        assert run(tmp_path, "verify", str(box_file), "--fingerprint", typed) == 0, typed
        out = capsys.readouterr().out
        assert f"[OK] Phiếu có mã biên nhận {shown} nằm trong hòm phiếu" in out
        assert fingerprint in out and "[LỖI]" not in out


def test_fingerprint_not_in_the_box_exits_1_with_a_clear_message(
        tmp_path: Path, box_file: Path, election: Built, foreign: Built,
        capsys: pytest.CaptureFixture[str]) -> None:
    stranger = receipts_of(foreign)[0]  # a real receipt, of another election
    assert stranger not in receipts_of(election)
    assert run(tmp_path, "verify", str(box_file), "--fingerprint", stranger) == 1
    out = capsys.readouterr().out
    assert "hòm phiếu HỢP LỆ" in out  # the box is fine; the ballot is not in it
    assert f"[LỖI] Phiếu có mã biên nhận {stranger} nằm trong hòm phiếu: KHÔNG có phiếu nào" in out
    assert run(tmp_path, "verify", str(box_file), "--fingerprint", stranger, "--json") == 1
    line = json.loads(capsys.readouterr().out)[-1]
    assert (line["id"], line["ok"]) == ("fingerprint", False)


@pytest.mark.parametrize("typed", ["", "5F6A-CEC2-7C88", "5F6A-CEC2-7C88-E01G", "x" * 70])
def test_fingerprint_that_is_not_a_receipt_is_a_usage_error(
        tmp_path: Path, box_file: Path, typed: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(tmp_path, "verify", str(box_file), "--fingerprint", typed)
    assert exit_info.value.code == 2
    assert "mã biên nhận" in capsys.readouterr().err.lower()


# --- verify --results -------------------------------------------------------------------

@pytest.fixture
def results_file(tmp_path: Path, box_file: Path, share_files: list[Path]) -> Path:
    """The board's signed results, from `counter tally`."""
    out = tmp_path / "ket-qua.json"
    assert run(tmp_path, "tally", str(box_file), *shares_args(share_files), "--json", str(out)) == 0
    return out


def resign(path: Path, document: dict[str, object], key: bytes = COUNTER_SIGNING_KEY) -> None:
    body = {k: v for k, v in document.items() if k != "signature"}
    document["signature"] = {"algorithm": "Ed25519", "public_key": crypto.signing_public_key(key).hex(),
                             "value": crypto.sign(key, canonical_bytes(body)).hex()}
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")


def test_results_check_needs_no_share_agrees_with_the_tally_and_exits_0(
        tmp_path: Path, box_file: Path, results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(tmp_path, "verify", str(box_file), "--results", str(results_file)) == 0
    out = capsys.readouterr().out
    assert f"[OK] Kết quả kiểm phiếu khớp hòm phiếu (kiểm tra độc lập, không cần mảnh khóa): {CASTING} phiếu" in out


def test_results_check_does_not_go_through_the_tally_code(
        tmp_path: Path, box_file: Path, results_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the results check used the tally code")

    for name in ("tally_box", "signed_results", "check_results_signature"):
        monkeypatch.setattr(tally, name, forbidden)
    for name in ("count_rows", "percentage", "person_result", "low_confidence_band"):
        monkeypatch.setattr(rules, name, forbidden)
    assert run(tmp_path, "verify", str(box_file), "--results", str(results_file)) == 0


def test_results_check_names_every_difference_and_exits_1(
        tmp_path: Path, box_file: Path, results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(results_file.read_text("utf-8"))
    person = document["persons"][1]
    true_high, true_name = person["high"], person["name"]
    person["high"] += 1
    person["pct_low"] = "99.99"
    document["ballots_collected"] += 1
    document["persons"][0]["band"] = "two_thirds"
    resign(results_file, document)  # re-signed by the ceremony's own counter key: an insider
    capsys.readouterr()
    assert run(tmp_path, "verify", str(box_file), "--results", str(results_file)) == 1
    out = capsys.readouterr().out
    assert "hòm phiếu HỢP LỆ" in out
    assert "[LỖI] Kết quả kiểm phiếu khớp hòm phiếu (kiểm tra độc lập, không cần mảnh khóa): 4 chỗ không khớp" in out
    assert f"Số phiếu thu về: tệp kết quả ghi {CASTING + 1}, tính lại được {CASTING}." in out
    assert (f"Người thứ 2 ({true_name}), số phiếu tín nhiệm cao: tệp kết quả ghi {true_high + 1}, "
            f"tính lại được {true_high}.") in out
    assert f"Người thứ 2 ({true_name}), tỷ lệ tín nhiệm thấp: tệp kết quả ghi “99.99”" in out
    assert "Người thứ 1" in out and "mức cảnh báo: tệp kết quả ghi “two_thirds”" in out
    assert run(tmp_path, "verify", str(box_file), "--results", str(results_file), "--json") == 1
    line = json.loads(capsys.readouterr().out)[-1]
    assert (line["id"], line["ok"], line["reason"]) == ("results", False, "results.figures")
    assert len(line["differences"]) == 4


def test_results_re_signed_with_another_key_fail_the_check(
        tmp_path: Path, box_file: Path, results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    resign(results_file, json.loads(results_file.read_text("utf-8")), crypto.generate_signing_key())
    capsys.readouterr()
    assert run(tmp_path, "verify", str(box_file), "--results", str(results_file)) == 1
    assert "không mang chữ ký hợp lệ của máy kiểm phiếu đã tổ chức lễ tạo khóa" in capsys.readouterr().out


def test_results_check_of_a_tampered_box_fails(
        tmp_path: Path, election: Built, results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tampered = tmp_path / "tampered.json"
    document = json.loads(election.box)
    del document["ballots"][2]  # a dropped ballot: the box and the sums both say so
    tampered.write_text(json.dumps(document), "utf-8")
    capsys.readouterr()
    assert run(tmp_path, "verify", str(tampered), "--results", str(results_file)) == 1
    out = capsys.readouterr().out
    assert "hòm phiếu không qua các bước kiểm tra ở trên" in out
    assert "tổng mã hóa trong tệp kết quả khác tổng tính lại từ các phiếu trong hòm" in out


@pytest.mark.parametrize("argv", [["--recount"], ["--share", "s.json"], ["--recount-with-shares", "s.json"]])
def test_no_share_option_is_left_on_verify(tmp_path: Path, box_file: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(tmp_path, "verify", str(box_file), *argv)
    assert exit_info.value.code == 2


def test_results_check_exits_2_for_an_unreadable_results_file(tmp_path: Path, box_file: Path) -> None:
    broken = tmp_path / "ket-qua.json"
    broken.write_text("{ not json", "utf-8")
    assert run(tmp_path, "verify", str(box_file), "--results", str(broken)) == 2
    assert run(tmp_path, "verify", str(box_file), "--results", str(tmp_path / "missing.json")) == 2


# --- tally -------------------------------------------------------------------------------

def test_tally_writes_signed_results_equal_to_the_choices_cast(
        tmp_path: Path, box_file: Path, share_files: list[Path], election: Built) -> None:
    out_json, out_html = tmp_path / "ket-qua.json", tmp_path / "bao-cao.html"
    assert run(tmp_path, "tally", str(box_file), *shares_args(share_files),
               "--json", str(out_json), "--html", str(out_html)) == 0
    document = json.loads(out_json.read_text("utf-8"))
    expected = election.rehearsal.expected_counts(PERSONS)
    assert document["ballots_collected"] == CASTING
    assert [(p["high"], p["trust"], p["low"]) for p in document["persons"]] == expected
    for person, (high, trust, low) in zip(document["persons"], expected, strict=True):
        assert (person["pct_high"], person["pct_trust"], person["pct_low"]) == \
            (str(percentage(high, CASTING)), str(percentage(trust, CASTING)), str(percentage(low, CASTING)))
    assert check_results_signature(document, COUNTER_KEY)
    html = out_html.read_text("utf-8")
    for phrase in ("Mật", "BÁO CÁO KẾT QUẢ PHIẾU TÍN NHIỆM", "T/M BAN KIỂM PHIẾU",
                   "Ghi chú: Tỷ lệ % tính trên tổng số phiếu thu về.", "Lê Văn Kiểm 1"):
        assert phrase in html
    for person in document["persons"]:
        assert person["name"] in html and person["pct_low"].replace(".", ",") in html
    assert "<style>" in html and ".results" in html  # prints correctly without the web server


def test_tally_refuses_k_minus_one_shares_and_writes_nothing(
        tmp_path: Path, box_file: Path, share_files: list[Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_html = tmp_path / "ket-qua.json", tmp_path / "bao-cao.html"
    assert run(tmp_path, "tally", str(box_file), *shares_args(share_files[:1]),
               "--json", str(out_json), "--html", str(out_html)) == 1
    assert "Cần ít nhất 2 mảnh khóa khác nhau; mới có 1." in capsys.readouterr().err
    assert not out_json.exists() and not out_html.exists()


def test_tally_names_a_foreign_share_and_writes_nothing(
        tmp_path: Path, box_file: Path, share_files: list[Path], foreign: Built,
        capsys: pytest.CaptureFixture[str]) -> None:
    stranger = tmp_path / "manh-la.json"
    stranger.write_text(foreign.cards[0].to_json(), "utf-8")
    out_json = tmp_path / "ket-qua.json"
    assert run(tmp_path, "tally", str(box_file), *shares_args([share_files[0], stranger]),
               "--json", str(out_json)) == 1
    err = capsys.readouterr().err
    assert f"Tệp mảnh khóa {stranger}: Mảnh khóa này thuộc cuộc lấy phiếu khác" in err
    assert not out_json.exists()


def test_tally_refuses_a_tampered_box_and_writes_nothing(
        tmp_path: Path, election: Built, share_files: list[Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(flip_ballot_byte(election.box))
    out_json = tmp_path / "ket-qua.json"
    assert run(tmp_path, "tally", str(tampered), *shares_args(share_files), "--json", str(out_json)) == 1
    assert "Hòm phiếu không qua kiểm tra, không giải mã" in capsys.readouterr().err
    assert not out_json.exists()


def test_tally_refuses_a_box_without_a_valid_close_record(
        tmp_path: Path, election: Built, share_files: list[Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(election.box)
    document["close"]["record"]["counts"]["ballots"] += 1  # breaks the close record's signature
    broken = tmp_path / "no-close.json"
    broken.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    out_json = tmp_path / "ket-qua.json"
    assert run(tmp_path, "tally", str(broken), *shares_args(share_files), "--json", str(out_json)) == 1
    assert "Biên bản kết thúc (close record)" in capsys.readouterr().err
    assert not out_json.exists()
    del document["close"]
    broken.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    assert run(tmp_path, "tally", str(broken), *shares_args(share_files), "--json", str(out_json)) == 1
    assert not out_json.exists()


def test_tally_on_another_counter_than_the_ceremonys_is_refused_and_writes_nothing(
        tmp_path: Path, box_file: Path, share_files: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tmp_path / "ket-qua.json"
    other_home = tmp_path / "other-home"  # a fresh counter: its own signing key
    assert main(["--home", str(other_home), "tally", str(box_file), *shares_args(share_files),
                 "--json", str(out_json)]) == 1
    assert "không phải máy đã tổ chức lễ tạo khóa" in capsys.readouterr().err
    assert not out_json.exists()


def test_tally_exits_2_for_a_missing_share_file(tmp_path: Path, box_file: Path,
                                                share_files: list[Path]) -> None:
    out_json = tmp_path / "ket-qua.json"
    missing = tmp_path / "khong-co.json"
    assert run(tmp_path, "tally", str(box_file), *shares_args([share_files[0], missing]),
               "--json", str(out_json)) == 2
    assert not out_json.exists()


def test_cli_creates_home_secrets_with_mode_0600(tmp_path: Path, box_file: Path,
                                                 share_files: list[Path]) -> None:
    assert run(tmp_path, "tally", str(box_file), *shares_args(share_files),
               "--json", str(tmp_path / "r.json")) == 0
    for name in ("secret_key", "signing_key"):
        assert stat.S_IMODE((tmp_path / "home" / name).stat().st_mode) == 0o600


# --- check-results -------------------------------------------------------------------------

def test_check_results_passes_pinned_then_fails_after_editing_a_number(
        tmp_path: Path, box_file: Path, results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-results", str(results_file), "--counter-key", COUNTER_KEY]) == 0
    assert main(["check-results", str(results_file), "--box", str(box_file)]) == 0
    assert main(["check-results", str(results_file), "--counter-key", "cd" * 32]) == 1
    document = json.loads(results_file.read_text("utf-8"))
    assert check_results_signature(document, COUNTER_KEY)
    document["persons"][0]["high"] += 1
    results_file.write_text(json.dumps(document, ensure_ascii=False, indent=2), "utf-8")
    capsys.readouterr()
    assert main(["check-results", str(results_file), "--box", str(box_file)]) == 1
    assert "Chữ ký KHÔNG hợp lệ" in capsys.readouterr().err


def test_check_results_refuses_a_file_re_signed_with_another_key(
        tmp_path: Path, box_file: Path, results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(results_file.read_text("utf-8"))
    document["persons"][0]["high"] += 1
    resign(results_file, document, crypto.generate_signing_key())  # a valid signature, by a stranger
    assert main(["check-results", str(results_file), "--box", str(box_file)]) == 1
    assert main(["check-results", str(results_file), "--counter-key", COUNTER_KEY]) == 1


def test_check_results_needs_a_pinned_key(tmp_path: Path, results_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check-results", str(results_file)])
    assert exit_info.value.code == 2
    assert "--counter-key" in capsys.readouterr().err


# --- serve -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_runs_gunicorn_and_answers_healthz_with_security_headers(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "counter.cli", "--home", str(tmp_path / "home"),
         "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, body, headers = time.monotonic() + 30, "", {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body, headers = response.read().decode(), dict(response.headers)
                    break
            except OSError:
                time.sleep(0.2)
        assert body == "ok"
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
