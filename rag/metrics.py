"""Scoring answers against gold ones: per question, then over a whole gold set.

Text is compared after SQuAD's normalization (lowercase; punctuation, Unicode included,
and the articles a/an/the removed; whitespace collapsed), and "contains" means as whole
tokens: "1990" is not found in "19901".
"""

from __future__ import annotations

import re
import statistics
import string
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CITATION_MARK = re.compile(r"\[\d+\]")
# A long reference answer (ClapNQ) counts as answered when the answer holds half its words.
MIN_LONG_RECALL = 0.5
# Failure kinds, worst first: a wrong answer is believed; a wrong refusal only hides one.
FAILURES = (
    "wrong answer",
    "answered an unanswerable question",
    "wrongly refused",
    "correct, but no citation supports it",
)
STAGES = ("retrieve", "generate", "total")  # the timings of an Answer
# Metrics where a rise is a regression (the rest: a fall is).
LOWER_IS_BETTER = ("refusal.answerable_refused", "citations.invalid", "latency_ms.")


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
    answer = _CITATION_MARK.sub(" ", answer)
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


def failure(record: dict) -> str | None:
    """What went wrong with one scored question, as one of FAILURES, or None."""
    if record["unanswerable"]:
        return None if record["refused"] else FAILURES[1]
    if record["refused"]:
        return FAILURES[2]
    if not record["correct"]:
        return FAILURES[0]
    if not any(c["supports"] for c in record["citations"]):
        return FAILURES[3]
    return None


def summarize(records: list[dict], k: int, long_answers: bool) -> dict:
    """The metrics over scored questions (see README, Evaluation). None: nothing to measure."""
    answerable = [r for r in records if not r["unanswerable"]]
    unanswerable = [r for r in records if r["unanswerable"]]
    ranked = [r["retrieval_rank"] for r in answerable if r["has_gold_passage"]]
    answer_names = LONG_SCORES if long_answers else SHORT_SCORES
    cited = [c["supports"] for r in answerable for c in r["citations"]]
    correct = [r for r in answerable if r["correct"]]
    return {
        "retrieval": {
            "hit@1": _mean(rank == 1 for rank in ranked),
            f"hit@{k}": _mean(rank is not None for rank in ranked),
            "mrr": _mean(1 / rank if rank else 0.0 for rank in ranked),
        },
        "answers": {
            "correct": _mean(r["correct"] for r in answerable),
            **{name: _mean(r["scores"][name] for r in answerable) for name in answer_names},
        },
        "citations": {
            "precision": _mean(cited),
            "recall": _mean(any(c["supports"] for c in r["citations"]) for r in correct),
            "invalid": sum(r["invalid_citations"] for r in records),
            # Answers shown with no supported claim: must stay 0 (the checker refuses them).
            "answered_without_support": sum(not r["refused"] and not r["citations"] for r in records),
            "removed_claims": sum(r["removed_claims"] for r in records),
        },
        "refusal": {
            "unanswerable_refused": _mean(r["refused"] for r in unanswerable),
            "answerable_refused": _mean(r["refused"] for r in answerable),
        },
        "latency_ms": {
            stage: _percentiles([r["timings_ms"][stage] for r in records])
            for stage in STAGES
        },
    }


def _mean(values) -> float | None:
    values = [float(v) for v in values]
    return round(statistics.fmean(values), 4) if values else None


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1)}


def flatten(metrics: dict, prefix: str = "") -> dict[str, float | None]:
    """{"retrieval": {"hit@1": x}} -> {"retrieval.hit@1": x}, in order."""
    flat = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def lower_is_better(name: str) -> bool:
    return name.startswith(LOWER_IS_BETTER)
