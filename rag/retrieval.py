"""Hybrid retrieval: dense (Chroma) and keyword (FTS5 BM25) fused by reciprocal rank.

No LangChain here: a question process searches through `HybridSearch` directly, and
importing `langchain_core.retrievers` costs ~0.32 s of a cold `rag ask` (runnables, tracers,
langsmith; `python -X importtime`). LangChain's `BaseRetriever` wraps it in
rag/langchain_retriever.py, for users and chains.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left, bisect_right, insort
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from index.formats import spanning_location
from rag.answer import Passage

# Passages returned per question unless asked otherwise.
DEFAULT_K = 5
_WORDS = re.compile(r"\w+")
# Chunks whose word sets have a Jaccard index of at least this are near-duplicates.
NEAR_DUPLICATE = 0.9
# Copies of the ranked texts read per question: a text on every page (a footer) costs no more.
COPIES = 200
# A document with this many times the chunks of the shortest copy of a text (and two more)
# gathers other pages: see `most_specific`.
AGGREGATE = 2
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


@dataclass
class HybridSearch:
    """Top-k passages for a query; overlapping chunks of one document come back merged.

    Dense retrieval leads (keyword_weight < 1): plain BM25 is weaker on paraphrased
    questions and, weighted equally, drags good dense hits down (README, Results).
    """

    index: Any
    embedder: Any
    k: int = DEFAULT_K
    fetch_k: int = 30
    max_fetch: int = 480  # fetch_k times 4, twice: copies crowding the first fetch
    keyword_weight: float = 0.25
    rrf_k: int = 60
    # The document collections the asker may read (rag/access.py); None: all. Both searches,
    # the copies cited instead of a ranked chunk and the chunks' lookup are filtered by it.
    collections: list[str] | None = None

    def passages(self, query: str, k: int | None = None) -> list[Passage]:
        return self.retrieve(query, k)[0]

    def retrieve(self, query: str, k: int | None = None) -> tuple[list[Passage], str | None]:
        """The top-k passages, and why vector search was left out when it had to be (the
        keyword side then answers alone). Copies of a text count once: when they leave
        fewer than k passages, more is fetched."""
        k = k or self.k
        fetch = self.fetch_k
        known: dict[int, Any] = {}  # the chunks looked up, kept for the larger fetches
        while True:
            ranked, problem, exhausted = self._ranked(query, fetch, known)
            copies = self.index.copies(list({c.text_hash for c, _ in ranked if c.text_hash}), COPIES,
                                       self.collections)
            passages = merge_passages(cite_most_specific(ranked, copies), k)
            if len(passages) == k or exhausted or fetch >= self.max_fetch:
                return passages, problem
            fetch *= 4

    def _ranked(self, query: str, fetch: int,
                known: dict[int, Any]) -> tuple[list[tuple[Any, float]], str | None, bool]:
        """The fused ranking of the `fetch` best chunks of each side, why vector search was
        left out, and whether both sides gave all they had. Chunks not in `known` are looked
        up and added to it."""
        # Keyword search needs no query vector, and SQLite releases the GIL: it runs on the
        # other core while the query is embedded and the vectors searched.
        searching = _KEYWORD_SEARCH.submit(self.index.keyword_search, query, fetch, self.collections)
        dense, problem = self.index.vector_search(self.embedder.embed_query(query), fetch, self.collections)
        # The dense side's chunks are read while the keyword side still runs: at 100k chunks
        # its slowest questions take twice the embedding and vector search's time.
        self._look_up([i for i, _ in dense if i not in known], known)
        keyword = searching.result()
        # Keyword search alone (the vector store is down) has no second opinion to disagree
        # with: it ranks with both weights, so the confidence model's "retrievers agree"
        # signal reads its top passage as agreed on rather than as outvoted.
        weights = [1.0, self.keyword_weight] if problem is None else [0.0, 1.0 + self.keyword_weight]
        fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]], weights, self.rrf_k)
        # The catalog decides what exists, and what the asker may read: vectors of chunks it
        # no longer holds, or holds in another collection, are dropped. The dense side's were
        # looked up above; those it did not find are not asked for again.
        self._look_up([i for i, _ in keyword if i not in known], known)
        ranked = [(known[i], score) for i, score in fused if i in known]
        return ranked, problem, len(dense) < fetch and len(keyword) < fetch

    def _look_up(self, vector_ids: list[int], known: dict[int, Any]) -> None:
        """These chunks into `known`, and their words read (`word_set` remembers them for
        the copy handling and the merge that follow)."""
        found = self.index.chunks(vector_ids, self.collections)
        for chunk in found.values():
            word_set(chunk.text)
        known.update(found)


def cite_most_specific(ranked: list[tuple[Any, float]], copies: list) -> list[tuple[Any, float]]:
    """Each ranked chunk replaced by the copy of its text in the most specific document
    (`most_specific`), ranked where the chunk was. Copies are chunks of the same text hash
    (under any path: `copies` holds those not ranked) or near-duplicates among the ranked
    (an older edition with a word changed)."""
    groups: list[_Copies] = []
    by_hash: dict[str, _Copies] = {}
    # Groups by the size of their first member's words: a near-duplicate's size is within
    # NEAR_DUPLICATE of its own, so only that window is compared. On 25 pages of Python's
    # docs (~45 ranked chunks a question) that is 219 comparisons instead of 911.
    by_size: list[tuple[int, int]] = []  # (size, index in groups), sorted
    group_of = []
    for chunk, _ in ranked:
        words = word_set(chunk.text)
        group = by_hash.get(chunk.text_hash)
        if group is None:
            window = by_size[bisect_left(by_size, (int(NEAR_DUPLICATE * len(words)), -1)):
                             bisect_right(by_size, (int(len(words) / NEAR_DUPLICATE) + 1, len(groups)))]
            group = next((groups[i] for _, i in window if _near_duplicate(words, groups[i].words)), None)
        if group is None:
            group = _Copies(words)
            insort(by_size, (len(words), len(groups)))
            groups.append(group)
        if chunk.text_hash:
            by_hash[chunk.text_hash] = group
        group.members.append(chunk)
        group_of.append(group)
    for copy in copies:
        if copy.text_hash in by_hash:
            by_hash[copy.text_hash].members.append(copy)
    # Each group's copy chosen once, not once per member ranked: at 100k chunks a question
    # could rank ~900 chunks in groups of hundreds, and choosing for each cost 0.5 s.
    cited = {id(group): most_specific(group.members) for group in groups}
    return [(cited[id(group)], score) for group, (_, score) in zip(group_of, ranked)]


@dataclass
class _Copies:
    words: frozenset[str]  # its first member's, which near-duplicates are compared with
    members: list = field(default_factory=list)


def most_specific(copies: list) -> Any:
    """The copy to cite. A document gathering other pages (a print-all page) is passed
    over: one with at least AGGREGATE times the chunks of the shortest document holding the
    text, and two more (a chapter that grew a sentence since an older edition can count one
    chunk more). Of the rest, the shallowest path wins (a site's current edition at its root
    before older ones in sub-folders, which may be shorter), then the shorter document, then
    the source's name and the place in it."""
    shortest = min(c.document_chunks for c in copies)
    aggregate = max(AGGREGATE * shortest, shortest + 2)
    return min((c for c in copies if c.document_chunks < aggregate),
               key=lambda c: (path_depth(c.source), c.document_chunks, c.source, c.start))


@lru_cache(maxsize=4096)
def path_depth(source: str) -> int:
    """The parts of a source's path. Remembered: at 100k chunks a question compared ~120
    copies' paths, and parsing them took ~1 ms of its ~20 (cProfile)."""
    return len(PurePath(source).parts)


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
        words = word_set(chunk.text)
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


@lru_cache(maxsize=1024)
def word_set(text: str) -> frozenset[str]:
    """A chunk's words, compared to find near-duplicates. Remembered: copy handling and the
    merge both read them, again on each larger fetch (at 100k a question could rank ~900
    chunks three times over). 1,024 hold the largest fetch's ~960 chunks in ~12 MB (11.5 KB
    an entry with its text, ClapNQ chunks)."""
    return frozenset(_WORDS.findall(text.lower()))


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return a == b
    if min(len(a), len(b)) < NEAR_DUPLICATE * max(len(a), len(b)):
        return False  # the Jaccard index is at most the ratio of the sizes
    shared = len(a & b)
    return shared >= NEAR_DUPLICATE * (len(a) + len(b) - shared)
