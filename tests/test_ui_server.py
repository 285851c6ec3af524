"""The web chat as a user and a client meet it: a real server, a real headless Chromium.

One server (over its own index of the seed article) and one browser serve the whole session.
Screenshots go to tests/screenshots/ (git-ignored) so a person can look at what the page showed.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from gradio_client import Client
from helpers import SEED

from index import IndexConfig, ingest
from rag import Pipeline, answerers
from rag.answerers import REGISTRY, Registration
from rag.settings import Settings
from test_warm_up import GatedModel, Renamed
from ui.app import build_app, launch

SCREENSHOTS = Path(__file__).parent / "screenshots"
WAIT_SECONDS = 60
HOSTILE = (
    "Pirate ledger, page one.\n"
    "<script>window.__pwned=1</script>\n"
    '<img src=x onerror="window.__pwned=2">\n'
    "[click](javascript:window.__pwned=3)\n"
    "The treasure map is hidden under the old oak tree behind the lighthouse.\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(settings: Settings):
    app = build_app(settings)
    launch(app, settings, server_port=free_port(), prevent_thread_lock=True, quiet=True)
    return app


@pytest.fixture(scope="session")
def chat_settings(tmp_path_factory) -> Settings:
    """Its own index of the seed article: the tests upload into it."""
    home = tmp_path_factory.mktemp("ui-home")
    assert ingest([str(SEED)], IndexConfig(home)).added == 1
    return Settings(home=home, answerer="extractive", ui_host="127.0.0.1", ui_auth=None)


@pytest.fixture(scope="session")
def chat_app(chat_settings):
    app = start(chat_settings)
    yield app
    app.close()


@pytest.fixture(scope="session")
def chat_url(chat_app) -> str:
    return chat_app.local_url.rstrip("/")


@pytest.fixture
def page(browser, chat_url):
    """A fresh page of the chat, loaded and ready."""
    browser.get(chat_url)
    wait_for(browser, lambda: browser.find_elements(*css("#question textarea")))
    return browser


def css(selector):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, selector


def wait_for(browser, condition, message=""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, WAIT_SECONDS).until(lambda _: condition(), message)


def finished_turns(browser):
    return browser.find_elements(*css("#chat .rag-turn, #chat .rag-error"))


def ask(browser, question: str):
    """Type a question, press Enter, and return the finished answer's element."""
    from selenium.webdriver.common.keys import Keys

    before = len(finished_turns(browser))
    browser.find_element(*css("#question textarea")).send_keys(question, Keys.ENTER)
    wait_for(browser, lambda: len(finished_turns(browser)) > before, f"no answer to {question!r}")
    return finished_turns(browser)[-1]


def screenshot(browser, name: str) -> None:
    assert browser.save_screenshot(str(SCREENSHOTS / name))


@pytest.mark.browser
def test_seed_question_shows_the_answer_with_its_highlighted_source(page):
    assert [e.text for e in page.find_elements(*css("#chat button.example"))][:2] == [
        "How much market value did Nvidia lose?",
        "Who founded DeepSeek?",
    ]
    screenshot(page, "first-screen.png")
    turn = ask(page, "How much market value did Nvidia lose?")
    answer = turn.find_element(*css(".rag-answer")).text
    assert "600 billion" in answer and "[1]" in answer
    source = turn.find_element(*css(".rag-source"))
    assert "deepseek-wake-up-call-market-reaction.txt" in source.find_element(*css(".rag-source-head")).text
    highlight = source.find_element(*css(".rag-excerpt mark"))
    assert highlight.text.endswith("resulting in Nvidia losing nearly $600 billion in market valuation.")
    context = source.find_element(*css("details .rag-context"))
    assert not context.is_displayed()
    source.find_element(*css("details summary")).click()
    wait_for(page, context.is_displayed)
    assert "Liang Wenfeng" in context.text  # text beyond the shown excerpt
    screenshot(page, "seed-answer.png")


