"""The phrase of a sentence that answers a question: a number for "how many", a date for
"when", a name for "who" and "where". Rules, not a model: no reader model installs
offline here (../shared/STACK.md), and these cover the factoid questions a user asks most.
"""

from __future__ import annotations

import re

from rag.answerers.question_kinds import asked_kind

_SCALE = r"(?:hundred|thousand|million|billion|trillion)"
_NUMBER_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                r"forty|fifty|hundred|dozen)")
_QUANTITY = re.compile(
    rf"(?:[$€£¥]\s?)?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|per cent))?(?:\s{_SCALE})*"
    rf"|\b{_NUMBER_WORD}(?:[\s-]{_NUMBER_WORD})*(?:\s{_SCALE})*\b",
    re.IGNORECASE,
)
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE = re.compile(
    rf"\b{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?,?\s\d{{4}}\b|\b\d{{1,2}}\s{_MONTH}\s\d{{4}}\b"
    rf"|\b{_MONTH}\s\d{{4}}\b|\b{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?\b|\b(?:1[0-9]|20)\d{{2}}s?\b"
    r"|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
# A run of capitalised words, allowing "of", "the", "de" inside: "Bank of England".
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:(?:of|the|de|van|von|and)\s+)?[A-Z][\w'’.-]*)*")

# Capitalised only because they open a sentence.
_OPENERS = frozenset("a an the in on at it its he she they this that these those after before "
                     "when while as but and or if for by with from".split())

# The phrase that answers each kind of question (rag/answerers/question_kinds.py).
_PHRASES = {"percent": _QUANTITY, "quantity": _QUANTITY, "time": _DATE, "name": _NAME}


def short_answer_span(question: str, sentence: str) -> tuple[int, int] | None:
    """(start, end) in `sentence` of the phrase that answers `question`, or None when the
    question is not of a kind these rules know or no phrase of that kind is new to it."""
    kind = asked_kind(question)
    if kind is None:
        return None
    asked = {w.lower() for w in re.findall(r"\w+", question)}
    for match in _PHRASES[kind].finditer(sentence):
        start, text = match.start(), match.group()
        opener = text.split()[0]
        if kind == "name" and opener.lower() in _OPENERS:
            start, text = start + len(opener), text[len(opener):]
            start, text = start + len(text) - len(text.lstrip()), text.strip()
        if {w.lower() for w in re.findall(r"\w+", text)} - asked - _OPENERS:
            return start, start + len(text)
    return None
