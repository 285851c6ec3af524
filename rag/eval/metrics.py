"""The metrics over a gold set's scored questions (see README, Evaluation): retrieval,
answers, citations, refusals, latency, and how far to trust the confidence."""

from __future__ import annotations

import statistics

import numpy as np

from rag.eval.records import QuestionRecord
from rag.eval.scoring import LONG_SCORES, SHORT_SCORES

STAGES = ("retrieve", "generate", "total")  # the timings of an Answer
# Metrics where a rise is a regression (the rest: a fall is).
LOWER_IS_BETTER = (
    "refusal.answerable_refused", "citations.invalid", "latency_ms.", "confidence.aurc", "confidence.ece",
)
CONFIDENCE_BINS = 10


def summarize(records: list[QuestionRecord], k: int, long_answers: bool) -> dict:
    """The metrics over scored questions (see README, Evaluation). None: nothing to measure."""
    answerable = [r for r in records if not r.unanswerable]
    unanswerable = [r for r in records if r.unanswerable]
    ranked = [r.retrieval_rank for r in answerable if r.has_gold_passage]
    answer_names = LONG_SCORES if long_answers else SHORT_SCORES
    cited = [c.supports for r in answerable for c in r.citations]
    correct = [r for r in answerable if r.correct]
    return {
        "retrieval": {
            "hit@1": _mean(rank == 1 for rank in ranked),
            f"hit@{k}": _mean(rank is not None for rank in ranked),
            "mrr": _mean(1 / rank if rank else 0.0 for rank in ranked),
        },
        "answers": {
            "correct": _mean(r.correct for r in answerable),
            **{name: _mean(r.scores[name] for r in answerable) for name in _score_names(answerable, answer_names)},
        },
        "citations": {
            "precision": _mean(cited),
            "recall": _mean(any(c.supports for c in r.citations) for r in correct),
            "invalid": sum(r.invalid_citations for r in records),
            # Answers shown with no supported claim: must stay 0 (the checker refuses them).
            "answered_without_support": sum(not r.refused and not r.citations for r in records),
            "removed_claims": sum(r.removed_claims for r in records),
        },
        "refusal": {
            "unanswerable_refused": _mean(r.refused for r in unanswerable),
            "answerable_refused": _mean(r.refused for r in answerable),
        },
        "latency_ms": {stage: percentiles([r.timings_ms[stage] for r in records]) for stage in STAGES},
        "confidence": {
            "aurc": _rounded(aurc(records)),
            "ece": _rounded(expected_calibration_error(records)),
            "auroc": _rounded(auroc(records)),
        },
    }


def _rated(records: list[QuestionRecord]) -> list[QuestionRecord]:
    return [r for r in records if r.confidence is not None]


def _wrong_if_answered(record: QuestionRecord) -> bool:
    """Whether the answer given without a low-confidence refusal would be wrong; an answer
    to an unanswerable question always is."""
    return record.unanswerable or not record.correct_if_answered