@pytest.mark.browser
def test_follow_ups_use_the_conversation_and_a_new_one_forgets_it(page):
    page.find_elements(*css("#chat button.example"))[1].click()  # "Who founded DeepSeek?"
    wait_for(page, lambda: len(finished_turns(page)) == 1)
    assert "Liang Wenfeng" in finished_turns(page)[0].text
    follow_up = ask(page, "Where is it based?")
    assert "Hangzhou" in follow_up.find_element(*css(".rag-answer")).text
    page.find_element(*css("#new-chat")).click()
    wait_for(page, lambda: not finished_turns(page))
    alone = ask(page, "Where is it based?")  # nothing to refer back to now
    refusal = alone.find_element(*css(".rag-refusal"))
    assert "Not found in your documents" in refusal.text
    assert alone.find_elements(*css(".rag-source"))  # the closest passages are still shown
    assert not alone.find_elements(*css(".rag-answer"))
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", refusal)
    screenshot(page, "refusal.png")


@pytest.mark.browser
def test_upload_is_indexed_then_answerable_then_removable(page, tmp_path):
    good = tmp_path / "keeper-log.txt"
    good.write_text("Keeper's log. The lighthouse cat is called Biscuit and sleeps by the lamp.\n")
    bad = tmp_path / "setup.exe"
    bad.write_bytes(b"MZ\x90\x00")
    page.find_element(*css("#upload input[type=file]")).send_keys(f"{good}\n{bad}")
    wait_for(page, lambda: page.find_elements(*css("#upload-report li")), "no upload report")
    report = page.find_element(*css("#upload-report"))
    assert "keeper-log.txt: indexed" in report.text
    assert "setup.exe: not a supported type (.exe)" in report.text
    documents = page.find_element(*css("#documents"))
    wait_for(page, lambda: "keeper-log.txt" in documents.text)
    assert "deepseek-wake-up-call-market-reaction.txt" in documents.text  # nothing lost

    turn = ask(page, "What is the lighthouse cat called?")
    assert "Biscuit" in turn.find_element(*css(".rag-answer")).text
    assert "keeper-log.txt" in turn.find_element(*css(".rag-source-head")).text
    screenshot(page, "upload-answer.png")

    next(label for label in documents.find_elements(*css("label")) if label.text == "keeper-log.txt").click()
    page.find_element(*css("#remove")).click()
    wait_for(page, lambda: "Removed keeper-log.txt." in page.find_element(*css("#remove-status")).text)
    wait_for(page, lambda: "keeper-log.txt" not in documents.text)
    assert "Biscuit" not in ask(page, "What is the lighthouse cat called?").text


@pytest.mark.browser
def test_hostile_document_text_renders_inert(page, chat_settings, tmp_path):
    for name in ("pirate-ledger.txt", "pirate-ledger.md"):
        (tmp_path / name).write_text(HOSTILE)
    report = ingest([str(tmp_path / "pirate-ledger.txt"), str(tmp_path / "pirate-ledger.md")],
                    chat_settings.index_config)
    assert report.errors == [] and report.added == 2
    turn = ask(page, 'Where is the treasure map hidden? <img src=x onerror="window.__pwned=4">')
    assert "old oak tree" in turn.find_element(*css(".rag-answer")).text
    for summary in turn.find_elements(*css("details summary")):
        summary.click()
    screenshot(page, "hostile-document.png")
    assert page.execute_script("return typeof window.__pwned") == "undefined"
    chat = page.find_element(*css("#chat"))
    assert chat.find_elements(*css("script, img, iframe, a[href^='javascript']")) == []
    shown = chat.text
    assert "<script>window.__pwned=1</script>" in shown
    assert '<img src=x onerror="window.__pwned=2">' in shown
    assert "[click](javascript:window.__pwned=3)" in shown
    assert 'Where is the treasure map hidden? <img src=x onerror="window.__pwned=4">' in shown


