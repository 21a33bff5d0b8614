"""`counter tally --pdf/--docx/--xlsx/--csv`, `counter report` and `counter consolidate`."""

from __future__ import annotations

import json
import stat
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from counter.cli import main
from counter.consolidate import ConsolidationError, consolidate, name_key
from counter.counting import count_box
from counter.documents.consolidated import SHEET_MEETINGS, SHEET_TABLE
from counter.documents.xlsx import SHEET_RESULTS, TABLE_TOP
from shared import crypto
from shared.glossary import BAND_LABELS
from tests.counter_support import counter_home
from tests.documents_support import (
    KnownBox,
    figures,
    known_box,
    pdf_layout_lines,
    pdf_text,
)
from tests.factories import COUNTER_SIGNING_KEY

FORMATS = ("pdf", "docx", "xlsx", "csv", "html")


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> KnownBox:
    return known_box(tmp_path_factory.mktemp("known"))


@pytest.fixture
def files(tmp_path: Path, election: KnownBox) -> dict[str, Path]:
    box = tmp_path / "hom-phieu.json"
    box.write_bytes(election.box)
    paths = {"box": box}
    for card in election.cards:
        paths[f"share{card.index}"] = tmp_path / f"manh-{card.index}.json"
        paths[f"share{card.index}"].write_text(card.to_json(), "utf-8")
    return paths


def run(tmp_path: Path, *argv: str) -> int:
    return main(["--home", str(counter_home(tmp_path / "home")), *argv])


def outputs(tmp_path: Path) -> dict[str, Path]:
    return {key: tmp_path / f"bao-cao.{key}" for key in FORMATS}


def output_args(paths: dict[str, Path]) -> list[str]:
    return [arg for key, path in paths.items() for arg in (f"--{key}", str(path))]


# --- tally --------------------------------------------------------------------------------

