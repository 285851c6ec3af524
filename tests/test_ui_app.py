"""The chat's behaviour without a browser: streaming turns, answerers offered, safety settings."""

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

import ui.app
import ui.chat
from rag import Pipeline, Settings
from rag.cli import cli
from ui.app import exposure_warning
from rag import answerers
from rag.llm import ModelError
from ui.chat import Chat


def test_a_turn_shows_progress_first_then_the_answer_with_sources(seed_pipeline):
    steps = list(Chat(seed_pipeline).turn("Who founded DeepSeek?", [], [], "extractive", 5))
    box, first, _ = steps[0]
    assert box == "" and [m["role"] for m in first] == ["user", "assistant"]
    assert "Searching the documents" in first[1]["content"] and "rag-pending" in first[1]["content"]
    box, messages, history = steps[-1]
    assert len(steps) >= 3  # placeholder, streamed text, final answer
    assert '<div class="rag-question">Who founded DeepSeek?</div>' == messages[0]["content"]
    assert 'class="rag-sources"' in messages[1]["content"] and "<mark>" in messages[1]["content"]
    assert history[0] == {"role": "user", "content": "Who founded DeepSeek?"}
    assert "Liang Wenfeng" in history[1]["content"] and "<" not in history[1]["content"]


def test_a_follow_up_is_answered_from_the_history(seed_pipeline):
    chat = Chat(seed_pipeline)
    *_, (_, _, history) = chat.turn("Who founded DeepSeek?", [], [], "extractive", 5)
    *_, (_, messages, _) = chat.turn("Where is it based?", [], history, "extractive", 5)
    assert "Hangzhou" in messages[-1]["content"] and "rag-refusal" not in messages[-1]["content"]


def test_problems_show_as_a_message_in_the_chat(seed_pipeline, tmp_path):
    *_, (_, messages, history) = Chat(seed_pipeline).turn("x" * 5000, [], [], "extractive", 5)
    assert "rag-error" in messages[-1]["content"] and "too long" in messages[-1]["content"]
    assert history == []
    empty = Chat(Pipeline(Settings(home=tmp_path / "nothing", generator="extractive")))
    *_, (_, messages, _) = empty.turn("Who founded DeepSeek?", [], [], "extractive", 5)
    assert "No documents are indexed yet" in messages[-1]["content"]
    assert list(empty.turn("   ", ["kept"], [], "extractive", 5)) == [("   ", ["kept"], [])]
    assert empty.document_choices() == []


def test_answerers_offered_are_those_that_can_run(monkeypatch):
    monkeypatch.setattr(answerers.llm, "packaged_model_installed", lambda: False)
    assert answerers.available(Settings()) == ["extractive"]
    assert answerers.available(Settings(openai_base_url="http://127.0.0.1:11434/v1")) == ["extractive", "openai"]
    monkeypatch.setattr(answerers.llm, "packaged_model_installed", lambda: True)
    assert answerers.available(Settings()) == ["extractive", "verified", "local"]


def test_auto_is_the_best_measured_answerer_that_can_run(monkeypatch):
    monkeypatch.setattr(answerers.llm, "packaged_model_installed", lambda: True)
    assert answerers.resolve(Settings(generator="auto")) == "verified"
    monkeypatch.setattr(answerers.llm, "packaged_model_installed", lambda: False)
    assert answerers.resolve(Settings(generator="auto")) == "extractive"


def test_an_answerer_that_cannot_run_is_a_clear_error():
    with pytest.raises(ModelError, match="needs RAG_OPENAI_BASE_URL"):
        answerers.resolve(Settings(generator="openai"))


@pytest.mark.parametrize(
    "host, auth, warned",
    [
        ("127.0.0.1", None, False),
        ("localhost", None, False),
        ("::1", None, False),
        ("0.0.0.0", None, True),
        ("192.168.1.20", None, True),
        ("chat.example.org", None, True),
        ("0.0.0.0", "reader:secret", False),
    ],
)
def test_serving_beyond_this_machine_without_login_warns(host, auth, warned):
    warning = exposure_warning(Settings(ui_host=host, ui_auth=auth))
    assert (warning is not None) == warned
    if warned:
        assert host in warning and "RAG_UI_AUTH=user:password" in warning


def test_web_chat_settings_defaults_and_auth_format(monkeypatch):
    for name in ("RAG_UI_HOST", "RAG_UI_PORT", "RAG_UI_AUTH", "RAG_MAX_UPLOAD_MB"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.ui_host, settings.ui_port, settings.ui_auth, settings.max_upload_mb) == (
        "127.0.0.1", 7860, None, 50,
    )
    monkeypatch.setenv("RAG_UI_AUTH", "reader:pass:with:colons")
    assert Settings().ui_auth == "reader:pass:with:colons"
    for bad in ("nocolon", ":password", "user:"):
        monkeypatch.setenv("RAG_UI_AUTH", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_rag_serve_builds_the_app_from_settings_and_warns_when_exposed(monkeypatch):
    served = []
    monkeypatch.delenv("RAG_UI_AUTH", raising=False)
    monkeypatch.setattr(ui.app, "build_app", lambda settings: settings)
    monkeypatch.setattr(ui.app, "launch", lambda app, settings: served.append(settings))
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert result.exit_code == 0, result.output
    assert (served[0].ui_host, served[0].ui_port) == ("0.0.0.0", 9000)
    assert "Warning: serving on 0.0.0.0 without a login" in result.output
    monkeypatch.setenv("RAG_UI_AUTH", "reader:secret")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert "Warning" not in result.output and served[1].ui_auth == "reader:secret"
    monkeypatch.setenv("RAG_UI_AUTH", "nocolon")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1 and "invalid RAG_UI_AUTH" in result.output
