"""index.formats on real files of every supported format, and on broken ones."""

from __future__ import annotations

import hashlib
import os
import random

import pytest
from helpers import (
    DOCX_PARAGRAPHS,
    DOCX_TABLE,
    HTML_HIDDEN,
    HTML_VISIBLE,
    LATIN1_TEXT,
    MARKDOWN,
    PDF_PAGE1,
    PDF_PAGE2,
    UTF16_TEXT,
    make_docx,
    make_encrypted_pdf,
    make_pdf,
    rewrite_zip_member,
    squash,
)

from index import LoadError, load
from index.formats import PAGE_SEPARATOR, document_version


# -- good files ------------------------------------------------------------------------


def test_pdf_has_two_pages_whose_spans_hold_their_own_text(session_docs):
    doc = load(session_docs["pdf"])
    assert [p.number for p in doc.pages] == [1, 2]
    first, second = doc.pages
    assert squash(doc.text[first.start : first.end]) == squash(PDF_PAGE1)
    assert squash(doc.text[second.start : second.end]) == squash(PDF_PAGE2)
    # Pages are in order, disjoint, and only the separator lies between them.
    assert 0 == first.start < first.end < second.start < second.end == len(doc.text)
    assert doc.text[first.end : second.start] == PAGE_SEPARATOR
    # page_at maps an offset back to the page a reader would cite.
    assert doc.page_at(doc.text.index("apples")) == 1
    assert doc.page_at(doc.text.index("bananas")) == 2
    assert doc.page_at(first.end) is None  # inside the separator
    assert doc.spans() == [(first.start, first.end, 1), (second.start, second.end, 2)]


def test_pdf_blank_page_keeps_true_page_numbers(tmp_path):
    path = make_pdf(tmp_path / "gap.pdf", [PDF_PAGE1, "", PDF_PAGE2])
    doc = load(path)
    assert [p.number for p in doc.pages] == [1, 3]
    assert "bananas" in doc.text[doc.pages[1].start : doc.pages[1].end]
    assert doc.page_at(doc.text.index("bananas")) == 3


def test_docx_paragraphs_and_table(session_docs):
    doc = load(session_docs["docx"])
    positions = [doc.text.index(p) for p in DOCX_PARAGRAPHS]
    assert positions == sorted(positions), "paragraph order is kept"
    for row in DOCX_TABLE:
        assert " | ".join(row) in doc.text
    assert doc.pages == []
    assert doc.spans() == [(0, len(doc.text), None)]


def test_html_visible_text_only(session_docs):
    doc = load(session_docs["html"])
    for visible in HTML_VISIBLE:
        assert visible in doc.text
    for hidden in HTML_HIDDEN:
        assert hidden not in doc.text
    assert "console.log" not in doc.text and "color: red" not in doc.text
    assert "<" not in doc.text and ">" not in doc.text
    # The title and the identical <h1> appear once; inline tags do not break the sentence.
    assert doc.text.count("Glacier field notes") == 1
    assert "The glacier retreated forty metres this year." in doc.text
    assert "below the moraine." in doc.text


def test_markdown_is_read_verbatim(session_docs):
    assert load(session_docs["md"]).text == MARKDOWN


def test_latin1_file_decodes_to_the_right_characters(session_docs):
    text = load(session_docs["latin1"]).text
    assert "\ufffd" not in text
    assert text == LATIN1_TEXT
    for word in ("café", "naïve", "crème brûlée", "garçon", "déjà"):
        assert word in text


@pytest.mark.parametrize(
    "text",
    ["naïve café", "The naïve café owner.", "Crème brûlée.", "Ærø and Åland are islands; the café was naïve."],
)
def test_short_latin1_text_is_not_mojibake(tmp_path, text):
    """charset_normalizer alone guesses cp1250/cp1006/UTF-16 for short Latin-1 files (regression)."""
    path = tmp_path / "short.txt"
    path.write_bytes(text.encode("latin-1"))
    assert load(path).text == text


def test_utf16_with_bom(session_docs, tmp_path):
    text = load(session_docs["utf16"]).text
    assert text == UTF16_TEXT
    assert "\ufeff" not in text
    big_endian = tmp_path / "be.txt"
    big_endian.write_bytes(b"\xfe\xff" + UTF16_TEXT.encode("utf-16-be"))
    assert load(big_endian).text == UTF16_TEXT


def test_utf8_bom_and_newlines_are_normalized(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "First line.\r\nSecond line.\rThird.".encode())
    assert load(path).text == "First line.\nSecond line.\nThird."


