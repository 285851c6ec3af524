"""Questions answered by a model wait for their turn at it, first come first served, and the
web chat shows how many are ahead; extractive answers never wait there.

The moments are chosen by the test: it takes the model's turn itself, lets questions line up
behind it (each known to be in line once it has reported its first position), then lets go.
Without the real model, `queued` stands for an answerer that calls the local model: the
extractive answerer under another name, waiting in the local model's own queue.
"""

import os
import threading
import time
from queue import Queue

import pytest
from gradio_client import Client
from test_ui_server import css, screenshot, start, wait_for
from test_warm_up import Renamed

from rag import Pipeline, Settings, answerers
from rag.answerers import REGISTRY, Answerers, Registration, local_model_queue
from rag.llm import packaged_model_installed
from rag.model_queue import ModelQueue, queue_for
from ui.chat import Chat

SECONDS = 60  # longest wait for an event that is expected


class Waiter:
    """A thread that takes a turn at a queue, reports each position it is told, and keeps the
    model until it is released."""

    def __init__(self, queue: ModelQueue, name: str, served: list[str]):
        self.queue = queue
        self.name = name
        self.served = served
        self.positions: Queue[int] = Queue()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._take_turn, name=f"waiter-{name}")

    def arrive(self) -> int:
        """Start, and return the position it was told on arrival (it is in line then)."""
        self.thread.start()
        return self.next_position()

    def next_position(self) -> int:
        return self.positions.get(timeout=SECONDS)

    def _take_turn(self) -> None:
        with self.queue.turn() as turn:
            for ahead in turn.positions():
                self.positions.put(ahead)
            self.served.append(self.name)
            self.release.wait(SECONDS)


def final_content(steps) -> str:
    """The last assistant message of a chat turn's steps."""
    *_, (_, messages, _) = steps
    return messages[-1]["content"]


def eventually(condition) -> bool:
    """Whether `condition` comes true within SECONDS."""
    deadline = time.monotonic() + SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_until(condition) -> None:
    assert eventually(condition), "the condition did not come true"


def shown_until(steps: Queue, condition, seconds: float = SECONDS) -> str:
    """The chat turn's last assistant message once it meets `condition`; the turn's thread
    puts each step in `steps`, then None."""
    while (step := steps.get(timeout=seconds)) is not None:
        if condition(content := final_content([step])):
            return content
    raise AssertionError("the turn ended without showing it")


def test_turns_are_served_in_the_order_they_arrived():
    queue, served = ModelQueue("test"), []
    waiters = [Waiter(queue, name, served) for name in ("first", "second", "third")]
    with queue.turn():
        for waiter in waiters:
            waiter.arrive()
            waiter.release.set()  # each leaves as soon as it is served
    for waiter in waiters:
        waiter.thread.join(SECONDS)
    assert served == ["first", "second", "third"]


def test_a_waiting_turn_is_told_how_many_are_ahead_as_it_moves_up():
    queue, served = ModelQueue("test"), []
    second, third = Waiter(queue, "second", served), Waiter(queue, "third", served)
    with queue.turn():
        second.arrive()
        seen = [third.arrive()]
    seen.append(third.next_position())  # `second` is being served
    second.release.set()
    seen.append(third.next_position())
    third.release.set()
    assert seen == [2, 1, 0]


def test_a_turn_given_up_while_waiting_moves_those_behind_up():
    queue, served = ModelQueue("test"), []
    third = Waiter(queue, "third", served)
    with queue.turn():
        with queue.turn():  # waits behind the first, and is given up before its turn
            third.arrive()
        moved_up = third.next_position()
        third.release.set()
    third.thread.join(SECONDS)
    assert moved_up == 1


def test_a_turn_at_a_free_model_is_served_at_once():
    with ModelQueue("test").turn() as turn:
        assert list(turn.positions()) == []


def test_one_queue_per_model_in_the_process():
    assert queue_for("/models/a.gguf", "local") is queue_for("/models/a.gguf", "local")
    assert queue_for("/models/a.gguf", "local") is not queue_for("/models/b.gguf", "local")


def test_verified_and_local_wait_in_the_local_models_queue(tmp_path):
    settings = Settings(llm_model=tmp_path / "model.gguf")
    assert Answerers(settings, None).queue("verified") is Answerers(settings, None).queue("local")


def test_the_extractive_answerer_waits_in_no_queue():
    assert Answerers(Settings(), None).queue("extractive") is None


