"""The evaluation metrics on hand-made questions and answers with known values."""

from dataclasses import replace

import pytest

from rag.answer import DECLINE, Answer, Citation, Passage
from rag.eval import GoldItem, QuestionRecord, plots, score
from rag.eval.metrics import (
    aurc,
    auroc,
    expected_calibration_error,
    flatten,
    lower_is_better,
    percentiles,
    reliability,
    risk_coverage,
    summarize,
)
from rag.eval.scoring import (
    answer_scores,
    contains,
    exact_match,
    normalize,
    retrieval_rank,
    rouge_l,
    supports,
    token_f1,
    token_recall,
)

EVIDENCE = "DeepSeek was founded in 2023 by Liang Wenfeng in Hangzhou."
FOUNDER = GoldItem("q1", "Who founded DeepSeek?", ["Liang Wenfeng"], False, EVIDENCE)
RIVAL = GoldItem("q2", "Which company lost the most value?", ["Nvidia"], False, "Nvidia lost nearly $600 billion.")
HEDGE_FUND = GoldItem("q3", "What is the hedge fund called?", [], True)
CHIPS = GoldItem("q4", "How many chips were used?", [], True)


def cite(n: int, quote: str, score: float = 0.7) -> Citation:
    return Citation(n, f"docs/doc{n}.txt", 0, len(quote), quote, None, score)


def answer(text: str, citations=(), refused=False, passages=(), total=10.0, invalid=0) -> Answer:
    timings = {"retrieve": total / 2, "generate": total / 2, "total": total}
    return Answer("q", text, refused, list(citations), list(passages), "extractive", timings,
                  {"invalid_citations": invalid, "removed": []})


def test_normalize_follows_squad_and_strips_unicode_punctuation():
    assert normalize("The  Wake-up CALL, an “event”!") == "wakeup call event"
    assert normalize("$600 billion.") == "600 billion"


def test_contains_matches_whole_tokens_and_never_the_empty_answer():
    assert contains("It happened in 1990, they say.", "1990")
    assert not contains("It happened in 19901.", "1990")
    assert not contains("anything at all", "")
    assert not contains("anything at all", "the")  # an article normalizes to nothing


def test_short_answer_scores_have_the_squad_values():
    assert exact_match("The Nvidia.", "nvidia") == 1.0
    assert token_f1("the quick brown fox", "quick fox jumps") == pytest.approx(2 / 3)
    assert token_f1("nothing shared", "quick fox") == 0.0
    # Citation marks are not words of the answer.
    assert answer_scores("Liang Wenfeng [2]", ["Liang Wenfeng"], long_answers=False) == {
        "containment": 1.0, "exact_match": 1.0, "f1": 1.0,
    }
    # The best-matching gold answer counts.
    assert answer_scores("nearly $600 billion", ["600 billion", "six hundred"], False)["f1"] == pytest.approx(0.8)


def test_long_answer_scores_recall_and_rouge_l():
    assert token_recall("red green blue", "red blue yellow black") == 0.5
    # Longest common subsequence: red blue yellow (3 of 4 words each side).
    assert rouge_l("red green blue yellow", "red blue yellow black") == pytest.approx(0.75)
    assert rouge_l("", "red") == 0.0


def test_supports_when_quote_holds_the_answer_or_is_part_of_the_evidence():
    assert supports("Shares of Nvidia fell sharply.", ["Nvidia"], "")
    assert supports("founded in 2023 by Liang Wenfeng", [], EVIDENCE)  # part of the evidence
    assert supports(f"Background. {EVIDENCE} More.", [], EVIDENCE)  # holds the evidence
    assert not supports("Shares fell sharply.", ["Nvidia"], EVIDENCE)
    assert not supports("Shares fell sharply.", [""], "")


def test_retrieval_rank_by_file_name_or_by_evidence():
    passages = [Passage(1, "/a/other.txt", 0, 9, "Unrelated.", None, 0.9),
                Passage(2, "/b/gold.txt", 0, len(EVIDENCE), EVIDENCE, None, 0.8)]
    assert retrieval_rank(passages, "gold.txt", "") == 2
    assert retrieval_rank(passages, "", EVIDENCE) == 2
    assert retrieval_rank(passages, "missing.txt", EVIDENCE) is None


def run(*pairs, long_answers=False, k=5) -> tuple[list[QuestionRecord], dict]:
    """Score (gold item, answer) pairs: their records and the flattened summary."""
    records = [score(item, given, long_answers) for item, given in pairs]
    return records, flatten(summarize(records, k, long_answers))


def test_a_wrong_citation_lowers_precision_not_recall():
    right = cite(1, EVIDENCE)
    wrong = cite(2, "Markets reopen in February.")
    _, precise = run((FOUNDER, answer("Liang Wenfeng [1]", [right])))
    _, diluted = run((FOUNDER, answer("Liang Wenfeng [1] [2]", [right, wrong])))
    assert precise["citations.precision"] == 1.0
    assert diluted["citations.precision"] == 0.5
    assert precise["citations.recall"] == diluted["citations.recall"] == 1.0


