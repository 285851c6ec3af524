"""What a run keeps of each gold question: the gold, the answer and how it measures up, as
typed records. `to_dict` gives the JSON of eval.json's `per_question` entries."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CitationRecord:
    n: int
    source: str
    quote: str
    score: float
    supports: bool  # the quote holds a gold answer or the evidence, or is part of the evidence


@dataclass(frozen=True)
class QuestionRecord:
    """One scored question. The fields are in eval.json's order, which `to_dict` keeps."""

    id: str
    question: str
    unanswerable: bool
    gold_answers: list[str]
    answer: str
    refused: bool
    retrieval_rank: int | None  # of the first gold passage, from 1; None: not retrieved, or no way to tell
    has_gold_passage: bool  # the gold names a document or evidence to look for
    citations: list[CitationRecord]
    invalid_citations: int  # citations of passages the answerer was not given, removed
    removed_claims: int  # answer sentences no cited quote supports, removed
    timings_ms: dict[str, float]  # per stage (metrics.STAGES)
    confidence: float | None
    short_answer: str | None
    scores: dict[str, float]  # the answer's scores (scoring.answer_scores); empty when unanswerable
    correct: bool | None  # None when unanswerable
    correct_if_answered: bool  # as correct, scoring a low-confidence refusal on the answer it withheld
    failure: str | None  # one of scoring.FAILURES

    def to_dict(self) -> dict:
        return asdict(self)
