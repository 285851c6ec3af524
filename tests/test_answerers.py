"""The answerer seam: one protocol, one registry, typed stream events."""

import pytest

from rag import Answer, Pipeline, Settings, TextDelta, answerers
from rag.answer import Citation, Draft
from rag.answerers import REGISTRY, Registration
from rag.errors import AnswererError


class FirstSentence:
    """A minimal answerer: the start of the first passage, cited."""

    name = "first-sentence"

    def stream(self, question, passages):
        p = passages[0]
        text = p.text.split(". ")[0] + "."
        yield TextDelta(text[:10])
        yield TextDelta(text[10:])
        quote = Citation(p.n, p.source, p.start, p.start + len(text) - 1, text[:-1], p.page, 1.0)
        yield Draft(f"{text} [{p.n}]", [quote], False, confidence=0.9)

    def condense(self, question, history):
        return question


@pytest.fixture
def registered(monkeypatch):
    """The registry with one more answerer, as a plug-in module would add it."""
    monkeypatch.setitem(REGISTRY, "first-sentence", Registration(lambda a: FirstSentence(), lambda s: True, ""))


def test_a_registered_answerer_is_offered_and_answers_through_the_pipeline(registered, seed_home):
    assert "first-sentence" in answerers.available(Settings())
    events = list(Pipeline(Settings(home=seed_home)).ask_stream("Who founded DeepSeek?", answerer="first-sentence"))
    *pieces, answer = events
    assert [type(p) for p in pieces] == [TextDelta, TextDelta]
    assert isinstance(answer, Answer) and answer.answerer == "first-sentence"
    assert answer.confidence == 0.9 and answer.answer.endswith("[1]")


def test_each_answerer_is_built_once(registered, seed_home):
    pipeline = Pipeline(Settings(home=seed_home))
    assert pipeline.answerer("first-sentence") is pipeline.answerer("first-sentence")


def test_an_unknown_answerer_is_a_clear_error(seed_home):
    with pytest.raises(AnswererError, match="unknown answerer 'oracle'"):
        Pipeline(Settings(home=seed_home)).ask("Who founded DeepSeek?", answerer="oracle")
