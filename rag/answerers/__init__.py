"""The answerers: one protocol, one registry. Adding an answerer is one module with a class
that follows `Answerer` and a builder, plus one line in REGISTRY."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from rag import llm, model_queue
from rag.answer import Draft, Passage, TextDelta
from rag.answerers.confidence import load_model
from rag.errors import AnswererError
from rag.answerers.extractive import ExtractiveAnswerer, StoredSentenceVectors
from rag.model_queue import ModelQueue
from rag.reader import Reader, packaged_reader
from rag.settings import Settings


class Answerer(Protocol):
    name: str

    def stream(self, question: str, passages: list[Passage]) -> Iterator[TextDelta | Draft]:
        """The answer's text as it is produced, then the whole Draft."""

    def condense(self, question: str, history: list[dict]) -> str:
        """A follow-up question rewritten to stand alone."""


@dataclass(frozen=True)
class Registration:
    build: Callable[[Answerers], Answerer]
    available: Callable[[Settings], bool]
    needs: str  # what the `available` rule asks for, for the error when it is not met
    # What takes seconds to load before the answerer can be built (the local model), for
    # `Answerers.warm_in_background`; None: nothing to load.
    load: Callable[[Settings], object] | None = None
    # The queue of the language model it calls (rag/model_queue.py), where its answers wait
    # their turn; None: it calls none, and never waits.
    queue: Callable[[Settings], ModelQueue] | None = None


def _local_installed(settings: Settings) -> bool:
    return settings.llm_model is not None or llm.packaged_model_installed()


def _always(settings: Settings) -> bool:
    return True


def local_model_queue(settings: Settings) -> ModelQueue:
    """The queue of the local GGUF (one llama.cpp server per file, rag/llm.py)."""
    return model_queue.queue_for(str(settings.llm_model or settings.model_cache / llm.PACKAGED_NAME), "local")


def _openai_model_queue(settings: Settings) -> ModelQueue:
    return model_queue.queue_for(f"{settings.openai_base_url} {settings.openai_model}", settings.openai_model)


def _extractive(answerers: Answerers) -> Answerer:
    return ExtractiveAnswerer(answerers.embedder, load_model("evidence"), _reader(answerers.settings),
                              answerers.stored_vectors, answerers.settings.min_confidence)


def _reader(settings: Settings) -> Reader:
    """The shipped reader on numpy, or on torch (~2.6x faster a question, 2 s of imports):
    Settings.reader_backend, whose `auto` means numpy outside the web chat."""
    if settings.reader_backend == "torch":
        from rag.reader_net import packaged_torch_reader

        return packaged_torch_reader()
    return packaged_reader()


# The answerers that use a language model are imported when first built: their modules
# (langchain's prompts and OpenAI client, llama.cpp) add ~0.15 s to every start, measured
# with `python -X importtime`, that an extractive-only `rag ask` never needs.
def _verified(answerers: Answerers) -> Answerer:
    from rag.answerers.verified import VerifiedAnswerer

    return VerifiedAnswerer.build(answerers)


def _local(answerers: Answerers) -> Answerer:
    from rag.answerers.generation import ChatAnswerer

    return ChatAnswerer.local(answerers)


def _openai(answerers: Answerers) -> Answerer:
    from rag.answerers.generation import ChatAnswerer

    return ChatAnswerer.openai(answerers)


REGISTRY: dict[str, Registration] = {
    "extractive": Registration(_extractive, _always, ""),
    "verified": Registration(_verified, _local_installed, "the local model: run `make run`", llm.local_chat_model,
                             local_model_queue),
    "local": Registration(_local, _local_installed, "the local model: run `make run`", llm.local_chat_model,
                          local_model_queue),
    "openai": Registration(_openai, lambda s: bool(s.openai_base_url), "RAG_OPENAI_BASE_URL",
                           queue=_openai_model_queue),
}
# `auto`: the first available of these, best measured first (README, Results).
AUTO = ("verified", "extractive")
NAMES = ("auto", *REGISTRY)


def available(settings: Settings) -> list[str]:
    """The answerers this installation can run, in registry order."""
    return [name for name, registration in REGISTRY.items() if registration.available(settings)]


