"""Every file the product reads is read strictly (shared/json_input.py), by every command and page.

Nested, repeated-key, wrongly encoded or plain garbage files must give a Vietnamese refusal
and a non-zero exit, never a Python traceback; the counter's import answers 400, never 500.
"""

from __future__ import annotations

import io
import json
import random
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from counter.cli import main as counter
from kiosk.cli import main as kiosk
from shared import crypto, json_input
from shared.box import load_box, read_box
from shared.errors import BoxInvalid
from tests.counter_support import Browser, Built, counter_home
from tests.factories import COUNTER_SIGNING_KEY, election_spec

VIETNAMESE = re.compile("[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]",
                        re.IGNORECASE)
COUNTER_KEY = crypto.signing_public_key(COUNTER_SIGNING_KEY).hex()
_NOISE = random.Random(16)

# name -> bytes of a file that is no file of this product.
GARBAGE: dict[str, bytes] = {
    "nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nested, never closed": b"[" * 1_000_000,
    "repeated key at depth": b'{"format":"cv-ballot-box","version":2,"manifest":{"persons":[],"persons":[1]}}',
    "repeated top-level key": b'{"format":"cv-results","format":"cv-results","version":2}',
    "byte-order mark": b"\xef\xbb\xbf" + json.dumps(election_spec(2, 2)).encode(),
    "UTF-16": json.dumps(election_spec(2, 2), ensure_ascii=False).encode("utf-16"),
    "UTF-16 without BOM": json.dumps(election_spec(2, 2), ensure_ascii=False).encode("utf-16-le"),
    "Latin-1": '{"title": "Hội nghị", "place": "Hà Giang"}'.encode("cp1258", "replace"),
    "NaN": b'{"format":"cv-results","version":NaN}',
    "lone surrogate": b'{"format":"cv-ballot-box","version":2,"t":"\\ud800"}',
    "empty": b"",
    "truncated": b'{"format":"cv-ballot-box","version":2,"ballots":[{"a"',
    "random bytes": bytes(_NOISE.randrange(256) for _ in range(4096)),
    "random brackets": bytes(_NOISE.choice(b'[]{}",:1a\\') for _ in range(20_000)),
}

REPEATED_KEY = "%(what)s có khóa “%(key)s” lặp lại trong cùng một đối tượng."


def refused_in_vietnamese(code: int, captured: Any) -> None:
    text = captured.out + captured.err
    assert code != 0, text
    assert "Traceback" not in text
    assert VIETNAMESE.search(captured.err), captured.err


# --- the reader itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GARBAGE))
def test_the_reader_refuses_every_garbage_file_in_vietnamese(name: str) -> None:
    data = GARBAGE[name]
    with pytest.raises(json_input.JsonRefused) as refused:
        json_input.parse(data, "Tệp thử", 10_000_000)
    assert VIETNAMESE.search(str(refused.value)) and "Tệp thử" in str(refused.value)


@pytest.mark.parametrize(("data", "words"), [
    (b"[" * 33 + b"]" * 33, "quá 32 tầng"),
    (b'{"a":{"b":[{"c":1,"c":2}]}}', "“c” lặp lại"),
    (b"\xef\xbb\xbf{}", "BOM"),
    ("{}".encode("utf-16"), "UTF-16"),
    (b'{"a":"Caf\xe9"}', "Latin-1"),
    (b'{"a":Infinity}', "Infinity"),
    (b'["\\udc00"]', "ký tự không hợp lệ"),
    (b"{} {}", "không phải JSON hợp lệ"),
    (b" " * 11, "quá lớn"),
])
def test_each_refusal_names_its_reason(data: bytes, words: str) -> None:
    with pytest.raises(json_input.JsonRefused, match=words):
        json_input.parse(data, "Tệp thử", 10 if words == "quá lớn" else 1000)


