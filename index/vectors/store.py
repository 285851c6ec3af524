"""Vector search, derived from the catalog: a store can be dropped and rebuilt at any time.

The catalog holds every chunk's vector; a `VectorStore` is one collection of them keyed by
the catalog's vector ids (integers, never reused), and a `VectorBackend` opens, lists and
refreshes collections. Chroma (embedded on disk, or a server) is the backend every index is
written to; index/vectors/exact.py reads a small local index's vectors from the catalog
instead, for questions (no chromadb import). Another is one new module implementing these
two protocols.

chromadb is imported inside the functions that use it: importing it costs ~0.9 s (measured
with `python -X importtime`), which what never opens a vector store (`rag --help`, `rag eval
--compare`, the tests of chunking and loading) need not pay; after the first call such an
import is a dict lookup.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

from index.config import IndexConfig
from index.errors import VectorStoreError, VectorStoreUnavailable

# Exact-enough search: the defaults (ef_search 10) lose a third of the true neighbours on
# hard data. A denser graph is what recall needs: on 100k clustered chunks, 32 neighbours
# built with ef 200 found 0.73 of the exact top 10 (0.90 with ef_search 3200); 64 built with
# ef 400 find 0.95-0.99, ~3 ms a query. The graph is built on several threads and each
# build's recall differs: at ef_search 200, 0.947-0.988 over 11 builds (one FULL bench run
# missed issue 28's 0.95); at 300, 0.978-0.996 over 6, for 0.1-0.4 ms more a query
# (bench/hnsw_recall.py). A collection keeps the setting it was created with.
HNSW = {"space": "cosine", "ef_construction": 400, "ef_search": 300, "max_neighbors": 64}


class VectorStore(Protocol):
    """One collection of (vector id, unit vector, the document collection it belongs to);
    similarity is cosine. A query given document collections finds only their vectors."""

    name: str

    def add(self, ids: list[int], vectors: np.ndarray, collections: list[str]) -> None: ...
    def delete(self, ids: list[int]) -> None: ...
    def query(self, vector: np.ndarray, k: int, collections: list[str] | None = None) -> list[tuple[int, float]]: ...
    def query_many(self, vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]: ...
    def ids(self) -> set[int]: ...
    def labels(self) -> dict[int, str | None]:
        """vector id -> the document collection stored with it (None: none stored)."""
        ...
    def has(self, ids: list[int]) -> set[int]: ...
    def vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """vector id -> the vector stored under it, for those stored."""
        ...
    def count(self) -> int: ...
    def drop(self) -> None: ...


class VectorBackend(Protocol):
    address: str
    batch: int  # the most vectors one call takes
    # catalog path -> its `changes` count that this client's view holds every write of
    view: dict[str, int]

    def open(self, name: str, create: bool = False) -> VectorStore:
        """A collection; without create, one that does not exist is a VectorStoreError."""
        ...
    def names(self) -> list[str]: ...
    def drop(self, name: str) -> None: ...
    def refresh(self) -> None:
        """See every other process's committed writes from now on."""
        ...
    def close(self) -> None: ...


def connect(config: IndexConfig) -> VectorBackend:
    if config.chroma_host:
        return ChromaBackend.server(config.chroma_host, config.chroma_port)
    return ChromaBackend.embedded(config.home / "chroma")


@contextmanager
def reachable(address: str):
    """Turn Chroma's failures into our two errors: a server that does not answer (the HTTP
    client reconnects by itself once it is back), and anything else the store raises."""
    import httpx
    from chromadb.errors import ChromaError

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
    except (ChromaError, RuntimeError) as exc:
        raise VectorStoreError(f"the vector store ({address}) failed: {exc}") from exc


class ChromaBackend:
    """Chroma collections through one client.

    Embedded Chroma caches its segments per process ("thread-safe but not process-safe"):
    a client kept open does not see what another process writes afterwards (new ids fail
    with `Error finding id`, queries return only the old vectors). `refresh` closes this
    process's client for the folder and opens a new one, which reads the folder afresh
    (6 ms for 150 vectors; README, Benchmarks, for 100k). One lock per folder keeps a
    refresh from closing the client under a query in another thread.
    """

    _embedded: dict[str, "ChromaBackend"] = {}
    _registry_lock = threading.Lock()

    def __init__(self, make_client, address: str, folder: Path | None = None):
        self._make_client = make_client
        self.address = address
        self.folder = folder  # embedded only
        self.lock = threading.RLock()
        self.view: dict[str, int] = {}
        with reachable(address):
            self.client = make_client()
            self.batch = self.client.get_max_batch_size()

    @classmethod
    def embedded(cls, folder: Path) -> "ChromaBackend":
        """One backend per folder per process, shared, so a refresh reaches every user."""
        import chromadb

        key = str(folder.resolve())
        with cls._registry_lock:
            if key not in cls._embedded:
                cls._embedded[key] = cls(
                    lambda: chromadb.PersistentClient(path=key, settings=_settings()), "embedded",
                    Path(key),
                )
            return cls._embedded[key]

    @classmethod
    def server(cls, host: str, port: int) -> "ChromaBackend":
        import chromadb

        return cls(lambda: chromadb.HttpClient(host=host, port=port, settings=_settings()),
                   f"{host}:{port}")

    def open(self, name: str, create: bool = False) -> "ChromaStore":
        return ChromaStore(self, name, create)

    def names(self) -> list[str]:
        with self.lock, reachable(self.address):
            return [c.name for c in self.client.list_collections()]

    def drop(self, name: str) -> None:
        with self.lock, reachable(self.address):
            self.client.delete_collection(name)
            if self.folder:
                _remove_orphan_segments(self.folder)

    def legacy_vectors(self, name: str, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """Vectors an index made before this version kept only in Chroma, keyed by chunk id;
        what cannot be read (the collection gone or broken) is left out, to be embedded."""
        from chromadb.errors import ChromaError

        with self.lock, reachable(self.address):
            try:
                collection = self.client.get_collection(name, embedding_function=None)
                got = collection.get(ids=chunk_ids, include=["embeddings"])
            except ChromaError:
                return {}
        return dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))

    def refresh(self) -> None:
        if self.folder is None:
            return  # a server is one process: it sees every write
        with self.lock, reachable(self.address):
            self.client.close()
            self.client = self._make_client()
            self.view.clear()

    def close(self) -> None:
        """Embedded backends stay open for the process (they are shared); a server's client
        holds only connections."""
        if self.folder is None:
            self.client.close()


