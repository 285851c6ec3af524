"""Turn a file into plain text, keeping the pages (slides, sheets, cells, chapters) a
citation names.

Offsets everywhere else in the project point into `Document.text`, so each loader
decides once what a document's text is and nothing downstream rewrites it.

The PDF and DOCX libraries are imported by the loader that needs them, and so are the readers
of slides and sheets (index/office.py), of notebooks, reStructuredText and EPUBs
(index/markup.py) and of HTML pages (index/html.py): a folder of text files, or a process
that only asks questions, does not pay for the others.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

import charset_normalizer

from index.errors import LoadError

DOCUMENT_SUFFIXES = (
    ".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx",
    ".pptx", ".xlsx", ".csv", ".tsv", ".ipynb", ".rst", ".epub",
)
# Source code and plain configuration, read as text when a user points at a repository.
CODE_SUFFIXES = (
    ".py", ".pyi", ".js", ".jsx", ".mjs", ".ts", ".tsx", ".java", ".kt", ".scala", ".go", ".rs",
    ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".swift", ".r", ".jl", ".lua", ".pl",
    ".sh", ".bash", ".sql", ".css", ".scss", ".vue",
)
CONFIG_SUFFIXES = (
    ".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".properties", ".xml", ".proto",
)
SUPPORTED_SUFFIXES = DOCUMENT_SUFFIXES + CODE_SUFFIXES + CONFIG_SUFFIXES
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


# How files are read. Bump it when a reader's text changes, so that `rag ingest` reads
# unchanged files again: a document's version hashes it with the file's bytes. Chunks whose
# text did not change keep their vectors (they are reused by text), so only text the new
# readers produce differently is embedded. 2: running PDF text, main text of HTML, sections.
READER_VERSION = 2


@dataclass
class Document:
    source: str
    text: str
    sha256: str  # of READER_VERSION and the file's bytes: a new version of either is a new document
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
        index/page_text.py): the two are one region."""
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


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load(path: str | Path, source: str | None = None, *, progress: bool = False) -> Document:
    """The document in the file at `path`; `progress` shows a bar while scanned pages are read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(f"unsupported file type {suffix or '(none)'}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise LoadError("empty file")
    from index import html, markup, office, pdf, sections  # here: they import this module's Page and helpers

    rows: list[Row] = []
    headings: list[Section] = []
    notes: list[str] = []
    match suffix:
        case ".pdf":
            text, pages, headings = pdf.read_pdf(data, progress)
        case ".docx":
            (text, headings), pages = _docx(data), []
        case ".pptx":
            text, pages = office.slides(data)
        case ".xlsx":
            text, pages, rows = office.workbook(data)
        case ".csv" | ".tsv":
            text, rows = office.delimited(decode_text(data))
            pages = []
        case ".ipynb":
            text, pages = markup.notebook(data)
        case ".rst":
            (text, headings), pages = markup.restructured_text(decode_text(data)), []
        case ".epub":
            text, pages = markup.epub(data)
        case ".html" | ".htm":
            page = html.page_text(decode_text(data))
            text, headings, notes, pages = page.text, page.sections, page.notes, []
        case ".md" | ".markdown":
            text, pages = decode_text(data), []
            headings = sections.markdown_sections(text)
        case _:
            text, pages = decode_text(data), []
    if not text.strip():
        raise LoadError("no text could be extracted")
    sha = document_version(data)
    return Document(source=source or str(path), text=text, sha256=sha, pages=pages, rows=rows,
                    sections=headings, notes=notes)


def document_version(data: bytes) -> str:
    """The `Document.sha256` of a file's bytes as this version reads them."""
    return hashlib.sha256(f"reader {READER_VERSION}\n".encode() + data).hexdigest()


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> str:
    """Decode text of unknown encoding strictly; binary data is an error, not mojibake."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(data, encoding)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if b"\x00" in data:
            raise LoadError("binary data, not text") from None
        text = _western(data) or _detected(data)
    if _looks_binary(text):
        raise LoadError("binary data, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _western(data: bytes) -> str | None:
    """Windows-1252/Latin-1 text, the commonest legacy encoding, which detectors misjudge
    on short texts. Accepted only where accented letters are a minority of the letters:
    text in a non-Latin script read this way would be all accents."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = [c for c in text if c.isalpha()]
    foreign = sum(not c.isascii() for c in letters)
    return text if letters and foreign <= 0.3 * len(letters) else None


def _detected(data: bytes) -> str:
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise LoadError("binary data, not text")
    return str(best)


def _strict(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LoadError(f"invalid {encoding} text: {exc.reason}") from exc
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return len(_CONTROL.findall(sample)) > max(8, len(sample) // 100)


def _docx(data: bytes) -> tuple[str, list[Section]]:
    import docx
    import docx.table

    check_inflated_size(data, "DOCX")
    try:
        document = docx.Document(io.BytesIO(data))
    except LoadError:
        raise
    except Exception as exc:  # zipfile, lxml and python-docx each have their own errors
        raise unreadable("DOCX", exc) from exc
    from index.sections import joined

    blocks = []
    for block in document.iter_inner_content():  # paragraphs and tables in reading order
        if isinstance(block, docx.table.Table):
            blocks.extend((line, None) for line in table_lines(block.rows))
        elif block.text.strip():
            blocks.append((block.text.strip(), _heading_level(block)))
    return joined(blocks)


_DOCX_HEADING = re.compile(r"Heading ([1-9])")


def _heading_level(paragraph) -> int | None:
    """A DOCX paragraph's heading level by its style: "Title" 0 (above "Heading 1"), "Heading N" N."""
    name = paragraph.style.name if paragraph.style is not None else ""
    if name == "Title":
        return 0
    heading = _DOCX_HEADING.fullmatch(name or "")
    return int(heading.group(1)) if heading else None


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
    return LoadError(f"corrupt or unreadable {kind}: {' '.join(_describe(exc).split())}")


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
