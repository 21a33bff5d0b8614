"""Reading the apps' gettext catalogues and sources, for the kiosk's and the counter's i18n tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
# The keywords the pybabel commands of docs/i18n.md extract.
KEYWORDS: dict[str, Any] = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def source_messages(app: str) -> set[str]:
    """Every msgid the app's babel.cfg finds (its templates, its code, the shared/ modules it lists)."""
    with open(ROOT / app / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def read_catalogue(path: Path) -> dict[str, Any]:
    """A .po file's messages by msgid (a plural by its singular)."""
    with open(path, "rb") as fh:
        return {str(m.id[0] if isinstance(m.id, (tuple, list)) else m.id): m for m in read_po(fh) if m.id}


def untranslated(catalog: dict[str, Any]) -> list[str]:
    """The msgids with no translation, a plural form missing, or marked fuzzy."""
    return [mid for mid, m in catalog.items()
            if not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy]


def compiled_matches(po_path: Path, mo_path: Path) -> bool:
    """Whether the committed .mo holds exactly the .po's translations (no compile step runs in CI)."""
    def flat(value: object) -> object:
        return tuple(value) if isinstance(value, (list, tuple)) else value

    with open(po_path, "rb") as fh:
        po = {flat(m.id): flat(m.string) for m in read_po(fh) if m.id}
    with open(mo_path, "rb") as fh:
        mo = {flat(m.id): flat(m.string) for m in read_mo(fh) if m.id}
    return mo == po
