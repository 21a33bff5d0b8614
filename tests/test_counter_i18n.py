"""The counter's screens in Vietnamese (default) and English; the official documents stay Vietnamese."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template

import counter.count_jobs
from counter import i18n
from counter.app import create_app
from counter.config import CounterConfig
from counter.count_jobs import FAILED, INTERNAL, INTERNAL_ERROR, REFUSED, RUNNING, CountStatus
from counter.counting import ShareRefused
from counter.documents.formats import FORMATS
from counter.paper_store import PaperStore
from counter.progress import failure_text
from shared import errors
from shared.box import verify_box
from shared.paper import Batch, serial_label
from tests import catalogues
from tests.counter_support import Browser, Built
from tests.paper_support import HEAD, PINS, SECOND, set_pins, spec

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "counter" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
KIOSK_PO = ROOT / "kiosk" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
UPDATE_HINT = "run the counter's catalogue update in docs/i18n.md (extract, update, translate, compile)"
# Letters only Vietnamese uses: ă â đ ê ô ơ ư and the vowels with a tone mark.
VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
                        "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ]")
# Names of legal texts keep their Vietnamese letters in English too (as the kiosk's catalogue does).
LEGAL_NAMES = ("96-QĐ/TW",)
# Official documents and the templates that make them: never translated (docs/i18n.md).
DOCUMENT_TEMPLATES = ("report.html", "projector.html", "consolidated.html")
EN = {"Cookie": f"{i18n.LANG_COOKIE}=en"}


# --- helpers ---------------------------------------------------------------------------------

def english(browser: Browser) -> None:
    """Switch this browser to English, as the header's switch does."""
    browser.client.set_cookie(i18n.LANG_COOKIE, "en", domain="localhost")


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (the data a page may show: names, titles...)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


TEXT_ATTRIBUTE = re.compile(r'\b(?:aria-label|alt|title|placeholder|data-text-[\w-]+)="([^"]*)"')


def shown_text(html: str, data: list[str]) -> str:
    """What a reader sees or hears on the page, less the data and the text marked lang="vi"."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    # Vietnamese by design, and marked so: the verifier's own words, the Tiếng Việt button.
    html = re.sub(r'<(\w+)\b[^>]*\blang="vi"[^>]*>.*?</\1>', " ", html, flags=re.DOTALL)
    html = html.replace('<html lang="en"', "<html")
    text = " ".join(TEXT_ATTRIBUTE.findall(html)) + " " + re.sub(r"<[^>]*>", " ", html)
    text = text.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    for value in sorted(set(data) | set(LEGAL_NAMES), key=len, reverse=True):
        if value:
            text = text.replace(value, " ")
    return text


def assert_english(html: str, data: list[str], where: str) -> None:
    assert '<html lang="en"' in html, where
    text = shown_text(html, data)
    found = [m.start() for m in VIETNAMESE.finditer(text)]
    assert not found, f"{where}: Vietnamese text on the English page: " + "; ".join(
        repr(text[max(0, i - 40):i + 40]) for i in found[:5])


def box_data(election: Built) -> list[str]:
    """The election's own words: the manifest and the names in its audit log."""
    box = json.loads(election.box)
    actors = [str(e.get("actor", "")) for e in box.get("audit", []) if isinstance(e, dict)]
    return list(strings(box["manifest"])) + actors


def import_box(browser: Browser, election: Built) -> None:
    token = browser.csrf_token("/")
    response = browser.post("/import", data={"csrf_token": token, "box_file": (io.BytesIO(election.box), "b.json")},
                            content_type="multipart/form-data")
    assert response.status_code == 302


def count(browser: Browser, election: Built) -> None:
    """Count with k typed share codes; the test config waits for the count to end."""
    eid = election.election_id
    token = browser.csrf_token(f"/boxes/{eid}")
    threshold = json.loads(election.box)["manifest"]["board"]["threshold"]
    codes = [card.code for card in election.cards[:threshold]]
    response = browser.post(f"/boxes/{eid}/tally", data={"csrf_token": token, "share": codes})
    assert response.status_code == 302 and response.headers["Location"].endswith("/report"), response.headers


def make_batch(config: CounterConfig) -> Batch:
    """A paper batch whose members have set their PINs."""
    store = PaperStore(config)
    batch = store.create(spec(2), 3, HEAD)
    set_pins(store, batch)
    return batch


