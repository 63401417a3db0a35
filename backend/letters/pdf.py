"""A letter's printed page as PDF: A4, tagged (selectable text in reading order)."""

from pathlib import Path

from backend.letters.rendering import SHIPPED_TEMPLATES_DIR


class PdfUnavailableError(RuntimeError):
    """WeasyPrint cannot run here: its system libraries (Pango) are missing."""


def letter_pdf(document: str, *, base_dir: Path = SHIPPED_TEMPLATES_DIR) -> bytes:
    """The HTML document of a letter as a tagged PDF; relative URLs resolve in base_dir."""
    try:
        # Imported here: it loads Pango, which the API and workers need only for letters.
        from weasyprint import HTML
    except OSError as error:
        raise PdfUnavailableError(
            "Impossible de produire le PDF : WeasyPrint ne trouve pas ses bibliothèques "
            f"système (Pango) : {error}"
        ) from error
    pdf = HTML(string=document, base_url=f"{base_dir.as_uri()}/").write_pdf(pdf_tags=True)
    assert pdf is not None
    return bytes(pdf)
