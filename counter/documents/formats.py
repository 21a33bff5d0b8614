"""The document formats the counter writes, one registry for the CLI options and the web links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from counter.documents.csv_table import render_csv
from counter.documents.pdf import render_pdf
from counter.documents.word import render_docx
from counter.documents.xlsx import render_xlsx

Renderer = Callable[[dict[str, Any]], bytes]


@dataclass(frozen=True)
class DocumentFormat:
    """One downloadable rendering of the signed results."""

    key: str        # file extension, CLI option and URL suffix
    label: str      # what the download link says
    mimetype: str
    render: Renderer


FORMATS: dict[str, DocumentFormat] = {f.key: f for f in (
    DocumentFormat("pdf", "Tải báo cáo PDF", "application/pdf", render_pdf),
    DocumentFormat("docx", "Tải báo cáo Word (DOCX)",
                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                   render_docx),
    DocumentFormat("xlsx", "Tải bảng kết quả Excel (XLSX)",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", render_xlsx),
    DocumentFormat("csv", "Tải bảng kết quả CSV", "text/csv", render_csv),
)}


def download_name(election_id: str, key: str) -> str:
    """"bao-cao-<election id>.<ext>": the same stem as the results JSON's ket-qua-<id>.json."""
    return f"bao-cao-{election_id}.{key}"