def batch_data(batch: Batch) -> list[str]:
    return list(strings(spec(2))) + [batch.title, batch.organization, batch.place, *batch.members]


def catalogue(path: Path = EN_PO) -> dict[str, Any]:
    return catalogues.read_catalogue(path)


def source_messages() -> set[str]:
    """Every msgid in the counter's templates, views and labels, extracted as pybabel does."""
    return catalogues.source_messages("counter")


# --- every screen in English --------------------------------------------------------------------

def test_board_box_and_auditor_pages_in_english_have_no_vietnamese_but_the_data(
        browser: Browser, election: Built) -> None:
    import_box(browser, election)
    english(browser)
    eid = election.election_id
    data = box_data(election)
    token = browser.csrf_token("/")
    # One share presented: the box page then shows the count of shares and its flash message.
    presented = browser.post(f"/boxes/{eid}/shares", data={"csrf_token": token, "share": election.cards[0].code},
                             content_type="multipart/form-data")
    assert presented.status_code == 302
    pages = {path: browser.get(path) for path in (
        f"/boxes/{eid}", "/", f"/audit/{eid}", f"/audit/{eid}/ballots", f"/audit/{eid}/tokens", "/no-such-page")}
    assert "Key share 1 received" in pages[f"/boxes/{eid}"].get_data(as_text=True)
    receipt = re.search(r'class="mono receipt">([^<]+)<', pages[f"/audit/{eid}/ballots"].get_data(as_text=True))
    assert receipt
    pages["search"] = browser.post(f"/audit/{eid}/ballots", data={"csrf_token": token, "receipt": receipt.group(1)})
    pages["bad key"] = browser.post(f"/audit/{eid}/kiosk-key", data={"csrf_token": token, "kiosk_key": "x"})
    for where, response in pages.items():
        assert_english(response.get_data(as_text=True), data, where)
    assert "Yes: the ballot with receipt code" in pages["search"].get_data(as_text=True)
    # The switch goes back to the page shown, or, after a form only a POST shows, to the list.
    assert f'name="next" value="/audit/{eid}/ballots"' in pages["search"].get_data(as_text=True)
    assert 'name="next" value="/"' in pages["bad key"].get_data(as_text=True)
    assert "Page or ballot box not found." in pages["/no-such-page"].get_data(as_text=True)


def counting_browser(config: CounterConfig) -> Browser:
    """A browser on a counter that never waits for a count: every count shows its progress page."""
    app = create_app(dataclasses.replace(config, count_wait_seconds=0))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=True)
    browser = Browser(app.test_client())
    english(browser)
    return browser


def until_ended(browser: Browser, election_id: str) -> None:
    for _ in range(600):  # polls of 0.05 s: a bound on a broken count, not a timing assertion
        if browser.get(f"/boxes/{election_id}/count/status").get_json()["state"] != "running":
            return
        time.sleep(0.05)
    raise AssertionError("the count did not end")


