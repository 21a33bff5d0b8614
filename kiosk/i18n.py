"""Languages: Vietnamese (the source language of every message) and English.

Every string the kiosk shows goes through gettext (Flask-Babel); the msgids are the
Vietnamese texts themselves, so the Vietnamese screens need no catalogue and English
lives in kiosk/translations/en/LC_MESSAGES/messages.po (compiled .mo committed beside it).

Domain errors come from shared/, which never imports Flask or gettext (docs/architecture.md), so
they are translated here, at the view layer, by message id: `error_text(err)` looks
the Vietnamese message up in the catalogue. Messages that shared/ builds with an
f-string ("... từ 1 đến {len(members)} ...") are found by reading shared/'s source:
`shared_messages()` turns each f-string into a template with {0}, {1}... which is the
msgid, and at run time the formatted message is matched back to its template. The same
scan is the Babel extractor for shared/ (kiosk/babel.cfg), so `pybabel extract` finds
every domain message without a marker in shared/. See docs/i18n.md.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, redirect, request, url_for
from flask_babel import Babel, get_locale, get_translations, gettext
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

import shared
from shared.glossary import LEVEL_LABELS, LEVELS
from shared.web_policy import local_path

LANGUAGES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "kiosk_lang"
SHARED_DIR = Path(shared.__file__).resolve().parent
# Calls in shared/ whose argument is a user-facing message: error classes (first argument)
# and election._text (its third argument, the field's label).
LABEL_FUNCTIONS = {"_text": 2}
# The shared/ modules whose messages can reach a kiosk page (what the kiosk's views call),
# and the glossary tables the kiosk shows. Counter-only modules (paper ballots, recounts,
# tally) are the counter's business: they are not in the kiosk's catalogue.
KIOSK_SHARED_MODULES = ("errors.py", "election.py", "voting.py", "booths.py", "shares.py",
                        "box.py", "audit.py", "codes.py", "glossary.py", "setup.py")
KIOSK_GLOSSARY_TABLES = ("LEVEL_LABELS", "ELECTION_STATE_LABELS", "PROFILE_LABELS", "BALLOT_BASIS",
                         "BALLOT_REQUEST", "LEVEL_COLUMNS")
TEMPLATE_FIELD = re.compile(r"\{(\d+)\}")


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

def _error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """Names of every class in shared/ that derives (transitively) from DomainError."""
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id for b in node.bases if isinstance(b, ast.Name)}
    found = {"DomainError"}
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in found and parents & found:
                found.add(name)
                changed = True
    return found


def _template(node: ast.expr) -> str | None:
    """The msgid of a string or f-string node: f-string fields become {0}, {1}..."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        fields = 0
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            else:
                parts.append(f"{{{fields}}}")
                fields += 1
        return "".join(parts)
    return None


def _messages_in(path: Path, tree: ast.Module, errors: set[str]) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in errors:
            for item in node.body:
                if (isinstance(item, ast.Assign) and len(item.targets) == 1
                        and isinstance(item.targets[0], ast.Name) and item.targets[0].id == "message"):
                    text = _template(item.value)
                    if text:
                        yield item.lineno, text
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            index = 0 if node.func.id in errors else LABEL_FUNCTIONS.get(node.func.id)
            if index is not None and len(node.args) > index:
                text = _template(node.args[index])
                if text:
                    yield node.lineno, text
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and path.name == "glossary.py":
            # The glossary tables the kiosk shows: every string in them.
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if any(n in KIOSK_GLOSSARY_TABLES for n in names) and node.value is not None:
                for const in ast.walk(node.value):
                    if isinstance(const, ast.Dict):
                        for value in const.values:
                            text = _template(value) if value is not None else None
                            if text:
                                yield value.lineno if value is not None else node.lineno, text


@functools.lru_cache(maxsize=1)
def shared_messages() -> tuple[tuple[Path, int, str], ...]:
    """Every message of shared/ a kiosk page can show, as (file, line, msgid), in file order."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), str(path))
             for path in sorted(SHARED_DIR.glob("*.py"))}
    errors = _error_classes(trees)  # from every module: an error class may live anywhere
    found: list[tuple[Path, int, str]] = []
    for path, tree in trees.items():
        if path.name in KIOSK_SHARED_MODULES:
            found += [(path, line, text) for line, text in sorted(_messages_in(path, tree, errors))]
    return tuple(found)


@functools.lru_cache(maxsize=1)
def _templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Regular expressions matching each f-string message, longest fixed text first."""
    templates = {text for _path, _line, text in shared_messages() if TEMPLATE_FIELD.search(text)}
    compiled = []
    for text in sorted(templates, key=lambda t: -len(TEMPLATE_FIELD.sub("", t))):
        pieces = TEMPLATE_FIELD.split(text)
        pattern = "".join(re.escape(p.replace("{{", "{").replace("}}", "}")) if i % 2 == 0 else "(.+?)"
                          for i, p in enumerate(pieces))
        compiled.append((re.compile(pattern, re.DOTALL), text))
    return tuple(compiled)


def translate_text(text: str, depth: int = 0) -> str:
    """A message from shared/ in the page's language (by message id; see the module doc)."""
    if current_language() == DEFAULT_LANGUAGE or not text:
        return text
    translated = gettext(text)
    if translated != text or depth > 2:
        return str(translated)
    for pattern, template in _templates():
        match = pattern.fullmatch(text)
        if match:
            values = [translate_text(v, depth + 1) for v in match.groups()]
            return str(gettext(template)).format(*values)
    return text


def error_text(err: Exception) -> str:
    """What to show for a domain error, in the page's language."""
    return translate_text(str(err))


def extract_shared(fileobj: Any, keywords: Any, comment_tags: Any,
                   options: dict[str, Any]) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method for shared/*.py (see kiosk/babel.cfg): the messages above."""
    name = Path(getattr(fileobj, "name", "")).resolve()
    for path, line, text in shared_messages():
        if path == name:
            yield line, "", text, ["shared/: translated by message id (kiosk/i18n.py)"]
