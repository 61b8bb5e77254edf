"""One entry point from a document to the bytes of a file."""

from __future__ import annotations

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.reports.document import Document, language

FORMATS = ("docx", "pdf", "xlsx")
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def check_format(fmt: str) -> str:
    fmt = (fmt or "").lower()
    if fmt not in FORMATS:
        raise ChisoError(_("Unknown report format {format}: use one of {formats}.").format(
            format=fmt, formats=", ".join(FORMATS)))
    return fmt


def render(document: Document, fmt: str) -> bytes:
    """The document as a DOCX, PDF or XLSX file, in the document's language."""
    fmt = check_format(fmt)
    with language(document.lang):
        if fmt == "docx":
            from chiso.reports.render_docx import render_docx

            return render_docx(document)
        if fmt == "pdf":
            from chiso.reports.render_pdf import render_pdf

            return render_pdf(document)
        from chiso.reports.render_xlsx import render_xlsx

        return render_xlsx(document)
