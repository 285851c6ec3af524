"""A PDF's pages as one running text, the way a reader sees it: running headers, footers and
page numbers left out, words hyphenated (and identifiers broken after "_") at a line's end
joined, and a sentence that runs on past a page's end joined to its rest instead of cut off
by a paragraph gap.

Measured on /usr/share/doc/libtasn1-doc/libtasn1.pdf (36 pages; bench/pdf_text.py lists it
all): 34 running-header and page-number lines left out, 31 line-end hyphens of which 30
joined and 1 kept, all as a reader reads them, and 11 of 35 page breaks found mid-sentence.
On shared-mime-info-spec.pdf (17 pages): 34 lines left out, a running title and a page
number a page, none of them body text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from index.formats.base import PAGE_SEPARATOR, PagedText

# Lines at a page's top and at its bottom that may be a running header or footer: a header
# and a page number on lines of their own ("Chapter 4: Function reference" then "12") are two.
EDGE_LINES = 2
# "12", "xiv", "Page 3", "3 of 36", "- 3 -": a line that is only a page's number. Roman
# numerals in lower case only, as front matter numbers its pages: "I", "C" or "X" alone on a
# line is more often a pronoun or an index's letter heading.
_ROMAN = r"(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_PAGE_NUMBER = re.compile(
    rf"(?:(?i:page)\s+)?(?:\d+|{_ROMAN})(?:\s*(?:of|/)\s*\d+)?|[-\u2013\u2014]\s*\d+\s*[-\u2013\u2014]"
)
_NUMBER = re.compile(r"\d+")
_LETTERS = r"[^\W\d_]+"
_LINE_END_HYPHEN = re.compile(rf"({_LETTERS})-\n(?=({_LETTERS}))")
# An identifier broken after an underscore ("ASN1_\nSYNTAX_ERROR"): no word ends in one, so
# the break is always the typesetter's. libtasn1.pdf has 7 such breaks, all identifiers.
_LINE_END_UNDERSCORE = re.compile(r"(?<=[^\W_]_)\n(?=\w)")
_COMPOUND = re.compile(rf"{_LETTERS}(?:-{_LETTERS})+")
_WORD = re.compile(_LETTERS)
_PAGE_END_FRAGMENT = re.compile(rf"({_LETTERS})-$")
_PAGE_START_WORD = re.compile(_LETTERS)
# A sentence is over at terminal punctuation, closing quotes and brackets aside.
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")


@dataclass(frozen=True)
class RawPage:
    """A page's text as extracted (text layer or OCR), before it joins the running text."""

    number: int
    text: str
    label: str | None = None


def running_text(pages: Sequence[RawPage]) -> PagedText:
    """The pages as a reader reads them, each page's offsets exact. Pages are joined by
    PAGE_SEPARATOR where a sentence ends with the page, by a line break where it runs on,
    and by nothing where a word hyphenated across the break is joined."""
    texts = without_furniture(pages)
    hyphens = Hyphenation("\n".join(texts))  # "\n": a word hyphenated across pages is no word of it
    kept = [(page, _joined_lines(text, hyphens)) for page, text in zip(pages, texts) if text]
    result = PagedText()
    separator = PAGE_SEPARATOR
    for (page, text), following in zip(kept, [text for _, text in kept[1:]] + [None]):
        next_separator = PAGE_SEPARATOR
        if following is not None:
            text, next_separator = _page_break(text, following, hyphens)
        result.add(page.number, text, page.label, separator=separator)
        separator = next_separator
    return result


def _joined_lines(text: str, hyphens: Hyphenation) -> str:
    return _LINE_END_UNDERSCORE.sub("", hyphens.join_lines(text))


def _page_break(text: str, following: str, hyphens: Hyphenation) -> tuple[str, str]:
    """The page's text and what joins it to the next page's text `following`."""
    fragment, first_word = _PAGE_END_FRAGMENT.search(text), _PAGE_START_WORD.match(following)
    if fragment and first_word:
        joined = hyphens.join_word(fragment[1], first_word[0])
        return text[: fragment.start()] + joined[: -len(first_word[0])], ""
    return text, PAGE_SEPARATOR if _SENTENCE_END.search(text) else "\n"


