"""PDF documents as frames, as CVAT's ``PdfReader`` makes them: every page rendered to a JPEG
(pdf2image's defaults there: 200 dpi, format "jpeg") named ``<pdf stem><page:09d>.jpeg`` next to
where the PDF was uploaded. Rendering uses PDFium (pypdfium2), which needs no system poppler."""

from __future__ import annotations

import os
from pathlib import Path

from .model import MediaError

DPI = 200  # pdf2image's default, which CVAT keeps
MAX_PAGES = 10_000


def page_name(pdf_name: str, page: int) -> str:
    stem = os.path.splitext(os.path.basename(pdf_name))[0]
    return os.path.join(os.path.dirname(pdf_name), f"{stem}{page:09d}.jpeg")


def render_pages(path: Path, raw: Path, pdf_name: str, *, last_page: int | None = None
                 ) -> list[str]:
    """Renders the pages (up to ``last_page``, 0-based, as CVAT passes ``stop_frame``) under
    ``raw``; returns the frame names in page order."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError) as exc:
        raise MediaError(f"Unable to get page count. '{pdf_name}' is not a readable PDF: {exc}",
                         cvat_type="pdf2image.exceptions.PDFPageCountError") from None
    names = []
    try:
        count = len(document)
        if count == 0:
            raise MediaError(f"The PDF '{pdf_name}' has no pages", cvat_type="Exception")
        if count > MAX_PAGES:
            raise MediaError(f"The PDF '{pdf_name}' has {count} pages: the limit is {MAX_PAGES}")
        last = count - 1 if last_page is None else min(count - 1, last_page)
        for number in range(last + 1):
            page = document[number]
            try:
                image = page.render(scale=DPI / 72).to_pil().convert("RGB")
            finally:
                page.close()
            name = page_name(pdf_name, number)
            target = raw / name
            target.parent.mkdir(parents=True, exist_ok=True)
            image.save(target, format="JPEG")
            names.append(name)
    except pdfium.PdfiumError as exc:
        raise MediaError(f"The PDF '{pdf_name}' is corrupted: {exc}") from None
    finally:
        document.close()
    return names
