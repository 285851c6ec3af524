"""Turns at a language model: first come, first served, one queue per model in the process,
and how many turns are ahead of a waiting one (the web chat shows it).

A model answers one question at a time. The local llama.cpp server has one slot, and a
second would not help on 2 cores. Measured with the packaged model, two requests (~320
prompt tokens, 64 written) sent at once, in the runs the other load on the cores left
quiet: one slot answered both in 12.4-13.3 s, the first after ~6.6 s; two slots in
12.4-13.2 s, both at the end. So the first waits twice as long for no gain; and a request
batched beside another got a different reply, which rag/llm.py's reproducible replies rule
out. An answer that calls a model takes one turn for all its calls (the follow-up's
rewrite, the verification, the writing), and the questions behind it wait here, in order,
rather than in llama.cpp's lock, where the order is not kept and nobody can see it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Waiting:
    """A stream event of a question waiting for its turn at a model: how many turns are
    ahead of it (the one being served included); 0 when its turn has come."""

    model: str
    ahead: int


class ModelQueue:
    """The line of turns at one model; the first in line is being served."""

    def __init__(self, name: str):
        self.name = name  # what the page calls the model: "local", or the OpenAI model's name
        self._line: list[Turn] = []
        self._changed = threading.Condition()

    def in_line(self) -> int:
        """Turns in line, the one being served included."""
        with self._changed:
            return len(self._line)

    @contextmanager
    def turn(self) -> Iterator[Turn]:
        """A place at the end of the line, kept until the block ends: whether it was
        served or given up while waiting (a closed stream), the turns behind move up."""
        with self._changed:
            turn = Turn(self, ahead=len(self._line))
            self._line.append(turn)
        try:
            yield turn
        finally:
            with self._changed:
                self._line.remove(turn)
                self._changed.notify_all()

    def _ahead_once_changed(self, turn: Turn, ahead: int) -> int:
        """The turns ahead of `turn`, once they are fewer than `ahead`."""
        with self._changed:
            self._changed.wait_for(lambda: self._line.index(turn) < ahead)
            return self._line.index(turn)


class Turn:
    """One place in a ModelQueue's line."""

    def __init__(self, queue: ModelQueue, ahead: int):
        self.queue = queue
        self.ahead_on_arrival = ahead
        self._arrived = time.perf_counter()
        self.waited_seconds = 0.0

    def positions(self) -> Iterator[int]:
        """Nothing when the model was free on arrival. Otherwise how many turns are ahead of
        this one, on arrival and each time that changes, and 0 when its turn has come: the
        model is this turn's until the `ModelQueue.turn` block ends."""
        ahead = self.ahead_on_arrival
        if ahead == 0:
            return
        while ahead:
            yield ahead
            ahead = self.queue._ahead_once_changed(self, ahead)
        self.waited_seconds = time.perf_counter() - self._arrived
        yield 0

    def wait(self) -> None:
        """Block until this turn has come."""
        for _ in self.positions():
            pass


_queues: dict[str, ModelQueue] = {}
_queues_lock = threading.Lock()


def queue_for(model: str, name: str) -> ModelQueue:
    """The process's one queue of a model, by its identity (a GGUF path, or an endpoint and
    a model name); `name` is what the page calls it."""
    with _queues_lock:
        if model not in _queues:
            _queues[model] = ModelQueue(name)
        return _queues[model]
