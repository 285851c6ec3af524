"""The quick evaluation `make test` runs: the seed gold set (36 questions: 28 answerable,
8 unanswerable) against seeds/ with the extractive answerer. It fails when a metric falls
about one question below the figure measured (in the comments); timings are not checked."""

from pathlib import Path

from rag.eval import evaluate, read_gold
from rag.eval.metrics import flatten

SEED_GOLD = Path(__file__).resolve().parent / "data" / "seed_gold.jsonl"

AT_LEAST = {
    "retrieval.hit@1": 0.75,  # 0.821 (23/28): the evidence sentence is in the first passage
    "retrieval.hit@5": 0.96,  # 1.000
    "retrieval.mrr": 0.85,  # 0.911
    # Candidates found by sentence vectors pooled in their chunk (issue 15) lost two seed
    # questions (README, Results).
    # The reader's second epoch (issue 26) reads news less surely: 2 more answerable seed
    # questions fall below the threshold set on dev (docs/results.md).
    "answers.correct": 0.67,  # 0.714 (20/28); 0.786 with the one-epoch reader, 0.750 before it, 0.821 before issue 15
    # With the reader (issue 26) the sentence holding its span leads, often with less evidence
    # than the best-scored sentence, so more runners-up pass the 0.85 ratio: 1.81 citations an
    # answer against 1.23 (docs/results.md).
    "answers.f1": 0.12,  # 0.131 (0.171 before the reader): whole sentences against short answers
    "citations.precision": 0.55,  # 0.588 (0.442 with the one-epoch reader, 0.618 before it): runner-up sentences are often beside the point
    "citations.recall": 0.95,  # 1.000: every correct answer cites a supporting sentence
    "refusal.unanswerable_refused": 0.375,  # 0.375 (3/8) with the reader; 0.500 (4/8) before
}
AT_MOST = {
    "refusal.answerable_refused": 0.21,  # 0.179 (5/28); 0.071 (2/28) with the one-epoch reader
    "citations.invalid": 0,  # 0: extractive citations are built, not parsed
}


def test_seed_gold_set_does_not_regress(seed_pipeline):
    result = evaluate(read_gold(SEED_GOLD), seed_pipeline, k=5, answerer="extractive")
    summary = result.summary
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (36, 28, 8)
    assert summary["answerer"] == "extractive"
    metrics = flatten(summary["metrics"])
    regressions = [f"{name} = {metrics[name]} < {floor}"
                   for name, floor in AT_LEAST.items() if metrics[name] < floor]
    regressions += [f"{name} = {metrics[name]} > {ceiling}"
                    for name, ceiling in AT_MOST.items() if metrics[name] > ceiling]
    assert not regressions, "regression on the seed gold set:\n" + "\n".join(regressions)
