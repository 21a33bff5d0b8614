"""Where the PDF's fonts come from: DejaVu TrueType files installed by the OS package.

The counter is offline, so the font is never downloaded: Debian's `fonts-dejavu-core`
(installed by .ci/run and by deploy/) ships DejaVu Serif, which covers every Vietnamese
letter (Latin Extended Additional, U+1EA0-U+1EF9). The italic faces come from
`fonts-dejavu-extra`; without them the PDF uses the upright face, nothing is lost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shared.errors import N_, DomainError

FONT_DIR_ENV = "COUNTER_FONT_DIR"
# Debian/Ubuntu first; then Fedora/Arch and a hand install.
SEARCH_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-serif-fonts"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)
REGULAR, BOLD = "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"
ITALIC, BOLD_ITALIC = "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf"


class FontMissing(DomainError):
    """The DejaVu Serif font files are not installed; no PDF can be made.

    A domain error, so the download page shows it in its language (counter.i18n.error_text).
    """


@dataclass(frozen=True)
class FontFiles:
    """The TrueType files of one family; italic faces may be missing."""

    regular: Path
    bold: Path
    italic: Path | None
    bold_italic: Path | None


def _dirs() -> list[Path]:
    override = os.environ.get(FONT_DIR_ENV)
    return ([Path(override)] if override else []) + list(SEARCH_DIRS)


def find_fonts() -> FontFiles:
    """The DejaVu Serif files of the first directory that has them; FontMissing if none."""
    for directory in _dirs():
        regular, bold = directory / REGULAR, directory / BOLD
        if regular.is_file() and bold.is_file():
            italic, bold_italic = directory / ITALIC, directory / BOLD_ITALIC
            return FontFiles(regular, bold, italic if italic.is_file() else None,
                             bold_italic if bold_italic.is_file() else None)
    raise FontMissing(N_("Không tìm thấy phông chữ DejaVu Serif để tạo PDF tiếng Việt. Cài gói "
                         "fonts-dejavu-core (apt-get install fonts-dejavu-core) hoặc đặt %(variable)s "
                         "trỏ tới thư mục chứa DejaVuSerif.ttf và DejaVuSerif-Bold.ttf."), variable=FONT_DIR_ENV)
