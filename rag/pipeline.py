"""The RAG pipeline: check the question, retrieve passages, answer from them, time it."""

from __future__ import annotations

import functools
import re
import time

from index import open_index
from index.embedding import load_embedder
from index.store import current_generation
from rag.answer import Answer
from rag.conversation import standalone_question
from rag.extractive import ExtractiveAnswerer
from rag.retrieval import HybridRetriever
from rag.settings import Settings

GENERATORS = ("extractive",)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class QuestionError(ValueError):
    """The question cannot be asked as it is; the message says why."""


def clean_question(question: str, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    if len(question) > max_chars:
        raise QuestionError(
            f"the question is too long: {len(question):,} characters (the limit is {max_chars:,})"
        )
    question = " ".join(_CONTROL.sub(" ", question).split())
    if not question:
        raise QuestionError("the question is empty")
    return question


class Pipeline:
    """One per configuration: holds the embedding model and the open index."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.embedder = load_embedder(settings.embed_model)
        self._index = None

    @property
    def index(self):
        """The live index, reopened when a rebuild has switched generations."""
        home = self.settings.home
        if self._index is None or self._index.generation != current_generation(home):
            index = open_index(home, self.settings.chroma_host, self.settings.chroma_port)
            index.check_model(self.embedder)
            self._index = index
        return self._index

    def retriever(self, k: int | None = None) -> HybridRetriever:
        return HybridRetriever(index=self.index, embedder=self.embedder, k=k or self.settings.k)

    def answerer(self, name: str | None = None):
        match name or self.settings.generator:
            case "extractive":
                return ExtractiveAnswerer(self.embedder, self.settings.min_evidence)
            case other:
                raise ValueError(f"unknown generator {other!r}: choose one of {', '.join(GENERATORS)}")

    def ask(self, question: str, *, history=None, k=None, generator=None) -> Answer:
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        answerer = self.answerer(generator)
        passages = self.retriever(k).passages(standalone_question(question, history), k)
        retrieved = time.perf_counter()
        text, citations, refused = answerer.answer(standalone_question(question, history), passages)
        done = time.perf_counter()
        timings = {
            "retrieve": round((retrieved - started) * 1000, 2),
            "generate": round((done - retrieved) * 1000, 2),
            "total": round((done - started) * 1000, 2),
        }
        return Answer(question, text, refused, citations, passages, answerer.name, timings)


@functools.lru_cache(maxsize=8)
def pipeline_for(settings: Settings) -> Pipeline:
    """Reuse the loaded model and open index across calls with the same settings."""
    return Pipeline(settings)


def ask(question: str, *, history=None, k: int | None = None, generator: str | None = None) -> Answer:
    """Answer a question from the index configured by the `RAG_*` environment."""
    return pipeline_for(Settings()).ask(question, history=history, k=k, generator=generator)
