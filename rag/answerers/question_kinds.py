"""What kind of answer a question asks for, and what a sentence holding one looks like:
a percentage, a quantity, a time or a name. One set of rules for both uses: the extractive
scorer discounts sentences without the kind asked for, and short answers cut out the
phrase of that kind."""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["percent", "quantity", "time", "name"]

# Checked in this order: "what percentage" is a quantity too, but a percentage first.
_ASKS: tuple[tuple[Kind, re.Pattern], ...] = (
    ("percent", re.compile(r"\bpercent", re.IGNORECASE)),
    ("quantity", re.compile(r"\bhow (?:much|many|long|old|far|big|large|high|often)\b|\bwhat (?:number|amount)\b",
                            re.IGNORECASE)),
    ("time", re.compile(r"^\s*when\b|\bwhat (?:date|time|year|day|month)\b|\bwhich year\b", re.IGNORECASE)),
    ("name", re.compile(r"^\s*(?:who|whom|whose|where)\b|\b(?:which|what) (?:company|country|city|person|team|"
                        r"university|organi[sz]ation|state|firm|place)\b", re.IGNORECASE)),
)


def asked_kind(question: str) -> Kind | None:
    """The kind of answer `question` asks for, or None when these rules do not know."""
    return next((kind for kind, asks in _ASKS if asks.search(question)), None)


# A sentence that holds a number, in digits or in words, and one that speaks of a time.
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|trillion|dozen|half|once|twice)\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|"
    r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|century|decade|"
    r"years?|months?|weeks?|days?)\b",
    re.IGNORECASE,
)


def holds_kind(kind: Kind | None, sentence: str) -> bool:
    """Whether a sentence can hold an answer of this kind (names are not checked: any
    sentence may hold one)."""
    if kind == "percent":
        return "%" in sentence or "percent" in sentence.lower()
    if kind == "quantity":
        return bool(_NUMBER.search(sentence))
    if kind == "time":
        return bool(_NUMBER.search(sentence) or _TIME.search(sentence))
    return True
