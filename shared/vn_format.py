"""Numbers, dates and times as Vietnamese offices write them, for every screen and file.

"10.000" (dot for thousands), "27/11/2026", "14:05 27/11/2026" in the machine's own time
zone: the audit chain stores UTC ISO stamps (shared/audit.py), and nobody in the room reads UTC.
"""

from __future__ import annotations

import datetime as dt
import unicodedata


def vn_number(value: int) -> str:
    """An integer with the Vietnamese thousands separator: 10000 -> "10.000"."""
    return f"{value:,}".replace(",", ".")


def vn_day(iso: str) -> str:
    """"2026-11-27" -> "27/11/2026"; anything else is shown as it is."""
    try:
        return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return str(iso)


def vn_datetime(stamp: str) -> str:
    """An ISO timestamp (any zone) -> "dd/mm/yyyy hh:mm" in this machine's local time zone."""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().strftime("%d/%m/%Y %H:%M")


# Vietnamese dictionary order: the letters (ă, â, đ, ê, ô, ơ, ư are letters of their own),
# then, only between words spelt alike, the tones: ngang, huyền, hỏi, ngã, sắc, nặng.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER = {letter: i for i, letter in enumerate(_ALPHABET)}
_MODIFIERS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn: part of the letter
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def vn_sort_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A key that sorts Vietnamese words as a dictionary does (Python's str order puts "Đ" after "Z")."""
    letters: list[int] = []
    tones: list[int] = []
    base = ""
    tone = 0

    def flush() -> None:
        if base:
            composed = unicodedata.normalize("NFC", base)
            letters.append(_LETTER.get(composed, len(_ALPHABET) + ord(composed[0])))
            tones.append(tone)

    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _MODIFIERS and base:
            base += char
        elif char in _TONES:
            tone = _TONES[char]
        elif unicodedata.combining(char):
            continue
        else:
            flush()
            base, tone = ("đ" if char == "đ" else char), 0
    flush()
    return tuple(letters), tuple(tones)


def given_name_key(name: str) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """Sort by given name (the last word), then family and middle names, as offices sort lists."""
    words = name.split()
    return (vn_sort_key(words[-1]) if words else ((), ()), vn_sort_key(" ".join(words[:-1])))
