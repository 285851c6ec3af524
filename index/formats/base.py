"""What every reader makes of a file: the document's text, its pages (slides, sheets, cells,
chapters), rows and heading sections, and the location a citation names; and the helpers
readers share (pages assembled with exact offsets, zip-bomb checks, one-line errors).

Offsets everywhere else in the project point into `Document.text`, so each reader decides
once what a document's text is and nothing downstream rewrites it.
"""

from __future__ import annotations

import io
import re
import zipfile
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from index.errors import LoadError

PAGE_SEPARATOR = "\n\n"
SECTION_SEPARATOR = " \u203a "  # "Data Structures › More on Lists"
# DOCX, PPTX, XLSX and EPUB files are zips: refuse archives that would inflate past this
# (zip bombs). zipfile stops inflating a member at the size the directory declares (it
# raises "Bad CRC-32" on one that lies), so these sizes bound what any parser reads.
MAX_UNCOMPRESSED = 200 * 1024 * 1024


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, as a reader would cite it
    start: int
    end: int
    label: str | None = None  # how a citation names it when not "page N": "slide 3", "cell 5"


@dataclass(frozen=True)
class Row:
    """A spreadsheet row's text: finer than a page, so a citation names its rows."""

    number: int  # as the sheet numbers it: the header is row 1
    start: int
    end: int


@dataclass(frozen=True)
class Section:
    """A heading's reach: text[start:end] lies under `path`, its headings outermost first
    ("Tutorial", "Data Structures", "Lists")."""

    path: tuple[str, ...]
    start: int
    end: int


@dataclass
class Document:
    source: str
    text: str
    sha256: str  # of the readers' version and the file's bytes (index.formats.document_version)
    pages: list[Page] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)  # in text order
    sections: list[Section] = field(default_factory=list)  # in text order, not overlapping
    notes: list[str] = field(default_factory=list)  # how it was read, for the ingest report

    def page_at(self, offset: int) -> int | None:
        index = bisect_right(self.pages, offset, key=attrgetter("start")) - 1
        return self.pages[index].number if index >= 0 and offset < self.pages[index].end else None

    def pages_in(self, start: int, end: int) -> list[Page]:
        """The pages text[start:end] overlaps."""
        first = bisect_right(self.pages, start, key=attrgetter("end"))
        stop = bisect_left(self.pages, end, key=attrgetter("start"))
        return self.pages[first:stop]

    def section_at(self, offset: int) -> Section | None:
        found = bisect_right(self.sections, offset, key=attrgetter("start")) - 1
        return self.sections[found] if found >= 0 and offset < self.sections[found].end else None

    def location(self, start: int, end: int) -> str | None:
        """How a citation of text[start:end] names where it is: its headings, then its pages
        ("Getting Started › Install, page 3", "pages 3-4" for a sentence a PDF's page break
        cuts, "sheet Q3, rows 2-41", "rows 5-9" in a CSV); None when the document is one
        undivided text."""
        section = self.section_at(start)
        parts = [SECTION_SEPARATOR.join(section.path)] if section else []
        pages = self.pages_in(start, end)
        parts += [_pages_label(pages)] if pages else []
        rows = self.rows_in(start, end)
        if rows:
            parts.append(_range_label("row", rows[0].number, rows[-1].number))
        return ", ".join(parts) or None

    def rows_in(self, start: int, end: int) -> list[Row]:
        """The rows text[start:end] overlaps (a bisection: a sheet may have 100,000)."""
        first = bisect_right(self.rows, start, key=attrgetter("end"))
        stop = bisect_left(self.rows, end, key=attrgetter("start"))
        return self.rows[first:stop]

    def spans(self) -> list[tuple[int, int, int | None]]:
        """Regions to chunk independently, each with the page it starts on: the pages (or the
        whole text), cut where a section begins, so no chunk runs across a heading. A PDF page
        that ends mid-sentence runs on into the next (less than PAGE_SEPARATOR joins them,
        index/formats/page_text.py): the two are one region."""
        regions: list[tuple[int, int, int | None]] = []
        for previous, page in zip([None, *self.pages], self.pages):
            if previous and self.text[previous.end : page.start] != PAGE_SEPARATOR:
                regions[-1] = (regions[-1][0], page.end, regions[-1][2])
            else:
                regions.append((page.start, page.end, page.number))
        starts = [section.start for section in self.sections]
        spans = []
        for start, end, number in regions or [(0, len(self.text), None)]:
            cuts = starts[bisect_right(starts, start):bisect_left(starts, end)]
            bounds = [start, *cuts, end]
            spans += [(a, b, self.page_at(a) or number) for a, b in zip(bounds, bounds[1:])
                      if self.text[a:b].strip()]
        return spans


