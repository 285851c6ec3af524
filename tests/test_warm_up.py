"""The web chat is fast from the first question: the configured answerer's model loads in the
background, and until it is ready the extractive answerer answers, saying so.

The loading state is made deterministic with a plug-in answerer whose model "loads" until the
test says it has finished; the real local model is loaded only in the test marked `llm`.
"""

import html
import threading

import pytest

from rag import Pipeline, Settings, answerers
from rag.answerers import REGISTRY, Registration
from rag.llm import packaged_model_installed
from ui.chat import Chat

FALLBACK = "Answered extractively: the gated answerer's model"


class Renamed:
    """The extractive answerer under another name: the plug-in whose model a test loads."""

    def __init__(self, name, inner):
        self.name = name
        self.inner = inner

    def stream(self, question, passages):
        return self.inner.stream(question, passages)

    def condense(self, question, history):
        return self.inner.condense(question, history)


class GatedModel:
    """A model that loads until `finish()`, counting how often it was loaded."""

    def __init__(self):
        self.loads = 0
        self._finished = threading.Event()

    def load(self, settings):
        self.loads += 1
        self._finished.wait()

    def finish(self):
        self._finished.set()


@pytest.fixture
def gated(monkeypatch):
    """`gated`: an answerer with a GatedModel to load, and what `auto` picks."""
    model = GatedModel()
    monkeypatch.setitem(REGISTRY, "gated", Registration(
        lambda a: Renamed("gated", a.get("extractive")), lambda s: True, "", model.load))
    monkeypatch.setattr(answerers, "AUTO", ("gated", "extractive"))
    yield model
    model.finish()  # lets the warm-up thread end


@pytest.fixture
def chat(seed_home, gated):
    return Chat(Pipeline(Settings(home=seed_home, answerer="auto")))


def test_a_turn_is_answered_extractively_and_labelled_while_the_model_loads(chat):
    *_, (_, messages, history) = chat.turn("Who founded DeepSeek?", [], [], "gated", 5)
    assert "Liang Wenfeng" in history[-1]["content"]
    assert f'<div class="rag-note">{html.escape(FALLBACK)} is still loading.</div>' in messages[-1]["content"]


def test_once_the_model_is_ready_the_chosen_answerer_answers_unlabelled(chat, gated):
    gated.finish()
    assert chat.warm_up("gated").wait(60)
    *_, (_, messages, _) = chat.turn("Who founded DeepSeek?", [], [], "gated", 5)
    assert "Liang Wenfeng" in messages[-1]["content"] and "Answered extractively" not in messages[-1]["content"]


def test_the_ask_endpoint_says_the_extractive_answerer_answered_while_loading(chat, gated):
    loading = chat.ask("Who founded DeepSeek?")
    assert loading["answerer"] == "extractive"
    assert loading["checks"]["fallback"] == f"{FALLBACK} is still loading."
    gated.finish()
    assert chat.warm_up().wait(60)
    ready = chat.ask("Who founded DeepSeek?")
    assert ready["answerer"] == "gated" and "fallback" not in ready["checks"]


def test_the_status_line_says_loading_then_ready_and_stops_polling(chat, gated):
    status, poll = chat.model_status("gated")
    assert "Loading the model of the gated answerer" in status and "rag-model-loading" in status
    assert poll.active
    gated.finish()
    assert chat.warm_up("gated").wait(60)
    status, poll = chat.model_status("gated")
    assert "The gated answerer is ready" in status and not poll.active


def test_a_model_is_loaded_once_however_often_it_is_asked_for(chat, gated):
    first = chat.warm_up("gated")
    assert chat.warm_up("auto") is first and chat.warm_up("gated") is first
    gated.finish()
    assert first.wait(60)
    assert gated.loads == 1


def test_a_model_warms_up_before_any_document_is_indexed(gated, tmp_path):
    """The warm-up asks about a passage of its own, so an empty index does not stop it."""
    chat = Chat(Pipeline(Settings(home=tmp_path / "empty", answerer="auto")))
    gated.finish()
    warm_up = chat.warm_up()
    assert warm_up.wait(60) and warm_up.error is None


def test_the_extractive_answerer_needs_no_loading(seed_pipeline):
    chat = Chat(seed_pipeline)
    warm_up = chat.warm_up("extractive")
    assert warm_up.ready and not warm_up.needs_loading
    assert chat.model_status("extractive")[0] == ""


def test_a_model_that_cannot_load_is_reported_and_questions_are_still_answered(seed_home, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    chat = Chat(Pipeline(Settings(home=seed_home, answerer="verified", llm_model=broken)))
    assert chat.warm_up().wait(60)
    status, _ = chat.model_status("verified")
    assert "could not load: not a GGUF model file" in status and "rag-model-failed" in status
    answer = chat.ask("Who founded DeepSeek?")
    assert answer["answerer"] == "extractive" and "Liang Wenfeng" in answer["answer"]
    assert "verified answerer's model could not load (not a GGUF model file" in answer["checks"]["fallback"]


@pytest.mark.llm
@pytest.mark.skipif(not packaged_model_installed(), reason="the local model is not installed")
def test_after_warm_up_the_local_model_answers_the_first_question(seed_home):
    chat = Chat(Pipeline(Settings(home=seed_home, answerer="verified")))
    warm_up = chat.warm_up()
    assert warm_up.wait(600) and warm_up.error is None
    answer = chat.ask("Who founded DeepSeek?")
    assert answer["answerer"] == "verified" and "fallback" not in answer["checks"]
    assert answer["checks"]["verification"]["p_yes"] > 0.5