def _by_confidence(records: list[QuestionRecord]) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct confidence, highest first: how many records have it and how many
    of those would be answered wrongly. Records without a confidence are left out."""
    rated = _rated(records)
    values, group = np.unique([r.confidence for r in rated], return_inverse=True)
    counts = np.bincount(group, minlength=len(values))
    errors = np.bincount(group, weights=[_wrong_if_answered(r) for r in rated], minlength=len(values))
    return counts[::-1], errors[::-1]


def risk_coverage(records: list[QuestionRecord]) -> list[tuple[float, float]]:
    """The risk-coverage curve of answering only above a confidence threshold: for each
    distinct confidence as threshold, highest first, (coverage, risk) with coverage the share
    of the rated questions answered (confidence at least the threshold) and risk the share
    of those answers that are wrong. Equal confidences are answered or refused together."""
    counts, errors = _by_confidence(records)
    answered, wrong = np.cumsum(counts), np.cumsum(errors)
    return [(float(a / answered[-1]), float(w / a)) for a, w in zip(answered, wrong)]


def aurc(records: list[QuestionRecord]) -> float | None:
    """Area under the risk-coverage curve (Geifman & El-Yaniv): the mean selective risk over
    coverages 1/n, ..., n/n, answering the n rated questions from the most confident. Among
    equal confidences the order is arbitrary, so each is charged its group's error rate: the
    expected risk over every order of the ties. Lower is better; the floor depends on the
    error rate, and a constant confidence scores the error rate itself."""
    counts, errors = _by_confidence(records)
    if not counts.size:
        return None
    expected_errors = np.repeat(errors / counts, counts)
    return float(np.mean(np.cumsum(expected_errors) / np.arange(1, counts.sum() + 1)))


def reliability(records: list[QuestionRecord], bins: int = CONFIDENCE_BINS) -> list[dict]:
    """Equal-width confidence bins over [0, 1], a confidence of 1 in the last: for each, its
    bounds, the number of rated questions in it, their mean confidence and the observed
    share of answerable questions, the event the confidence predicts (None when empty)."""
    rated = _rated(records)
    index = _bin_index([r.confidence for r in rated], bins)
    table = []
    for number in range(bins):
        members = [r for r, i in zip(rated, index) if i == number]
        table.append({
            "low": number / bins,
            "high": (number + 1) / bins,
            "count": len(members),
            "mean_confidence": _mean(r.confidence for r in members),
            "answerable_share": _mean(not r.unanswerable for r in members),
        })
    return table


def expected_calibration_error(records: list[QuestionRecord], bins: int = CONFIDENCE_BINS) -> float | None:
    """ECE: over the `reliability` bins, |observed answerable share - mean confidence|
    weighted by the bin's share of the rated questions. 0: perfectly calibrated."""
    rated = _rated(records)
    if not rated:
        return None
    confidences = np.array([r.confidence for r in rated])
    answerable = np.array([not r.unanswerable for r in rated], dtype=float)
    # count/n * |mean gap| is |summed gap|/n: the unrounded sums, not reliability's means.
    gaps = np.bincount(_bin_index(confidences, bins), weights=answerable - confidences, minlength=bins)
    return float(np.abs(gaps).sum() / len(rated))


def _bin_index(confidences, bins: int) -> np.ndarray:
    # Scaling, not comparing with computed edges (0.30000000000000004), keeps 0.3 in [0.3, 0.4).
    return np.minimum((np.asarray(confidences, dtype=float) * bins).astype(int), bins - 1)


def auroc(records: list[QuestionRecord]) -> float | None:
    """Area under the ROC curve of the confidence separating answerable from unanswerable
    gold questions: the chance that a random answerable question gets a higher confidence
    than a random unanswerable one, ties counting half. 0.5 is no better than chance; None
    without rated questions of both kinds."""
    rated = _rated(records)
    answerable = np.array([r.confidence for r in rated if not r.unanswerable])
    unanswerable = np.array([r.confidence for r in rated if r.unanswerable])
    if not answerable.size or not unanswerable.size:
        return None
    higher = answerable[:, None] > unanswerable[None, :]
    tied = answerable[:, None] == unanswerable[None, :]
    return float(np.mean(higher + 0.5 * tied))


def _score_names(answerable: list[QuestionRecord], names) -> list[str]:
    """The scores every record has: the set's own, and SQuAD's measures of short answers."""
    return [*names, *(n for n in ("short_exact_match", "short_f1") if answerable and n in answerable[0].scores)]


def _mean(values) -> float | None:
    values = [float(v) for v in values]
    return round(statistics.fmean(values), 4) if values else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def percentiles(values: list[float], digits: int = 1) -> dict[str, float | None]:
    """The median and 95th percentile (linear interpolation), rounded; None when empty."""
    if not values:
        return {"p50": None, "p95": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {"p50": round(float(p50), digits), "p95": round(float(p95), digits)}


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
