"""An evaluation run: ask each gold question through a pipeline, score every answer, and
sum the scores up."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tqdm import tqdm

from rag.answer import Answer, Citation
from rag.eval.gold import GoldItem, GoldSet, sample
from rag.eval.metrics import summarize
from rag.eval.records import CitationRecord, QuestionRecord
from rag.eval.scoring import answer_scores, failure, is_correct, retrieval_rank, supports

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


@dataclass
class Evaluation:
    """A run's outcome, as `rag eval` prints it and as a report's eval.json holds it."""

    summary: dict  # the gold set, the settings, counts and metrics: what `rag eval --json` prints
    questions: list[QuestionRecord]  # one per question, in gold order

    def to_dict(self) -> dict:
        return {**self.summary, "per_question": [record.to_dict() for record in self.questions]}


def evaluate(
    gold: GoldSet,
    pipeline: Pipeline,
    *,
    k: int | None = None,
    limit: int | None = None,
    answerer: str | None = None,
    progress: bool = False,
    collections: list[str] | None = None,
) -> Evaluation:
    """Ask each gold question (or a `limit` sample) through `pipeline` and score the answers,
    from the documents of `collections` alone (None: all)."""
    k = k or pipeline.settings.k
    items = sample(gold.items, limit)
    pipeline.answerer(answerer)  # load a language model now: its start is not a question's time
    answers = [
        pipeline.ask(item.question, k=k, answerer=answerer, collections=collections)
        for item in tqdm(items, desc=f"Evaluating {gold.name}", unit="question", disable=not progress)
    ]
    records = [score(item, answer, gold.long_answers) for item, answer in zip(items, answers)]
    summary = {
        "gold": gold.name,
        "answerer": answers[0].answerer if answers else answerer,
        "k": k,
        "limit": limit,
        "answers_scored_as": "long" if gold.long_answers else "short",
        "questions": len(records),
        "answerable": sum(not r.unanswerable for r in records),
        "unanswerable": sum(r.unanswerable for r in records),
        "metrics": summarize(records, k, gold.long_answers),
        "failures": dict(Counter(r.failure for r in records if r.failure)),
    }
    return Evaluation(summary, records)


def score(item: GoldItem, answer: Answer, long_answers: bool) -> QuestionRecord:
    """One question's record: the gold, the answer, and how it measures up."""
    short_answer = answer.short_answer.text if answer.short_answer else None
    answerable = not item.unanswerable
    scores = _scores(item, answer, short_answer, long_answers) if answerable else {}
    record = QuestionRecord(
        id=item.id,
        question=item.question,
        unanswerable=item.unanswerable,
        gold_answers=item.answers,
        answer=answer.answer,
        refused=answer.refused,
        retrieval_rank=retrieval_rank(answer.passages, item.source, item.evidence),
        has_gold_passage=bool(item.source or item.evidence),
        citations=[_citation(citation, item) for citation in answer.citations],
        invalid_citations=answer.checks["invalid_citations"],
        removed_claims=len(answer.checks["removed"]),
        timings_ms=answer.timings_ms,
        confidence=answer.confidence,
        short_answer=short_answer,
        scores=scores,
        correct=(not answer.refused and is_correct(scores, long_answers)) if answerable else None,
        correct_if_answered=answerable and _correct_if_answered(item, answer, scores, long_answers),
        failure=None,
    )
    return replace(record, failure=failure(record))


def _citation(citation: Citation, item: GoldItem) -> CitationRecord:
    return CitationRecord(citation.n, citation.source, citation.quote, citation.score,
                          supports(citation.quote, item.answers, item.evidence))


def _scores(item: GoldItem, answer: Answer, short_answer: str | None, long_answers: bool) -> dict[str, float]:
    """The shown answer's scores (a refusal shows none); for short reference answers, SQuAD's
    own measures too, of the phrase that answers when there is one."""
    shown = "" if answer.refused else answer.answer
    scores = answer_scores(shown, item.answers, long_answers)
    if long_answers:
        return scores
    phrase = answer_scores(short_answer or shown, item.answers, long_answers)
    return scores | {"short_exact_match": phrase["exact_match"], "short_f1": phrase["f1"]}


def _correct_if_answered(item: GoldItem, answer: Answer, scores: dict[str, float], long_answers: bool) -> bool:
    """Whether the answer would be correct had it been shown: a refusal for low confidence
    is scored on the answer it withheld (any other refusal withheld nothing)."""
    if answer.refused:
        withheld = (answer.checks.get("low_confidence") or {}).get("withheld") or ""
        scores = answer_scores(withheld, item.answers, long_answers)
    return is_correct(scores, long_answers)
