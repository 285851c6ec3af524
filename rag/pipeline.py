"""The RAG pipeline: check the question, retrieve passages, answer from them, time it."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from index import Index, open_index
from index.catalog import DEFAULT_COLLECTION
from index.vectors.embedder import load_embedder
from index.vectors.exact import ExactBackend
from rag.answer import Answer, Draft, TextDelta
from rag.answerers import Answerer, Answerers
from rag.errors import NoIndexError, QuestionError
from rag.model_queue import Turn, Waiting
from rag.retrieval import HybridSearch
from rag.settings import Settings

if TYPE_CHECKING:
    from index import IngestReport
    from rag.langchain_retriever import HybridRetriever

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


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
        self.embedder = load_embedder(settings.embed_model, settings.embed_precision)
        self.answerers = Answerers(settings, self.embedder, self._stored_sentence_vectors)
        self._index = None
        self._index_lock = threading.Lock()

    def warm_models(self) -> None:
        """Load the embedding model's encoders and the extractive answerer's reader now, as a
        process that answers many questions does before the first (the web chat): loaded, the
        batched encoder embeds a question's leading sentences, not numpy's one thread, and on
        a bf16 CPU the question itself (index/vectors/embedder.py's `_embed_few`)."""
        self.embedder.warm()
        self.answerers.get("extractive")

    @property
    def index(self) -> Index:
        """The live index, reopened when a rebuild has switched generations (or it outgrew
        exact search) and caught up with every write committed since it was last asked.
        Locked: the web chat asks from several threads, and opening a Chroma client is not
        thread-safe."""
        config = self.settings.index_config
        with self._index_lock:
            if (self._index is None or self._index.generation != self._index.catalogs.live()
                    or self._outgrew_exact_search()):
                index = open_index(config, self.settings.exact_search_below)
                index.check_model(self.embedder)
                self._index = index
            self._index.catch_up()
            return self._index

    def _outgrew_exact_search(self) -> bool:
        """Whether the index is searched exactly but now holds too many chunks for it (a web
        chat's uploads): Chroma takes over (one count a question, microseconds below 10k)."""
        return (isinstance(self._index.backend, ExactBackend)
                and self._index.catalog.chunk_count() >= self.settings.exact_search_below)

    def _stored_sentence_vectors(self, spans: list[tuple[str, int, int]]) -> dict:
        """The index's sentence vectors inside these spans; none before anything is indexed
        (the local model's warm-up scores a passage of its own then)."""
        try:
            return self.index.sentence_vectors(spans)
        except NoIndexError:
            return {}

    # `collections`: the document collections the asker may read (rag/access.py); None: all.
    def documents(self, collections: list[str] | None = None) -> list[str]:
        """The sources of the indexed documents."""
        return self.index.documents(collections)

    def document_text(self, source: str, collections: list[str] | None = None) -> str | None:
        return self.index.document_text(source, collections)

    def ingest(self, paths: list[str], collection: str = DEFAULT_COLLECTION) -> IngestReport:
        """Index these files and folders into a collection (see index.ingest); the next
        question sees them."""
        from index.ingestion import ingest  # here: a question never needs it (index/__init__.py)

        return ingest(paths, self.settings.index_config, collection=collection)

    def remove(self, sources: list[str]) -> list[str]:
        """Take documents out of the index; returns those that were indexed."""
        from index.ingestion import remove

        return remove(sources, self.settings.index_config)

    def search(self, k: int | None = None, collections: list[str] | None = None) -> HybridSearch:
        """The hybrid search questions are answered from."""
        return HybridSearch(self.index, self.embedder, k or self.settings.k, collections=collections)

    def retriever(self, k: int | None = None, collections: list[str] | None = None) -> HybridRetriever:
        """The same search as a LangChain retriever, for chains (LangChain is imported here,
        not on the question path: ~0.32 s of a cold `rag ask`)."""
        from rag.langchain_retriever import HybridRetriever

        return HybridRetriever(index=self.index, embedder=self.embedder, k=k or self.settings.k,
                               collections=collections)

    def answerer(self, name: str | None = None) -> Answerer:
        """The named answerer (default: the configured one), built on first use."""
        return self.answerers.get(name)

    def ask_stream(self, question: str, *, history: list[dict] | None = None, k: int | None = None,
                   answerer: str | None = None,
                   collections: list[str] | None = None) -> Iterator[Waiting | TextDelta | Answer]:
        """Yield the answer's text as it is produced, then the complete Answer. An answerer
        that calls a model waits for its turn first (rag/model_queue.py): while other
        questions are ahead, Waiting events say how many. Only documents of `collections`
        (None: all) are searched, quoted and cited."""
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        chosen = self.answerer(answerer)
        queue = self.answerers.queue(answerer)
        if queue is None:
            yield from self._answer(chosen, question, history, k, collections, started)
            return
        with queue.turn() as turn:
            for ahead in turn.positions():
                yield Waiting(queue.name, ahead)
            # The answer's timings leave out the wait: checks["model_queue"] has it.
            yield from self._answer(chosen, question, history, k, collections, started + turn.waited_seconds,
                                    turn)

    def _answer(self, chosen: Answerer, question: str, history: list[dict] | None, k: int | None,
                collections: list[str] | None, started: float,
                turn: Turn | None = None) -> Iterator[TextDelta | Answer]:
        """ask_stream's work once the answerer may run; `turn`: its turn at the model."""
        standalone = chosen.condense(question, history) if history else question
        passages, index_problem = self.search(k, collections).retrieve(standalone, k)
        retrieved = time.perf_counter()
        draft = None
        for event in chosen.stream(standalone, passages):
            if isinstance(event, Draft):
                draft = event
            else:
                yield event
        done = time.perf_counter()
        timings = {
            "retrieve": round((retrieved - started) * 1000, 2),
            "generate": round((done - retrieved) * 1000, 2),
            "total": round((done - started) * 1000, 2),
        }
        checks = draft.checks
        if index_problem:
            checks = {**checks, "index_problem": f"{index_problem}. Answered from keyword search only."}
        if turn and turn.ahead_on_arrival:
            checks = {**checks, "model_queue": {"model": turn.queue.name, "ahead": turn.ahead_on_arrival,
                                                "waited_seconds": round(turn.waited_seconds, 2)}}
        yield Answer(question, draft.text, draft.refused, draft.citations, passages,
                     chosen.name, timings, checks, draft.confidence, draft.short_answer)

    def ask(self, question: str, *, history: list[dict] | None = None, k: int | None = None,
            answerer: str | None = None, collections: list[str] | None = None) -> Answer:
        *_, answer = self.ask_stream(question, history=history, k=k, answerer=answerer, collections=collections)
        return answer


@functools.lru_cache(maxsize=8)
def pipeline_for(settings: Settings) -> Pipeline:
    """Reuse the loaded models and open index across calls with the same settings."""
    return Pipeline(settings)


@functools.lru_cache(maxsize=8)
def serving_pipeline(settings: Settings) -> Pipeline:
    """The pipeline of a Python process asking question after question: Settings.serving
    (the reader on torch), its models loaded on the first question. Its first question
    pays ~2 s for torch's import; each later one was ~3.3x faster (seed index, p50 151-157
    against 488-506 ms on numpy: docs/results.md)."""
    pipeline = Pipeline(settings.serving())
    pipeline.warm_models()
    return pipeline


def ask(question: str, *, history: list[dict] | None = None, k: int | None = None,
        answerer: str | None = None, collections: list[str] | None = None) -> Answer:
    """Answer a question from the index configured by the `RAG_*` environment, from the
    documents of `collections` (None: all)."""
    return serving_pipeline(Settings.from_env()).ask(question, history=history, k=k, answerer=answerer,
                                                     collections=collections)


def ask_stream(question: str, *, history: list[dict] | None = None, k: int | None = None,
               answerer: str | None = None, collections: list[str] | None = None) -> Iterator[TextDelta | Answer]:
    """Like ask(), yielding text as it is generated and the complete Answer last."""
    yield from serving_pipeline(Settings.from_env()).ask_stream(question, history=history, k=k,
                                                                answerer=answerer, collections=collections)
