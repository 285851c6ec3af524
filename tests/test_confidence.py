"""The confidence models: shipped with their thresholds, used to decide, kept in checks."""

from rag.answer import DECLINE, Draft
from rag.answerers.confidence import ConfidenceModel, load_model, refuse_below

MODEL = ConfidenceModel(("evidence",), (10.0,), -5.0, 0.5)


def test_every_shipped_model_has_weights_for_its_signals_and_a_threshold():
    for name in ("evidence", "verified"):
        model = load_model(name)
        assert len(model.weights) == len(model.signals) > 0
        assert 0 < model.threshold < 1


def test_the_verified_model_reads_the_local_models_judgement():
    assert "verified_yes" in load_model("verified").signals


def test_probability_is_the_logistic_of_the_weighted_signals():
    assert MODEL.probability({"evidence": 0.5}) == 0.5
    assert MODEL.probability({"evidence": 0.9}) > MODEL.probability({"evidence": 0.6}) > 0.5


def test_a_draft_below_the_threshold_is_refused_and_its_answer_kept_in_checks():
    draft = Draft("It opened in 1852 [1].", [], False, confidence=0.2)
    refused = refuse_below(draft, 0.5)
    assert refused.refused and refused.text == DECLINE and refused.confidence == 0.2
    assert refused.checks["low_confidence"] == {"confidence": 0.2, "threshold": 0.5,
                                                "withheld": "It opened in 1852 [1]."}


def test_a_draft_at_or_above_the_threshold_is_unchanged():
    draft = Draft("It opened in 1852 [1].", [], False, confidence=0.5)
    assert refuse_below(draft, 0.5) is draft


def test_a_draft_without_a_confidence_is_not_refused():
    draft = Draft("It opened in 1852 [1].", [], False)
    assert refuse_below(draft, 0.5) is draft
