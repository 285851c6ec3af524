"""Scanned PDF pages read by OCR (index/formats/ocr.py through index/formats/), with the real
tesseract on PDFs the tests make: a scan, a text page and a scan in one PDF, blank pages,
tesseract missing or without its language data, a poster-sized page, and the seed article
scanned."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import PDF_PAGE1, PDF_PAGE2, make_pdf, squash
from scans import answer_agreement, scanned_pdf, seed_gold_records, typeset_pdf

from index import LoadError, load


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> Path:
    return scanned_pdf(tmp_path_factory.mktemp("scan") / "scan.pdf", PDF_PAGE2)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """Page 1 has a text layer; page 2 is a scan."""
    from pypdf import PdfWriter

    folder = tmp_path_factory.mktemp("mixed")
    writer = PdfWriter()
    writer.append(make_pdf(folder / "text.pdf", [PDF_PAGE1]))
    writer.append(scanned_pdf(folder / "scan.pdf", PDF_PAGE2))
    with open(folder / "mixed.pdf", "wb") as handle:
        writer.write(handle)
    return folder / "mixed.pdf"


@pytest.fixture(scope="module")
def scanned_document(scan):
    return load(scan)


@pytest.fixture
def no_tesseract(monkeypatch, tmp_path):
    """A PATH on which tesseract is not found."""
    monkeypatch.setenv("PATH", str(tmp_path))


def _load_error(path: Path) -> str:
    with pytest.raises(LoadError) as caught:
        load(path)
    return str(caught.value)


@pytest.mark.ocr
def test_scanned_page_is_read(scanned_document):
    assert squash(scanned_document.text) == squash(PDF_PAGE2)


@pytest.mark.ocr
def test_scanned_page_is_cited_as_ocr(scanned_document):
    assert scanned_document.location(0, 10) == "page 1 (OCR)"


@pytest.mark.ocr
def test_mixed_pdf_has_its_text_page_and_its_scanned_page(mixed):
    document = load(mixed)
    pages = [(document.location(p.start, p.end), squash(document.text[p.start : p.end]))
             for p in document.pages]
    assert pages == [("page 1", squash(PDF_PAGE1)), ("page 2 (OCR)", squash(PDF_PAGE2))]


@pytest.mark.ocr
def test_progress_bar_while_scanned_pages_are_read(scan, capsys):
    load(scan, progress=True)
    assert "Reading scanned pages" in capsys.readouterr().err


def test_missing_tesseract_says_to_install_it(scan, no_tesseract):
    assert _load_error(scan) == (
        "PDF has scanned pages (1) and tesseract is not installed to read them: install "
        "tesseract-ocr (Debian/Ubuntu: apt-get install tesseract-ocr tesseract-ocr-eng)")


def test_missing_tesseract_fails_a_mixed_pdf_whole(mixed, no_tesseract):
    """Its text page alone would be indexed as the whole file, and never re-read."""
    assert _load_error(mixed).startswith("PDF has scanned pages (2)")


def test_blank_pages_need_no_tesseract(tmp_path, no_tesseract):
    path = make_pdf(tmp_path / "gap.pdf", [PDF_PAGE1, "", PDF_PAGE2])
    assert [page.number for page in load(path).pages] == [1, 3]


@pytest.mark.ocr
def test_missing_language_data_is_a_load_error(scan, monkeypatch, tmp_path):
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # no eng.traineddata here
    assert _load_error(scan).startswith("tesseract could not read PDF page 1: Error opening data file")


def test_poster_sized_page_is_rendered_within_the_pixel_cap(tmp_path):
    """A 200-inch page at 200 DPI would be a 1.6 GB image."""
    import io

    import pypdfium2
    from fpdf import FPDF
    from PIL import Image

    from index.formats import ocr

    poster = FPDF(format=(5080, 5080))  # mm: 200 inches, the largest page PDF allows
    poster.add_page()
    poster.output(str(tmp_path / "poster.pdf"))
    page = pypdfium2.PdfDocument(tmp_path / "poster.pdf")[0]
    width, height = Image.open(io.BytesIO(ocr._render(page))).size
    assert width * height < 1.01 * ocr.MAX_PIXELS  # PDFium rounds the size up to whole pixels


@pytest.mark.slow
@pytest.mark.ocr
def test_scanned_seed_article_answers_as_its_text_version(tmp_path):
    """The seed gold set against the seed article typeset as a PDF, and against the same
    pages scanned. Measured: 32 of 36 alike (0.889) since the reader (issue 26) leads the
    answer with the sentence holding its span: OCR's small differences move its span or a
    confidence near the threshold; 35 of 36 (0.972) before it, seed-08 differing because
    tesseract reads "cheaper…" as "cheaper...", which ends the quoted sentence early."""
    typeset = seed_gold_records(tmp_path / "typeset", "seed.pdf", typeset_pdf)
    scanned = seed_gold_records(tmp_path / "scanned", "seed.pdf", scanned_pdf)
    assert answer_agreement(typeset, scanned) >= 0.85
