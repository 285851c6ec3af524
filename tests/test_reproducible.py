"""The same question on the same index gets the same answer, whatever was asked before it.

With the real packaged model through llama.cpp (no fakes). Before the fix, llama.cpp reused
whatever prefix of the new prompt its slot (or its RAM prompt cache) still held from the
previous questions, and computed the rest as one batch; the CPU kernels round differently
with the batch's start and size, so "Which university did Liang attend?" came back as
"Hangzhou University [1]." or "Hangzhou, China [1].", and the model's yes/no verification
(the answer's confidence) moved with what had been asked before. See rag.llm.LocalServer.
"""

import pytest

from rag import Pipeline, Settings
from rag.answer import TextDelta
from rag.llm import packaged_model_installed

pytestmark = [pytest.mark.llm, pytest.mark.skipif(not packaged_model_installed(), reason="the local model is not installed")]

TARGET = "Which university did Liang attend?"  # the question of the issue
ANSWERED = "How much did DeepSeek say it spent to train the V3 model?"  # answered, with a citation
OTHER = "How much market value did Nvidia lose?"
HISTORY = [
    {"role": "user", "content": "Who founded DeepSeek?"},
    {"role": "assistant", "content": "DeepSeek was founded by Liang Wenfeng in 2023 [1]."},
]


def outcome(pipeline: Pipeline, question: str, history=None) -> dict:
    """Everything a user sees of an answer: the text as the model wrote it, the checked
    answer, its citations and its confidence."""
    *pieces, answer = pipeline.ask_stream(question, history=history)
    return {
        "generated": "".join(p.text for p in pieces if isinstance(p, TextDelta)),
        "answer": answer.answer,
        "refused": answer.refused,
        "citations": [(c.n, c.source, c.start, c.end, c.quote) for c in answer.citations],
        "confidence": answer.confidence,
        "checks": answer.checks,
    }


def test_an_answer_does_not_depend_on_the_questions_asked_before(seed_home):
    pipeline = Pipeline(Settings(home=seed_home, answerer="local"))
    target = outcome(pipeline, TARGET)
    answered = outcome(pipeline, ANSWERED)
    assert not answered["refused"] and answered["citations"], answered

    outcome(pipeline, OTHER)
    assert outcome(pipeline, TARGET) == target, f"after {OTHER!r}"

    outcome(pipeline, "And in which city is it based?", history=HISTORY)  # the condense path
    assert outcome(pipeline, ANSWERED) == answered, "after a follow-up"
    assert outcome(pipeline, ANSWERED) == answered, "asked twice in a row"