@pytest.mark.browser
def test_the_page_loads_nothing_from_other_hosts(page, chat_app, chat_url):
    assert chat_app.analytics_enabled is False
    page.get_log("performance")  # drop what earlier tests' pages asked for: one browser serves the session
    page.get(chat_url)
    wait_for(page, lambda: page.find_elements(*css("#question textarea")))
    ask(page, "Who founded DeepSeek?")
    requested = {
        event["params"]["request"]["url"]
        for entry in page.get_log("performance")
        for event in [json.loads(entry["message"])["message"]]
        if event["method"] == "Network.requestWillBeSent"
    }
    web = {url for url in requested if urlsplit(url).scheme in ("http", "https", "ws", "wss")}
    assert any(url.startswith(chat_url) for url in web)
    assert {url for url in web if urlsplit(url).netloc != urlsplit(chat_url).netloc} == set()


@pytest.mark.browser
def test_the_page_answers_extractively_until_the_model_is_ready(browser, chat_settings, monkeypatch):
    """The configured answerer's model loads in the background (here a plug-in's, which loads
    until the test lets it): the page says so, and labels the answers given meanwhile."""
    model = GatedModel()
    monkeypatch.setitem(REGISTRY, "gated", Registration(
        lambda a: Renamed("gated", a.get("extractive")), lambda s: True, "", model.load))
    monkeypatch.setattr(answerers, "AUTO", ("gated", "extractive"))
    app = start(chat_settings.model_copy(update={"answerer": "auto"}))
    try:
        browser.get(app.local_url)
        wait_for(browser, lambda: browser.find_elements(*css("#question textarea")))

        def status() -> str:
            return browser.find_element(*css("#model-status")).text

        wait_for(browser, lambda: "Loading the model of the gated answerer" in status(), "no loading status")
        turn = ask(browser, "Who founded DeepSeek?")
        assert "Answered extractively: the gated answerer's model is still loading." in turn.text
        screenshot(browser, "model-loading.png")
        model.finish()
        wait_for(browser, lambda: "The gated answerer is ready" in status(), "no ready status")
        assert "Answered extractively" not in ask(browser, "Who founded DeepSeek?").text
    finally:
        model.finish()
        app.close()


def test_ask_endpoint_returns_the_answer_dict(chat_url, chat_settings):
    client = Client(chat_url, verbose=False)
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/ask"} and not api["unnamed_endpoints"]
    result = client.predict("Who founded DeepSeek?", api_name="/ask")
    expected = Pipeline(chat_settings).ask("Who founded DeepSeek?").to_dict()
    assert set(result) == set(expected)
    assert "Liang Wenfeng" in result["answer"] and not result["refused"]
    for key in ("answer", "citations", "passages", "answerer"):
        assert result[key] == json.loads(json.dumps(expected[key]))
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("   ", api_name="/ask")


