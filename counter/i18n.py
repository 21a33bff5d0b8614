"""Languages of the counter's screens: Vietnamese (the source language) and English.

Every string a counter screen shows goes through gettext (Flask-Babel); the msgids are the
Vietnamese texts, so Vietnamese needs no catalogue and English lives in
counter/translations/en/LC_MESSAGES/messages.po (compiled .mo committed beside it).

The official documents stay Vietnamese whatever the language (docs/i18n.md): the Phụ lục 4
report (counter/report.py renders it with its own Jinja environment, which has no gettext),
the projector view and the PDF/DOCX/XLSX/CSV files. Their templates and writers are never
marked, so the switch cannot reach them.

The kiosk has the same mechanism in its own module: the apps never import each other
(docs/architecture.md). What needs no Flask is in shared/: the check that /lang sends the
browser back only to a local path (shared.web_policy.local_path) and the translation of a
domain message with its parameters (shared.errors.translate). Messages and labels of shared/
are marked with shared.errors.N_ and extracted by Babel's standard extractor (counter/babel.cfg).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, abort, g, redirect, request, url_for
from flask_babel import Babel, get_locale, gettext

from shared.errors import DomainError, translate
from shared.web_policy import local_path

LANGUAGES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
# Not the kiosk's cookie name: the two apps never share a cookie (docs/architecture.md).
LANG_COOKIE = "counter_lang"
LANG_COOKIE_MAX_AGE = 60 * 60 * 24 * 365


def select_locale() -> str:
    """The language of this request: the language cookie if it names a known language, else Vietnamese."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    """The language code the page is rendered in."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def return_path() -> str:
    """Where the switch on this page sends the browser back: this page, if a GET can show it
    (a page rendered in answer to a POST-only form goes back to the list of boxes)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return request.path
    return url_for("board.index")


def label_text(text: str) -> str:
    """A label marked N_ where it is defined (a glossary table, a check title) in the page's
    language; never %-formatted."""
    return gettext(text) if text else text


def message_text(message_id: str, params: Mapping[str, object] | None = None) -> str:
    """A domain message (its Vietnamese %-template and parameters) in the page's language
    (shared.errors.translate: Label parameters first; without parameters a literal % stays)."""
    return translate(message_id, params or {}, gettext)


def error_text(err: DomainError) -> str:
    """What to show for a domain error, in the page's language: its message id, translated and
    filled with its parameters. Every error a counter page names is a DomainError (the font
    check and the receipt look-up raise ones too)."""
    return message_text(err.message_id, err.params)


def init_app(app: Flask) -> None:
    """Install Flask-Babel (catalogues in counter/translations), the language cookie and POST /lang."""
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT_LANGUAGE, default_domain="messages")
    app.add_template_filter(label_text, "label_text")  # for map('label_text') over a list of labels

    @app.context_processor
    def _language_globals() -> dict[str, Any]:
        return {"LANGUAGES": LANGUAGES, "current_lang": current_language(), "lang_return": return_path,
                "error_text": error_text, "label_text": label_text}

    @app.after_request
    def _language_cookie(response: Response) -> Response:
        lang = g.get("counter_lang")
        if lang:
            response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, secure=True,
                                httponly=True, samesite="Strict")
        return response

    # CSRFProtect (counter/app.py) checks this POST like every other one.
    @app.post("/lang")
    def set_language() -> Any:
        """Switch the screens' language (the cookie) and go back to the page, if it is local."""
        lang = request.form.get("lang", "")
        if lang not in LANGUAGES:
            abort(400)
        g.counter_lang = lang
        return redirect(local_path(request.form.get("next", ""), url_for("board.index")))