@pytest.fixture
def queued(monkeypatch) -> ModelQueue:
    """`queued`: an answerer that waits in the local model's queue, and what `auto` picks."""
    monkeypatch.setitem(REGISTRY, "queued", Registration(
        lambda a: Renamed("queued", a.get("extractive")), lambda s: True, "", queue=local_model_queue))
    monkeypatch.setattr(answerers, "AUTO", ("queued", "extractive"))
    return local_model_queue(Settings())


def test_extractive_turns_do_not_wait_while_questions_wait_for_the_model(seed_pipeline, queued):
    """More questions wait for the model than there are cores, and an extractive one is
    answered meanwhile: waiting for a model takes no core from the others."""
    chat = Chat(seed_pipeline)
    waiting = [threading.Thread(target=lambda: list(chat.turn("Who founded DeepSeek?", [], [], "queued", 5)))
               for _ in range((os.cpu_count() or 1) + 1)]
    with queued.turn():
        for thread in waiting:
            thread.start()
        wait_until(lambda: queued.in_line() == len(waiting) + 1)
        answered = Queue()
        threading.Thread(target=lambda: answered.put(list(chat.turn(
            "How much market value did Nvidia lose?", [], [], "extractive", 5))), daemon=True).start()
        content = final_content(answered.get(timeout=SECONDS))
    for thread in waiting:
        thread.join(SECONDS)
    assert "600 billion" in content


def test_the_ask_endpoint_waits_in_the_same_queue_and_says_so(seed_home, queued):
    chat, answers = Chat(Pipeline(Settings(home=seed_home, answerer="auto"))), Queue()
    with queued.turn():
        threading.Thread(target=lambda: answers.put(chat.ask("Who founded DeepSeek?")), daemon=True).start()
        wait_until(lambda: queued.in_line() == 2)
    assert answers.get(timeout=SECONDS)["checks"]["model_queue"]["ahead"] == 1


def test_the_web_chat_lets_more_questions_wait_for_the_model_than_there_are_cores(seed_home, queued):
    """Admitting one question per core, as before the queue, those waiting for the model
    would keep every other question out."""
    app = start(Settings(home=seed_home, answerer="auto", ui_auth=None))
    waiting = (os.cpu_count() or 1) + 1
    try:
        with queued.turn():
            jobs = [Client(app.local_url, verbose=False).submit("Who founded DeepSeek?", api_name="/ask")
                    for _ in range(waiting)]
            all_in_line = eventually(lambda: queued.in_line() == waiting + 1)
        for job in jobs:
            job.result(SECONDS)
    finally:
        app.close()
    assert all_in_line


@pytest.mark.llm
@pytest.mark.skipif(not packaged_model_installed(), reason="the local model is not installed")
def test_a_turn_shows_its_place_while_the_local_model_is_busy_then_answers(seed_home):
    chat = Chat(Pipeline(Settings(home=seed_home, answerer="local")))
    warm_up = chat.warm_up()
    assert warm_up.wait(600) and warm_up.error is None
    steps = Queue()

    def take_turn():
        for step in chat.turn("Who founded DeepSeek?", [], [], "local", 5):
            steps.put(step)
        steps.put(None)

    with chat.pipeline.answerers.queue("local").turn():
        threading.Thread(target=take_turn, daemon=True).start()
        shown_until(steps, lambda content: "Waiting for the local model: 1 question ahead of yours" in content)
    answer = shown_until(steps, lambda content: 'class="rag-sources"' in content, seconds=600)
    assert "Liang Wenfeng" in answer


@pytest.mark.browser
def test_the_page_shows_the_questions_place_in_the_models_queue(browser, seed_home, queued):
    from selenium.webdriver.common.keys import Keys

    app = start(Settings(home=seed_home, answerer="auto", ui_auth=None))
    served = []
    ahead = Waiter(queued, "ahead", served)
    try:
        browser.get(app.local_url)
        wait_for(browser, lambda: browser.find_elements(*css("#question textarea")))

        def shown() -> str:
            return browser.find_element(*css("#chat")).text

        with queued.turn():
            ahead.arrive()
            browser.find_element(*css("#question textarea")).send_keys("Who founded DeepSeek?", Keys.ENTER)
            wait_for(browser, lambda: "Waiting for the local model: 2 questions ahead of yours" in shown(),
                     "no place in the queue shown")
            screenshot(browser, "model-queue.png")
        wait_for(browser, lambda: "Waiting for the local model: 1 question ahead of yours" in shown(),
                 "the place shown did not move up")
        ahead.release.set()
        wait_for(browser, lambda: browser.find_elements(*css("#chat .rag-turn")), "no answer once served")
        assert "Liang Wenfeng" in browser.find_element(*css("#chat .rag-turn")).text
    finally:
        ahead.release.set()
        app.close()