def test_the_count_page_in_english_while_counting(config: CounterConfig, election: Built,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real: Callable[..., Any] = counter.count_jobs.count_box

    def held_count(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(counter.count_jobs, "count_box", held_count)
    browser = counting_browser(config)
    eid = election.election_id
    try:
        import_box(browser, election)
        token = browser.csrf_token(f"/boxes/{eid}")
        started = browser.post(f"/boxes/{eid}/tally", data={
            "csrf_token": token, "share": [c.code for c in election.cards[:2]]})
        assert started.headers["Location"].endswith(f"/boxes/{eid}/count")
        page = browser.get(f"/boxes/{eid}/count").get_data(as_text=True)
        assert_english(page, box_data(election), "count page")
        assert "Progress of the decryption and count" in page
        assert 'data-text-progress="Proofs checked for {done} / {total} ballots ({percent}%)."' in page
    finally:
        release.set()
    until_ended(browser, eid)


def test_a_failed_count_in_english_names_the_refused_share(config: CounterConfig, election: Built,
                                                           foreign: Built) -> None:
    browser = counting_browser(config)
    eid = election.election_id
    import_box(browser, election)
    token = browser.csrf_token(f"/boxes/{eid}")
    browser.post(f"/boxes/{eid}/tally", data={
        "csrf_token": token, "share": [election.cards[0].code, foreign.cards[1].code]})
    until_ended(browser, eid)
    page = browser.get(f"/boxes/{eid}/count").get_data(as_text=True)
    assert_english(page, box_data(election), "failed count")
    assert "The count could not be made: Key share, field 2: This key share belongs to another vote" in page
    assert "The key shares entered have been erased; no results were written." in page


def test_the_running_count_page_template_in_english(app: Flask) -> None:
    with app.test_request_context("/boxes/x/count", headers=EN):
        running = render_template("count.html", election_id="x", status=CountStatus(RUNNING, 1200, 3400),
                                  percent=35, failed=False, failure="")
    assert_english(running, [], "count running")
    assert "Proofs checked for <strong>1.200</strong> / 3.400 ballots (35%)" in running


def test_a_failed_count_is_named_in_the_page_language(app: Flask) -> None:
    status = CountStatus(FAILED, 0, 10, INTERNAL_ERROR, INTERNAL)
    with app.test_request_context(headers=EN):
        assert failure_text(status).startswith("Internal error while counting")
    with app.test_request_context():
        assert failure_text(status) == INTERNAL_ERROR


def test_a_refused_share_kept_in_the_status_file_keeps_its_label_parameters(app: Flask) -> None:
    """The count's thread writes the cause as JSON; a Label parameter is still translated on the page."""
    cause = errors.InvalidInput(errors.N_("%(what)s rỗng."), what=errors.Label(errors.N_("Tệp mảnh khóa")))
    params = json.loads(json.dumps(counter.count_jobs.storable_params(cause.params)))
    status = CountStatus(FAILED, 0, 10, str(cause), REFUSED, cause.message_id, params, "Key share, field 2")
    with app.test_request_context(headers=EN):
        assert failure_text(status).startswith("Key share, field 2: Key share file is empty. ")
    with app.test_request_context():
        assert failure_text(status).startswith("Key share, field 2: Tệp mảnh khóa rỗng. ")


def test_paper_pages_in_english_have_no_vietnamese_but_the_data(browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config)
    english(browser)
    bid = batch.batch_id
    token = browser.csrf_token(f"/paper/{bid}/enter/a")
    pages = {"pin form": browser.get(f"/paper/{bid}/enter/a")}
    for slot, member in (("a", HEAD), ("b", SECOND)):
        opened = browser.post(f"/paper/{bid}/enter/{slot}/open",
                              data={"csrf_token": token, "member": member, "pin": PINS[member]})
        assert opened.status_code == 302
    first = serial_label(batch.serials[0])
    for slot, marks in (("a", ["high", "low"]), ("b", ["high", "trust"])):
        saved = browser.post(f"/paper/{bid}/enter/{slot}", data={
            "csrf_token": token, "serial": first, "row-1": marks[0], "row-2": marks[1]})
        assert saved.status_code == 302
    pages["entry form"] = browser.get(f"/paper/{bid}/enter/a")
    pages["refused entry"] = browser.post(f"/paper/{bid}/enter/a", data={
        "csrf_token": token, "serial": "ABCD", "row-1": "high", "row-2": "high"})
    for path in ("/paper/", f"/paper/{bid}", f"/paper/{bid}/disagreements", f"/paper/{bid}/log"):
        pages[path] = browser.get(path)
    for where, response in pages.items():
        assert_english(response.get_data(as_text=True), batch_data(batch), where)
    entry = pages["entry form"].get_data(as_text=True)
    assert "Ballot " + first + " saved (pass A)" in entry and "Entry pass A" in entry
    assert "Counting board" in pages[f"/paper/{bid}"].get_data(as_text=True)


def test_vietnamese_is_the_default_and_unchanged(browser: Browser, election: Built) -> None:
    import_box(browser, election)
    page = browser.get(f"/boxes/{election.election_id}").get_data(as_text=True)
    assert '<html lang="vi"' in page and "Đối chiếu với thẻ mảnh khóa" in page
    assert 'name="lang" value="en"' in page  # the switch is in the header
    assert "Compare with the key share cards" not in page


# --- the official documents stay Vietnamese ------------------------------------------------------

def test_report_projector_and_files_are_the_same_in_both_languages(browser: Browser, election: Built) -> None:
    import_box(browser, election)
    count(browser, election)
    eid = election.election_id
    paths = [f"/boxes/{eid}/report", f"/boxes/{eid}/projector", f"/boxes/{eid}/results.json",
             *(f"/boxes/{eid}/report.{key}" for key in FORMATS)]
    browser.get(paths[0])  # the count's flash message is shown (and spent) here
    vietnamese = {path: browser.get(path) for path in paths}
    english(browser)
    assert "Decrypt and count" not in browser.get(f"/boxes/{eid}").get_data(as_text=True)  # counted
    assert "Counted" in browser.get(f"/boxes/{eid}").get_data(as_text=True)
    for path in paths:
        translated = browser.get(path)
        assert translated.status_code == vietnamese[path].status_code == 200, path
        if path.endswith((".pdf", ".docx", ".xlsx")):
            # These carry the moment they were made; their text is what must not change.
            assert document_text(translated.data, path) == document_text(vietnamese[path].data, path), path
        else:
            assert translated.data == vietnamese[path].data, path
    report = vietnamese[paths[0]].get_data(as_text=True)
    assert '<html lang="vi"' in report and "Chức vụ, đơn vị công tác" in report
    assert "Tín nhiệm cao" in vietnamese[paths[1]].get_data(as_text=True)


def test_a_paper_count_ended_in_english_has_its_report_and_notice_in_vietnamese(
        browser: Browser, config: CounterConfig) -> None:
    batch = make_batch(config)
    bid = batch.batch_id
    english(browser)
    token = browser.csrf_token(f"/paper/{bid}")
    for slot, member in (("a", HEAD), ("b", SECOND)):
        browser.post(f"/paper/{bid}/enter/{slot}/open", data={"csrf_token": token, "member": member,
                                                              "pin": PINS[member]})
        saved = browser.post(f"/paper/{bid}/enter/{slot}", data={
            "csrf_token": token, "serial": serial_label(batch.serials[0]), "row-1": "high", "row-2": "low"})
        assert saved.status_code == 302
    ended = browser.post(f"/paper/{bid}/finish", data={"csrf_token": token, "present": "3", "issued": "3",
                                                       "actor": HEAD, "pin": PINS[HEAD]})
    assert ended.headers["Location"].endswith(f"/paper/{bid}/report")
    report = browser.get(f"/paper/{bid}/report").get_data(as_text=True)
    assert '<html lang="vi"' in report and "Đã kết thúc nhập phiếu và kiểm phiếu (3 có mặt" in report
    assert "Entry ended" not in report
    assert "Paper ballots" in browser.get(f"/paper/{bid}").get_data(as_text=True)  # the screens stay English


def document_text(data: bytes, path: str) -> str:
    """The words of a generated PDF, DOCX or XLSX."""
    if path.endswith(".pdf"):
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    if path.endswith(".docx"):
        import docx

        document = docx.Document(io.BytesIO(data))
        cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells)
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data))
    return "\n".join(str(cell.value) for sheet in book.worksheets for row in sheet.iter_rows() for cell in row)


