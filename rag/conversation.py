"""Follow-up questions: turn "and where is it based?" into a question that stands alone."""

from __future__ import annotations

import re

# A short question that leans on an earlier one: it opens with a connective or refers back.
_CONNECTIVE = re.compile(r"^\s*(and|also|what about|how about|but|so)\b", re.IGNORECASE)
_BACK_REFERENCE = re.compile(
    r"\b(it|its|it's|they|them|their|he|him|his|she|her|this|that|these|those|there)\b",
    re.IGNORECASE,
)
MAX_FOLLOW_UP_WORDS = 12


def previous_question(history: list[dict] | None) -> str | None:
    """The last user turn of a messages-style history ([{"role", "content"}, ...])."""
    for message in reversed(history or []):
        if message.get("role") == "user" and str(message.get("content", "")).strip():
            return str(message["content"]).strip()
    return None


def standalone_question(question: str, history: list[dict] | None) -> str:
    """The rule for answerers without a language model: a follow-up is asked together with
    the question it follows, so retrieval and scoring see what "it" refers to."""
    previous = previous_question(history)
    if previous is None or len(question.split()) > MAX_FOLLOW_UP_WORDS:
        return question
    if _CONNECTIVE.search(question) or _BACK_REFERENCE.search(question):
        return f"{previous} {question}"
    return question
