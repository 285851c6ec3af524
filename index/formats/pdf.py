"""A PDF's text as a reader sees it (index/formats/page_text.py), its pages, and the sections its
outline (bookmarks) names."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from index.errors import LoadError
from index.formats.base import Page, Section, unreadable
from index.formats.page_text import RawPage, running_text


def read_pdf(data: bytes, progress: bool) -> tuple[str, list[Page], list[Section]]:
    """Each page's text layer, or its OCR text when it has none (a scan), joined as one
    running text; `progress` shows a bar while scanned pages are read."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("encrypted PDF: remove the password first")
        page_texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; all mean "corrupt"
        raise unreadable("PDF", exc) from exc
    scanned = _scanned_texts(data, page_texts, progress)
    raw = [RawPage(number, text or scanned.get(number, ""), f"page {number} (OCR)" if number in scanned else None)
           for number, text in enumerate(page_texts, start=1)]
    if not any(page.text for page in raw):
        raise LoadError("PDF has no extractable text: its pages are blank or OCR found no words on them")
    pages = running_text(raw)
    return pages.text, pages.pages, outline_sections(reader, pages.text, pages.pages)


def _scanned_texts(data: bytes, page_texts: list[str], progress: bool) -> dict[int, str]:
    """page number -> OCR text, for the pages with no text layer that are not blank."""
    textless = [number for number, text in enumerate(page_texts, start=1) if not text]
    if not textless:
        return {}
    from index.formats.ocr import read_scanned_pages

    return read_scanned_pages(data, textless, progress=progress)


def outline_sections(reader, text: str, pages: list[Page]) -> list[Section]:
    """The outline's entries as sections of `text`: each starts where its title is written on
    its destination page (at the page's start when it is not found there) and runs to the
    next entry's start; its path is its title under its ancestors'. Entries out of text
    order are left out, and so is the whole outline when it is damaged: it names headings,
    and the text is readable without them."""
    try:
        entries = list(_entries(reader, reader.outline, ()))
    except Exception:  # pypdf raises many types on damaged outlines (loops, dangling references)
        return []
    starts: list[tuple[int, tuple[str, ...]]] = []
    for path, number in entries:
        page = next((p for p in pages if p.number >= number), None)  # a blank page has no text
        if page is None:
            continue
        earliest = max(page.start, starts[-1][0] + 1) if starts else page.start
        if earliest < page.end:
            starts.append((_title_offset(text, path[-1], earliest, page.end), path))
    ends = [start for start, _ in starts[1:]] + [len(text)]
    return [Section(path, start, end) for (start, path), end in zip(starts, ends) if start < end]


def _entries(reader, items: list, ancestors: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], int]]:
    """(heading path, 1-based destination page) of each outline entry, in outline order.
    pypdf lists an entry's children as a list right after it."""
    path = ancestors
    for item in items:
        if isinstance(item, list):
            yield from _entries(reader, item, path)
            continue
        path = (*ancestors, " ".join(str(item.title).split()))
        number = reader.get_destination_page_number(item)
        if number is not None and number >= 0:
            yield path, number + 1


def _title_offset(text: str, title: str, start: int, end: int) -> int:
    """Where `title` is written in text[start:end], its letters and digits in order with
    anything else between them (a bookmark reads "2.13. Nonregular files", the page
    "2.13. Non-regular files"): the start of a line it ends, if any ("2.2 Naming": the number
    belongs to the heading), else its first occurrence, else `start`."""
    characters = [character for character in title if character.isalnum()]
    if not characters:
        return start
    written = r"[\W_]*".join(map(re.escape, characters))
    heading = re.compile(rf"{written}(?=[^\w\n]*(?:\n|$))", re.IGNORECASE).search(text, start, end)
    if heading:
        return max(text.rfind("\n", 0, heading.start()) + 1, start)
    anywhere = re.compile(written, re.IGNORECASE).search(text, start, end)
    return anywhere.start() if anywhere else start
