"""Languages: Vietnamese by default, English complete, every shown string from the catalogue."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask

from kiosk import i18n
from shared import errors
from tests.factories import election_spec
from tests.kiosk_client import CHAIR, client, form_from_spec, login, make_app, post

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "kiosk" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
UPDATE_HINT = "run the catalogue update in docs/i18n.md (extract, update, translate, compile)"


def source_messages() -> set[str]:
    """Every msgid in the kiosk's templates and code and in shared/, extracted as pybabel does."""
    with open(ROOT / "kiosk" / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords={"_": None, "gettext": None,
                                                          "ngettext": (1, 2), "N_": None}):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def english() -> dict[str, Any]:
    with open(EN_PO, "rb") as fh:
        catalog = read_po(fh)
    return {str(m.id[0] if isinstance(m.id, (tuple, list)) else m.id): m for m in catalog if m.id}


def test_every_message_in_the_sources_has_an_english_translation() -> None:
    catalog = english()
    missing = sorted(source_messages() - set(catalog))
    assert not missing, f"{len(missing)} messages not in the English catalogue ({UPDATE_HINT}): {missing[:10]}"
    untranslated = [mid for mid, m in catalog.items()
                    if not m.string or (isinstance(m.string, tuple) and not all(m.string))  # type: ignore[attr-defined]
                    or m.fuzzy]  # type: ignore[attr-defined]
    assert not untranslated, f"untranslated or fuzzy ({UPDATE_HINT}): {untranslated[:10]}"


def test_the_committed_mo_file_matches_the_po_file() -> None:
    """The .mo is committed (a fresh clone runs without a compile step); it must be current."""
    def flat(value: object) -> object:
        return tuple(value) if isinstance(value, (list, tuple)) else value

    with open(EN_PO, "rb") as fh:
        po = {flat(m.id): flat(m.string) for m in read_po(fh) if m.id}
    with open(EN_MO, "rb") as fh:
        mo = {flat(m.id): flat(m.string) for m in read_mo(fh) if m.id}
    assert mo == po, f"messages.mo is stale: {UPDATE_HINT}"


def test_placeholders_survive_translation() -> None:
    field = re.compile(r"%\(\w+\)s|\{\w*\}")
    for mid, message in english().items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)  # type: ignore[attr-defined]
        for text in strings:
            assert sorted(set(field.findall(mid))) <= sorted(set(field.findall(text))) or \
                "%(num)s" in text or "%(names)s" in text, (mid, text)


def test_shared_messages_are_found_including_f_string_templates() -> None:
    found = {text for _path, _line, text in i18n.shared_messages()}
    assert errors.TokenAlreadySpent.message in found
    assert "Số mảnh khóa cần để mở (k) phải từ 1 đến {0} (số thành viên)." in found
    assert "Tín nhiệm thấp" in found  # glossary labels


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "kiosk")


def test_domain_errors_are_shown_in_english_with_their_values(app: Flask) -> None:
    with app.test_request_context(headers={"Cookie": "kiosk_lang=en"}):
        assert i18n.error_text(errors.TokenAlreadySpent()) == \
            "This slip has already been used. Each slip works only once."
        assert i18n.error_text(errors.QuorumNotMet(
            "Mới có 5/30 người có mặt; cần ít nhất 2/3 số người được triệu tập: chưa thể bắt đầu bỏ phiếu.")) \
            == "Only 5/30 people are present; at least 2/3 of those convened are needed: the vote cannot start yet."
        # A label inside a message is translated too.
        assert i18n.error_text(errors.InvalidInput("Thiếu “Họ và tên (người thứ 3)”.")) == \
            "“Full name (person 3)” is missing."
        # Unknown text (a future message not yet translated) is shown as it is.
        assert i18n.error_text(errors.InvalidInput("Một thông báo mới.")) == "Một thông báo mới."
    with app.test_request_context():
        assert i18n.error_text(errors.TokenAlreadySpent()) == errors.TokenAlreadySpent.message


def test_every_shared_message_has_a_translation_that_applies(app: Flask) -> None:
    catalog = english()
    with app.test_request_context(headers={"Cookie": "kiosk_lang=en"}):
        for path, line, text in i18n.shared_messages():
            assert text in catalog, f"{path.name}:{line} not translated ({UPDATE_HINT}): {text}"
            sample = text.format(*["7"] * text.count("{")) if "{" in text else text
            assert i18n.translate_text(sample) != sample or catalog[text].string == text, (  # type: ignore[attr-defined]
                path.name, line, text)


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
