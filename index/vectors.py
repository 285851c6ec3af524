"""Vectors in Chroma: embedded on disk by default, or a Chroma server when configured."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Exact-enough search: the defaults (ef_search 10) lose a third of the true neighbours on
# hard data; these settings trade a little build time for recall (see README, Benchmarks).
HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 200, "max_neighbors": 32}


def connect(home: Path, host: str | None = None, port: int | None = None):
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if host:
        return chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
    return chromadb.PersistentClient(path=str(home / "chroma"), settings=settings)


class Vectors:
    """One Chroma collection holding our own normalized embeddings (no embedding function)."""

    def __init__(self, client, name: str):
        self.client = client
        self.name = name
        # embedding_function=None: Chroma's default one downloads a model at first use.
        self.collection = client.get_or_create_collection(
            name, configuration={"hnsw": HNSW}, embedding_function=None
        )
        self.max_batch = client.get_max_batch_size()

    def upsert(self, ids: list[str], embeddings: np.ndarray, metadatas: list[dict]) -> None:
        for i in range(0, len(ids), self.max_batch):
            window = slice(i, i + self.max_batch)
            self.collection.upsert(
                ids=ids[window], embeddings=embeddings[window], metadatas=metadatas[window]
            )

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), self.max_batch):
            self.collection.delete(ids=ids[i : i + self.max_batch])

    def embeddings(self, ids: list[str]) -> dict[str, np.ndarray]:
        found = {}
        for i in range(0, len(ids), self.max_batch):
            got = self.collection.get(ids=ids[i : i + self.max_batch], include=["embeddings"])
            found.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
        return found

    def query(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Nearest chunks as (id, cosine similarity), best first."""
        k = min(k, self.count())
        if k == 0:
            return []
        result = self.collection.query(
            query_embeddings=[embedding], n_results=k, include=["distances"]
        )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0])]

    def count(self) -> int:
        return self.collection.count()

    def drop(self) -> None:
        self.client.delete_collection(self.name)
