"""Languages: Vietnamese by default, English complete, every shown string from the catalogue."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from flask import Flask

from kiosk import i18n
from shared import election as elections
from shared import errors
from shared.errors import N_
from tests import catalogues
from tests.factories import election_spec
from tests.kiosk_client import CHAIR, client, form_from_spec, login, make_app, post

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "kiosk" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
UPDATE_HINT = "run the catalogue update in docs/i18n.md (extract, update, translate, compile)"


def source_messages() -> set[str]:
    """Every msgid in the kiosk's templates and code and in shared/, extracted as pybabel does."""
    return catalogues.source_messages("kiosk")


def english() -> dict[str, Any]:
    return catalogues.read_catalogue(EN_PO)


def test_every_message_in_the_sources_has_an_english_translation() -> None:
    catalog = english()
    missing = sorted(source_messages() - set(catalog))
    assert not missing, f"{len(missing)} messages not in the English catalogue ({UPDATE_HINT}): {missing[:10]}"
    untranslated = catalogues.untranslated(catalog)
    assert not untranslated, f"untranslated or fuzzy ({UPDATE_HINT}): {untranslated[:10]}"


def test_the_committed_mo_file_matches_the_po_file() -> None:
    """The .mo is committed (a fresh clone runs without a compile step); it must be current."""
    assert catalogues.compiled_matches(EN_PO, EN_MO), f"messages.mo is stale: {UPDATE_HINT}"


def test_placeholders_survive_translation() -> None:
    field = re.compile(r"%\(\w+\)s|\{\w*\}")
    for mid, message in english().items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)  # type: ignore[attr-defined]
        for text in strings:
            assert sorted(set(field.findall(mid))) <= sorted(set(field.findall(text))) or \
                "%(num)s" in text or "%(names)s" in text, (mid, text)


def shared_messages() -> dict[str, str]:
    """The N_ messages of the shared/ modules the kiosk's babel.cfg reads, as {msgid: file}."""
    with open(ROOT / "kiosk" / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), [m for m in method_map if m[0].startswith("shared/")], options_map,
            keywords={"N_": None}):
        found.setdefault(message if isinstance(message, str) else message[0], file)
    return found


def test_the_kiosk_catalogue_reads_the_shared_messages_a_kiosk_page_can_show() -> None:
    found = shared_messages()
    assert errors.TokenAlreadySpent.message in found  # a class's default message
    assert "Số mảnh khóa cần để mở (k) phải từ 1 đến %(count)s (số thành viên)." in found  # a raise site
    assert "Họ và tên (người thứ %(number)s)" in found  # a field's label (election._text)
    assert "Tín nhiệm thấp" in found  # glossary labels
    # Counter-only modules (paper ballots) are the counter's business, not the kiosk's.
    assert "Mã PIN không đúng." not in found


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def test_domain_errors_are_shown_in_english_with_their_values(app: Flask) -> None:
    def raised(spec: dict[str, Any]) -> errors.DomainError:
        with pytest.raises(errors.DomainError) as caught:
            elections.validate_spec(spec)
        return caught.value

    spec = election_spec(persons=3, voters=3)
    spec["persons"][2]["name"] = ""
    missing_label = raised(spec)
    with app.test_request_context(headers={"Cookie": "kiosk_lang=en"}):
        assert i18n.error_text(errors.TokenAlreadySpent()) == \
            "This slip has already been used. Each slip works only once."
        assert i18n.error_text(errors.QuorumNotMet(
            N_("Mới có %(present)s/%(convened)s người có mặt; cần ít nhất 2/3 số người được triệu tập: "
               "chưa thể bắt đầu bỏ phiếu."), present=5, convened=30)) \
            == "Only 5/30 people are present; at least 2/3 of those convened are needed: the vote cannot start yet."
        # A label inside a message is translated too.
        assert i18n.error_text(missing_label) == "“Full name (person 3)” is missing."
        # Unknown text (a future message not yet translated) is shown as it is.
        assert i18n.error_text(errors.InvalidInput("Một thông báo mới.")) == "Một thông báo mới."
    with app.test_request_context():
        assert i18n.error_text(errors.TokenAlreadySpent()) == errors.TokenAlreadySpent.message
        assert i18n.error_text(missing_label) == str(missing_label) == "Thiếu “Họ và tên (người thứ 3)”."


