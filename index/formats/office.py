"""Office documents as text: DOCX (paragraphs and tables, heading styles as sections), PPTX
decks (a page per slide) and XLSX, CSV and TSV sheets (a row rendered as "header: value"
lines, so one row is one retrievable unit and a citation names its rows).

python-docx, python-pptx and openpyxl are imported by the reader that needs them.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable, Iterator, Sequence

from index.errors import LoadError
from index.formats.base import Page, PagedText, Row, Section, check_inflated_size, paged, table_lines, unreadable
from index.formats.sections import joined

# Rows (with any value) one file may hold. Measured: 100,000 rows of 5 numbers load in 7 s
# and render to 6 MB of text, 14,000 chunks, ~12 minutes of embedding on 2 cores. A
# million-row sheet is data to query, not text to read: refused after 100,000 rows are
# streamed (3 s, 45 MB), before it is held in memory.
MAX_ROWS = 100_000
# The last row Excel allows: a sheet claiming a row past it is damaged (openpyxl would fill
# the gap with empty rows, one at a time).
LAST_SHEET_ROW = 1_048_576
ROW_SEPARATOR = "\n\n"  # a blank line: the chunker's sentence boundary, so a row is a unit


def slides(data: bytes) -> tuple[str, list[Page]]:
    """Each slide's text, tables and speaker notes; the slide number is the page."""
    from pptx import Presentation

    check_inflated_size(data, "PPTX")
    try:
        deck = Presentation(io.BytesIO(data))
        texts = ["\n\n".join(_slide_blocks(slide)) for slide in deck.slides]
    except Exception as exc:  # zipfile, lxml and python-pptx each have their own errors
        raise unreadable("PPTX", exc) from exc
    return paged(texts, lambda number: f"slide {number}")


def _slide_blocks(slide) -> Iterator[str]:
    yield from _shape_blocks(slide.shapes)
    notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
    if notes is not None and notes.text.strip():
        yield f"Notes: {notes.text.strip()}"


def _shape_blocks(shapes) -> Iterator[str]:
    """Text boxes and table rows (" | " between cells), group members in turn."""
    from pptx.shapes.group import GroupShape

    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _shape_blocks(shape.shapes)
        elif shape.has_text_frame and shape.text_frame.text.strip():
            yield shape.text_frame.text.strip()
        elif shape.has_table:
            yield from table_lines(shape.table.rows)


def workbook(data: bytes) -> tuple[str, list[Page], list[Row]]:
    """Each worksheet a page labelled "sheet <name>", its rows as "header: value" lines."""
    import openpyxl

    check_inflated_size(data, "XLSX")
    sheets = PagedText()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            budget = MAX_ROWS
            for number, sheet in enumerate(book.worksheets, start=1):
                sheet.reset_dimensions()  # read every row the file has, not what its header claims
                rows = _sheet_rows(sheet.iter_rows(min_row=1, values_only=True), sheet.title)
                text, spans = rendered_rows(rows, budget, f"sheet {sheet.title!r}")
                budget -= len(spans)
                sheets.add(number, text, f"sheet {sheet.title}", spans)
        finally:
            book.close()
    except LoadError:
        raise
    except Exception as exc:  # zipfile, XML and openpyxl errors all mean a damaged file
        raise unreadable("XLSX", exc) from exc
    return sheets.text, sheets.pages, sheets.rows


def _sheet_rows(rows: Iterable[Sequence], title: str) -> Iterator[Sequence]:
    for number, row in enumerate(rows, start=1):
        if number > LAST_SHEET_ROW:
            raise LoadError(f"sheet {title!r} has rows past Excel's last row ({LAST_SHEET_ROW:,}): damaged file")
        yield row


def delimited(text: str) -> tuple[str, list[Row]]:
    """A CSV or TSV file's records (the delimiter sniffed), rendered as a sheet's rows."""
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:  # one column, or too little text to tell: commas
        dialect = csv.excel
    try:
        return rendered_rows(csv.reader(io.StringIO(text), dialect), MAX_ROWS, "the file")
    except csv.Error as exc:
        raise LoadError(f"malformed CSV: {exc}") from exc


def rendered_rows(rows: Iterable[Sequence], budget: int, where: str) -> tuple[str, list[Row]]:
    """Rows after the first non-empty one (the header) as blocks of "header: value" lines,
    each a Row numbered as the sheet numbers it; empty cells and rows are left out. A row
    with values past the first `budget` is refused (`where` names the sheet in the error)."""
    header: list[str] | None = None
    names: list[str] = []
    blocks: list[str] = []
    spans: list[Row] = []
    length = 0
    for number, row in enumerate(rows, start=1):
        values = [_cell_text(value) for value in row]
        if not any(values):
            continue
        if header is None:
            header = values
            continue
        if len(spans) == budget:
            raise LoadError(f"over {MAX_ROWS:,} rows (reached in {where}): too many to index as text; "
                            "export the rows you need")
        names = _column_names(header, names, len(values))
        block = "\n".join(f"{names[i]}: {value}" for i, value in enumerate(values) if value)
        start = length + (len(ROW_SEPARATOR) if blocks else 0)
        blocks.append(block)
        spans.append(Row(number, start, start + len(block)))
        length = start + len(block)
    if header is not None and not blocks:  # a header alone is still the sheet's text
        return " | ".join(value for value in header if value), []
    return ROW_SEPARATOR.join(blocks), spans


def _column_names(header: list[str], names: list[str], width: int) -> list[str]:
    """`names` (the header cells, a column's letter where one is empty) grown to `width`."""
    if len(names) >= width:
        return names
    from openpyxl.utils import get_column_letter

    return names + [
        header[i] if i < len(header) and header[i] else get_column_letter(i + 1)
        for i in range(len(names), width)
    ]


def _cell_text(value) -> str:
    """A cell as a reader would see it: 1200 not 1200.0, a date without midnight."""
    match value:
        case None:
            return ""
        case bool():
            return "TRUE" if value else "FALSE"
        case float() if value.is_integer():
            return str(int(value))
        case datetime.datetime() if value.time() == datetime.time():
            return value.date().isoformat()
        case datetime.date() | datetime.time():
            return value.isoformat()
        case _:
            return " ".join(str(value).split())  # one line: a cell's line breaks would split the row


def docx_text(data: bytes) -> tuple[str, list[Section]]:
    """Paragraphs and tables in reading order; "Title" and "Heading N" styles become sections."""
    import docx
    import docx.table

    check_inflated_size(data, "DOCX")
    try:
        document = docx.Document(io.BytesIO(data))
    except LoadError:
        raise
    except Exception as exc:  # zipfile, lxml and python-docx each have their own errors
        raise unreadable("DOCX", exc) from exc
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
