"""HTML as text with its heading paths: the page's main text when one is found, all its
visible text (with a note saying so) otherwise; a page of links is no document.

Where the main text is (bench/html_extractors.py; bench/results/html-extractors.json): pages
that mark it (role="main", one <article> or <main>: Sphinx, MkDocs Material, mdBook) are
taken by that mark, with nav, footer, aside and forms inside dropped; pages that mark only
their chrome (DocBook's navheader/navfooter, <nav>, <header>) lose that chrome. Measured on
45 Python (Sphinx), 47 PostgreSQL (DocBook) and 3 MkDocs Material pages, this keeps every
heading and code block (line breaks too), 99.5%/100% of paragraphs, 99%/99% of list items,
all table cells, no chrome line but 1 in 495, at 9/2/0.4 ms a page. Both libraries lose body
text there: readability kept 60%/51% of headings and 73% of paragraphs and returned one
code example for library/venv.html; trafilatura kept 14% of DocBook headings and 52-58% of
code blocks with their line breaks (it flattens code inside definition lists), picked the
navigation as brin.html's text and took 120 ms a Sphinx page. readability-lxml is kept for
pages marking neither (its HTML output is read by the same walker; trafilatura's renders
inline code as <pre>, so its code blocks cannot be told apart).

Either way the text is built here from HTML by one walker, so headings (h1-h6) become
sections whose offsets are exact by construction, code keeps its line breaks, list items
get their "- " or "3. " and table rows their " | " between cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from lxml import etree

from index.errors import NotADocument
from index.formats.base import Section
from index.formats.sections import Block, joined

NO_MAIN_TEXT = "no main text found: indexed all visible text"
_INVISIBLE_TAGS = frozenset(("script", "style", "noscript", "template", "head", "iframe", "svg", "title"))
_BLOCK_TAGS = frozenset((
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "header", "hr", "main", "nav", "ol", "p", "section",
    "table", "td", "th", "ul", "br", "body", "caption", "details", "summary",
))
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_SPACES = re.compile(r"\s+")
# Written for libxml2's speed, not brevity: on Python's contents.html (48k elements) an
# attribute compared where it may be missing, `.//*[@role='navigation' or ...]`, took 55-62
# ms, tested for presence first, `descendant::*[@role][...]`, 25 ms.
_LANDMARKS = ("//*[@role][@role='main']", "//article", "//main")
_CHROME_INSIDE_MAIN = (
    "descendant::nav | descendant::footer | descendant::aside | descendant::form | descendant::button"
    " | descendant::*[@role][@role='navigation' or @role='search' or @role='contentinfo']"
)
_PAGE_CHROME = (
    f"{_CHROME_INSIDE_MAIN} | descendant::header | descendant::*[@role][@role='banner']"
    " | descendant::div[@class][@class='navheader' or @class='navfooter']"
)
# A page of links: an index or a table of contents. Measured on the main area of all 1,699
# pages of the Python (Sphinx) and PostgreSQL (DocBook) docs (bench/results/html-extractors.json
# lists the 76 it takes): every page whose words are 75% or more link text is one
# (genindex-*, contents, library/index, chapter tables of contents); below that, PostgreSQL's
# bookindex.html (63% links) is told from acronyms.html (65%, a real glossary) by prose: 0.2%
# of its words are in paragraphs outside links, against 14%.
LINKS_PAGE_SHARE = 0.75
LINKS_PAGE_SHARE_WITHOUT_PROSE = 0.5
NO_PROSE_SHARE = 0.05
# Text nodes whose words are counted, as plain strings: "smart" ones each hold their parent
# element, and made the counts cost 2.0 of the 2.7 s the Python docs subset's 57 pages took
# to read (cProfile). libxml2 reads `descendant::` faster than the same `.//`; link text as
# `.//a//text()` took 260 ms on contents.html, as `descendant::text()[ancestor::a]` 33 ms:
# the two agree unless the area is itself inside a link (`_is_page_of_links`).
_ALL_TEXT = etree.XPath("descendant::text()", smart_strings=False)
_LINK_TEXT = etree.XPath("descendant::text()[ancestor::a]", smart_strings=False)
_LINK_TEXT_BELOW = etree.XPath(".//a//text()", smart_strings=False)
_IN_LINK = etree.XPath("boolean(ancestor-or-self::a)")
_PROSE_TEXT = etree.XPath("descendant::p/descendant::text()[not(ancestor::a)]", smart_strings=False)
# A permalink after a heading (Sphinx and MkDocs write a "¶" link): not the heading's words.
_PERMALINK_CLASSES = frozenset(("headerlink", "anchorlink"))


@dataclass
class HtmlText:
    text: str
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Blocks:
    """The page's blocks in reading order, each (text, heading level or None)."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._inline: list[str] = []
        self._marker = ""  # a list item's "- " or "3. ", put before its first text

    def flush(self, level: int | None = None) -> None:
        text = _SPACES.sub(" ", "".join(self._inline)).strip()
        self._inline = []
        if text:
            self.blocks.append((self._marker + text, level))
            self._marker = ""

    def add_block(self, text: str) -> None:
        self.flush()
        if text:
            self.blocks.append((self._marker + text, None))
            self._marker = ""

    def walk(self, element) -> None:
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is None or tag in _INVISIBLE_TAGS or _PERMALINK_CLASSES & set(element.get("class", "").split()):
            return
        if tag == "pre":
            self.add_block(_code(element.text_content()))
        elif tag == "tr":
            cells = (_SPACES.sub(" ", cell.text_content()).strip() for cell in element if cell.tag in ("td", "th"))
            self.add_block(" | ".join(cells))
        elif tag in _HEADINGS:
            self.flush()
            self._children(element)
            self.flush(_HEADINGS[tag])
        elif tag == "li":
            self.flush()
            self._marker = _list_marker(element)
            self._children(element)
            self.flush()
            self._marker = ""
        elif tag in _BLOCK_TAGS:
            self.flush()
            self._children(element)
            self.flush()
        else:
            self._children(element)

    def _children(self, element) -> None:
        if element.text:
            self._inline.append(element.text)
        for child in element:
            self.walk(child)
            if child.tail:
                self._inline.append(child.tail)