def test_templates_of_the_documents_hold_no_gettext() -> None:
    """The switch cannot reach what is never marked: the report's, the projector's, the consolidation's."""
    for name in DOCUMENT_TEMPLATES:
        source = (ROOT / "counter" / "templates" / name).read_text(encoding="utf-8")
        assert not re.search(r"\b(?:_|gettext|ngettext)\(", source), name
    for module in ("report.py", "projector.py", "consolidate.py", "counting.py"):
        source = (ROOT / "counter" / module).read_text(encoding="utf-8")
        assert "gettext" not in source and "i18n" not in source, module
    for path in (ROOT / "counter" / "documents").glob("*.py"):
        assert "gettext" not in path.read_text(encoding="utf-8"), path.name


# --- the switch, the cookie ------------------------------------------------------------------------

def test_the_switch_sets_a_strict_cookie_and_goes_back_to_a_local_page(browser: Browser) -> None:
    token = browser.csrf_token("/")
    response = browser.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/paper/"})
    assert response.status_code == 302 and response.headers["Location"] == "/paper/"
    cookie = browser.client.get_cookie(i18n.LANG_COOKIE, domain="localhost")
    assert cookie is not None and cookie.value == "en" and cookie.secure and cookie.http_only
    assert "SameSite=Strict" in response.headers["Set-Cookie"]
    page = browser.get("/paper/").get_data(as_text=True)
    assert '<html lang="en"' in page and "Paper ballot count" in page
    assert 'name="next" value="/paper/"' in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)",
                                    "/\\evil.example", ""])
