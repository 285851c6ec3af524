"""What an answer is: text, the passages it was drawn from, and exact cited spans."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

DECLINE = "I don't know: the documents do not answer this question."
# How an answer's text cites passage n: "[n]" after the claim.
CITATION_MARK = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Passage:
    """A retrieved span of a document: `text == text(source)[start:end]`."""

    n: int
    source: str
    start: int
    end: int
    text: str
    page: int | None
    score: float
    # Where it is, as a citation names it ("page 3", "slide 2", "sheet Q3, rows 2-41",
    # "cell 5"); None in an index made before locations were kept: show "page N" then.
    location: str | None = None


@dataclass(frozen=True)
class Citation:
    """The exact quoted span supporting part of an answer: `quote == text(source)[start:end]`."""

    n: int
    source: str
    start: int
    end: int
    quote: str
    page: int | None
    score: float
    location: str | None = None  # the cited passage's (Passage.location)


@dataclass(frozen=True)
class ShortAnswer:
    """The phrase that answers the question (a name, number, date), inside a cited quote:
    `text == text(source)[start:end]`."""

    text: str
    source: str
    start: int
    end: int


@dataclass(frozen=True)
class TextDelta:
    """A piece of an answer's text, as it is produced; a stream ends with the whole answer."""

    text: str


def place(item: Passage | Citation) -> str | None:
    """Where a passage or citation is, as shown to a reader: its location, or "page N" when
    an index made before locations were kept has only the page number."""
    return item.location or (f"page {item.page}" if item.page else None)


def no_problems() -> dict:
    return {"invalid_citations": 0, "removed": []}


@dataclass
class Draft:
    """What an answerer produces from passages, before timing and packaging."""

    text: str
    citations: list[Citation]
    refused: bool
    # How many citations named passages that were not given (dropped), and the answer
    # sentences no cited quote supports (removed from the answer, listed here).
    checks: dict = field(default_factory=no_problems)
    # P(the documents answer the question), from the answerer's confidence model, and the
    # signals it was computed from (what bench/calibrate.py fits on).
    confidence: float | None = None
    signals: dict[str, float] = field(default_factory=dict)
    short_answer: ShortAnswer | None = None



@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    passages: list[Passage]
    answerer: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    checks: dict = field(default_factory=no_problems)
    confidence: float | None = None
    short_answer: ShortAnswer | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Answer:
        """The answer to_dict() gave (a saved conversation's turn, read back)."""
        short = data.get("short_answer")
        return cls(**{**data, "citations": [Citation(**c) for c in data["citations"]],
                      "passages": [Passage(**p) for p in data["passages"]],
                      "short_answer": ShortAnswer(**short) if short else None})