class ChromaStore:
    """One Chroma collection holding our own normalized vectors (no embedding function).

    The collection object is looked up at each call: after a refresh the old one belongs
    to a closed client."""

    def __init__(self, backend: ChromaBackend, name: str, create: bool):
        self.backend = backend
        self.name = name
        self._handle = (None, None)  # (client, collection)
        with backend.lock, reachable(backend.address):
            if create:
                # embedding_function=None: Chroma's default one downloads a model at first use.
                backend.client.get_or_create_collection(
                    name, configuration={"hnsw": HNSW}, embedding_function=None
                )
            self._collection()

    def _collection(self):
        client, collection = self._handle
        if client is not self.backend.client:
            collection = self.backend.client.get_collection(self.name, embedding_function=None)
            self._handle = (self.backend.client, collection)
        return collection

    @contextmanager
    def _using(self):
        with self.backend.lock, reachable(self.backend.address):
            yield self._collection()

    def _windows(self, n: int):
        """Slices of at most one call's worth of ids."""
        for start in range(0, n, self.backend.batch):
            yield slice(start, start + self.backend.batch)

    def add(self, ids: list[int], vectors: np.ndarray, collections: list[str]) -> None:
        # upsert: adding the same id with the same vector again (a journal replayed after
        # a crash) must not fail; ids are never reused for other content.
        for window in self._windows(len(ids)):
            with self._using() as collection:
                collection.upsert(ids=_names(ids[window]), embeddings=vectors[window],
                                  metadatas=[{"collection": c} for c in collections[window]])

    def delete(self, ids: list[int]) -> None:
        for window in self._windows(len(ids)):
            with self._using() as collection:
                collection.delete(ids=_names(ids[window]))

    def query(self, vector: np.ndarray, k: int, collections: list[str] | None = None) -> list[tuple[int, float]]:
        """Nearest vectors as (id, cosine similarity), best first, of those in these document
        collections (None: all)."""
        if collections is not None and not collections:
            return []
        return self.query_many(vector[None, :], k, collections)[0]

    def query_many(self, vectors: np.ndarray, k: int,
                   collections: list[str] | None = None) -> list[list[tuple[int, float]]]:
        where = {"collection": {"$in": list(collections)}} if collections is not None else None
        with self._using() as collection:
            # Asking for more than the collection holds returns what there is.
            result = collection.query(query_embeddings=vectors, n_results=k, where=where, include=["distances"])
        return [[(int(i), 1.0 - d) for i, d in zip(ids, distances)]
                for ids, distances in zip(result["ids"], result["distances"])]

    def ids(self) -> set[int]:
        found: set[int] = set()
        offset = 0
        while True:
            with self._using() as collection:
                page = collection.get(include=[], limit=self.backend.batch, offset=offset)["ids"]
            found.update(int(i) for i in page)
            if len(page) < self.backend.batch:
                return found
            offset += len(page)

    def labels(self) -> dict[int, str | None]:
        found: dict[int, str | None] = {}
        offset = 0
        while True:
            with self._using() as collection:
                page = collection.get(include=["metadatas"], limit=self.backend.batch, offset=offset)
            found.update((int(i), (m or {}).get("collection")) for i, m in zip(page["ids"], page["metadatas"]))
            if len(page["ids"]) < self.backend.batch:
                return found
            offset += len(page["ids"])

    def has(self, ids: list[int]) -> set[int]:
        found: set[int] = set()
        for window in self._windows(len(ids)):
            with self._using() as collection:
                found.update(int(v) for v in collection.get(ids=_names(ids[window]), include=[])["ids"])
        return found

    def vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        found: dict[int, np.ndarray] = {}
        for window in self._windows(len(ids)):
            with self._using() as collection:
                got = collection.get(ids=_names(ids[window]), include=["embeddings"])
            found.update(zip((int(i) for i in got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)))
        return found

    def count(self) -> int:
        with self._using() as collection:
            return collection.count()

    def drop(self) -> None:
        self.backend.drop(self.name)


def _names(ids: list[int]) -> list[str]:
    """Chroma ids are strings."""
    return [str(i) for i in ids]


def _remove_orphan_segments(folder: Path) -> None:
    """Delete segment folders no collection owns any more. Embedded Chroma 1.5.9 keeps a
    dropped collection's files (chroma-core/chroma#5520): each rebuild of the vectors left a
    full copy behind (3.27 -> 5.41 MB per 1,000 chunks after one repair at 10k). Its own
    `segments` table lists the live ones; the writer lock keeps anyone from creating one now."""
    import sqlite3

    db = sqlite3.connect(f"file:{folder / 'chroma.sqlite3'}?mode=ro", uri=True)
    try:
        live = {row[0] for row in db.execute("SELECT id FROM segments")}
    finally:
        db.close()
    for path in folder.iterdir():
        if path.is_dir() and _is_uuid(path.name) and path.name not in live:
            shutil.rmtree(path, ignore_errors=True)


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)
