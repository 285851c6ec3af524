"""Files in, documents out: the suffixes read, and for each the reader that reads it.

The registry (`READERS`) maps a suffix to a small function that imports its format's module
when first called: a folder of text files, or a process that only asks questions, does not
pay for the PDF, Office, HTML or EPUB libraries. Each format lives in a module of its own
(`pdf`, `html`, `office`, `markup`, `text`) and builds on `base`, never on this registry.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from pathlib import Path

from index.errors import LoadError
from index.formats.base import (
    PAGE_SEPARATOR,
    SECTION_SEPARATOR,
    Document,
    Page,
    PagedText,
    Reading,
    Row,
    Section,
    spanning_location,
)
from index.formats.text import decode_text

HTML_SUFFIXES = (".html", ".htm")
DOCUMENT_SUFFIXES = (
    ".txt", ".md", ".markdown", *HTML_SUFFIXES, ".pdf", ".docx",
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
# How files are read. Bump it when a reader's text changes, so that `rag ingest` reads
# unchanged files again: a document's version hashes it with the file's bytes. Chunks whose
# text did not change keep their vectors (they are reused by text), so only text the new
# readers produce differently is embedded. 2: running PDF text, main text of HTML, sections.
READER_VERSION = 2

# A reader: a file's bytes (and whether a slow reader may show a progress bar) to its Reading.
Reader = Callable[[bytes, bool], Reading]


def _plain(data: bytes, progress: bool) -> Reading:
    return Reading(decode_text(data))


def _markdown(data: bytes, progress: bool) -> Reading:
    from index.formats.sections import markdown_sections

    text = decode_text(data)
    return Reading(text, sections=markdown_sections(text))


def _html(data: bytes, progress: bool) -> Reading:
    from index.formats.html import page_text

    page = page_text(decode_text(data))
    return Reading(page.text, sections=page.sections, notes=page.notes)


def _pdf(data: bytes, progress: bool) -> Reading:
    from index.formats.pdf import read_pdf

    text, pages, sections = read_pdf(data, progress)
    return Reading(text, pages=pages, sections=sections)


def _lazy(module: str, function: str, *fields: str, decoded: bool = False) -> Reader:
    """A reader that imports index.formats.<module> when first called and makes a Reading of
    what <function> returns: the text, then `fields` in order. `decoded`: the function takes
    the file as text (its encoding detected), not bytes."""

    def read(data: bytes, progress: bool) -> Reading:
        read_format = getattr(importlib.import_module(f"index.formats.{module}"), function)
        text, *rest = read_format(decode_text(data) if decoded else data)
        return Reading(text, **dict(zip(fields, rest)))

    return read


READERS: dict[str, Reader] = {
    ".txt": _plain, ".md": _markdown, ".markdown": _markdown, **dict.fromkeys(HTML_SUFFIXES, _html), ".pdf": _pdf,
    ".docx": _lazy("office", "docx_text", "sections"),
    ".pptx": _lazy("office", "slides", "pages"),
    ".xlsx": _lazy("office", "workbook", "pages", "rows"),
    ".csv": _lazy("office", "delimited", "rows", decoded=True),
    ".tsv": _lazy("office", "delimited", "rows", decoded=True),
    ".ipynb": _lazy("markup", "notebook", "pages"),
    ".rst": _lazy("markup", "restructured_text", "sections", decoded=True),
    ".epub": _lazy("markup", "epub", "pages"),
    **{suffix: _plain for suffix in CODE_SUFFIXES + CONFIG_SUFFIXES},
}


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load(path: str | Path, source: str | None = None, *, progress: bool = False) -> Document:
    """The document in the file at `path`; `progress` shows a bar while scanned pages are read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise LoadError(f"unsupported file type {suffix or '(none)'}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise LoadError("empty file")
    reading = READERS[suffix](data, progress)
    if not reading.text.strip():
        raise LoadError("no text could be extracted")
    return Document(source or str(path), reading.text, document_version(data), reading.pages, reading.rows,
                    reading.sections, reading.notes)


def document_version(data: bytes) -> str:
    """The `Document.sha256` of a file's bytes as this version reads them."""
    return hashlib.sha256(f"reader {READER_VERSION}\n".encode() + data).hexdigest()


__all__ = [
    "CODE_SUFFIXES", "CONFIG_SUFFIXES", "DOCUMENT_SUFFIXES", "PAGE_SEPARATOR", "READERS", "READER_VERSION",
    "SECTION_SEPARATOR", "SUPPORTED_SUFFIXES", "Document", "Page", "PagedText", "Reading", "Row", "Section",
    "decode_text", "document_version", "is_supported", "load", "spanning_location",
]