def _list_marker(item) -> str:
    """"3. " for the third item of a numbered list (counted from its start), "- " otherwise."""
    parent = item.getparent()
    start = parent.get("start", "1") if parent is not None and parent.tag == "ol" else ""
    if not start.isdigit():
        return "- "
    return f"{int(start) + sum(1 for _ in item.itersiblings('li', preceding=True))}. "


def _code(text: str) -> str:
    """A code block with its line breaks and indentation, blank lines around it dropped."""
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip()


def page_text(markup: str, with_title: bool = True) -> HtmlText:
    """The page's main text with its sections, its <title> first (unless `with_title` is
    False or the text begins with it); all its visible text, with a note saying so, when
    no main text is found. Raises NotADocument for a page of links."""
    root = parse(markup)
    title = _title(root) if with_title else ""
    _drop_invisible(root)
    if not _has_words(root):
        return HtmlText(_streamed_text(markup), notes=[NO_MAIN_TEXT])
    area = main_area(root, markup)
    notes = []
    if area is None or not _has_words(area):
        area, notes = root, [NO_MAIN_TEXT]
    if _is_page_of_links(area):
        raise NotADocument("a page of links (index or table of contents)")
    text = area_text(area, title)
    text.notes = notes
    return text


class _VisibleText(HTMLParser):
    """The text outside invisible elements, read as a stream of tags: no tree, so no depth."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.blocks: list[str] = [""]

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _INVISIBLE_TAGS:
            self.hidden += 1
        if tag in _BLOCK_TAGS or tag in _HEADINGS:
            self.blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS and self.hidden:
            self.hidden -= 1
        if tag in _BLOCK_TAGS or tag in _HEADINGS:
            self.blocks.append("")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.blocks[-1] += data


def _streamed_text(markup: str) -> str:
    """All visible text of a page lxml gives no text for: libxml2 stops building the tree
    past 256 nested elements (2,048 with huge_tree), and a page 3,000 <div>s deep came back
    empty; Python's own tokenizer keeps no tree and reads it whole."""
    reader = _VisibleText()
    reader.feed(markup)
    reader.close()
    blocks = (_SPACES.sub(" ", block).strip() for block in reader.blocks)
    return "\n\n".join(block for block in blocks if block)