def test_a_correct_answer_without_supporting_citation_lowers_recall():
    records, metrics = run((FOUNDER, answer("Liang Wenfeng [1]", [cite(1, "Markets reopen in February.")])))
    assert metrics["answers.correct"] == 1.0
    assert metrics["citations.recall"] == 0.0
    assert records[0].failure == "correct, but no citation supports it"


def test_refusals_of_answerable_and_unanswerable_questions():
    records, metrics = run(
        (FOUNDER, answer("Liang Wenfeng [1]", [cite(1, EVIDENCE)])),
        (RIVAL, answer(DECLINE, refused=True)),
        (HEDGE_FUND, answer(DECLINE, refused=True)),
        (CHIPS, answer("About 2,000 chips [1]", [cite(1, "It used about 2,000 chips.")], invalid=1)),
    )
    assert metrics["refusal.answerable_refused"] == 0.5  # the refused Nvidia question is a false refusal
    assert metrics["refusal.unanswerable_refused"] == 0.5
    assert metrics["answers.correct"] == 0.5  # a refusal is not a correct answer
    # Answers to unanswerable questions do not enter citation precision; invalid ones are counted.
    assert metrics["citations.precision"] == 1.0
    assert metrics["citations.invalid"] == 1
    assert [r.failure for r in records] == [
        None, "wrongly refused", None, "answered an unanswerable question",
    ]


def test_a_refusal_scores_zero_even_when_the_decline_text_matches():
    know = GoldItem("q5", "What do you not know?", ["know"], False)
    records, _ = run((know, answer(DECLINE, refused=True)))
    assert records[0].scores["containment"] == 0.0 and not records[0].correct


def test_long_answers_count_as_correct_from_half_their_words():
    gold = GoldItem("q6", "Why is the sky blue?", ["sunlight is scattered by molecules of air"], False)
    records, metrics = run(
        (gold, answer("Sunlight is scattered by the air [1].", [cite(1, "Sunlight is scattered by the air.")])),
        (gold, answer("The sky looks blue [1].", [cite(1, "The sky looks blue.")])),
        long_answers=True,
    )
    assert [r.correct for r in records] == [True, False]
    assert metrics["answers.token_recall"] == pytest.approx((5 / 7 + 0) / 2, abs=1e-4)  # 5 of 7 words
    assert "answers.containment" not in metrics


def test_retrieval_metrics_and_latency_percentiles():
    hit = Passage(1, "d.txt", 0, len(EVIDENCE), EVIDENCE, None, 0.9)
    miss = Passage(1, "d.txt", 0, 5, "Other", None, 0.9)
    pairs = [(FOUNDER, answer(DECLINE, refused=True, passages=p, total=t))
             for p, t in [([hit], 10), ([miss, hit], 20), ([miss], 30), ([miss], 40), ([miss], 100)]]
    _, metrics = run(*pairs, k=2)
    assert metrics["retrieval.hit@1"] == 0.2
    assert metrics["retrieval.hit@2"] == 0.4
    assert metrics["retrieval.mrr"] == pytest.approx((1 + 0.5) / 5)
    assert metrics["latency_ms.total.p50"] == 30.0
    assert metrics["latency_ms.total.p95"] == 88.0  # linear interpolation between 40 and 100


def test_percentiles_round_to_the_digits_asked_and_are_none_without_values():
    assert percentiles([0.01234, 0.02, 0.03], digits=3) == {"p50": 0.02, "p95": 0.029}
    assert percentiles([]) == {"p50": None, "p95": None}


def rated(confidence: float | None, right: bool = True, unanswerable: bool = False) -> QuestionRecord:
    """A scored question with the fields the confidence metrics read set: an unanswerable
    one would always be answered wrongly."""
    record = score(HEDGE_FUND if unanswerable else FOUNDER, answer(DECLINE, refused=True), False)
    return replace(record, confidence=confidence, correct_if_answered=right and not unanswerable)


def test_risk_coverage_steps_through_distinct_confidences_from_the_highest():
    records = [rated(0.5, unanswerable=True), rated(0.8, right=False), rated(0.9), rated(0.8)]
    # 0.9 alone; then both 0.8 together (one wrong); then the unanswerable one, an error.
    assert risk_coverage(records) == [(0.25, 0.0), (0.75, pytest.approx(1 / 3)), (1.0, 0.5)]


def test_questions_without_a_confidence_are_left_out_of_the_curve():
    assert risk_coverage([rated(0.9), rated(None, right=False)]) == [(1.0, 0.0)]


def test_without_confidences_there_is_no_curve_and_no_area():
    assert (risk_coverage([rated(None)]), aurc([rated(None)])) == ([], None)