def test_what_an_honest_file_holds_is_read_unchanged() -> None:
    value: dict[str, Any] = {"a": [1, -2, True, None, "Sơn \\ \" [{"], "b": {"c": "😀 \u1ec5"}, "d": [[[[]]]]}
    for encoded in (json.dumps(value).encode(), json.dumps(value, ensure_ascii=False, indent=2).encode()):
        assert json_input.parse(encoded, "Tệp thử", 10_000) == value
    assert json_input.parse(b"[" * 32 + b"]" * 32, "Tệp thử", 100) == json.loads("[" * 32 + "]" * 32)


def test_depth_scan_finds_brackets_only_outside_strings_across_any_chunking() -> None:
    rng = random.Random(5)
    for _ in range(300):
        doc = _nested(rng, rng.randrange(1, 40))
        data = json.dumps(doc).encode()
        deepest = _depth(doc)
        for size in (1, 2, 3, 5, 64):
            scan = json_input.DepthScan("x", limit=deepest)
            for i in range(0, len(data), size):
                scan.feed(data[i:i + size])
            assert scan.depth == 0
            with pytest.raises(json_input.JsonRefused):
                low = json_input.DepthScan("x", limit=deepest - 1)
                for i in range(0, len(data), size):
                    low.feed(data[i:i + size])


def _nested(rng: random.Random, depth: int) -> Any:
    if depth == 0:
        return rng.choice(['[[["', '\\', 'a\\"{', 1, None])
    inner = _nested(rng, depth - 1)
    return [inner, '"]\\'] if rng.random() < 0.5 else {'k"[\\': inner}


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


# --- the box readers -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GARBAGE))
def test_both_box_readers_refuse_garbage_with_a_vietnamese_box_invalid(tmp_path: Path, name: str) -> None:
    path = tmp_path / "box.json"
    path.write_bytes(GARBAGE[name])
    for read in (lambda: load_box(GARBAGE[name]), lambda: list(read_box(path).get("ballots", []))):
        with pytest.raises(BoxInvalid) as refused:
            read()
        assert VIETNAMESE.search(str(refused.value))


def test_a_repeated_key_inside_a_ballot_entry_is_refused_when_streamed(tmp_path: Path, election: Built) -> None:
    text = election.box.replace(b'{"ballot":', b'{"ballot":"AAAA","ballot":', 1)
    path = tmp_path / "box.json"
    path.write_bytes(text)
    for read in (lambda: list(read_box(path)["ballots"]), lambda: load_box(text)):
        with pytest.raises(BoxInvalid) as refused:
            read()
        assert refused.value.message_id == REPEATED_KEY and refused.value.params["key"] == "ballot"


def test_a_decoy_persons_inside_the_manifest_is_refused(tmp_path: Path, election: Built) -> None:
    text = election.box.replace(b'"persons":[', b'"persons":[],"persons":[', 1)
    path = tmp_path / "box.json"
    path.write_bytes(text)
    for read in (lambda: load_box(text), lambda: read_box(path)):
        with pytest.raises(BoxInvalid) as refused:
            read()
        assert refused.value.message_id == REPEATED_KEY and refused.value.params["key"] == "persons"


# --- every command -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kiosk_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A kiosk with one draft election (for `kiosk election key`)."""
    home = tmp_path_factory.mktemp("kiosk") / "home"
    spec = home.parent / "spec.json"
    spec.write_text(json.dumps(election_spec(persons=2, voters=3), ensure_ascii=False), "utf-8")
    assert kiosk(["--home", str(home), "init"]) == 0
    assert kiosk(["--home", str(home), "election", "create", str(spec)]) == 0
    return home, _last_election(home)


def _last_election(home: Path) -> str:
    from kiosk.config import load_config
    from shared.db import make_engine, session_factory, transaction
    from shared.models import Election
    with transaction(session_factory(make_engine(load_config(home).database_url))) as s:
        return str(s.query(Election.id).one()[0])


