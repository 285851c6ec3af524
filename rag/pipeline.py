"""The RAG pipeline: check the question, retrieve passages, answer from them, time it."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Iterator

from index import open_index
from index.embedding import load_embedder
from index.store import current_generation
from rag.answer import Answer, Draft
from rag.extractive import ExtractiveAnswerer
from rag.retrieval import HybridRetriever
from rag.settings import Settings

GENERATORS = ("auto", "extractive", "local", "openai")
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
    """One per configuration: holds the embedding model, the open index and the answerers."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.embedder = load_embedder(settings.embed_model)
        self.extractive = ExtractiveAnswerer(self.embedder, settings.min_evidence)
        self._index = None
        self._index_lock = threading.Lock()

    @property
    def index(self):
        """The live index, reopened when a rebuild has switched generations and caught up
        with every write committed since it was last asked. Locked: the web chat asks from
        several threads, and opening a Chroma client is not thread-safe."""
        home = self.settings.home
        with self._index_lock:
            if self._index is None or self._index.generation != current_generation(home):
                index = open_index(home, self.settings.chroma_host, self.settings.chroma_port)
                index.check_model(self.embedder)
                self._index = index
            self._index.catch_up()
            return self._index

    def retriever(self, k: int | None = None) -> HybridRetriever:
        return HybridRetriever(index=self.index, embedder=self.embedder, k=k or self.settings.k)

    def generator(self, name: str | None = None):
        from rag import llm

        settings = self.settings
        match name or settings.generator:
            case "auto":
                local = settings.llm_model is not None or llm.packaged_model_installed()
                return self.generator("local" if local else "extractive")
            case "extractive":
                return self.extractive
            case "local":
                from rag.generation import ChatGenerator

                model = settings.llm_model or llm.assemble_packaged_model(settings.model_cache)
                server = llm.local_server(model)
                chat = llm.chat_model(server.base_url, "local", "none", settings.llm_max_tokens)
                return ChatGenerator("local", chat, self.embedder, self.extractive)
            case "openai":
                from rag.generation import ChatGenerator

                if not settings.openai_base_url:
                    raise llm.ModelError("set RAG_OPENAI_BASE_URL to use the openai generator")
                chat = llm.chat_model(settings.openai_base_url, settings.openai_model,
                                      settings.openai_api_key or "none", settings.llm_max_tokens)
                return ChatGenerator("openai", chat, self.embedder, self.extractive)
            case other:
                raise ValueError(f"unknown generator {other!r}: choose one of {', '.join(GENERATORS)}")

    def ask_stream(self, question: str, *, history=None, k=None, generator=None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is produced, then the complete Answer."""
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        answerer = self.generator(generator)
        standalone = answerer.condense(question, history) if history else question
        passages, index_problem = self.retriever(k).retrieve(standalone, k)
        retrieved = time.perf_counter()
        draft = None
        for piece in answerer.stream(standalone, passages):
            if isinstance(piece, Draft):
                draft = piece
            else:
                yield piece
        done = time.perf_counter()
        timings = {
            "retrieve": round((retrieved - started) * 1000, 2),
            "generate": round((done - retrieved) * 1000, 2),
            "total": round((done - started) * 1000, 2),
        }
        checks = draft.checks
        if index_problem:
            checks = {**checks, "index_problem": f"{index_problem}. Answered from keyword search only."}
        yield Answer(question, draft.text, draft.refused, draft.citations, passages,
                     answerer.name, timings, checks)

    def ask(self, question: str, *, history=None, k=None, generator=None) -> Answer:
        *_, answer = self.ask_stream(question, history=history, k=k, generator=generator)
        return answer


@functools.lru_cache(maxsize=8)
def pipeline_for(settings: Settings) -> Pipeline:
    """Reuse the loaded models and open index across calls with the same settings."""
    return Pipeline(settings)


def ask(question: str, *, history=None, k: int | None = None, generator: str | None = None) -> Answer:
    """Answer a question from the index configured by the `RAG_*` environment."""
    return pipeline_for(Settings()).ask(question, history=history, k=k, generator=generator)


def ask_stream(question: str, *, history=None, k: int | None = None, generator: str | None = None):
    """Like ask(), yielding text as it is generated and the complete Answer last."""
    yield from pipeline_for(Settings()).ask_stream(question, history=history, k=k, generator=generator)