def test_the_switch_never_sends_the_browser_off_the_counter(browser: Browser, target: str) -> None:
    token = browser.csrf_token("/")
    response = browser.post("/lang", data={"csrf_token": token, "lang": "en", "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_the_switch_refuses_an_unknown_language_and_a_missing_csrf_token(browser: Browser) -> None:
    token = browser.csrf_token("/")
    unknown = browser.post("/lang", data={"csrf_token": token, "lang": "fr", "next": "/"})
    assert unknown.status_code == 400 and "Set-Cookie" not in unknown.headers
    forged = browser.post("/lang", data={"lang": "en", "next": "/"})
    assert forged.status_code == 400 and i18n.LANG_COOKIE not in forged.headers.get("Set-Cookie", "")
    assert "CSRF" in forged.get_data(as_text=True)
    assert browser.client.get_cookie(i18n.LANG_COOKIE, domain="localhost") is None


@pytest.mark.parametrize("value", ["fr", "EN", "en-US", "vi;en", "../en", ""])
def test_a_language_cookie_of_an_unknown_value_is_ignored(browser: Browser, value: str) -> None:
    browser.client.set_cookie(i18n.LANG_COOKIE, value, domain="localhost")
    page = browser.get("/").get_data(as_text=True)
    assert '<html lang="vi"' in page and "Hòm phiếu đã nhập" in page


def test_the_kiosk_and_the_counter_never_share_a_cookie_name() -> None:
    from kiosk import i18n as kiosk_i18n  # the test may look at both rooms; the apps never do

    assert i18n.LANG_COOKIE != kiosk_i18n.LANG_COOKIE


# --- domain errors -----------------------------------------------------------------------------------

def test_error_text_translates_by_message_id_with_its_parameters(app: Flask) -> None:
    err = errors.ShareError(errors.N_("Tệp mảnh khóa %(name)s"), name="a.json")
    with app.test_request_context(headers=EN):
        assert i18n.error_text(err) == "Key share file a.json"
    with app.test_request_context():
        assert i18n.error_text(err) == str(err) == "Tệp mảnh khóa a.json"


def test_error_text_translates_a_fixed_message_and_shows_an_unknown_one_in_vietnamese(app: Flask) -> None:
    known = errors.BoxInvalid(errors.N_("Tệp không phải là hòm phiếu (thiếu hoặc sai mã cuộc lấy phiếu)."))
    with app.test_request_context(headers=EN):
        assert i18n.error_text(known) == "The file is not a ballot box (the vote ID is missing or wrong)."
        assert i18n.error_text(errors.InvalidInput("Một thông báo mới.")) == "Một thông báo mới."


def test_a_refused_share_is_named_with_its_label_and_its_cause_translated(app: Flask) -> None:
    cause = errors.ShareError(errors.N_("Cần ít nhất %(threshold)s mảnh khóa khác nhau; mới có %(given)s."),
                              threshold=3, given=1)
    with app.test_request_context(headers=EN):
        refused = ShareRefused("Key share, field 1", cause)  # the view names the field in its language
        assert i18n.error_text(refused) == \
            "Key share, field 1: At least 3 different key shares are needed; only 1 given."
    assert str(ShareRefused("Mảnh khóa ô 1", cause)) == "Mảnh khóa ô 1: " + str(cause)


def test_a_parametrised_shared_error_is_shown_in_english_with_its_values(browser: Browser, election: Built) -> None:
    """shared/shares.py refuses a count with too few shares, naming the numbers; shared/ballot_list.py
    a receipt of the wrong length: both in English, with the values filled in."""
    import_box(browser, election)
    english(browser)
    eid = election.election_id
    token = browser.csrf_token(f"/boxes/{eid}")
    threshold = json.loads(election.box)["manifest"]["board"]["threshold"]
    refused = browser.post(f"/boxes/{eid}/tally", data={"csrf_token": token, "share": election.cards[0].code})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert_english(page, box_data(election), "too few shares")
    assert f"At least {threshold} different key shares are needed; only 1 given." in page
    searched = browser.post(f"/audit/{eid}/ballots", data={"csrf_token": token, "receipt": "ab12"})
    page = searched.get_data(as_text=True)
    assert_english(page, box_data(election), "short receipt")
    assert "A receipt code has 16 characters (a full fingerprint: 64); 4 were typed." in page


def test_a_refused_import_is_shown_in_english(browser: Browser) -> None:
    english(browser)
    token = browser.csrf_token("/")
    response = browser.post("/import", data={"csrf_token": token, "box_path": "/no/such/file.json"})
    assert response.status_code == 302
    page = browser.get("/").get_data(as_text=True)
    assert "No file at the path typed (a path to a file is needed)." in page


# --- the catalogue -------------------------------------------------------------------------------------

def test_every_message_in_the_sources_has_an_english_translation() -> None:
    catalog = catalogue()
    missing = sorted(source_messages() - set(catalog))
    assert not missing, f"{len(missing)} messages not in the English catalogue ({UPDATE_HINT}): {missing[:10]}"
    untranslated = catalogues.untranslated(catalog)
    assert not untranslated, f"untranslated or fuzzy ({UPDATE_HINT}): {untranslated[:10]}"
    stale = sorted(set(catalog) - source_messages())
    assert not stale, f"entries no source uses any more ({UPDATE_HINT}): {stale[:10]}"


def test_the_committed_mo_file_matches_the_po_file() -> None:
    assert catalogues.compiled_matches(EN_PO, EN_MO), f"messages.mo is stale: {UPDATE_HINT}"


def test_placeholders_and_markup_survive_translation() -> None:
    field = re.compile(r"%\(\w+\)s|\{\w*\}|</?\w+")
    for mid, message in catalogue().items():
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts:
            assert sorted(set(field.findall(mid))) == sorted(set(field.findall(text))), (mid, text)


def test_terms_shared_with_the_kiosk_are_translated_alike() -> None:
    """One glossary for both rooms (docs/i18n.md): a msgid both catalogues hold reads the same."""
    # Same Vietnamese, different use: a page title at the kiosk's desk, an event in the slip log.
    different_use = {"Phát phiếu"}
    kiosk, counter = catalogue(KIOSK_PO), catalogue()
    for mid in (set(kiosk) & set(counter)) - different_use:
        assert kiosk[mid].string == counter[mid].string, mid
    for vietnamese, term in (("Ban kiểm phiếu", "counting board"), ("Tín nhiệm", "Confidence"),
                             ("Cao", "High"), ("Thấp", "Low")):
        assert term.lower() in str(counter[vietnamese].string).lower(), vietnamese


def test_every_check_title_the_verifier_gives_is_translated(election: Built, app: Flask) -> None:
    titles = {check.title for check in verify_box(json.loads(election.box))}
    catalog = catalogue()
    assert titles and titles <= set(catalog), titles - set(catalog)
    with app.test_request_context(headers=EN):
        assert all(not VIETNAMESE.search(i18n.label_text(title)) for title in titles)


TEXT_ATTRIBUTES = re.compile(r'\b(?:aria-label|alt|title|placeholder|data-text-[\w-]+)="([^"]*)"')


def test_templates_have_no_hard_coded_words() -> None:
    """Text between tags and in text attributes comes from {{ ... }} (gettext), never literally;
    commands in <pre> are typed as they are."""
    for path in (ROOT / "counter" / "templates").rglob("*.html"):
        if path.name in DOCUMENT_TEMPLATES:
            continue
        source = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        source = re.sub(r"<pre\b.*?</pre>", "", source, flags=re.DOTALL)
        for value in TEXT_ATTRIBUTES.findall(source):
            literal = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", value)
            assert not re.search(r"[^\W\d_]{2,}", literal), (path.name, value)
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", source, flags=re.DOTALL)
        text = re.sub(r"<[^>]*>", " ", text)
        words = re.findall(r"[^\W\d_]{2,}", text)
        assert not words, f"{path.relative_to(ROOT)}: hard-coded text {words[:8]}"


def test_the_catalogue_ships_with_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^counter = \[[^\]]*"translations/\*\*/\*"', pyproject, flags=re.MULTILINE)
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert not any(pattern in ignored for pattern in ("*.mo", "messages.mo", "translations/"))