def without_furniture(pages: Sequence[RawPage]) -> list[str]:
    """Each page's text without the running header, footer and page-number lines among its
    first and last EDGE_LINES lines: a line that is only a number; a line that recurs at the
    same edge of another page with a number keeping step with the page's ("Chapter 4:
    Function reference 12" on page 15, "... 13" on page 16); a line that recurs unchanged at
    that edge of at least half the pages (three at least). A body line that appears on two
    pages stays, and so does one at an edge whose number does not follow the page's."""
    lines = [page.text.split("\n") for page in pages]
    stepping, unchanged = defaultdict(set), defaultdict(set)
    for page, page_lines in zip(pages, lines):
        for edge, index in _edge_indices(page_lines):
            line = page_lines[index].strip()
            for offset in _page_offsets(line, page.number):
                stepping[edge, _NUMBER.sub("#", line), offset].add(page.number)
            unchanged[edge, line].add(page.number)
    often = max(3, (sum(bool(page.text.strip()) for page in pages) + 1) // 2)

    def is_furniture(edge: str, line: str, number: int) -> bool:
        return bool(
            _PAGE_NUMBER.fullmatch(line)
            or any(len(stepping[edge, _NUMBER.sub("#", line), offset]) >= 2
                   for offset in _page_offsets(line, number))
            or len(unchanged[edge, line]) >= often
        )

    texts = []
    for page, page_lines in zip(pages, lines):
        dropped = {index for edge, index in _edge_indices(page_lines)
                   if is_furniture(edge, page_lines[index].strip(), page.number)}
        dropped = _outermost(dropped, page_lines)
        texts.append("\n".join(line for i, line in enumerate(page_lines) if i not in dropped).strip())
    return texts


def _edge_indices(lines: list[str]) -> list[tuple[str, int]]:
    """("top", i) for the first EDGE_LINES non-blank lines, ("bottom", i) for the last."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return [("top", i) for i in filled[:EDGE_LINES]] + [("bottom", i) for i in filled[-EDGE_LINES:]]


def _outermost(dropped: set[int], lines: list[str]) -> set[int]:
    """The dropped lines that only blank or other dropped lines separate from the page's top
    or bottom: a body line between a header and the text is not furniture."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    kept = set()
    for order in (filled, filled[::-1]):
        for index in order:
            if index not in dropped:
                break
            kept.add(index)
    return kept


def _page_offsets(line: str, number: int) -> set[int]:
    """How the line's first and last numbers differ from the page's number: a printed page
    number differs by the same amount on every page (page 15 printed "12": -3)."""
    numbers = _NUMBER.findall(line)
    return {int(numbers[0]) - number, int(numbers[-1]) - number} if numbers else set()


class Hyphenation:
    """Words hyphenated at a line's end, joined or kept by what the document itself writes:
    the joined word anywhere else ("management") -> joined; else the hyphenated word on one
    line elsewhere ("well-known") -> hyphen kept; else both halves words of their own
    elsewhere ("well", "known") -> hyphen kept; else joined ("manip-ulation" has no words).
    On libtasn1.pdf (bench/pdf_text.py) 27 of the 31 were joined by the first test, 1 kept
    by the third ("YYMMDDhhmm-hh'mm'" beside "YYMMDDhhmm+hh'mm'"), 3 joined by the last
    ("manip-ulation", "pro-cessing", "individu-ally"): all 31 right. "Join when the next line
    starts in lower case" gets 22 right: it keeps the 8 upper-case breaks ("SE-QUENCE",
    "OP-TIONAL", "ELE-MENT" three times...) and joins the format's real hyphen."""

    def __init__(self, text: str):
        elsewhere = _LINE_END_HYPHEN.sub(" ", text)  # both halves of a broken word left out
        self._words = {word.casefold() for word in _WORD.findall(elsewhere)}
        self._compounds = {word.casefold() for word in _COMPOUND.findall(elsewhere)}

    def join_word(self, head: str, tail: str) -> str:
        """`head`, hyphenated at a line's end, and `tail`, starting the next line, as one word."""
        if (head + tail).casefold() in self._words:
            return head + tail
        hyphenated = f"{head}-{tail}"
        if hyphenated.casefold() in self._compounds or {head.casefold(), tail.casefold()} <= self._words:
            return hyphenated
        return head + tail

    def join_lines(self, text: str) -> str:
        """`text` with every word hyphenated at a line's end joined (the line break goes too)."""
        return _LINE_END_HYPHEN.sub(lambda m: self.join_word(m[1], m[2])[: -len(m[2])], text)
