"""The encoder's single-core passes and torch's thread counts, with answers in parallel.

torch.set_num_threads sets the calling thread's count and the count threads that start
using torch later begin with. A small forward pass runs on one core; that must leave every
other thread's count, and the count new threads begin with, as they were.
"""

from __future__ import annotations

import threading

import pytest
import torch

from index import encoder

WAIT = 30  # seconds; every wait below ends as soon as its event is set


def in_a_new_thread(work):
    """work() in a thread that has never used torch, so it starts at torch's default count."""
    result = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join(WAIT)
    assert result, "the thread did not finish"
    return result[0]


@pytest.fixture
def three_threads_by_default(monkeypatch):
    """torch at 3 threads (neither 1 nor what this machine picks), and no single-core
    thread started yet, so the test also covers starting it."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    monkeypatch.setattr(encoder, "_single_core", None)
    yield 3
    if encoder._single_core is not None:
        encoder._single_core.shutdown()
    torch.set_num_threads(before)


def test_a_single_core_pass_changes_no_other_threads_count(three_threads_by_default):
    """A runs a pass and holds it; meanwhile B starts using torch and queues a pass of its
    own; then A's pass ends, then B's. This is the order in which restoring a saved
    count left torch at one thread for every thread started afterwards."""
    default = three_threads_by_default
    counts: dict[str, int] = {}
    a_inside, b_started, release = threading.Event(), threading.Event(), threading.Event()

    def a_pass():
        counts["a inside"] = torch.get_num_threads()
        a_inside.set()
        assert release.wait(WAIT)

    def a():
        encoder._on_one_core(a_pass)
        counts["a after"] = torch.get_num_threads()

    def b():
        counts["b before"] = torch.get_num_threads()  # B's first use of torch, during A's pass
        b_started.set()
        encoder._on_one_core(lambda: counts.__setitem__("b inside", torch.get_num_threads()))
        counts["b after"] = torch.get_num_threads()

    thread_a = threading.Thread(target=a)
    thread_a.start()
    assert a_inside.wait(WAIT)
    counts["new thread during a pass"] = in_a_new_thread(torch.get_num_threads)
    thread_b = threading.Thread(target=b)
    thread_b.start()
    assert b_started.wait(WAIT)
    release.set()
    thread_a.join(WAIT)
    thread_b.join(WAIT)
    counts["new thread after"] = in_a_new_thread(torch.get_num_threads)
    counts["main after"] = torch.get_num_threads()

    assert counts == {
        "a inside": 1, "b inside": 1,
        "a after": default, "b after": default, "b before": default, "main after": default,
        "new thread during a pass": default, "new thread after": default,
    }


def test_a_question_is_encoded_on_one_core_and_a_long_text_on_all(three_threads_by_default, embedder,
                                                                   monkeypatch):
    default = three_threads_by_default
    bert = encoder.BertEncoder(embedder.path)
    counts = []
    forward = encoder.BertEncoder._forward
    monkeypatch.setattr(encoder.BertEncoder, "_forward",
                        lambda self, rows: counts.append(torch.get_num_threads()) or forward(self, rows))

    caller = in_a_new_thread(lambda: bert.encode(["Who founded DeepSeek?"]) is not None and torch.get_num_threads())
    bert.encode(["Nvidia lost nearly $600 billion in market value on Monday. " * 20])

    assert counts == [1, default]
    assert caller == default and in_a_new_thread(torch.get_num_threads) == default
