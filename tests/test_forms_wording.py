"""The blanks of the seed's Phụ lục 3 (ballot) and Phụ lục 4 (report) that offices fill in:
"của …(1)", "đối với …(2)", "năm …", the locality of the date line, "Thực hiện nhiệm vụ do … giao"."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from counter.documents.word import render_docx
from counter.documents.xlsx import render_xlsx
from counter.report import render_report
from shared import crypto
from shared import election as elections
from shared import manifest as manifests
from shared.box import all_passed, verified_box, verify_box
from shared.ceremony import run_ceremony
from shared.db import transaction
from shared.errors import InvalidInput
from shared.recount import check_results
from shared.shares import parse_code
from shared.tally import tally_box
from tests.factories import COUNTER_SIGNING_KEY, election_spec, new_factory
from tests.kiosk_client import CHAIR, CODE_RE, DESK, client, form_from_spec, login, make_app, post, web_ceremony

DATA = Path(__file__).parent / "data"
PAIR_RE = re.compile(r'class="code huge">([^<]+)<')
QD96_BASIS = ("Thực hiện Quy định số 96-QĐ/TW, ngày 02/02/2023 của Bộ Chính trị về việc lấy phiếu tín nhiệm "
              "đối với các chức danh, chức vụ lãnh đạo, quản lý trong các cơ quan, đơn vị, tổ chức trong hệ "
              "thống chính trị; đề nghị đồng chí thể hiện sự tín nhiệm của mình đối với các đồng chí có tên "
              "dưới đây")


@pytest.fixture
def factory(db_url: str) -> Any:
    made = new_factory(db_url)
    yield made
    made.kw["bind"].dispose()


def definition_of(factory: sessionmaker[Session], spec: dict[str, Any]) -> dict[str, Any]:
    with transaction(factory) as s:
        e = elections.create_election(s, spec, "chair")
        return elections.election_definition(s, e, crypto.generate_signing_key())


def test_the_wording_enters_the_definition_and_so_the_manifest(factory: sessionmaker[Session]) -> None:
    definition = definition_of(factory, election_spec(persons=2, voters=3))
    assert definition["forms"] == {"ballot_of": "Ban Chấp hành Đảng bộ tỉnh",
                                   "ballot_for": "các chức danh lãnh đạo, quản lý",
                                   "year": election_spec()["forms"]["year"], "locality": "Hà Giang",
                                   "assigned_by": "Hội nghị"}
    assert manifests.check_definition(definition) is definition
    result = run_ceremony(definition, COUNTER_SIGNING_KEY)
    built = manifests.build_manifest(definition, result.key_file)
    assert built.forms is not None and built.forms.to_json_dict() == definition["forms"]
    assert built.to_json_dict()["forms"] == definition["forms"]


def test_year_defaults_to_the_meeting_year_and_blanks_may_stay_empty() -> None:
    spec = election_spec()
    del spec["forms"]
    spec["date"] = "2025-06-30"
    assert elections.validate_spec(spec)["forms"] == {"ballot_of": "", "ballot_for": "", "year": 2025,
                                                      "locality": "", "assigned_by": ""}


@pytest.mark.parametrize(("forms", "expected"), [
    ({"year": "2026"}, "Năm ghi trên phiếu"),
    ({"year": True}, "Năm ghi trên phiếu"),
    ({"locality": 5}, "Địa danh"),
    ({"ballot_of": "x" * 501}, "quá dài"),
    ({"stamp": "x"}, "forms"),
    ("Hà Giang", "forms"),
])
def test_bad_wording_is_refused_in_vietnamese(forms: Any, expected: str) -> None:
    with pytest.raises(InvalidInput, match=expected):
        elections.validate_spec({**election_spec(), "forms": forms})


def test_a_definition_made_before_the_wording_still_checks_and_a_stray_field_does_not(
        factory: sessionmaker[Session]) -> None:
    definition = definition_of(factory, election_spec(persons=2, voters=3))
    older = {k: v for k, v in definition.items() if k != "forms"}
    assert manifests.check_definition(older) is older
    with pytest.raises(InvalidInput, match="thiếu hoặc thừa trường"):
        manifests.check_definition({**definition, "stamp": "(Đóng dấu treo)"})
    with pytest.raises(InvalidInput, match="forms"):
        manifests.check_definition({**definition, "forms": {**definition["forms"], "year": 1.5}})


def test_an_election_migrated_from_before_the_wording_keeps_its_definition(factory: sessionmaker[Session]) -> None:
    # Revision 0006 leaves the columns NULL: the definition (and a key file made for it) is unchanged.
    key = crypto.generate_signing_key()
    with transaction(factory) as s:
        e = elections.create_election(s, election_spec(persons=2, voters=3), "chair")
        e.form_ballot_of = e.form_ballot_for = e.form_locality = e.form_assigned_by = None
        e.form_year = None
        definition = elections.election_definition(s, e, key)
    assert "forms" not in definition and manifests.has_definition_fields(definition)


def test_a_box_made_before_the_wording_still_verifies_and_counts() -> None:
    box = json.loads((DATA / "pre_forms" / "box.json").read_bytes())
    results = json.loads((DATA / "pre_forms" / "results.json").read_bytes())
    secrets = json.loads((DATA / "pre_forms" / "secrets.json").read_bytes())
    assert "forms" not in box["manifest"]
    assert all_passed(verify_box(box))
    assert check_results(box, results) == []
    verified = verified_box(box)
    cards = [parse_code(secrets["share_codes"][str(i)], verified.manifest)
             for i in secrets["cards_used"]]
    recounted = tally_box(verified, cards, results["counted_from"], results["counted_to"]).to_json_dict()
    assert "forms" not in recounted
    assert [p["high"] for p in recounted["persons"]] == [p["high"] for p in results["persons"]]
    # Its report keeps the words it had: the profile's, and the meeting place on the date line.
    html = render_report(results)
    assert f"{results['place']}, ngày" in html and "Thực hiện nhiệm vụ do kỳ họp giao" in html


# --- the report ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return json.loads((DATA / "golden" / "results.json").read_bytes())


def test_report_uses_the_elections_wording_locality_and_count_day(golden: dict[str, Any]) -> None:
    html = render_report(golden)
    assert "Hà Giang, ngày 01 tháng 12 năm 2026" in html
    assert "Hội trường tỉnh, ngày" not in html  # the hall is where, not the date line's place
    assert "Thực hiện nhiệm vụ do Kỳ họp thứ 20 Hội đồng nhân dân tỉnh giao, " in html
    assert ("đã tiến hành kiểm phiếu tín nhiệm của đại biểu Hội đồng nhân dân tỉnh khóa XVIII đối với "
            "người giữ chức vụ do Hội đồng nhân dân tỉnh bầu; kết quả cụ thể như sau:") in html


def test_report_date_line_is_the_day_the_count_ran_not_the_meeting_day(golden: dict[str, Any]) -> None:
    counted_later = {**golden, "counted_from": "23:50 03/12/2026", "counted_to": "00:10 04/12/2026"}
    html = render_report(counted_later)
    assert "Hà Giang, ngày 04 tháng 12 năm 2026" in html and "ngày 01 tháng 12 năm 2026" not in html


def test_empty_locality_keeps_the_forms_dots_for_handwriting(golden: dict[str, Any]) -> None:
    html = render_report({**golden, "forms": {**golden["forms"], "locality": ""}})
    assert "……, ngày 01 tháng 12 năm 2026" in html


def test_no_format_prints_the_stamp_hint_as_text(golden: dict[str, Any]) -> None:
    assert "Đóng dấu" not in render_report(golden)
    word = docx.Document(io.BytesIO(render_docx(golden)))
    texts = [p.text for p in word.paragraphs] + [c.text for t in word.tables for row in t.rows for c in row.cells]
    assert not any("Đóng dấu" in t for t in texts)


def test_every_xlsx_sheet_prints_mat_on_every_page(golden: dict[str, Any]) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(golden)))
    assert book.worksheets
    for sheet in book.worksheets:
        assert sheet.oddHeader.left.text == "MẬT", sheet.title


def test_counts_print_with_the_vietnamese_thousands_separator(golden: dict[str, Any]) -> None:
    big = {**golden, "convened": 12000, "present": 11000, "absent": 1000, "present_at_vote": 11000,
           "ballots_issued": 11000, "ballots_collected": 11000}
    html = render_report(big)
    assert "Tổng số đại biểu: 12.000 đại biểu." in html and "Số phiếu thu về: 11.000 phiếu." in html


def test_signed_results_carry_the_manifests_wording_and_recount_checks_it(golden: dict[str, Any]) -> None:
    box = json.loads((DATA / "golden" / "box.json").read_bytes())
    assert golden["forms"] == box["manifest"]["forms"]
    changed = {**golden, "forms": {**golden["forms"], "assigned_by": "Ban Thường vụ"}}
    assert any("Lời văn" in p.message for p in check_results(box, changed))


# --- the booth's ballot ------------------------------------------------------------------------

@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def test_booth_ballot_shows_the_paper_ballots_heading_and_legal_basis(app: Flask) -> None:
    chair = client(app)
    login(chair, CHAIR)
    response = post(chair, "/chair/new", "/chair/new", form_from_spec(election_spec(persons=2, voters=3)))
    page = response.headers["Location"]
    web_ceremony(chair, page)
    eid = page.rstrip("/").split("/")[-1]
    desk = client(app)
    login(desk, DESK)
    codes = [CODE_RE.search(post(desk, f"/desk/{eid}/checkin", f"/desk/{eid}", {"voter_id": f"V00{i}"})
                            .get_data(as_text=True)) for i in (1, 2, 3)]
    post(chair, f"{page}/open", page)
    html = post(chair, f"{page}/booths", page, {"label": "Máy 1"}).get_data(as_text=True)
    tablet = client(app)
    pairing = PAIR_RE.search(html)
    assert pairing and codes[0]
    post(tablet, "/booth/pair", "/booth/pair", {"code": pairing.group(1)})
    post(tablet, "/booth/start", "/booth/", {"code": codes[0].group(1)})
    ballot = tablet.get("/booth/ballot").get_data(as_text=True)
    year = election_spec()["forms"]["year"]
    for phrase in ("PHIẾU TÍN NHIỆM", "của Ban Chấp hành Đảng bộ tỉnh", "đối với các chức danh lãnh đạo, quản lý",
                   f"năm {year}", QD96_BASIS, "Ủy ban nhân dân tỉnh Hà Giang"):
        assert phrase in ballot, phrase
    assert "Đóng dấu" not in ballot


def test_word_report_keeps_the_last_rows_and_note_with_the_signature_block(golden: dict[str, Any]) -> None:
    word = docx.Document(io.BytesIO(render_docx(golden)))
    results = word.tables[1]  # after the heading block's table
    last = results.rows[-1].cells[1].paragraphs[0]
    assert last.text == golden["persons"][-1]["name"] and last.paragraph_format.keep_with_next
    note = next(p for p in word.paragraphs if p.text.startswith("Ghi chú: Tỷ lệ %"))
    assert note.paragraph_format.keep_with_next
