"""Turn a file into plain text, keeping page boundaries for PDFs.

Offsets everywhere else in the project point into `Document.text`, so each loader
decides once what a document's text is and nothing downstream rewrites it.

The PDF, DOCX and HTML libraries are imported by the loader that needs them: a folder of
text files, or a process that only asks questions, does not pay for the others.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer

from index.errors import LoadError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
PAGE_SEPARATOR = "\n\n"
# A DOCX is a zip: refuse archives that would inflate past this (zip bombs).
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, as a reader would cite it
    start: int
    end: int


@dataclass
class Document:
    source: str
    text: str
    sha256: str
    pages: list[Page] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        for page in self.pages:
            if page.start <= offset < page.end:
                return page.number
        return None

    def spans(self) -> list[tuple[int, int, int | None]]:
        """Regions to chunk independently: one per page, or the whole text."""
        if self.pages:
            return [(p.start, p.end, p.number) for p in self.pages]
        return [(0, len(self.text), None)]


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load(path: str | Path, source: str | None = None) -> Document:
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
    match suffix:
        case ".pdf":
            text, pages = _pdf(data)
        case ".docx":
            text, pages = _docx(data), []
        case ".html" | ".htm":
            text, pages = _html(decode_text(data)), []
        case _:
            text, pages = decode_text(data), []
    if not text.strip():
        raise LoadError("no text could be extracted")
    sha = hashlib.sha256(data).hexdigest()
    return Document(source=source or str(path), text=text, sha256=sha, pages=pages)


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


def _pdf(data: bytes) -> tuple[str, list[Page]]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("encrypted PDF: remove the password first")
        page_texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; all mean "corrupt"
        raise LoadError(f"corrupt or unreadable PDF: {_describe(exc)}") from exc
    if not any(page_texts):
        raise LoadError("PDF has no extractable text (scanned images need OCR first)")
    pages, parts, offset = [], [], 0
    for number, page_text in enumerate(page_texts, start=1):
        if not page_text:
            continue
        if parts:
            parts.append(PAGE_SEPARATOR)
            offset += len(PAGE_SEPARATOR)
        pages.append(Page(number, offset, offset + len(page_text)))
        parts.append(page_text)
        offset += len(page_text)
    return "".join(parts), pages


def _docx(data: bytes) -> str:
    import docx
    import docx.table

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_DOCX_UNCOMPRESSED:
                raise LoadError("DOCX inflates to over 200 MB: refusing a possible zip bomb")
        document = docx.Document(io.BytesIO(data))
    except LoadError:
        raise
    except Exception as exc:  # zipfile, lxml and python-docx each have their own errors
        raise LoadError(f"corrupt or unreadable DOCX: {_describe(exc)}") from exc
    blocks = []
    for block in document.iter_inner_content():  # paragraphs and tables in reading order
        if isinstance(block, docx.table.Table):
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                if any(cells):
                    blocks.append(" | ".join(cells))
        elif block.text.strip():
            blocks.append(block.text.strip())
    return "\n\n".join(blocks)


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


_INVISIBLE_TAGS = ("script", "style", "noscript", "template", "head", "iframe", "svg")
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul", "br",
)
_BLOCK_GAP = re.compile(r"\s*\n\s*\n\s*")
_SPACES = re.compile(r"\s+")


def _html(markup: str) -> str:
    """Visible text: block elements become paragraphs, inline markup joins its sentence."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_INVISIBLE_TAGS):
        tag.decompose()
    for tag in soup(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    blocks = (_SPACES.sub(" ", block).strip() for block in _BLOCK_GAP.split(soup.get_text()))
    text = "\n\n".join(block for block in blocks if block)
    return f"{title}\n\n{text}" if title and not text.startswith(title) else text