def commands(tmp_path: Path, garbage: Path, box: Path, share: Path, results: Path,
             kiosk_home: tuple[Path, str]) -> dict[str, tuple[Any, list[str]]]:
    home, election_id = kiosk_home
    counter_args = ["--home", str(counter_home(tmp_path / "counter"))]
    out = tmp_path / "out"
    return {
        "kiosk election create": (kiosk, ["--home", str(home), "election", "create", str(garbage)]),
        "kiosk election key": (kiosk, ["--home", str(home), "election", "key", election_id, str(garbage)]),
        "counter ceremony": (counter, [*counter_args, "ceremony", str(garbage), "--shares-dir",
                                       str(out / "shares"), "-o", str(out / "key.json")]),
        "counter verify": (counter, [*counter_args, "verify", str(garbage)]),
        "counter verify --json": (counter, [*counter_args, "verify", str(garbage), "--json"]),
        "counter verify --results": (counter, [*counter_args, "verify", str(box), "--results", str(garbage)]),
        "counter tally": (counter, [*counter_args, "tally", str(garbage), "--share", str(share), "--share",
                                    str(share), "--json", str(out / "r.json")]),
        "counter tally --share": (counter, [*counter_args, "tally", str(box), "--share", str(garbage),
                                            "--share", str(share), "--json", str(out / "r.json")]),
        "counter check-results": (counter, ["check-results", str(garbage), "--counter-key", COUNTER_KEY]),
        "counter check-results --box": (counter, ["check-results", str(results), "--box", str(garbage)]),
        "counter report": (counter, [*counter_args, "report", str(garbage), "--counter-key", COUNTER_KEY,
                                     "--html", str(out / "r.html")]),
        "counter consolidate": (counter, [*counter_args, "consolidate", str(garbage), "--counter-key",
                                          COUNTER_KEY, "--html", str(out / "c.html")]),
    }


COMMANDS = ["kiosk election create", "kiosk election key", "counter ceremony", "counter verify",
            "counter verify --json", "counter verify --results", "counter tally", "counter tally --share",
            "counter check-results", "counter check-results --box", "counter report", "counter consolidate"]


@pytest.mark.parametrize("name", list(GARBAGE))
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_every_garbage_file_in_vietnamese_without_a_traceback(
        tmp_path: Path, election: Built, kiosk_home: tuple[Path, str], capsys: pytest.CaptureFixture[str],
        command: str, name: str) -> None:
    garbage, box, share, results = (tmp_path / n for n in ("garbage.json", "box.json", "share.json", "r.json"))
    garbage.write_bytes(GARBAGE[name])
    box.write_bytes(election.box)
    share.write_text(election.cards[0].to_json(), "utf-8")
    results.write_text("{}", "utf-8")
    run, argv = commands(tmp_path, garbage, box, share, results, kiosk_home)[command]
    capsys.readouterr()
    try:
        code = run(argv)
    except SystemExit as exit_:  # argparse
        code = int(exit_.code or 0)
    refused_in_vietnamese(code, capsys.readouterr())