def test_aurc_of_perfectly_ordered_confidences_is_the_minimum():
    records = [rated(0.9), rated(0.8), rated(0.7, right=False), rated(0.6, right=False)]
    # Risk at coverages 1/4..4/4: 0, 0, 1/3, 2/4 - the two errors answered last.
    assert aurc(records) == pytest.approx((0 + 0 + 1 / 3 + 2 / 4) / 4)


def test_aurc_of_reversed_confidences_is_the_maximum():
    records = [rated(0.9, right=False), rated(0.8, right=False), rated(0.7), rated(0.6)]
    assert aurc(records) == pytest.approx((1 + 1 + 2 / 3 + 2 / 4) / 4)


def test_aurc_charges_tied_confidences_their_shared_error_rate_in_any_order():
    records = [rated(0.9), rated(0.5, right=False), rated(0.5)]
    # Coverage 2/3 takes one of the two tied answers, wrong half the time: risk (0 + 1/2) / 2.
    expected = (0 + 0.5 / 2 + 1 / 3) / 3
    assert aurc(records) == aurc(records[::-1]) == pytest.approx(expected)


def test_a_constant_confidence_has_the_error_rate_as_aurc():
    records = [rated(0.6, right=False), rated(0.6), rated(0.6), rated(0.6)]
    assert aurc(records) == pytest.approx(0.25)


def test_ece_of_a_constant_confidence_is_its_gap_to_the_answerable_share():
    records = [rated(0.7), rated(0.7), rated(0.7, unanswerable=True), rated(0.7, unanswerable=True)]
    assert expected_calibration_error(records) == pytest.approx(abs(0.5 - 0.7))


TWO_BINS = [rated(0.2, unanswerable=True), rated(0.4), rated(0.9), rated(1.0)]


def test_reliability_bins_count_average_and_observe_answerability():
    assert reliability(TWO_BINS, bins=2) == [
        {"low": 0.0, "high": 0.5, "count": 2, "mean_confidence": 0.3, "answerable_share": 0.5},
        {"low": 0.5, "high": 1.0, "count": 2, "mean_confidence": 0.95, "answerable_share": 1.0},
    ]


def test_ece_weights_each_bins_gap_by_its_share_of_questions():
    assert expected_calibration_error(TWO_BINS, bins=2) == pytest.approx(0.5 * 0.2 + 0.5 * 0.05)


def test_reliability_keeps_empty_bins_without_averages():
    assert reliability([rated(0.95)])[0] == {
        "low": 0.0, "high": 0.1, "count": 0, "mean_confidence": None, "answerable_share": None,
    }


def test_auroc_is_one_when_every_answerable_question_is_more_confident():
    assert auroc([rated(0.9), rated(0.6), rated(0.5, unanswerable=True)]) == 1.0


def test_auroc_counts_ties_as_half():
    assert auroc([rated(0.6), rated(0.9), rated(0.6, unanswerable=True)]) == 0.75


def test_auroc_needs_both_answerable_and_unanswerable_questions():
    assert auroc([rated(0.9), rated(0.4)]) is None


def with_confidence(record: QuestionRecord, confidence: float | None, right: bool) -> QuestionRecord:
    return replace(record, confidence=confidence, correct_if_answered=right)


def test_summary_has_the_confidence_measures():
    records, _ = run((FOUNDER, answer("Liang Wenfeng [1]", [cite(1, EVIDENCE)])),
                     (HEDGE_FUND, answer(DECLINE, refused=True)))
    records = [with_confidence(records[0], 0.9, True), with_confidence(records[1], 0.2, False)]
    # Risk 0 then 1/2; bins 9 and 2 miss by 0.1 and 0.2; the answerable one ranks first.
    assert summarize(records, 5, False)["confidence"] == {"aurc": 0.25, "ece": 0.15, "auroc": 1.0}


def test_summary_confidence_measures_are_none_without_confidences():
    records, _ = run((FOUNDER, answer("Liang Wenfeng [1]", [cite(1, EVIDENCE)])),
                     (HEDGE_FUND, answer(DECLINE, refused=True)))
    records = [with_confidence(r, None, False) for r in records]
    assert summarize(records, 5, False)["confidence"] == {"aurc": None, "ece": None, "auroc": None}


def test_compare_reads_a_rise_of_aurc_or_ece_as_worse_and_of_auroc_as_better():
    verdicts = [lower_is_better(f"confidence.{name}") for name in ("aurc", "ece", "auroc")]
    assert verdicts == [True, True, False]


@pytest.mark.parametrize("records", [TWO_BINS, [rated(None)]], ids=["confidences", "none"])
def test_confidence_plots_are_written_with_or_without_confidences(records, tmp_path):
    plots.risk_coverage(records, tmp_path / "risk_coverage.png")
    plots.reliability(records, tmp_path / "reliability.png")
    written = [(tmp_path / name).read_bytes()[:4] for name in ("risk_coverage.png", "reliability.png")]
    assert written == [b"\x89PNG", b"\x89PNG"]