def peak_overlap(spans: list[tuple[float, float]]) -> int:
    """The most (start, end) spans open at one moment."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    open_now = peak = 0
    for _, step in events:  # at equal times an end (-1) sorts first: touching spans do not overlap
        open_now += step
        peak = max(peak, open_now)
    return peak


@pytest.mark.slow  # 60 answers while 3,000 sentences are indexed: ~20 s
def test_twenty_concurrent_clients_while_an_upload_is_indexed(chat_url, chat_settings, tmp_path, monkeypatch):
    """20 gradio clients ask 3 seed questions each while a document is being indexed. The
    server's answers are timed where they are computed (the server runs in this process), so
    the test sees how many ran at once: as many as there are cores, not one at a time."""
    import statistics
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from ui.uploads import add_documents

    clients, cores = 20, os.cpu_count() or 1
    questions = ["Who founded DeepSeek?", "How much market value did Nvidia lose?",
                 "Which Japanese companies saw their shares fall?"]
    computed: list[tuple[float, float]] = []  # (start, end) of each answer the server computed
    ask = Pipeline.ask

    def timed_ask(self, *args, **options):
        started = time.perf_counter()
        try:
            return ask(self, *args, **options)
        finally:
            computed.append((started, time.perf_counter()))  # list.append is atomic

    monkeypatch.setattr(Pipeline, "ask", timed_ask)

    def timed_predict(client: Client, question: str) -> tuple[float, dict]:
        started = time.perf_counter()
        answer = client.predict(question, api_name="/ask")
        return time.perf_counter() - started, answer

    # One client alone, after a first round that warms every cache: what an answer costs.
    alone = Client(chat_url, verbose=False)
    for question in questions:
        timed_predict(alone, question)
    single = max(timed_predict(alone, question)[0] for question in questions)

    upload = tmp_path / "harbour-log.txt"
    upload.write_text(" ".join(f"Ship {i} entered the harbour at dawn with a cargo of tea." for i in range(3000)))
    uploaded, indexing = [], {}

    def index_upload():
        indexing["start"] = time.perf_counter()
        uploaded.extend(add_documents([(upload.name, upload)], Pipeline(chat_settings)))
        indexing["end"] = time.perf_counter()

    def client_session(_: int) -> list[tuple[float, dict]]:
        client = Client(chat_url, verbose=False)
        return [timed_predict(client, question) for question in questions]

    indexer = threading.Thread(target=index_upload)
    computed.clear()
    indexer.start()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        sessions = list(pool.map(client_session, range(clients)))
    indexer.join(timeout=300)

    answers = [answer for session in sessions for _, answer in session]
    latencies = sorted(seconds for session in sessions for seconds, _ in session)
    p95 = latencies[round(0.95 * (len(latencies) - 1))]
    during_upload = [s for s, _ in computed if indexing["start"] < s < indexing.get("end", float("inf"))]
    print(f"\n{clients} clients x {len(questions)} questions during an upload: one answer alone "
          f"{single:.3f} s; p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s; "
          f"{peak_overlap(computed)} answers at once at most, {len(during_upload)} begun while indexing "
          f"({indexing.get('end', 0) - indexing['start']:.1f} s)")
    assert len(answers) == clients * len(questions)
    assert all(not a["refused"] and a["citations"] for a in answers)
    assert uploaded and uploaded[0].ok, uploaded
    assert during_upload, "no answer was computed while the upload was being indexed"
    # Answers did not wait in one queue: as many ran at once as the queue allows, one per core.
    assert min(2, cores) <= peak_overlap(computed) <= cores
    # Each client has one question in flight, so a question waits at most for the other
    # clients' answers, served `cores` at a time, each costing what one alone did; 6x covers
    # the indexer and the client threads taking CPU from them (2.1-2.6x measured, 2 cores).
    assert p95 <= 6 * single * clients / cores


def test_the_server_serves_no_files_outside_its_area_and_leaks_no_paths(chat_url, chat_settings):
    """Gradio's file route refuses paths outside what the app serves; error answers carry
    no traceback or filesystem path."""
    secret = Path(chat_settings.home) / "catalog-secret.txt"
    secret.write_text("index internals")
    for path in ("/etc/passwd", str(secret), str(Path(__file__).resolve())):
        for route in (f"/gradio_api/file={path}", f"/file={path}"):
            response = httpx.get(f"{chat_url}{route}")
            assert response.status_code in (403, 404), (route, response.status_code)
            assert "root:" not in response.text and "index internals" not in response.text
    missing = httpx.get(f"{chat_url}/no/such/page")
    assert missing.status_code == 404 and "Traceback" not in missing.text
    with pytest.raises(Exception) as caught:
        Client(chat_url, verbose=False).predict("x" * 5000, api_name="/ask")
    message = str(caught.value)
    assert "too long" in message
    assert "Traceback" not in message and str(Path(chat_settings.home)) not in message
    assert "/work/" not in message and ".venv" not in message