def test_every_shared_message_has_a_translation_that_applies(app: Flask) -> None:
    catalog = english()
    with app.test_request_context(headers={"Cookie": "kiosk_lang=en"}):
        for text, file in shared_messages().items():
            assert text in catalog, f"{file} not translated ({UPDATE_HINT}): {text}"
            translation = catalog[text].string
            assert translation and not catalog[text].fuzzy, (file, text)
            params = {name: "7" for name in re.findall(r"%\((\w+)\)s", text)}
            shown = i18n.error_text(errors.DomainError(text, **params))
            assert shown == (translation % params if params else translation), (file, text)
            assert shown != (text % params if params else text) or translation == text, (file, text)


def test_vietnamese_is_the_default_and_the_switch_sets_a_cookie(app: Flask) -> None:
    c = client(app)
    page = c.get("/login").get_data(as_text=True)
    assert '<html lang="vi"' in page and "Đăng nhập" in page
    assert 'name="lang" value="en"' in page  # the switch is on the page
    response = post(c, "/lang", "/login", {"lang": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    cookie = c.get_cookie("kiosk_lang", domain="localhost")
    assert cookie is not None and cookie.value == "en" and cookie.secure and cookie.http_only
    page = c.get("/login").get_data(as_text=True)
    assert '<html lang="en"' in page and "Log in" in page and "Đăng nhập" not in page
    for bad in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = post(c, "/lang", "/login", {"lang": "vi", "next": bad})
        assert response.headers["Location"] == "/"
    post(c, "/lang", "/login", {"lang": "xx", "next": "/login"})
    assert c.get_cookie("kiosk_lang", domain="localhost").value == "vi"  # type: ignore[union-attr]


def test_english_staff_pages_and_errors(app: Flask) -> None:
    c = client(app)
    login(c, CHAIR)
    c.set_cookie("kiosk_lang", "en", domain="localhost")
    assert "Create a new vote" in c.get("/chair/").get_data(as_text=True)
    form = {**form_from_spec(election_spec(persons=2, voters=3)), "convened": "ba mươi"}
    page = post(c, "/chair/new", "/chair/new", form).get_data(as_text=True)
    assert "“Number of people convened” must be a whole number." in page
    # A domain error from shared/ with a parameter: translated, the value filled in.
    form = {**form_from_spec(election_spec(persons=2, voters=3, members=3)), "threshold": "9"}
    page = post(c, "/chair/new", "/chair/new", form).get_data(as_text=True)
    assert "The number of key shares needed to open (k) must be from 1 to 3 (the number of members)." in page
    assert "Page not found." in c.get("/no-such-page").get_data(as_text=True)


TEXT_ATTRIBUTES = re.compile(r'\b(?:aria-label|alt|title|placeholder|data-confirm|data-text-[\w-]+|'
                             r'data-missing-text|data-quorum-[\w-]+)="([^"]*)"')


def test_templates_have_no_hard_coded_words() -> None:
    """Text between tags and in text attributes comes from {{ ... }} (gettext), never literally."""
    for path in (ROOT / "kiosk" / "templates").rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        source = re.sub(r"\{#.*?#\}", "", source, flags=re.DOTALL)
        # Blocks that fill in an attribute or a class name rather than text.
        source = re.sub(r"\{% block (?:body_class|html_attrs|body_attrs) %\}.*?\{% endblock %\}", "", source,
                        flags=re.DOTALL)
        for value in TEXT_ATTRIBUTES.findall(source):
            literal = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", value)
            assert not re.search(r"[^\W\d_]{2,}", literal), (path.name, value)
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", source, flags=re.DOTALL)
        text = re.sub(r"<[^>]*>", " ", text)
        words = re.findall(r"[^\W\d_]{2,}", text)
        assert not words, f"{path.relative_to(ROOT)}: hard-coded text {words[:8]}"