def test_tally_writes_every_format_from_the_one_signed_result(
        tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = outputs(tmp_path)
    results = tmp_path / "ket-qua.json"
    code = run(tmp_path, "tally", str(files["box"]), "--share", str(files["share1"]),
               "--share", str(files["share3"]), "--json", str(results), *output_args(out))
    assert code == 0
    printed = capsys.readouterr().out
    document = json.loads(results.read_text("utf-8"))
    for key, path in out.items():
        assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600, key
        assert str(path) in printed
    lines = pdf_layout_lines(out["pdf"].read_bytes())
    sheet = openpyxl.load_workbook(out["xlsx"])[SHEET_RESULTS]
    word = docx.Document(str(out["docx"])).tables[1]
    word_rows = [[c.text for c in row.cells] for row in word.rows]
    html = out["html"].read_text("utf-8")
    csv_text = out["csv"].read_bytes().decode("utf-8-sig")
    for offset, person in enumerate(document["persons"]):
        expected = figures(person)
        line = next(line for line in lines if person["name"] in line).split()
        assert " ".join(expected) in " ".join(line)
        cells = [sheet.cell(row=TABLE_TOP + 3 + offset, column=c).value for c in range(4, 11)]
        assert [str(cells[0])] + [str(c) if i % 2 == 0 else f"{Decimal(str(c)):.2f}".replace(".", ",")
                                  for i, c in enumerate(cells[1:])] == expected
        assert next(r for r in word_rows if r[1] == person["name"])[3:10] == expected
        assert person["pct_high"].replace(".", ",") in html
        assert f'{person["name"]},' in csv_text and f',{person["pct_low"]},' in csv_text


def test_tally_refused_writes_no_document(tmp_path: Path, files: dict[str, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = outputs(tmp_path)
    results = tmp_path / "ket-qua.json"
    code = run(tmp_path, "tally", str(files["box"]), "--share", str(files["share1"]),
               "--json", str(results), *output_args(out))
    assert code == 1
    assert "Cần ít nhất 2 mảnh khóa khác nhau; mới có 1." in capsys.readouterr().err
    assert not results.exists() and not any(path.exists() for path in out.values())


def test_tally_without_the_font_refuses_before_decrypting(
        tmp_path: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COUNTER_FONT_DIR", str(tmp_path))
    monkeypatch.setattr("counter.documents.fonts.SEARCH_DIRS", ())
    results, pdf = tmp_path / "ket-qua.json", tmp_path / "bao-cao.pdf"
    code = run(tmp_path, "tally", str(files["box"]), "--share", str(files["share1"]),
               "--share", str(files["share2"]), "--json", str(results), "--pdf", str(pdf))
    assert code == 1
    assert "fonts-dejavu-core" in capsys.readouterr().err
    assert not results.exists() and not pdf.exists()


# --- report from a stored results file ----------------------------------------------------

def test_report_command_renders_documents_from_a_signed_results_file_and_refuses_an_edited_one(
        tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "ket-qua.json"
    assert run(tmp_path, "tally", str(files["box"]), "--share", str(files["share1"]),
               "--share", str(files["share2"]), "--json", str(results)) == 0
    document = json.loads(results.read_text("utf-8"))
    pdf, xlsx = tmp_path / "lai.pdf", tmp_path / "lai.xlsx"
    assert run(tmp_path, "report", str(results), "--pdf", str(pdf), "--xlsx", str(xlsx),
               "--counter-key", document["signature"]["public_key"]) == 0
    assert run(tmp_path, "report", str(results), "--pdf", str(pdf), "--box", str(files["box"])) == 0
    assert all(person["name"] in pdf_text(pdf.read_bytes()) for person in document["persons"])
    assert run(tmp_path, "report", str(results), "--pdf", str(tmp_path / "x.pdf"),
               "--counter-key", "ab" * 32) == 1
    document["persons"][0]["high"] += 1
    results.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    capsys.readouterr()
    again = tmp_path / "sua.pdf"
    assert run(tmp_path, "report", str(results), "--pdf", str(again)) == 1
    assert "chưa chỉ định khóa máy kiểm phiếu" in capsys.readouterr().err  # unpinned: refused
    assert run(tmp_path, "report", str(results), "--pdf", str(again), "--box", str(files["box"])) == 1
    assert "chữ ký KHÔNG hợp lệ" in capsys.readouterr().err
    assert not again.exists() and not (tmp_path / "x.pdf").exists()


def test_report_of_results_re_signed_with_another_key_is_refused_unless_that_key_is_pinned(
        tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from shared.canonical import canonical_bytes

    results = tmp_path / "ket-qua.json"
    assert run(tmp_path, "tally", str(files["box"]), "--share", str(files["share1"]),
               "--share", str(files["share2"]), "--json", str(results)) == 0
    document = json.loads(results.read_text("utf-8"))
    document["persons"][0]["high"] += 1
    stranger = crypto.generate_signing_key()  # anyone can re-sign an edited file with a key of their own
    body = {k: v for k, v in document.items() if k != "signature"}
    document["signature"] = {"algorithm": "Ed25519", "public_key": crypto.signing_public_key(stranger).hex(),
                             "value": crypto.sign(stranger, canonical_bytes(body)).hex()}
    results.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    pdf = tmp_path / "gia.pdf"
    capsys.readouterr()
    # Pinned to the box's counter key (the ceremony's) or to that key typed: refused, nothing written.
    assert run(tmp_path, "report", str(results), "--pdf", str(pdf), "--box", str(files["box"])) == 1
    assert "chữ ký KHÔNG hợp lệ" in capsys.readouterr().err
    assert run(tmp_path, "report", str(results), "--pdf", str(pdf), "--counter-key",
               crypto.signing_public_key(COUNTER_SIGNING_KEY).hex()) == 1
    assert main(["check-results", str(results), "--box", str(files["box"])]) == 1
    assert not pdf.exists()
    # Only pinning the stranger's own key makes the signature count: the pin is what trusts.
    assert main(["check-results", str(results), "--counter-key", crypto.signing_public_key(stranger).hex()]) == 0


# --- consolidation -------------------------------------------------------------------------

# The second meeting: Đỗ Thị Hằng again (another post there, name typed with extra spaces
# and in decomposed Unicode), plus two persons voted on only there.
SECOND_PERSONS = [
    {"name": "Bùi Quang Vinh", "position": "Phó Chủ tịch", "unit": "Hội đồng nhân dân tỉnh"},
    {"name": unicodedata.normalize("NFD", "Đỗ  Thị Hằng"), "position": "Phó Bí thư Tỉnh ủy",
     "unit": "Tỉnh ủy Hà Giang"},
    {"name": "Trịnh Thị Mỹ", "position": "Trưởng ban Pháp chế", "unit": "Hội đồng nhân dân tỉnh"},
]
SECOND_MARKS = [
    [0, 0, 0, 0, 1],  # Bùi Quang Vinh 4/1/0
    [2, 2, 2, 2, 0],  # Đỗ Thị Hằng 1/0/4 -> 20.00 / 0.00 / 80.00, two thirds (nq96 wording)
    [0, 1, 1, 2, 2],  # Trịnh Thị Mỹ 1/2/2
]


@pytest.fixture(scope="module")
def meetings(tmp_path_factory: pytest.TempPathFactory, election: KnownBox) -> list[dict[str, Any]]:
    """Signed results of two meetings, counted on two different counter laptops (each its ceremony's)."""
    laptop = crypto.generate_signing_key()
    second = known_box(tmp_path_factory.mktemp("second"), SECOND_PERSONS, SECOND_MARKS, profile="nq96",
                       title="Kỳ họp thứ mười lăm Hội đồng nhân dân tỉnh",
                       organization="Hội đồng nhân dân tỉnh Hà Giang", counter_signing_key=laptop)
    documents = []
    for built, key in ((election, COUNTER_SIGNING_KEY), (second, laptop)):
        box = json.loads(built.box)
        documents.append(count_box(box, [("thẻ", c.code) for c in built.cards[:2]], key))
    return documents


def trusted(meetings: list[dict[str, Any]]) -> list[str]:
    """--counter-key for each meeting's signer (consolidation is pinned, never unsigned-trusting)."""
    return [arg for m in meetings for arg in ("--counter-key", m["signature"]["public_key"])]


def write_meetings(tmp_path: Path, meetings: list[dict[str, Any]]) -> list[Path]:
    paths = []
    for number, document in enumerate(meetings, start=1):
        path = tmp_path / f"ket-qua-{number}.json"
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2), "utf-8")
        paths.append(path)
    return paths


def group(sheet: Any, row: int, meeting: int) -> list[Any]:
    first = 5 + 8 * (meeting - 1)
    return [sheet.cell(row=row, column=c).value for c in range(first, first + 8)]


def test_consolidated_table_puts_a_person_voted_on_in_two_places_side_by_side(
        tmp_path: Path, meetings: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    paths = write_meetings(tmp_path, meetings)
    xlsx, html = tmp_path / "tong-hop.xlsx", tmp_path / "tong-hop.html"
    assert run(tmp_path, "consolidate", *map(str, paths), "--xlsx", str(xlsx), "--html", str(html),
               *trusted(meetings)) == 0
    printed = capsys.readouterr().out
    assert "Đã tổng hợp 2 cuộc lấy phiếu, 6 người được lấy phiếu." in printed
    assert "Được lấy phiếu ở 2 nơi: Đỗ Thị Hằng" in printed

    workbook = openpyxl.load_workbook(xlsx)
    sheet = workbook[SHEET_TABLE]
    top = 9  # title rows, then three heading rows
    names = [sheet.cell(row=top + i, column=2).value for i in range(6)]
    assert names == ["Đỗ Thị Hằng", "Lương Văn Ước", "Nguyễn Đức Ánh", "Hoàng Thị Yến",
                     "Bùi Quang Vinh", "Trịnh Thị Mỹ"]
    assert sheet.cell(row=top + 6, column=2).value is None
    assert [sheet.cell(row=top + i, column=4).value for i in range(6)] == [2, 1, 1, 1, 1, 1]
    # One official, two posts in two places (C.VI.4): one row, both posts listed.
    assert sheet.cell(row=top, column=3).value == \
        "Chủ tịch, Ủy ban nhân dân tỉnh; Phó Bí thư Tỉnh ủy, Tỉnh ủy Hà Giang"
    both = top  # Đỗ Thị Hằng
    first, second = group(sheet, both, 1), group(sheet, both, 2)
    assert first[:7] == [7, 3, 42.86, 2, 28.57, 2, 28.57] and first[7] is None
    assert second[:7] == [5, 1, 20, 0, 0, 4, 80]
    assert second[7] == BAND_LABELS["nq96"]["two_thirds"]
    assert group(sheet, top + 4, 1) == [None] * 8  # Bùi Quang Vinh: only in the second meeting
    assert group(sheet, top + 1, 1)[7] == BAND_LABELS["qd96"]["two_thirds"]
    assert "Nơi 1: Ủy ban nhân dân tỉnh Hà Giang" in str(sheet.cell(row=6, column=5).value)
    assert "Nơi 2: Hội đồng nhân dân tỉnh Hà Giang" in str(sheet.cell(row=6, column=13).value)
    assert "số phiếu thu về: 5" in str(sheet.cell(row=6, column=13).value)
    assert sheet.cell(row=1, column=1).value == "MẬT"
    listing = list(workbook[SHEET_MEETINGS].iter_rows(min_row=4, values_only=True))
    assert [row[7] for row in listing] == [m["election_id"] for m in meetings]
    assert [row[8] for row in listing] == [m["signature"]["public_key"] for m in meetings]

    page = html.read_text("utf-8")
    assert "BẢNG TỔNG HỢP KẾT QUẢ LẤY PHIẾU TÍN NHIỆM" in page and "MẬT" in page
    assert "<strong>Đỗ Thị Hằng</strong> (2 nơi)" in page
    row = page.split('<tr data-person="1" class="several-places">')[1].split("</tr>")[0]
    assert '3 (42,86%)' in row and '4 (80,00%)' in row and BAND_LABELS["nq96"]["two_thirds"] in row
    assert page.count("không lấy phiếu tại nơi này") == 5
    assert "<script" not in page


def test_consolidation_refuses_a_tampered_a_repeated_or_an_untrusted_file(
        tmp_path: Path, meetings: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    first, second = write_meetings(tmp_path, meetings)
    out = tmp_path / "tong-hop.xlsx"
    assert run(tmp_path, "consolidate", str(first), str(second), "--xlsx", str(out)) == 1
    assert "chưa chỉ định khóa máy kiểm phiếu" in capsys.readouterr().err  # nothing is trusted unpinned
    assert run(tmp_path, "consolidate", str(first), str(first), "--xlsx", str(out), *trusted(meetings)) == 1
    assert "là kết quả của cùng một cuộc lấy phiếu" in capsys.readouterr().err
    assert run(tmp_path, "consolidate", str(first), str(second), "--xlsx", str(out),
               "--counter-key", meetings[0]["signature"]["public_key"]) == 1
    assert "không nằm trong danh sách khóa" in capsys.readouterr().err
    edited = json.loads(second.read_text("utf-8"))
    edited["persons"][1]["low"] -= 1
    second.write_text(json.dumps(edited, ensure_ascii=False), "utf-8")
    assert run(tmp_path, "consolidate", str(first), str(second), "--xlsx", str(out), *trusted(meetings)) == 1
    assert f"{second}: chữ ký KHÔNG hợp lệ" in capsys.readouterr().err
    assert not out.exists()


def test_two_people_of_one_name_on_one_ballot_stay_apart_and_the_same_post_finds_its_row(
        meetings: list[dict[str, Any]]) -> None:
    twin = json.loads(json.dumps(meetings[0]))
    twin["election_id"] = "TWINTWINTWIN0001"
    twin["persons"][1]["name"] = twin["persons"][0]["name"]  # a Giám đốc of the same name
    consolidation = consolidate([("a", twin), ("b", meetings[1])])
    rows = [p for p in consolidation.persons if name_key(p.name) == name_key("Đỗ Thị Hằng")]
    # Meeting b's Phó Bí thư could be either of the two: no guess, a row of its own.
    assert [(p.positions, sorted(p.outcomes)) for p in rows] == [
        (["Chủ tịch, Ủy ban nhân dân tỉnh"], [1]), (["Giám đốc, Sở Tài chính"], [1]),
        (["Phó Bí thư Tỉnh ủy, Tỉnh ủy Hà Giang"], [2])]
    same_post = json.loads(json.dumps(meetings[1]))
    same_post["persons"][1].update(position="Chủ tịch", unit="Ủy ban nhân dân tỉnh")
    consolidation = consolidate([("a", twin), ("b", same_post)])
    rows = [p for p in consolidation.persons if name_key(p.name) == name_key("Đỗ Thị Hằng")]
    assert [sorted(p.outcomes) for p in rows] == [[1, 2], [1]]  # the same post joins its row
    assert name_key("Đỗ  Thị Hằng") == name_key("đỗ thị hằng")


def test_consolidate_rejects_a_results_file_that_is_not_one(tmp_path: Path) -> None:
    from counter.consolidate import read_results

    with pytest.raises(ConsolidationError, match="không phải là tệp kết quả"):
        read_results("x.json", b'{"format": "cv-ballot-box"}')
    with pytest.raises(ConsolidationError, match="x.json được lưu bằng mã UTF-16"):
        read_results("x.json", b"\xff\xfe not json")
    with pytest.raises(ConsolidationError, match="x.json không phải JSON hợp lệ"):
        read_results("x.json", b"not json")
    with pytest.raises(ConsolidationError, match="“format” lặp lại"):
        read_results("x.json", b'{"format": "cv-results", "format": "cv-results"}')
