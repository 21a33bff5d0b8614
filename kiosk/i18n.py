"""Languages: Vietnamese (the source language of every message) and English.

Every string the kiosk shows goes through gettext (Flask-Babel); the msgids are the
Vietnamese texts themselves, so the Vietnamese screens need no catalogue and English
lives in kiosk/translations/en/LC_MESSAGES/messages.po (compiled .mo committed beside it).

Domain errors come from shared/, which never imports Flask or gettext (docs/architecture.md), so
they are translated here, at the view layer: each carries its message id (the Vietnamese
template, marked N_ in shared/ for Babel) and its parameters, and `error_text(err)` is
gettext(err.message_id, **err.params). See docs/i18n.md.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, redirect, request, url_for
from flask_babel import Babel, get_locale, get_translations, gettext
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from shared.errors import DomainError, Label
from shared.glossary import LEVEL_LABELS, LEVELS
from shared.web_policy import local_path

LANGUAGES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "kiosk_lang"


def select_locale() -> str:
    """The language of this request: a view's override, else the language cookie, else Vietnamese."""
    chosen = g.get("lang_override") or request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    """The language code the page is rendered in."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def choose_language(lang: str) -> None:
    """Switch this request (and, by cookie, the following ones) to lang, if it is known."""
    if lang in LANGUAGES:
        g.lang_override = lang
        g.lang_cookie = lang


def forget_language() -> None:
    """Back to Vietnamese from the next request on (the booth does this for the next voter)."""
    g.lang_cookie = ""


def _translations() -> Any:
    """This request's catalogue (Flask-Babel's), looked up once per request."""
    cached = g.get("kiosk_translations")
    if cached is None:
        cached = g.kiosk_translations = get_translations()
    return cached


@pass_context
def _template_gettext(context: Context, string: str, **variables: Any) -> Any:
    """Jinja's new-style gettext: safe markup under autoescape, always %-formatted, like it."""
    text = _translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def level_texts() -> tuple[str, ...]:
    """The three levels' labels in the page's language, in ballot order (for templates)."""
    catalogue = _translations()
    return tuple(catalogue.ugettext(LEVEL_LABELS[level]) for level in LEVELS)


def init_app(app: Flask) -> None:
    """Install Flask-Babel, the language cookie and the /lang switch."""
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT_LANGUAGE,
          default_domain="messages")
    # Flask-Babel's template callables look the catalogue up again for every string (a
    # ballot page has dozens); the request's locale is fixed at its first use, so once a
    # request is enough.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # jinja2.ext.i18n adds it
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    # `_` and `gettext` straight to the catalogue: the extension's versions go through two
    # more template calls per string, for the same result.
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)

    @app.after_request
    def _language_cookie(response: Response) -> Response:
        lang = g.get("lang_cookie")
        if lang is not None:
            if lang:
                response.set_cookie(LANG_COOKIE, lang, max_age=60 * 60 * 24 * 365, secure=True,
                                    httponly=True, samesite="Strict")
            else:
                response.delete_cookie(LANG_COOKIE, secure=True, httponly=True, samesite="Strict")
        return response

    @app.context_processor
    def _language_globals() -> dict[str, Any]:
        return {"LANGUAGES": LANGUAGES, "current_lang": current_language(),
                "error_text": error_text, "level_texts": level_texts}

    @app.post("/lang")
    def set_language() -> Any:
        choose_language(request.form.get("lang", ""))
        return redirect(local_path(request.form.get("next", ""), url_for("index")))


# --- domain messages from shared/ -------------------------------------------------------

def _message(message_id: str, params: dict[str, object]) -> str:
    """A message id and its parameters in the page's language; a Label parameter is translated too."""
    values = {name: _message(value.message_id, value.params) if isinstance(value, Label) else value
              for name, value in params.items()}
    return str(gettext(message_id, **values))


def error_text(err: DomainError) -> str:
    """What to show for a domain error, in the page's language (Vietnamese: str(err)).

    A message not (yet) in the catalogue is shown in Vietnamese, never dropped.
    """
    return _message(err.message_id, err.params)