def test_an_empty_share_file_is_named_not_skipped(tmp_path: Path, election: Built,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    box, empty, first, second = (tmp_path / n for n in ("box.json", "empty.txt", "one.json", "two.txt"))
    box.write_bytes(election.box)
    empty.write_bytes(b"")
    first.write_text(election.cards[0].to_json(), "utf-8")
    second.write_text(election.cards[1].code, "utf-8")
    home = ["--home", str(counter_home(tmp_path / "counter"))]
    out = tmp_path / "r.json"
    # Two good shares are enough for k = 2: the empty third must still stop the count, named.
    code = counter([*home, "tally", str(box), "--share", str(first), "--share", str(second),
                    "--share", str(empty), "--json", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and str(empty) in err and "rỗng" in err and not out.exists()


# --- SPEC.json through the command line ------------------------------------------------------------

def test_spec_with_a_boolean_voter_id_is_refused(tmp_path: Path, kiosk_home: tuple[Path, str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    spec = election_spec(persons=2, voters=3)
    spec["voters"][0]["id"] = True
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    capsys.readouterr()
    assert kiosk(["--home", str(kiosk_home[0]), "election", "create", str(path)]) == 1
    assert "Mã người ghi phiếu dòng 1 phải là chuỗi ký tự hoặc số nguyên" in capsys.readouterr().err


def test_spec_with_one_person_written_nfd_and_nfc_is_refused_as_a_duplicate(
        tmp_path: Path, kiosk_home: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    spec = election_spec(persons=2, voters=3)
    name = "Nguyễn Văn Sơn"
    spec["persons"][0]["name"] = unicodedata.normalize("NFC", name)
    spec["persons"][1]["name"] = unicodedata.normalize("NFD", name)
    assert spec["persons"][0]["name"] != spec["persons"][1]["name"]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    capsys.readouterr()
    assert kiosk(["--home", str(kiosk_home[0]), "election", "create", str(path)]) == 1
    assert "trùng với người thứ 1" in capsys.readouterr().err


# --- the counter's web import ----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GARBAGE))
def test_web_import_of_garbage_answers_400_in_vietnamese_and_stores_nothing(
        browser: Browser, config: Any, name: str) -> None:
    token = browser.csrf_token("/")
    response = browser.post("/import", data={"csrf_token": token,
                                             "box_file": (io.BytesIO(GARBAGE[name]), "box.json")},
                            content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Không nhập được:" in page and "Không có gì được lưu" in page
    assert not config.boxes_dir.exists() or not any(config.boxes_dir.iterdir())


@pytest.mark.parametrize("name", ["UTF-16", "byte-order mark", "Latin-1"])
def test_web_share_upload_in_another_encoding_is_refused_naming_the_file(
        browser: Browser, election: Built, name: str) -> None:
    token = browser.csrf_token("/")
    browser.post("/import", data={"csrf_token": token, "box_file": (io.BytesIO(election.box), "b.json")},
                 content_type="multipart/form-data")
    page = f"/boxes/{election.election_id}"
    token = browser.csrf_token(page)
    response = browser.post(f"{page}/tally", data={"csrf_token": token, "share": [],
                                                   "share_file": [(io.BytesIO(GARBAGE[name]), "manh.json")]},
                            content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Tệp mảnh khóa 1 (manh.json)" in response.get_data(as_text=True)


# --- the definition the board's laptop reads -------------------------------------------------------

@pytest.mark.parametrize(("edit", "words"), [
    (lambda d: d["board"]["members"][0].__setitem__("index", True), "đánh số từ 1"),
    (lambda d: d.__setitem__("convened", True), "sai kiểu"),
    (lambda d: d["persons"][0].__setitem__("number", True), "đúng số thứ tự"),
    (lambda d: d["persons"][0].__setitem__("cast_order", 1), "đúng số thứ tự"),
])
def test_a_definition_with_a_boolean_for_a_number_is_refused_by_the_ceremony(
        tmp_path: Path, kiosk_home: tuple[Path, str], capsys: pytest.CaptureFixture[str],
        edit: Callable[[dict[str, Any]], None], words: str) -> None:
    home, election_id = kiosk_home
    path = tmp_path / "definition.json"
    assert kiosk(["--home", str(home), "election", "definition", election_id, "-o", str(path)]) == 0
    definition = json.loads(path.read_text("utf-8"))
    edit(definition)
    path.write_text(json.dumps(definition, ensure_ascii=False), "utf-8")
    capsys.readouterr()
    code = counter(["--home", str(counter_home(tmp_path / "counter")), "ceremony", str(path),
                    "--shares-dir", str(tmp_path / "shares"), "-o", str(tmp_path / "key.json")])
    assert code == 1 and words in capsys.readouterr().err
    assert not (tmp_path / "key.json").exists() and not (tmp_path / "shares").exists()
