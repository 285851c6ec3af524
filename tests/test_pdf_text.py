"""A PDF's text as a reader sees it (index/formats/pdf.py, index/formats/page_text.py): sentences across page
breaks, words hyphenated at a line's end, running headers, footers and page numbers, outline
sections, on PDFs the tests build (fpdf2, and scans read by the real tesseract) and on the
libtasn1 manual when Debian's libtasn1-doc is installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import make_pdf
from scans import scanned_lines_pdf

from index import load
from index.chunking import chunk_document, sentence_spans
from index.formats import Document, Page, spanning_location

MANUAL = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")
CROSSING = ("The keeper climbed the tower at dusk and lit the great lamp\n",
            "before the storm reached the harbour. The ships came home safely.")
CROSSING_SENTENCE = "The keeper climbed the tower at dusk and lit the great lamp\nbefore the storm reached the harbour."


def _sentence(document: Document, words: str) -> tuple[int, int]:
    """The span of the one sentence of the document holding `words`."""
    spans = [(a, b) for a, b in sentence_spans(document.text) if words in document.text[a:b]]
    assert len(spans) == 1, spans
    return spans[0]


# -- a sentence across a page break ----------------------------------------------------------


def test_a_sentence_across_a_page_break_is_one_sentence_cited_on_both_pages(tmp_path):
    document = load(make_pdf(tmp_path / "crossing.pdf", list(CROSSING)))
    start, end = _sentence(document, "great lamp")
    assert document.text[start:end] == CROSSING_SENTENCE
    assert document.location(start, end) == "pages 1-2"
    assert (document.page_at(start), document.page_at(end - 1)) == (1, 2)


def test_the_sentence_across_the_break_is_in_one_chunk_whose_page_is_the_first(tmp_path, embedder):
    document = load(make_pdf(tmp_path / "crossing.pdf", list(CROSSING)))
    start, end = _sentence(document, "great lamp")
    [chunk] = [c for c in chunk_document(document, embedder.tokenizer, embedder.max_tokens)
               if c.start <= start and end <= c.end]
    assert (chunk.page, document.location(chunk.start, chunk.end)) == (1, "pages 1-2")
    assert chunk.text == document.text[chunk.start : chunk.end]


def test_a_page_that_ends_its_sentence_stays_a_page_of_its_own(tmp_path):
    document = load(make_pdf(tmp_path / "ended.pdf", ["The lamp was lit.", "The ships came home."]))
    first, second = document.pages
    assert document.text[first.end : second.start] == "\n\n"
    assert document.spans() == [(first.start, first.end, 1), (second.start, second.end, 2)]


def test_a_word_hyphenated_across_a_page_break_is_joined_and_cited_on_both_pages(tmp_path):
    pages = ["Water the young trees and plan the irri-", "gation of the lower field before May."]
    document = load(make_pdf(tmp_path / "split-word.pdf", pages))
    start = document.text.index("irrigation")
    assert document.location(start, start + len("irrigation")) == "pages 1-2"
    assert document.text.startswith("Water the young trees and plan the irrigation of the lower field")


# -- hyphenation -----------------------------------------------------------------------------


def test_line_end_hyphens_are_joined_and_real_hyphens_kept(tmp_path):
    page = ("The orchard needs careful man-\nagement of its water. Good management saves trees.\n"
            "Pruning is a well-\nknown craft, and the well-known rules are simple.\n"
            "Ask about the manip-\nulation of branches.")
    text = load(make_pdf(tmp_path / "hyphens.pdf", [page])).text
    assert "careful management of its water." in text  # "management" is written elsewhere
    assert "a well-known craft" in text  # "well-known" is written on one line elsewhere
    assert "the manipulation of branches." in text  # "manip" and "ulation" are no words of it
    assert "-\n" not in text


def test_an_identifier_broken_after_an_underscore_is_joined(tmp_path):
    page = "The parser returns ASN1_\nSYNTAX_ERROR when a line is bad."
    assert "returns ASN1_SYNTAX_ERROR when" in load(make_pdf(tmp_path / "identifier.pdf", [page])).text


def test_both_halves_being_words_of_the_document_keep_the_hyphen(tmp_path):
    page = "The guide is self-\ncontained. The self is one word here, contained another."
    assert "The guide is self-contained." in load(make_pdf(tmp_path / "halves.pdf", [page])).text


# -- running headers, footers, page numbers -------------------------------------------------


def _handbook_page(number: int) -> str:
    ending = {1: "Prune in late winter.", 3: "Prune in late winter.", 2: "See figure 7", 4: "See figure 7"}
    return "\n".join([
        "Orchard Handbook",  # the same on every page
        f"Chapter 2: Pruning {number + 10}",  # its number keeps step with the page's
        f"Body text of page {number} tells how to cut the branches.",
        ending[number],  # a body line at the bottom of two pages, with or without a number
        str(number),  # a page number
    ])


def test_running_headers_footers_and_page_numbers_are_left_out(tmp_path):
    document = load(make_pdf(tmp_path / "handbook.pdf", [_handbook_page(n) for n in range(1, 5)]))
    assert "Orchard Handbook" not in document.text
    assert "Chapter 2: Pruning" not in document.text
    assert not re.search(r"^\d+$", document.text, re.MULTILINE)
    for number, page in enumerate(document.pages, start=1):
        assert document.text[page.start : page.end].startswith(f"Body text of page {number} ")


def test_body_lines_that_repeat_on_two_pages_stay(tmp_path):
    text = load(make_pdf(tmp_path / "handbook.pdf", [_handbook_page(n) for n in range(1, 5)])).text
    assert text.count("Prune in late winter.") == 2
    assert text.count("See figure 7") == 2


def test_a_scan_has_its_page_number_left_out_and_its_hyphens_and_page_break_joined(tmp_path):
    pages = [["The keepers say the lamp needs careful man-", "agement in winter, when good management",
              "saves oil and the long", "", "", "1"],
             ["nights are dark.", "", "", "2"]]
    document = load(scanned_lines_pdf(tmp_path / "scan.pdf", pages))
    start, end = _sentence(document, "careful")
    assert " ".join(document.text[start:end].split()) == (
        "The keepers say the lamp needs careful management in winter, when good management "
        "saves oil and the long nights are dark.")
    assert document.location(start, end) == "pages 1-2 (OCR)"
    assert not re.search(r"^\d+$", document.text, re.MULTILINE)


# -- locations -------------------------------------------------------------------------------


def test_a_range_over_pages_labelled_alike_is_one_range_else_both_are_named():
    text = "one\ntwo\nthree"
    pages = [Page(1, 0, 3), Page(2, 4, 7, "page 2 (OCR)"), Page(3, 8, 13, "page 3 (OCR)")]
    document = Document("x.pdf", text, "0", pages=pages)
    assert document.location(4, 13) == "pages 2-3 (OCR)"
    assert document.location(0, 7) == "page 1 to page 2 (OCR)"
    assert document.location(0, 13) == "page 1 to page 3 (OCR)"


@pytest.mark.parametrize(("first", "last", "spanning"), [
    ("page 3", "pages 3-4", "pages 3-4"),
    ("pages 2-3 (OCR)", "page 4 (OCR)", "pages 2-4 (OCR)"),
    ("page 2", "page 3 (OCR)", "page 2 to page 3 (OCR)"),
])
def test_overlapping_chunks_on_a_pdfs_pages_are_one_range(first, last, spanning):
    assert spanning_location(first, last) == spanning


# -- outline sections ------------------------------------------------------------------------


def _outlined_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for title, heading, level, body, new_page in [
        ("Introduction", "1. Introduction", 0, "Why orchards matter to the valley.", True),
        ("Soil", "1.1 Soil", 1, "The soil is loam over chalk.", False),
        ("Methods", "2. Methods", 0, "We counted the trees by hand.", True),
        ("Nonregular plots", "2.1 Non-regular plots", 1, "Some plots are not square.", False),
    ]:
        if new_page:
            pdf.add_page()
        pdf.start_section(title, level)
        pdf.multi_cell(0, 8, f"{heading}\n{body}", new_x="LMARGIN", new_y="NEXT")
    path.write_bytes(bytes(pdf.output()))
    return path


def test_outline_entries_become_sections_from_their_headings(tmp_path):
    """A bookmark may drop the heading's punctuation ("Nonregular" for "Non-regular")."""
    document = load(_outlined_pdf(tmp_path / "outlined.pdf"))
    sections = [(s.path, document.text[s.start : s.end].strip()) for s in document.sections]
    assert sections == [
        (("Introduction",), "1. Introduction\nWhy orchards matter to the valley."),
        (("Introduction", "Soil"), "1.1 Soil\nThe soil is loam over chalk."),
        (("Methods",), "2. Methods\nWe counted the trees by hand."),
        (("Methods", "Nonregular plots"), "2.1 Non-regular plots\nSome plots are not square."),
    ]


