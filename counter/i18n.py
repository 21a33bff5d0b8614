"""Languages of the counter's screens: Vietnamese (the source language) and English.

Every string a counter screen shows goes through gettext (Flask-Babel); the msgids are the
Vietnamese texts, so Vietnamese needs no catalogue and English lives in
counter/translations/en/LC_MESSAGES/messages.po (compiled .mo committed beside it).

The official documents stay Vietnamese whatever the language (docs/i18n.md): the Phụ lục 4
report (counter/report.py renders it with its own Jinja environment, which has no gettext),
the projector view and the PDF/DOCX/XLSX/CSV files. Their templates and writers are never
marked, so the switch cannot reach them.

The kiosk has the same mechanism in its own module: the apps never import each other
(docs/architecture.md). What needs no Flask, the check that /lang sends the browser back
only to a local path, is shared.web_policy.local_path.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, redirect, request, url_for
from flask_babel import Babel, get_locale, gettext

from shared.web_policy import local_path

LANGUAGES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
# Not the kiosk's cookie name: the two apps never share a cookie (docs/architecture.md).
LANG_COOKIE = "counter_lang"
LANG_COOKIE_MAX_AGE = 60 * 60 * 24 * 365
ROOT = Path(__file__).resolve().parent.parent
# Labels the counter shows that are defined outside gettext's reach, as msgids: the tables of
# shared/ (which never imports gettext) and the verifier's check titles, named per file.
# extract_labels() is their Babel extractor (counter/babel.cfg); at run time label_text()
# looks each one up by its Vietnamese text.
LABEL_TABLES: dict[str, tuple[str, ...]] = {
    "shared/glossary.py": ("PAPER_MARK_LABELS", "PAPER_SLOT_LABELS", "PROFILE_LABELS"),
    "shared/box.py": ("_TITLES",),
    "counter/audit_commands.py": ("RESULTS_TITLE",),
}
# shared/box.py names two checks inline: Check(id, title, ...).
LABEL_CALLS: dict[str, tuple[str, int]] = {"shared/box.py": ("Check", 1)}
# The shared/ modules whose domain errors reach a counter page. Their fixed messages (a class's
# `message`, a constant first argument) are extracted as msgids, so error_text() can look them
# up; messages built with an f-string are translated once DomainError carries a message id.
DOMAIN_MODULES = ("errors.py", "paper.py", "paper_log.py", "shares.py", "box.py", "box_file.py", "tally.py")
SHARED_DIR = ROOT / "shared"


def N_(text: str) -> str:  # noqa: N802 - the usual name of gettext's no-op marker
    """Mark text as a msgid where it is defined; it is translated where it is shown."""
    return text


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
    """A label from LABEL_TABLES (or any constant msgid) in the page's language; never %-formatted."""
    return gettext(text) if text else text


def message_text(message_id: str, params: Mapping[str, Any] | None = None) -> str:
    """A domain message (its Vietnamese %-template and parameters) in the page's language."""
    # Without parameters gettext leaves the text alone, so a message with no fields keeps any %.
    return gettext(message_id, **params) if params else gettext(message_id)


def error_text(err: Exception) -> str:
    """What to show for a domain error, in the page's language: its message id, translated and
    filled with its parameters (shared.errors.DomainError)."""
    message_id = getattr(err, "message_id", None)
    if message_id is not None:
        return message_text(message_id, getattr(err, "params", None))
    return gettext(str(err))  # until DomainError carries message_id


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


# --- Babel extraction of the labels in LABEL_TABLES -----------------------------------------

def _strings(node: ast.AST) -> Iterator[tuple[int, str]]:
    for const in ast.walk(node):
        if isinstance(const, ast.Constant) and isinstance(const.value, str) and const.value:
            yield const.lineno, const.value


def _table_values(node: ast.expr) -> Iterator[tuple[int, str]]:
    """The strings of a table: a dict's values (not its keys), or a constant."""
    if isinstance(node, ast.Dict):
        for value in node.values:
            yield from _strings(value)
    else:
        yield from _strings(node)


def labels_in(relative: str, source: str) -> Iterator[tuple[int, str]]:
    """(line, msgid) of every label LABEL_TABLES and LABEL_CALLS name in one source file."""
    tables = LABEL_TABLES.get(relative, ())
    call = LABEL_CALLS.get(relative)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in tables for t in targets):
                yield from _table_values(node.value)
        elif (call and isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == call[0] and len(node.args) > call[1]):
            argument = node.args[call[1]]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                yield argument.lineno, argument.value


@functools.lru_cache(maxsize=1)
def domain_error_classes() -> frozenset[str]:
    """Names of the classes of shared/ that derive (transitively) from DomainError."""
    bases: dict[str, set[str]] = {}
    for path in SHARED_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id for b in node.bases if isinstance(b, ast.Name)}
    found = {"DomainError"}
    while grown := {name for name, parents in bases.items() if name not in found and parents & found}:
        found |= grown
    return frozenset(found)


def domain_messages_in(source: str) -> Iterator[tuple[int, str]]:
    """(line, msgid) of every fixed domain error message in one module of shared/."""
    errors = domain_error_classes()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name in errors:
            for item in node.body:
                if (isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant)
                        and isinstance(item.value.value, str)
                        and any(isinstance(t, ast.Name) and t.id == "message" for t in item.targets)):
                    yield item.lineno, item.value.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in errors
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def extract_labels(fileobj: Any, keywords: Any, comment_tags: Any,
                   options: dict[str, Any]) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method (counter/babel.cfg): the labels of LABEL_TABLES and the fixed
    domain messages of DOMAIN_MODULES."""
    path = Path(getattr(fileobj, "name", "")).resolve()
    try:
        relative = path.relative_to(ROOT).as_posix()
    except ValueError:
        return
    source = fileobj.read().decode("utf-8")
    for line, text in labels_in(relative, source):
        yield line, "", text, ["a label shown by name (counter/i18n.py LABEL_TABLES)"]
    if path.parent == SHARED_DIR and path.name in DOMAIN_MODULES:
        for line, text in domain_messages_in(source):
            yield line, "", text, ["a domain message, translated by error_text() (counter/i18n.py)"]
