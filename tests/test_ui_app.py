"""The chat's behaviour without a browser: streaming turns, answerers offered, safety settings."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from gradio_client import Client
from pydantic import ValidationError

from rag import Pipeline, Settings
from rag.cli import cli
from ui.app import exposure_problem
from rag import answerers
from rag.errors import AnswererError
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
    empty = Chat(Pipeline(Settings(home=tmp_path / "nothing", answerer="extractive")))
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
    assert answerers.resolve(Settings(answerer="auto")) == "verified"
    monkeypatch.setattr(answerers.llm, "packaged_model_installed", lambda: False)
    assert answerers.resolve(Settings(answerer="auto")) == "extractive"


def test_an_answerer_that_cannot_run_is_a_clear_error():
    with pytest.raises(AnswererError, match="needs RAG_OPENAI_BASE_URL"):
        answerers.resolve(Settings(answerer="openai"))


@pytest.mark.parametrize(
    "host, has_accounts, refused",
    [
        ("127.0.0.1", False, False),
        ("localhost", False, False),
        ("::1", False, False),
        ("0.0.0.0", False, True),
        ("192.168.1.20", False, True),
        ("chat.example.org", False, True),
        ("0.0.0.0", True, False),
    ],
)
def test_serving_beyond_this_machine_needs_accounts(host, has_accounts, refused):
    problem = exposure_problem(Settings(ui_host=host), has_accounts)
    assert (problem is not None) == refused
    if refused:
        assert host in problem and "rag users add NAME" in problem


def test_web_chat_settings_defaults_and_rag_ui_auth_replaced(monkeypatch):
    for name in ("RAG_UI_HOST", "RAG_UI_PORT", "RAG_UI_AUTH", "RAG_MAX_UPLOAD_MB"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.ui_host, settings.ui_port, settings.ui_auth, settings.max_upload_mb) == (
        "127.0.0.1", 7860, None, 50,
    )
    monkeypatch.setenv("RAG_UI_AUTH", "reader:pass:with:colons")
    with pytest.raises(ValidationError, match="rag users add NAME"):
        Settings()


SERVE_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers_http(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def local_server(seed_home, tmp_path_factory):
    """The real `rag serve` (the installed entry point) over the seed index, on loopback
    without accounts (so without a login): (its URL, the file its output goes to)."""
    port = free_port()
    log = tmp_path_factory.mktemp("rag-serve") / "output.txt"
    env = {**os.environ, "RAG_HOME": str(seed_home), "RAG_ANSWERER": "extractive",
           "RAG_UI_HOST": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("RAG_UI_AUTH", None)
    with open(log, "w") as out:
        process = subprocess.Popen([str(Path(sys.executable).with_name("rag")), "serve", "--port", str(port)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVE_SECONDS
        while not answers_http(url):
            assert process.poll() is None, f"rag serve exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"rag serve did not answer within {SERVE_SECONDS} s"
            time.sleep(0.2)
        yield url, log
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.slow  # starts `rag serve` (a fresh interpreter loading Gradio)
def test_rag_serve_refuses_other_addresses_without_accounts(tmp_path):
    env = {**os.environ, "RAG_HOME": str(tmp_path), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("RAG_UI_AUTH", None)
    result = subprocess.run([str(Path(sys.executable).with_name("rag")), "serve", "--host", "0.0.0.0",
                             "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=SERVE_SECONDS)
    assert result.returncode == 1 and "refusing to serve on 0.0.0.0 without a login" in result.stderr


@pytest.mark.slow  # starts `rag serve` (a fresh interpreter loading Gradio and the model: ~10 s)
def test_rag_serve_serves_the_chat_page_on_its_port(local_server):
    url, _ = local_server
    assert '<meta property="og:title" content="rag-chat"' in httpx.get(url).text  # gr.Blocks(title=...)


@pytest.mark.slow
def test_rag_serve_answers_at_the_ask_endpoint(local_server):
    url, _ = local_server
    answer = Client(url, verbose=False).predict("Who founded DeepSeek?", api_name="/ask")
    assert "Liang Wenfeng" in answer["answer"] and answer["citations"]


def test_rag_serve_refuses_rag_ui_auth_and_says_how_to_move(monkeypatch):
    monkeypatch.setenv("RAG_UI_AUTH", "team:secret")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1 and "RAG_UI_AUTH was replaced by accounts" in result.output
    assert "rag users add NAME --admin" in result.output
