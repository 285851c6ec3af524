"""Notebooks, reStructuredText and EPUB books as plain text: a page per notebook cell
("cell 5") and per EPUB chapter ("chapter 2: Title"); reStructuredText rendered with its
headings, lists, tables and code blocks kept apart.

nbformat and docutils are imported by the reader that needs them. An EPUB is read with
zipfile and lxml (already used for HTML): the EPUB library on the registry, EbookLib, is
AGPL-3.0, which this Apache-2.0 project does not take on.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from urllib.parse import unquote

from index.errors import LoadError, NotADocument
from index.formats.html import page_text
from index.formats.base import Page, PagedText, Section, check_inflated_size, paged, unreadable
from index.formats.text import decode_text
from index.formats.sections import Block, joined

# One output's text kept per cell; the rest is cut with a note saying how much. A 50 MB
# log printed by a loop says nothing a question needs past its first screens, and would
# cost ~45 minutes of embedding.
MAX_OUTPUT_CHARS = 20_000
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # terminal colours in tracebacks and logs


def notebook(data: bytes) -> tuple[str, list[Page]]:
    """Markdown, code and raw cells with their outputs as text; the cell number is the page."""
    from nbformat import convert, reader

    try:
        # reader + convert rather than nbformat.reads: that one logs every schema slip
        # Jupyter itself forgives; cells are read leniently below instead.
        book = convert(reader.reads(decode_text(data)), 4)
        texts = [_cell_text(cell) for cell in book.cells]
    except LoadError:
        raise
    except Exception as exc:  # JSON, nbformat version and structure errors
        raise unreadable("notebook", exc) from exc
    return paged(texts, lambda number: f"cell {number}")


def _cell_text(cell) -> str:
    blocks = [cell.get("source", "").strip()]
    outputs = [_output_text(output) for output in cell.get("outputs", [])]
    if any(outputs):
        blocks.append("Output:\n" + "\n".join(text for text in outputs if text))
    return "\n\n".join(block for block in blocks if block)


def _output_text(output) -> str:
    match output.get("output_type"):
        case "stream":
            text = output.get("text", "")
        case "execute_result" | "display_data":
            text = output.get("data", {}).get("text/plain", "")
        case "error":
            text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        case _:
            text = ""
    # nbformat has joined text kept as a list of lines; the cut comes first: a 50 MB output
    # is not copied again.
    kept = _ANSI_ESCAPE.sub("", text[:MAX_OUTPUT_CHARS]).strip()
    cut = len(text) - MAX_OUTPUT_CHARS
    return f"{kept}\n[output cut: {cut:,} more characters not indexed]" if cut > 0 else kept


# docutils parses a line in super-linear time (measured: a 135,000-character paragraph line
# 0.9 s, 900,000 characters 22 s) and drops the whole document past its own limit (10,000),
# so the limit is raised to what parses in under a second and a longer line is refused.
MAX_RST_LINE = 100_000
# `include` and `raw :file:/:url:` would read other files or the network; a document's
# markup slips are not the reader's to see (level 5 reports and halts on nothing); a
# docutils.conf found in the working directory must not change what a file says.
_RST_SETTINGS = {
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "report_level": 5,
    "halt_level": 5,
    "line_length_limit": MAX_RST_LINE,
    "_disable_config": True,
}


def restructured_text(source: str) -> tuple[str, list[Section]]:
    """The document's text: headings, paragraphs, list items ("- " or "3. "), table rows
    (" | " between cells) and literal blocks each a block of their own; and the sections
    of its section titles."""
    from docutils.core import publish_doctree

    if max(map(len, source.splitlines()), default=0) > MAX_RST_LINE:
        raise LoadError(f"reStructuredText with a line over {MAX_RST_LINE:,} characters: too long to parse")
    try:
        tree = publish_doctree(source, settings_overrides={**_RST_SETTINGS, "warning_stream": io.StringIO()})
        return joined(block for block in _rst_blocks(tree) if block[0])
    except Exception as exc:  # docutils and deep recursion on pathological nesting
        raise unreadable("reStructuredText", exc) from exc


def _rst_blocks(node) -> Iterator[Block]:
    from docutils import nodes

    if isinstance(node, (nodes.system_message, nodes.comment, nodes.substitution_definition,
                         nodes.raw, nodes.target)):
        return
    if isinstance(node, nodes.row):
        yield " | ".join(" ".join(entry.astext().split()) for entry in node.children), None
    elif isinstance(node, nodes.bullet_list):
        for item in node.children:
            yield from _prefixed("- ", _rst_children(item.children))
    elif isinstance(node, nodes.enumerated_list):
        for number, item in enumerate(node.children, start=int(node.get("start", 1))):
            yield from _prefixed(f"{number}. ", _rst_children(item.children))
    elif isinstance(node, (nodes.footnote, nodes.citation)) and isinstance(node[0], nodes.label):
        yield from _prefixed(f"[{node[0].astext()}] ", _rst_children(node[1:]))  # "[1] The note."
    elif isinstance(node, nodes.Admonition) and not isinstance(node, nodes.admonition):  # note, warning: untitled
        yield from _prefixed(f"{node.tagname.capitalize()}: ", _rst_children(node.children))
    elif isinstance(node, nodes.TextElement):  # title, paragraph, literal block, term, line
        yield node.astext().strip(), _title_level(node)
    else:
        yield from _rst_children(node.children)


def _title_level(node) -> int | None:
    """A section title's level: how many sections hold it (0 for the document's own title)."""
    from docutils import nodes

    if not isinstance(node, nodes.title) or not isinstance(node.parent, (nodes.section, nodes.document)):
        return None
    level, parent = 0, node.parent
    while isinstance(parent, nodes.section):
        level, parent = level + 1, parent.parent
    return level


def _rst_children(children) -> Iterator[Block]:
    for child in children:
        yield from _rst_blocks(child)


def _prefixed(marker: str, blocks: Iterator[Block]) -> Iterator[Block]:
    """The blocks, the first one after `marker` (a list item's "- ", a note's "Note: ")."""
    for index, (text, level) in enumerate(blocks):
        yield (marker + text, level) if index == 0 else (text, level)


# Spine items that are chapters; EPUB requires an XHTML fallback for any other kind.
_CHAPTER_TYPES = ("application/xhtml+xml", "text/html")
_EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


def epub(data: bytes) -> tuple[str, list[Page]]:
    """Chapters in reading order (the spine), each a page labelled from the table of contents."""
    check_inflated_size(data, "EPUB")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            package_path = _package_path(archive)
            package = _xml(archive.read(package_path))
            manifest = {item.get("id"): item for item in package.iterfind("{*}manifest/{*}item")}
            spine = [manifest[ref.get("idref")] for ref in package.iterfind("{*}spine/{*}itemref")]
            chapters = [_resolve(package_path, item.get("href")) for item in spine
                        if item.get("media-type") in _CHAPTER_TYPES]
            titles = _toc_titles(archive, package, package_path, manifest)
            texts = [_chapter_text(archive.read(path)) for path in chapters]
    except LoadError:
        raise
    except Exception as exc:  # zipfile, XML and missing-part errors all mean a damaged book
        raise unreadable("EPUB", exc) from exc
    book = PagedText()
    for path, text in zip(chapters, texts, strict=True):
        number = len(book.pages) + 1  # chapters with text, as a reader counts them
        title = titles.get(path)
        book.add(number, text, f"chapter {number}: {title}" if title else f"chapter {number}")
    return book.text, book.pages


def _chapter_text(data: bytes) -> str:
    """A chapter's text by the rules of .html files, or none for a chapter that is a page
    of links (a table of contents in the spine). Their <title> is mostly the book's,
    repeated, and left out."""
    try:
        return page_text(decode_text(data), with_title=False).text
    except NotADocument:
        return ""


def _package_path(archive: zipfile.ZipFile) -> str:
    container = _xml(archive.read("META-INF/container.xml"))
    rootfile = container.find(".//{*}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise LoadError("corrupt or unreadable EPUB: META-INF/container.xml names no package file")
    return rootfile.get("full-path")


def _toc_titles(archive: zipfile.ZipFile, package, package_path: str, manifest: dict) -> dict[str, str]:
    """Chapter path -> its title in the table of contents: the EPUB 3 navigation document,
    or the EPUB 2 NCX. The first entry pointing into a file names it."""
    nav = next((item for item in manifest.values() if "nav" in (item.get("properties") or "").split()), None)
    spine = package.find("{*}spine")
    ncx = manifest.get(spine.get("toc")) if spine is not None else None
    entries: list[tuple[str, str]] = []
    if nav is not None:
        path = _resolve(package_path, nav.get("href"))
        navs = list(_xml(archive.read(path)).iterfind(".//{*}nav"))
        tocs = [n for n in navs if "toc" in n.get(_EPUB_TYPE, "").split()] or navs  # not landmarks
        entries = [(_resolve(path, link.get("href", "")), " ".join(link.itertext()))
                   for toc in tocs for link in toc.iterfind(".//{*}a")]
    elif ncx is not None:
        path = _resolve(package_path, ncx.get("href"))
        entries = [(_resolve(path, point.find("{*}content").get("src", "")),
                    " ".join(point.find("{*}navLabel").itertext()))
                   for point in _xml(archive.read(path)).iterfind(".//{*}navPoint")]
    titles: dict[str, str] = {}
    for path, title in entries:
        if title := " ".join(title.split()):
            titles.setdefault(path, title)
    return titles


def _resolve(base: str, href: str) -> str:
    """A link's target inside the archive: relative to the linking file, fragment dropped."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(href.split("#")[0])))


def _xml(data: bytes):
    """Parse XML refusing entities and the network (no billion laughs, no external files)."""
    from lxml import etree

    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
