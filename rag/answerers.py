"""The answerers: one protocol, one registry. Adding an answerer is one module with a class
that follows `Answerer` and a builder, plus one line in REGISTRY."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from rag import llm
from rag.answer import Draft, Passage, TextDelta
from rag.confidence import load_model
from rag.errors import AnswererError
from rag.extractive import ExtractiveAnswerer, StoredSentenceVectors
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


def _local_installed(settings: Settings) -> bool:
    return settings.llm_model is not None or llm.packaged_model_installed()


def _always(settings: Settings) -> bool:
    return True


def _extractive(answerers: Answerers) -> Answerer:
    return ExtractiveAnswerer(answerers.embedder, load_model("evidence"), answerers.stored_vectors,
                              answerers.settings.min_confidence)


# The answerers that use a language model are imported when first built: their modules
# (langchain's prompts and OpenAI client, llama.cpp) add ~0.15 s to every start, measured
# with `python -X importtime`, that an extractive-only `rag ask` never needs.
def _verified(answerers: Answerers) -> Answerer:
    from rag.verified import VerifiedAnswerer

    return VerifiedAnswerer.build(answerers)


def _local(answerers: Answerers) -> Answerer:
    from rag.generation import ChatAnswerer

    return ChatAnswerer.local(answerers)


def _openai(answerers: Answerers) -> Answerer:
    from rag.generation import ChatAnswerer

    return ChatAnswerer.openai(answerers)


REGISTRY: dict[str, Registration] = {
    "extractive": Registration(_extractive, _always, ""),
    "verified": Registration(_verified, _local_installed, "the local model: run `make run`"),
    "local": Registration(_local, _local_installed, "the local model: run `make run`"),
    "openai": Registration(_openai, lambda s: bool(s.openai_base_url), "RAG_OPENAI_BASE_URL"),
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


class Answerers:
    """Each answerer of one configuration, built once on first use."""

    def __init__(self, settings: Settings, embedder, stored_vectors: StoredSentenceVectors | None = None):
        self.settings = settings
        self.embedder = embedder
        self.stored_vectors = stored_vectors
        self._built: dict[str, Answerer] = {}
        self._lock = threading.RLock()  # building `verified` gets `extractive`

    def get(self, name: str | None = None) -> Answerer:
        name = resolve(self.settings, name)
        with self._lock:
            if name not in self._built:
                self._built[name] = REGISTRY[name].build(self)
            return self._built[name]
