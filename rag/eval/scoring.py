"""How one answer measures up against its gold: text scores, citation support, the rank of
the gold passage, and what went wrong.

Text is compared after SQuAD's normalization (lowercase; punctuation, Unicode included,
and the articles a/an/the removed; whitespace collapsed), and "contains" means as whole
tokens: "1990" is not found in "19901".
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from pathlib import Path

from rag.answer import CITATION_MARK
from rag.eval.records import QuestionRecord

_ARTICLES = re.compile(r"\b(a|an|the)\b")
# A long reference answer (ClapNQ) counts as answered when the answer holds half its words.
MIN_LONG_RECALL = 0.5
# Failure kinds, worst first: a wrong answer is believed; a wrong refusal only hides one.
FAILURES = (
    "wrong answer",
    "answered an unanswerable question",
    "wrongly refused",
    "correct, but no citation supports it",
)


def normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if not _is_punctuation(ch))
    return " ".join(_ARTICLES.sub(" ", text).split())


def _is_punctuation(char: str) -> bool:
    # SQuAD strips ASCII punctuation only; curly quotes and dashes are just as noisy here.
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def contains(text: str, part: str) -> bool:
    """Whether `part` occurs in `text` as whole normalized tokens; nothing is in everything."""
    part = normalize(part)
    return bool(part) and f" {part} " in f" {normalize(text)} "


def exact_match(answer: str, gold: str) -> float:
    return float(normalize(answer) == normalize(gold))


def _overlap(answer: str, gold: str) -> tuple[int, int, int]:
    """(shared tokens, answer tokens, gold tokens), counting repeats as SQuAD does."""
    predicted, reference = normalize(answer).split(), normalize(gold).split()
    shared = sum((Counter(predicted) & Counter(reference)).values())
    return shared, len(predicted), len(reference)


def token_f1(answer: str, gold: str) -> float:
    shared, predicted, reference = _overlap(answer, gold)
    return 2 * shared / (predicted + reference) if shared else 0.0


def token_recall(answer: str, gold: str) -> float:
    shared, _, reference = _overlap(answer, gold)
    return shared / reference if reference else 0.0


def rouge_l(answer: str, gold: str) -> float:
    """ROUGE-L F1: the longest common token subsequence against both lengths."""
    predicted, reference = normalize(answer).split(), normalize(gold).split()
    if not predicted or not reference:
        return 0.0
    previous = [0] * (len(reference) + 1)
    for word in predicted:
        current = [0]
        for j, gold_word in enumerate(reference):
            current.append(previous[j] + 1 if word == gold_word else max(previous[j + 1], current[j]))
        previous = current
    common = previous[-1]
    return 2 * common / (len(predicted) + len(reference)) if common else 0.0


SHORT_SCORES = {"containment": lambda a, g: float(contains(a, g)), "exact_match": exact_match, "f1": token_f1}
LONG_SCORES = {"token_recall": token_recall, "rouge_l": rouge_l}


def answer_scores(answer: str, golds: list[str], long_answers: bool) -> dict[str, float]:
    """Each score against the best-matching gold answer, citation marks [n] left out."""
    answer = CITATION_MARK.sub(" ", answer)
    scores = LONG_SCORES if long_answers else SHORT_SCORES
    return {name: max((score(answer, gold) for gold in golds), default=0.0) for name, score in scores.items()}


def is_correct(scores: dict[str, float], long_answers: bool) -> bool:
    if long_answers:
        return scores["token_recall"] >= MIN_LONG_RECALL
    return scores["containment"] == 1.0


def supports(quote: str, golds: list[str], evidence: str) -> bool:
    """A quote supports the answer when it holds a gold answer or the evidence, or is part
    of the evidence."""
    holds_answer = any(contains(quote, gold) for gold in golds)
    return holds_answer or contains(quote, evidence) or contains(evidence, quote)


def retrieval_rank(passages: list, source: str, evidence: str) -> int | None:
    """1-based rank of the first gold passage among retrieved ones (with .source and .text):
    the gold document by file name, or, with no document named, a passage holding the
    evidence. None: not retrieved, or no way to tell."""
    for rank, passage in enumerate(passages, start=1):
        if (Path(passage.source).name == source) if source else contains(passage.text, evidence):
            return rank
    return None


def failure(record: QuestionRecord) -> str | None:
    """What went wrong with one scored question, as one of FAILURES, or None."""
    if record.unanswerable:
        return None if record.refused else FAILURES[1]
    if record.refused:
        return FAILURES[2]
    if not record.correct:
        return FAILURES[0]
    if not any(c.supports for c in record.citations):
        return FAILURES[3]
    return None