_ROWS_LOCATION = re.compile(r"(?:(?P<page>.*), )?rows? (?P<first>\d+)(?:-(?P<last>\d+))?")
# "page 3", "pages 3-4 (OCR)", after any other part of a location ("Setup, page 3").
_PAGES_LOCATION = re.compile(r"(?P<head>(?:.*, )?)pages? (?P<first>\d+)(?:-(?P<last>\d+))?(?P<tail> \(.*\))?")


def _range_label(noun: str, first: int, last: int) -> str:
    """"row 3", "rows 3-5", "page 3", "pages 3-4"."""
    return f"{noun} {first}" if first == last else f"{noun}s {first}-{last}"


def _pages_label(pages: list[Page]) -> str:
    """How a citation names the run of `pages`: "page 3", "pages 3-4", "pages 3-4 (OCR)" when
    all are alike, else its first and last pages ("page 3 to page 4 (OCR)")."""
    first, last = pages[0], pages[-1]
    if first is last:
        return _page_name(first)
    suffixes = {_page_suffix(page) for page in pages}
    if len(suffixes) == 1 and None not in suffixes:
        return _range_label("page", first.number, last.number) + suffixes.pop()
    return f"{_page_name(first)} to {_page_name(last)}"


def _page_name(page: Page) -> str:
    return page.label or f"page {page.number}"


def _page_suffix(page: Page) -> str | None:
    """What a page's name adds to "page N" (" (OCR)", "" for none); None for "slide 3"."""
    name, plain = _page_name(page), f"page {page.number}"
    return name.removeprefix(plain) if name.startswith(plain) else None


def spanning_location(first: str | None, last: str | None) -> str | None:
    """The location of text running from a span located at `first` to one at `last` (two
    overlapping chunks' locations, in text order): rows of one sheet become one range
    ("sheet Q3, rows 2-60"), and so do a PDF's pages ("pages 3-5"); other differing places
    are named both ("slide 2 to slide 3")."""
    if first == last or last is None:
        return first
    if first is None:
        return last
    head, tail = _ROWS_LOCATION.fullmatch(first), _ROWS_LOCATION.fullmatch(last)
    if head and tail and head["page"] == tail["page"]:
        rows = _range_label("row", int(head["first"]), int(tail["last"] or tail["first"]))
        return f"{head['page']}, {rows}" if head["page"] else rows
    head, tail = _PAGES_LOCATION.fullmatch(first), _PAGES_LOCATION.fullmatch(last)
    if head and tail and (head["head"], head["tail"]) == (tail["head"], tail["tail"]):
        pages = _range_label("page", int(head["first"]), int(tail["last"] or tail["first"]))
        return f"{head['head']}{pages}{head['tail'] or ''}"
    return f"{first} to {last}"


@dataclass
class Reading:
    """What a reader makes of a file's bytes, before it is a Document."""

    text: str
    pages: list[Page] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class PagedText:
    """A document's text assembled page by page, each page's and row's offsets exact."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.pages: list[Page] = []
        self.rows: list[Row] = []

    def add(self, number: int, text: str, label: str | None = None, rows: Sequence[Row] = (),
            separator: str = PAGE_SEPARATOR) -> None:
        """Append a page (none when `text` is empty), after `separator` unless it is the
        first; `rows` hold offsets into `text`."""
        if not text:
            return
        if self._parts:
            self._parts.append(separator)
            self._length += len(separator)
        self.pages.append(Page(number, self._length, self._length + len(text), label))
        self.rows += [Row(row.number, self._length + row.start, self._length + row.end) for row in rows]
        self._parts.append(text)
        self._length += len(text)

    @property
    def text(self) -> str:
        return "".join(self._parts)


def paged(texts: Iterable[str], label: Callable[[int], str | None]) -> tuple[str, list[Page]]:
    """Texts as pages numbered from 1, each labelled `label(number)`; an empty one is left
    out and its number skipped."""
    pages = PagedText()
    for number, text in enumerate(texts, start=1):
        pages.add(number, text, label(number))
    return pages.text, pages.pages


def table_lines(rows) -> Iterator[str]:
    """A DOCX or PPTX table's rows with any text, cells joined by " | "."""
    for row in rows:
        cells = [cell.text.strip() for cell in row.cells]
        if any(cells):
            yield " | ".join(cells)


def check_inflated_size(data: bytes, kind: str) -> None:
    """Refuse a zip-based file (`kind` names it: "DOCX") that is no zip or would inflate
    past MAX_UNCOMPRESSED, before any parser opens it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise unreadable(kind, exc) from exc
    if inflated > MAX_UNCOMPRESSED:
        raise LoadError(f"{kind} inflates to over {MAX_UNCOMPRESSED // 2**20} MB: refusing a possible zip bomb")


def unreadable(kind: str, exc: BaseException) -> LoadError:
    """The error for a file its parser failed on, in one line: libraries raise many types on
    damaged files, all meaning "corrupt", and some wrap the reason (openpyxl: "could not
    read worksheets ... see the exception"), so the innermost cause is named."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return LoadError(f"corrupt or unreadable {kind}: {' '.join(describe(exc).split())}")


def describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
