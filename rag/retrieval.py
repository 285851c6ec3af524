"""Hybrid retrieval: dense (Chroma) and keyword (FTS5 BM25) fused by reciprocal rank."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from index.formats import spanning_location
from rag.answer import Passage

_WORDS = re.compile(r"\w+")
# Threads kept for the keyword side of every question (each holds its own catalog
# connection), one per core: answers run in parallel up to that many.
_KEYWORD_SEARCH = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="keyword-search")


def reciprocal_rank_fusion(
    rankings: list[list[str]], weights: list[float], rrf_k: int = 60
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum of weight / (rrf_k + rank)."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


class HybridRetriever(BaseRetriever):
    """Top-k passages for a query; overlapping chunks of one document come back merged.

    Dense retrieval leads (keyword_weight < 1): plain BM25 is weaker on paraphrased
    questions and, weighted equally, drags good dense hits down (README, Results).
    """

    index: Any
    embedder: Any
    k: int = 5
    fetch_k: int = 30
    keyword_weight: float = 0.25
    rrf_k: int = 60

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None, k: int | None = None
    ) -> list[Document]:
        """LangChain's entry point; `invoke(query, k=3)` overrides the retriever's k for one call."""
        return [_to_document(p) for p in self.passages(query, k)]

    def passages(self, query: str, k: int | None = None) -> list[Passage]:
        return self.retrieve(query, k)[0]

    def retrieve(self, query: str, k: int | None = None) -> tuple[list[Passage], str | None]:
        """The top-k passages, and why vector search was left out when it had to be (the
        keyword side then answers alone)."""
        k = k or self.k
        # Keyword search needs no query vector, and SQLite releases the GIL: it runs on the
        # other core while the query is embedded and the vectors searched.
        searching = _KEYWORD_SEARCH.submit(self.index.keyword_search, query, self.fetch_k)
        dense, problem = self.index.vector_search(self.embedder.embed_query(query), self.fetch_k)
        keyword = searching.result()
        # Keyword search alone (the vector store is down) has no second opinion to disagree
        # with: it ranks with both weights, so the confidence model's "retrievers agree"
        # signal reads its top passage as agreed on rather than as outvoted.
        weights = [1.0, self.keyword_weight] if problem is None else [0.0, 1.0 + self.keyword_weight]
        fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]], weights, self.rrf_k)
        # The catalog decides what exists: vectors of chunks it no longer holds are dropped.
        chunks = self.index.chunks([i for i, _ in fused])
        ranked = [(chunks[i], score) for i, score in fused if i in chunks]
        return merge_passages(ranked, k), problem


def merge_passages(ranked: list[tuple[Any, float]], k: int) -> list[Passage]:
    """Best-first chunks into at most k passages: a chunk overlapping or touching a kept
    passage of the same document extends it; a near-duplicate of a kept chunk (the same
    text under another path, say) is dropped."""
    kept: list[dict] = []
    seen_words: list[frozenset[str]] = []
    for chunk, score in ranked:
        joined = next((p for p in kept if p["source"] == chunk.source
                       and chunk.start <= p["end"] and chunk.end >= p["start"]), None)
        if joined:
            _extend(joined, chunk)
        if len(kept) == k:
            continue  # no new passage can come: its words are not needed (a third of the time)
        words = frozenset(_WORDS.findall(chunk.text.lower()))
        if joined:
            seen_words.append(words)
            continue
        if any(_near_duplicate(words, seen) for seen in seen_words):
            continue
        seen_words.append(words)
        kept.append({"source": chunk.source, "start": chunk.start, "end": chunk.end,
                     "text": chunk.text, "page": chunk.page, "score": score, "location": chunk.location})
    return [Passage(n=n, **p) for n, p in enumerate(kept, start=1)]


def _extend(passage: dict, chunk) -> None:
    if chunk.start < passage["start"]:
        passage["text"] = chunk.text[: passage["start"] - chunk.start] + passage["text"]
        passage["start"] = chunk.start
        passage["location"] = spanning_location(chunk.location, passage["location"])
    if chunk.end > passage["end"]:
        passage["text"] += chunk.text[passage["end"] - chunk.start :]
        passage["end"] = chunk.end
        passage["location"] = spanning_location(passage["location"], chunk.location)


def _near_duplicate(a: frozenset[str], b: frozenset[str], threshold: float = 0.9) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= threshold


def _to_document(passage: Passage) -> Document:
    metadata = {key: value for key, value in vars(passage).items() if key != "text"}
    return Document(page_content=passage.text, metadata=metadata)