def test_sha256_and_source(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("Some words here.")
    doc = load(path)
    assert doc.source == str(path)
    assert doc.sha256 == document_version(path.read_bytes())
    assert doc.sha256 != hashlib.sha256(path.read_bytes()).hexdigest()  # the reader's version is in it
    assert load(path, source="custom/name.md").source == "custom/name.md"


# -- broken files ----------------------------------------------------------------------


def _load_error(path) -> str:
    with pytest.raises(LoadError) as caught:
        load(path)
    return str(caught.value)


def test_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    assert _load_error(tmp_path / "empty.txt") == "empty file"


def test_whitespace_only_file(tmp_path):
    (tmp_path / "blank.md").write_bytes(b" \n\t \r\n  \n")
    assert _load_error(tmp_path / "blank.md") == "empty file"


def test_whitespace_only_utf16_file(tmp_path):
    (tmp_path / "blank16.txt").write_bytes("  \n \t ".encode("utf-16"))
    assert _load_error(tmp_path / "blank16.txt") == "no text could be extracted"


def test_random_binary_named_txt(tmp_path):
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(4096)) + b"\x00\x00"
    (tmp_path / "noise.txt").write_bytes(data)
    assert "binary data" in _load_error(tmp_path / "noise.txt")


def test_random_binary_without_nul_bytes(tmp_path):
    rng = random.Random(8)
    (tmp_path / "noise.txt").write_bytes(bytes(rng.randrange(1, 256) for _ in range(4096)))
    assert "binary data" in _load_error(tmp_path / "noise.txt")


def test_png_named_txt(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(3000)
    (tmp_path / "picture.txt").write_bytes(png)
    assert "binary data" in _load_error(tmp_path / "picture.txt")


def test_binary_named_html(tmp_path):
    (tmp_path / "page.html").write_bytes(b"\x00\x01\x02" * 500)
    assert "binary data" in _load_error(tmp_path / "page.html")


def test_random_bytes_with_pdf_header(tmp_path):
    rng = random.Random(9)
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\n" + bytes(rng.randrange(256) for _ in range(3000)))
    assert _load_error(tmp_path / "bad.pdf").startswith("corrupt or unreadable PDF")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_pdf(tmp_path, fraction):
    data = make_pdf(tmp_path / "whole.pdf", [PDF_PAGE1, PDF_PAGE2]).read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: int(len(data) * fraction)])
    message = _load_error(tmp_path / "cut.pdf")
    assert message.startswith("corrupt or unreadable PDF") or "no extractable text" in message


def test_pdf_with_unknown_stream_filter(tmp_path):
    """pypdf raises NotImplementedError ("Unsupported filter"): still a LoadError (regression)."""
    data = make_pdf(tmp_path / "whole.pdf", [PDF_PAGE1]).read_bytes()
    assert b"/FlateDecode" in data
    (tmp_path / "odd.pdf").write_bytes(data.replace(b"/FlateDecode", b"/FlateDecodX"))
    assert "PDF" in _load_error(tmp_path / "odd.pdf")


def test_encrypted_pdf(tmp_path):
    path = make_encrypted_pdf(tmp_path / "locked.pdf")
    assert _load_error(path) == "encrypted PDF: remove the password first"


def test_pdf_without_text(tmp_path):
    path = make_pdf(tmp_path / "scan.pdf", ["", ""])
    assert "no extractable text" in _load_error(path)


def test_docx_that_is_not_a_zip(tmp_path):
    (tmp_path / "fake.docx").write_bytes(b"This is plain text pretending to be a Word file.")
    assert _load_error(tmp_path / "fake.docx").startswith("corrupt or unreadable DOCX")


def test_zip_that_is_not_a_docx(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "archive.docx", "w") as archive:
        archive.writestr("hello.txt", "hello")
    assert _load_error(tmp_path / "archive.docx").startswith("corrupt or unreadable DOCX")


def test_docx_with_malformed_xml(tmp_path):
    """lxml's XMLSyntaxError (a SyntaxError, not ValueError) is still a LoadError (regression)."""
    good = make_docx(tmp_path / "good.docx")
    bad = rewrite_zip_member(good, tmp_path / "bad.docx", "word/document.xml", b"<w:document oops")
    assert _load_error(bad).startswith("corrupt or unreadable DOCX")


@pytest.mark.parametrize("name", ["table.xls", "picture.png", "Makefile", "archive.tar.gz"])
def test_unsupported_suffix(tmp_path, name):
    (tmp_path / name).write_text("a,b,c\n1,2,3\n")
    assert _load_error(tmp_path / name).startswith("unsupported file type")


def test_missing_file(tmp_path):
    assert _load_error(tmp_path / "nowhere.txt").startswith("cannot read file")


def test_suffix_is_case_insensitive(tmp_path):
    (tmp_path / "SHOUT.TXT").write_text("Loud words here.")
    assert load(tmp_path / "SHOUT.TXT").text == "Loud words here."