# -- the libtasn1 manual ---------------------------------------------------------------------

needs_manual = pytest.mark.skipif(not MANUAL.exists(), reason="Debian package libtasn1-doc is not installed")


@pytest.fixture(scope="module")
def manual() -> Document:
    return load(MANUAL)


@needs_manual
def test_the_manual_reads_as_a_reader_reads_it(manual):
    assert "man-\nagement" not in manual.text
    assert "parsing and structures management, and Distinguished Encoding Rules" in manual.text
    assert "not even POSIX is required.\n\n2 ASN.1 structure handling" in manual.text
    assert not re.search(r"^\d+$", manual.text, re.MULTILINE)
    assert "Chapter 4: Function reference" not in manual.text
    contents = manual.pages[2]  # numbered "i" at its top
    assert manual.text[contents.start : contents.end].startswith("Table of Contents\n")


@needs_manual
def test_the_manuals_outline_names_its_sections(manual):
    paths = {section.path: manual.text[section.start : section.end] for section in manual.sections}
    assert len(paths) == 21
    assert paths["2 ASN.1 structure handling", "Naming"].startswith("2.2 Naming\nConsider this definition:")
    assert paths["4 Function reference", "DER functions"].startswith("4.3 DER functions\n")
    starts = [section.start for section in manual.sections]
    assert starts == sorted(starts)