def resolve(settings: Settings, name: str | None = None) -> str:
    """The registered answerer a name (or the configured one) stands for."""
    name = name or settings.answerer
    if name == "auto":
        return next(n for n in AUTO if REGISTRY[n].available(settings))
    if name not in REGISTRY:
        raise AnswererError(f"unknown answerer {name!r}: choose one of {', '.join(NAMES)}")
    if not REGISTRY[name].available(settings):
        raise AnswererError(f"the {name} answerer needs {REGISTRY[name].needs}")
    return name


# What a warm-up asks: answerable with confidence (0.91 with `verified`), so that `local`
# passes its gate and writes an answer too.
_WARM_UP_TEXT = "The lighthouse at Cape Wrath was built in 1828 by the engineer Robert Stevenson."
WARM_UP_PASSAGE = Passage(1, "warm-up", 0, len(_WARM_UP_TEXT), _WARM_UP_TEXT, None, 1.25 / 61)
WARM_UP_QUESTION = "Who built the lighthouse at Cape Wrath?"
WARM_UP_FOLLOW_UP = ("When was it built?", [{"role": "user", "content": WARM_UP_QUESTION},
                                            {"role": "assistant", "content": "Robert Stevenson built it [1]."}])


class WarmUp:
    """One answerer being loaded and tried out (Answerers.warm_in_background)."""

    def __init__(self, name: str, needs_loading: bool):
        self.name = name
        self.needs_loading = needs_loading
        self.error: str | None = None
        self.seconds: float | None = None
        self._finished = threading.Event()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    @property
    def ready(self) -> bool:
        return self.finished and self.error is None

    def wait(self, timeout: float | None = None) -> bool:
        """Whether it finished (ready or failed) within `timeout` seconds."""
        return self._finished.wait(timeout)

    def run(self, work: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            work()
        except Exception as exc:  # in a background thread: reported through `error` instead
            self.error = str(exc) or type(exc).__name__
        self.seconds = time.perf_counter() - started
        self._finished.set()


class Answerers:
    """Each answerer of one configuration, built once on first use."""

    def __init__(self, settings: Settings, embedder, stored_vectors: StoredSentenceVectors | None = None):
        self.settings = settings
        self.embedder = embedder
        self.stored_vectors = stored_vectors
        self._built: dict[str, Answerer] = {}
        self._lock = threading.RLock()  # building `verified` gets `extractive`
        self._warm_ups: dict[str, WarmUp] = {}
        self._warm_ups_lock = threading.Lock()

    def get(self, name: str | None = None) -> Answerer:
        name = resolve(self.settings, name)
        with self._lock:
            if name not in self._built:
                self._built[name] = REGISTRY[name].build(self)
            return self._built[name]

    def queue(self, name: str | None = None) -> ModelQueue | None:
        """The queue of the model the answerer calls; None when it calls none."""
        queue = REGISTRY[resolve(self.settings, name)].queue
        return queue(self.settings) if queue else None

    def warm_in_background(self, name: str | None = None) -> WarmUp:
        """Load, build and try out an answerer (default: the configured one) in a background
        thread, so that the web chat can answer with another one until it is ready. Started
        once per answerer: later calls return the same WarmUp."""
        name = resolve(self.settings, name)
        with self._warm_ups_lock:
            if name not in self._warm_ups:
                self._warm_ups[name] = self._start_warm_up(name)
            return self._warm_ups[name]

    def _start_warm_up(self, name: str) -> WarmUp:
        warm_up = WarmUp(name, needs_loading=REGISTRY[name].load is not None)
        if warm_up.needs_loading:
            threading.Thread(target=warm_up.run, args=(lambda: self._warm(name),),
                             name=f"warm-up-{name}", daemon=True).start()
        else:
            warm_up.run(lambda: None)
        return warm_up

    def _warm(self, name: str) -> None:
        # Loaded before `get`, which holds the build lock: the local model takes seconds
        # to load, and extractive answers given meanwhile need that lock to build.
        REGISTRY[name].load(self.settings)
        answerer = self.get(name)
        queue = self.queue(name)
        if queue is None:
            _try_out(answerer)
            return
        with queue.turn() as turn:  # the model is asked as for a question: in its turn
            turn.wait()
            _try_out(answerer)


def _try_out(answerer: Answerer) -> None:
    # One question through the answerer's own chain starts llama.cpp and saves the prompt
    # heads it reuses (rag/llm.py pin_head); a follow-up does the same for the condense
    # prompt of the answerers that rewrite with the model.
    list(answerer.stream(WARM_UP_QUESTION, [WARM_UP_PASSAGE]))
    answerer.condense(*WARM_UP_FOLLOW_UP)
