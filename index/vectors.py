"""Vectors in Chroma: embedded on disk by default, or a Chroma server when configured."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from index.errors import VectorStoreUnavailable

# Exact-enough search: the defaults (ef_search 10) lose a third of the true neighbours on
# hard data. A denser graph is what recall needs: on 100k clustered chunks, 32 neighbours
# built with ef 200 found 0.73 of the exact top 10 (0.90 with ef_search 3200); 64 built with
# ef 400 find 0.99 at ef_search 200, ~3 ms a query (README, Benchmarks).
HNSW = {"space": "cosine", "ef_construction": 400, "ef_search": 200, "max_neighbors": 64}


def connect(home: Path, host: str | None = None, port: int | None = None):
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if host:
        with reachable(f"{host}:{port or 8000}"):
            return chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
    return chromadb.PersistentClient(path=str(home / "chroma"), settings=settings)


@contextmanager
def reachable(address: str):
    """Turn a server that does not answer into one clear error; the HTTP client reconnects
    by itself on the next call once the server is back."""
    import httpx

    try:
        yield
    except httpx.TransportError as exc:
        raise VectorStoreUnavailable(f"the Chroma server at {address} is not answering ({exc}); "
                                     "check that it is running, then try again") from exc
    except ValueError as exc:
        if "Could not connect" not in str(exc):
            raise
        raise VectorStoreUnavailable(f"the Chroma server at {address} is not answering; "
                                     "check that it is running, then try again") from exc


class Vectors:
    """One Chroma collection holding our own normalized embeddings (no embedding function)."""

    def __init__(self, client, name: str):
        self.client = client
        self.name = name
        settings = client.get_settings()
        host, port = settings.chroma_server_host, settings.chroma_server_http_port
        self.address = f"{host}:{port}" if host else "embedded"
        with reachable(self.address):
            # embedding_function=None: Chroma's default one downloads a model at first use.
            self.collection = client.get_or_create_collection(
                name, configuration={"hnsw": HNSW}, embedding_function=None
            )
            self.max_batch = client.get_max_batch_size()

    def upsert(self, ids: list[str], embeddings: np.ndarray, metadatas: list[dict]) -> None:
        with reachable(self.address):
            for i in range(0, len(ids), self.max_batch):
                window = slice(i, i + self.max_batch)
                self.collection.upsert(
                    ids=ids[window], embeddings=embeddings[window], metadatas=metadatas[window]
                )

    def delete(self, ids: list[str]) -> None:
        with reachable(self.address):
            for i in range(0, len(ids), self.max_batch):
                self.collection.delete(ids=ids[i : i + self.max_batch])

    def embeddings(self, ids: list[str]) -> dict[str, np.ndarray]:
        found = {}
        with reachable(self.address):
            for i in range(0, len(ids), self.max_batch):
                got = self.collection.get(ids=ids[i : i + self.max_batch], include=["embeddings"])
                found.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
        return found

    def query(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Nearest chunks as (id, cosine similarity), best first."""
        with reachable(self.address):
            # Asking for more than the collection holds returns what there is.
            result = self.collection.query(
                query_embeddings=[embedding], n_results=k, include=["distances"]
            )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0])]

    def count(self) -> int:
        with reachable(self.address):
            return self.collection.count()

    def drop(self) -> None:
        with reachable(self.address):
            self.client.delete_collection(self.name)
