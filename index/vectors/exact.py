"""Exact vector search over the catalog's own vectors with numpy: the reading half of a
`VectorBackend` (index/vectors/store.py), for processes that only ask questions of a small
embedded index (`open_index(config, exact_below=...)`).

The catalog holds every chunk's vector, and the vector store is only ever given those same
vectors, so a cosine search over them finds what Chroma finds, exactly, with the same
similarities (Chroma's cosine distance normalizes both sides; so does this: on 792 ClapNQ
chunks, the same top 30 in the same order for all 100 bench questions, similarities within
5e-7). It costs a question process less: opening Chroma and its first query took 0.6-0.9 s
in a fresh process (the import ~0.5 s of it), exact search over 10,000 catalog vectors ~0.1 s
with ~1 ms a query after (Chroma's: ~1.3 ms); see rag/settings.py for where it stops paying.
Writes, `rag check` and repairs keep using Chroma.
"""

from __future__ import annotations

import threading

import numpy as np

from index.catalog import Catalog
from index.errors import VectorStoreError


class ExactBackend:
    """The catalog's vectors as the one collection there is, whatever its name."""

    address = "exact search over the catalog's vectors"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        # catalog path -> its `changes` count this view holds every write of (see Index.catch_up)
        self.view: dict[str, int] = {}

    def open(self, name: str, create: bool = False) -> ExactStore:
        if create:
            raise VectorStoreError("exact search reads the catalog's vectors: it stores none")
        return ExactStore(self.catalog, name)

    def refresh(self) -> None:
        """Nothing to do: a store reads the catalog again once its `changes` count moved."""

    def close(self) -> None:
        self.catalog.close()


class ExactStore:
    """Every vector of the catalog, held as unit rows and read again after each commit."""

    def __init__(self, catalog: Catalog, name: str):
        self.catalog = catalog
        self.name = name
        self._lock = threading.Lock()  # the web chat asks from several threads
        self._seen: int | None = None  # the `changes` count the rows were read at
        self._rows = (np.empty(0, np.int64), np.empty((0, 0), np.float32), np.empty(0, str))

    def query(self, vector: np.ndarray, k: int, collections: list[str] | None = None) -> list[tuple[int, float]]:
        """The k nearest vectors as (id, cosine similarity), best first, of those in these
        document collections (None: all)."""
        return self.query_many(vector[None, :], k, collections)[0]

    def query_many(self, vectors: np.ndarray, k: int,
                   collections: list[str] | None = None) -> list[list[tuple[int, float]]]:
        ids, unit, labels = self._current()
        if collections is not None:
            keep = np.isin(labels, list(collections))
            ids, unit = ids[keep], unit[keep]
        if not len(ids):
            return [[] for _ in vectors]
        similarities = _unit(vectors) @ unit.T
        return [[(int(ids[j]), float(row[j])) for j in _best(row, k)] for row in similarities]

    def _current(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        changes = self.catalog.changes()
        with self._lock:
            if changes != self._seen:
                ids, matrix, labels = self.catalog.every_vector()
                self._rows, self._seen = (ids, _unit(matrix), labels), changes
            return self._rows


def _best(similarities: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest, largest first (a partition first: a full sort of 20,000
    took 1.7 ms)."""
    if k < len(similarities):
        top = np.argpartition(-similarities, k - 1)[:k]
        return top[np.argsort(-similarities[top], kind="stable")]
    return np.argsort(-similarities, kind="stable")


def _unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (the catalog's float16 vectors are off by ~1e-4)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1, norms)
