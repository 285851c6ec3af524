"""ask() end to end on the seed article with the extractive answerer."""

import json
import re
from pathlib import Path

import pytest

from index import NoIndexError, load
from rag import Pipeline, QuestionError, Settings
from rag.conversation import standalone_question

GOLD = [json.loads(line) for line in (Path(__file__).parent / "data" / "seed_gold.jsonl").open()]
ANSWERABLE = [g for g in GOLD if not g["unanswerable"]]
UNANSWERABLE = [g for g in GOLD if g["unanswerable"]]


@pytest.fixture(scope="module")
def gold_answers(seed_pipeline):
    return {g["id"]: seed_pipeline.ask(g["question"], answerer="extractive") for g in GOLD}


def test_answerable_gold_questions_are_answered_with_the_evidence_cited(gold_answers):
    correct = [
        g["id"] for g in ANSWERABLE
        if not gold_answers[g["id"]].refused
        and any(g["evidence"] in c.quote for c in gold_answers[g["id"]].citations)
    ]
    # Measured 22 of 28 with the reader (21 before it, 23 before issue 15's sentence vectors;
    # the target is 26, see docs/results.md): a floor against regressions, below the measurement.
    assert len(correct) >= 20, sorted(set(g["id"] for g in ANSWERABLE) - set(correct))


def test_unanswerable_gold_questions_are_refused(gold_answers):
    refused = {g["id"] for g in UNANSWERABLE if gold_answers[g["id"]].refused}
    # Measured 3 of 8 with the reader (4 before it; the target is 7): the off-topic questions
    # and one whose subject the article never mentions are refused; hard negatives that reuse
    # the article's words ("the name of the hedge fund") are answered with the nearest quote,
    # the reader finding a span there too ("DeepSeek"). See docs/results.md.
    assert {"seed-32", "seed-35", "seed-36"} <= refused, refused


def test_every_citation_and_passage_is_an_exact_span(gold_answers):
    texts = {}
    for answer in gold_answers.values():
        for item in answer.citations + answer.passages:
            text = texts.setdefault(item.source, load(item.source).text)
            content = getattr(item, "quote", None) or item.text
            assert text[item.start : item.end] == content


def test_every_marker_has_its_citation_and_refusals_keep_passages(gold_answers):
    for answer in gold_answers.values():
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
        assert markers == {c.n for c in answer.citations}
        assert markers <= {p.n for p in answer.passages}
        assert answer.passages, "the closest passages are returned even on a refusal"
        if answer.refused:
            assert not answer.citations and "don't know" in answer.answer


def test_answer_dict_has_exactly_the_documented_shape(gold_answers):
    data = gold_answers["seed-03"].to_dict()
    assert set(data) == {
        "question", "answer", "refused", "citations", "passages", "answerer", "timings_ms", "checks",
        "confidence", "short_answer",
    }
    assert data["checks"] == {"invalid_citations": 0, "removed": []}
    assert 0 <= data["confidence"] <= 1
    assert set(data["citations"][0]) == {"n", "source", "start", "end", "quote", "page", "score", "location"}
    assert set(data["passages"][0]) == {"n", "source", "start", "end", "text", "page", "score", "location"}
    assert set(data["timings_ms"]) == {"retrieve", "generate", "total"}
    assert data["answerer"] == "extractive"
    json.dumps(data)


@pytest.mark.parametrize(
    "question, message",
    [("", "empty"), ("  \n\t ", "empty"), ("\x00\x07", "empty"), ("x" * 4001, "too long")],
)
def test_bad_questions_get_clear_errors(seed_pipeline, question, message):
    with pytest.raises(QuestionError, match=message):
        seed_pipeline.ask(question)


def test_control_characters_are_cleaned_not_fatal(seed_pipeline):
    answer = seed_pipeline.ask("How much did\x00 Nvidia\x1b lose?")
    assert answer.question == "How much did Nvidia lose?"
    assert not answer.refused


def test_no_index_says_to_ingest_first(tmp_path):
    with pytest.raises(NoIndexError, match="rag ingest"):
        Pipeline(Settings(home=tmp_path / "empty")).ask("Who founded DeepSeek?")


def test_follow_up_rule_joins_the_previous_question():
    history = [{"role": "user", "content": "Who founded DeepSeek?"}, {"role": "assistant", "content": "Liang."}]
    assert standalone_question("And where is it based?", history) == "Who founded DeepSeek? And where is it based?"
    assert standalone_question("How much did Nvidia lose in market value?", history) == (
        "How much did Nvidia lose in market value?"
    )
    assert standalone_question("And where is it based?", None) == "And where is it based?"


def test_follow_up_question_is_answered_from_history(seed_pipeline):
    history = [{"role": "user", "content": "Who founded DeepSeek?"},
               {"role": "assistant", "content": "Liang Wenfeng [1]"}]
    answer = seed_pipeline.ask("And in which city?", history=history)
    assert not answer.refused
    assert "Hangzhou" in answer.answer


def test_module_level_ask_reads_settings_from_the_environment(seed_home, monkeypatch):
    from rag import ask

    monkeypatch.setenv("RAG_HOME", str(seed_home))
    answer = ask("Who founded DeepSeek?", k=2)
    assert "Liang Wenfeng" in answer.answer
    assert len(answer.passages) <= 2


def test_the_reader_on_torch_gives_the_numpy_answer(seed_pipeline, seed_home):
    """RAG_READER_BACKEND=torch (the web chat's, bf16 where the CPU has it) answers as numpy does."""
    on_torch = Pipeline(Settings(home=seed_home, answerer="extractive", reader_backend="torch"))
    question = "Who founded DeepSeek?"
    numpy_answer, torch_answer = seed_pipeline.ask(question), on_torch.ask(question)
    assert (torch_answer.answer, torch_answer.short_answer) == (numpy_answer.answer, numpy_answer.short_answer)
    assert torch_answer.confidence == pytest.approx(numpy_answer.confidence, abs=0.03)


def test_the_web_chat_reads_on_torch_unless_told_otherwise():
    assert Settings(reader_backend="auto").serving().reader_backend == "torch"
    assert Settings(reader_backend="numpy").serving().reader_backend == "numpy"


def test_a_python_ask_reads_on_torch_and_rag_ask_on_numpy(seed_home, monkeypatch):
    """rag.ask() serves question after question (serving_pipeline); `rag ask` answers one,
    and does not import torch for it (pipeline_for)."""
    from rag.pipeline import pipeline_for, serving_pipeline
    from rag.reader_net import TorchReader

    monkeypatch.setenv("RAG_HOME", str(seed_home))
    settings = Settings.from_env()
    assert isinstance(serving_pipeline(settings).answerer("extractive").reader, TorchReader)
    assert not isinstance(pipeline_for(settings).answerer("extractive").reader, TorchReader)