def main_area(root, markup: str):
    """The element holding the page's main content, or None. The area the page marks as
    main (role="main", its one <article> or <main>) is taken whole; a page marking none but
    marking its chrome (<nav>, <header>, DocBook's navheader...) is taken without it; any
    other page is left to readability."""
    area = _landmark(root)
    if area is None and root.xpath(_PAGE_CHROME):
        body = root.find("body")
        area = _without(body if body is not None else root, _PAGE_CHROME)
    return area if area is not None else _readable(markup)


def area_text(area, title: str = "") -> HtmlText:
    """The element's visible text with its sections, `title` first unless the text begins
    with it or its first heading says what the title says ("Installation" under the title
    "Installation - pip documentation"). Then the page reads as its chapter does inside a
    print-all page, and their chunks are embedded once: with the title first, a MkDocs
    site's print page cost 1.39x the chunks of the site without it."""
    blocks = _blocks_of(area)
    first_heading = next((text for text, level in blocks if level is not None), None)
    if not title or (blocks and blocks[0][0].startswith(title)) or (first_heading and first_heading in title):
        return HtmlText(*joined(blocks))
    text, sections = joined([(title, None), *blocks])
    if sections and blocks[0][1] is not None:  # the title joins the first heading's section,
        first = sections[0]                    # not a chunk of its own
        sections[0] = Section(first.path, 0, first.end)
    return HtmlText(text, sections)


def _is_page_of_links(area) -> bool:
    words = _words(area, _ALL_TEXT)
    links = _words(area, _LINK_TEXT_BELOW if _IN_LINK(area) else _LINK_TEXT)
    # Prose is counted only when the share of links leaves the question open: a third pass
    # over the tree spared on almost every page (8 ms on Python's 2.5 MB contents.html).
    return words > 0 and (links >= LINKS_PAGE_SHARE * words
                          or links >= LINKS_PAGE_SHARE_WITHOUT_PROSE * words
                          and _words(area, _PROSE_TEXT) < NO_PROSE_SHARE * words)


def _words(area, texts) -> int:
    """Words in the text nodes that `texts` (a compiled XPath) finds in `area`."""
    return len(" ".join(texts(area)).split())


def _has_words(area) -> bool:
    """Whether `area` holds a word: stops at the first (an XPath for it read the whole tree)."""
    return any(text.strip() for text in area.itertext())


def _drop_invisible(root) -> None:
    """Scripts, styles, the <head> and the like out of the tree, their tails kept, so that
    words are counted by plain XPath: asking each text node for an invisible ancestor took
    2.7 s of the 3.1 s that Python's 2.5 MB contents.html cost to load."""
    etree.strip_elements(root, *_INVISIBLE_TAGS, with_tail=False)


def _landmark(root):
    """The element the page marks as its main content, the chrome inside it dropped."""
    for query in _LANDMARKS:
        found = root.xpath(query)
        if len(found) == 1:
            return _without(found[0], _CHROME_INSIDE_MAIN)
    return None


def _without(area, chrome_query: str):
    for chrome in area.xpath(chrome_query):
        chrome.drop_tree()
    return area


def _readable(markup: str):
    """readability's pick of the page's article, as HTML; None when it fails on the page."""
    from readability import Document as Readable
    from readability.readability import Unparseable

    try:
        area = parse(Readable(markup).summary(html_partial=True))
    except Unparseable:
        return None
    _drop_invisible(area)
    return area


def parse(markup: str):
    import lxml.html

    if not markup.strip():
        return lxml.html.fromstring("<html></html>")
    try:
        return lxml.html.document_fromstring(markup)
    except ValueError:  # a str holding an XML encoding declaration
        return lxml.html.document_fromstring(markup.encode("utf-8"))


def _title(root) -> str:
    title = root.find(".//title")
    return _SPACES.sub(" ", title.text_content()).strip() if title is not None else ""


def _blocks_of(element) -> list[Block]:
    blocks = _Blocks()
    blocks.walk(element)
    blocks.flush()
    return blocks.blocks
