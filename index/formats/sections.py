"""Heading paths: which headings a stretch of a document's text lies under.

A section runs from its heading to the next heading of any level, so sections never
overlap and a heading's whole reach is its section and those of its subheadings; each
section's path holds its headings outermost first ("Tutorial", "Data Structures", "Lists").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from index.formats.base import Section

BLOCK_SEPARATOR = "\n\n"
# A block of text, and its heading level (1 outermost) when it is a heading.
Block = tuple[str, "int | None"]


def joined(blocks: Iterable[Block]) -> tuple[str, list[Section]]:
    """The blocks' text, joined by blank lines, and the sections their headings open."""
    parts: list[str] = []
    headings: list[tuple[int, str, int]] = []
    offset = 0
    for text, level in blocks:
        if level is not None:
            headings.append((level, text, offset))
        parts.append(text)
        offset += len(text) + len(BLOCK_SEPARATOR)
    text = BLOCK_SEPARATOR.join(parts)
    return text, sections_of(headings, text)


def sections_of(headings: list[tuple[int, str, int]], text: str) -> list[Section]:
    """Sections from (level, heading, offset) in text order: each from its heading to the
    next one, trailing whitespace left out."""
    sections = []
    path: list[tuple[int, str]] = []
    ends = [offset for _, _, offset in headings[1:]] + [len(text)]
    for (level, heading, start), end in zip(headings, ends):
        path = [(outer, name) for outer, name in path if outer < level] + [(level, heading)]
        end = start + len(text[start:end].rstrip())
        sections.append(Section(tuple(name for _, name in path), start, end))
    return sections


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def markdown_sections(text: str) -> list[Section]:
    """Sections of Markdown source: ATX ("## Install") and setext (a line underlined with
    === or ---) headings, none inside a fenced code block."""
    headings: list[tuple[int, str, int]] = []
    fence = None
    offset = 0
    previous: tuple[str, int] | None = None  # the last plain line and its offset: a setext candidate
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\n")
        if opening := _FENCE.match(bare):
            marker = opening.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not bare.strip()[len(marker):]:
                fence = None
            previous = None
        elif fence is None:
            atx, setext = _ATX.match(bare), _SETEXT.match(bare)
            if atx and atx.group(2):
                headings.append((len(atx.group(1)), atx.group(2).strip(), offset + len(bare) - len(bare.lstrip())))
                previous = None
            elif setext and previous is not None:
                headings.append((1 if setext.group(1)[0] == "=" else 2, *previous))
                previous = None
            else:
                previous = (bare.strip(), offset + len(bare) - len(bare.lstrip())) if bare.strip() else None
        offset += len(line)
    return sections_of(headings, text)
