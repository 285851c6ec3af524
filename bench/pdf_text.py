"""A PDF's text as index/formats/page_text.py makes it, against pypdf's page texts: the header,
footer and page-number lines left out, the line-end hyphens joined or kept, and how the
pages are joined. Defaults to the libtasn1 manual (Debian package libtasn1-doc).

    .venv/bin/python bench/pdf_text.py [PDF]      # a second or two; prints, writes nothing
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from index.formats.page_text import _LINE_END_HYPHEN, Hyphenation, RawPage, running_text, without_furniture  # noqa: E402

MANUAL = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")


def main(path: Path) -> None:
    raw = [RawPage(number, (page.extract_text() or "").strip())
           for number, page in enumerate(PdfReader(path).pages, start=1)]
    texts = without_furniture(raw)
    removed = [(page.number, line) for page, text in zip(raw, texts)
               for line in _removed_lines(page.text, text)]
    print(f"{path.name}: {len(raw)} pages, {len(removed)} header/footer/page-number lines left out")
    for number, line in removed:
        print(f"  page {number:>3}: {line!r}")
    hyphens = Hyphenation("\n".join(texts))
    decisions = [(m[0], hyphens.join_word(m[1], m[2])) for text in texts for m in _LINE_END_HYPHEN.finditer(text)]
    kept = [word for _, word in decisions if "-" in word]
    print(f"{len(decisions)} line-end hyphens: {len(decisions) - len(kept)} joined, {len(kept)} kept {kept}")
    for site, word in decisions:
        print(f"  {site!r} -> {word}")
    paged = running_text(raw)
    text = paged.text
    joins = Counter(repr(text[a.end : b.start]) for a, b in zip(paged.pages, paged.pages[1:]))
    print(f"page breaks joined by: {dict(joins)}")


def _removed_lines(before: str, after: str) -> list[str]:
    """The lines of `before` missing from the start and end of `after`."""
    lines = before.split("\n")
    kept = after.split("\n")
    first = next(i for i, line in enumerate(lines) if line.strip() == kept[0].strip()) if kept[0] else len(lines)
    last = first + len(kept)
    return [line for line in lines[:first] + lines[last:] if line.strip()]


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else MANUAL)
