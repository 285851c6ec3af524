"""An index: the catalog (the source of truth, vectors included; SQLite files or a
PostgreSQL database) plus the vector store derived from it, as one unit.

The catalogs name the live generation (`RAG_HOME/CURRENT`, or PostgreSQL's `rag_live`). A
rebuild writes a new generation beside the live one and switches to it atomically once it
is complete, so readers never see a half-built index and a failed rebuild loses nothing.
Within a generation the vector collection can be rebuilt from the catalog at any time (`rag
check --repair`); the catalog names the live collection, so a rebuild switches it in one
transaction too.
"""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index import failpoints
from index.catalog import Catalogs, StoredChunk
from index.catalog.durable import DURABLE_POOL_SIZE, SCHEMA_SUFFIX, SQLITE_FILE, Durable, SqliteDurable
from index.config import IndexConfig
from index.errors import (
    ModelMismatchError,
    NoIndexError,
    StoreError,
    VectorStoreError,
    VectorStoreUnavailable,
)
from index.vectors.exact import ExactBackend
from index.vectors.store import VectorBackend, VectorStore, connect

# Ids read back from the store on every writer open: with the counts, a cheap check that
# the store is the one the catalog expects (a full check is `rag check`).
SAMPLE = 64
# A vector counts as found by its own vector when it is among this many nearest with the
# best similarity: identical chunk texts (one file under two paths) share a vector. When
# more than this many share it, the k nearest being copies of it is enough.
OWN_VECTOR_K = 8


def tqdm(*args, **kwargs):
    """tqdm's progress bar, imported when a writer first shows one: ~29 ms of every process
    that reads the index (a cold `rag ask`, `python -X importtime`)."""
    from tqdm import tqdm as progress_bar

    return progress_bar(*args, **kwargs)


@dataclass
class CheckReport:
    chunks: int = 0
    vectors_missing: int = 0  # catalog chunks the store lacks, or holds with another vector
    # Stored as the catalog has them, but not returned first by a search with themselves:
    # the approximate (HNSW) search's misses, not damage. At 100k chunks ~0.2% (183-198);
    # 145 of 198 came back at k 2,000 and 53 at no k: nodes the graph does not reach. Found
    # by their words still; rebuilding the collection does not cure them, so they are no
    # reason to call the index unhealthy or to rebuild it.
    vectors_unreachable: int = 0
    vectors_stale: int = 0  # store ids no catalog chunk has
    keyword_missing: int = 0  # chunks with no keyword row
    keyword_stale: int = 0  # keyword rows with no chunk
    repaired: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not (self.vectors_missing or self.vectors_stale or self.keyword_missing
                    or self.keyword_stale or self.problems)

    def to_dict(self) -> dict:
        return {**asdict(self), "healthy": self.healthy}


@dataclass
class _Diff:
    """Where the store and the keyword rows differ from the catalog."""

    missing: set[int]
    stale: set[int]
    wrong: set[int]  # stored with another vector than the catalog's
    unreachable: set[int]  # stored right, but not found by their own vector
    unreadable: str | None
    keyword_missing: int
    keyword_stale: int


class Index:
    def __init__(self, catalogs: Catalogs, generation: str, backend: VectorBackend, readonly: bool = False):
        self.catalogs = catalogs
        self.generation = generation
        self.backend = backend
        self.catalog = catalogs.open(generation, readonly=readonly)
        self.vectors: VectorStore | None = None
        self._seen: int | None = None  # the `changes` count `_pending` was read at
        self._pending: tuple[list[int], np.ndarray] = ([], np.empty((0, 0), np.float32))
        self._pending_collections: dict[int, str] = {}
        if readonly:
            self.catch_up()
            return
        # A writer holds the lock and `writing` refreshed the client just before.
        self._own_writes_seen()
        if not self.catalog.needs_migration:
            name = self.catalog.get_meta("vector_collection")
            if name is None:
                name = self._new_collection_name()
                self.catalog.set_meta("vector_collection", name)
            self.vectors = backend.open(name, create=True)

    @property
    def model(self) -> str | None:
        """The label of the embedding model that built this index."""
        return self.catalog.get_meta("embed_model")

    def check_model(self, embedder, claim: bool = False) -> None:
        """Refuse an embedder other than the one that built the index; with claim, an
        empty index records this one."""
        recorded = self.catalog.get_meta("embed_model_fingerprint")
        if recorded is None:
            if claim:
                self.catalog.set_meta("embed_model", embedder.name)
                self.catalog.set_meta("embed_model_fingerprint", embedder.fingerprint)
            return
        if recorded != embedder.fingerprint:
            raise ModelMismatchError(
                f"this index was built with embedding model {self.model!r}, not "
                f"{embedder.name!r} ({embedder.path}): vectors from two models cannot be mixed. "
                "Use that model, or re-ingest with --rebuild."
            )

    # -- reading -------------------------------------------------------------------------
    def catch_up(self) -> None:
        """See every write committed so far by any process (one SELECT when nothing changed).

        The store's view is refreshed when another process wrote; vectors the catalog has
        committed but the store not yet received (a writer between its commit and its
        store calls, or one that died there) are searched exactly from the catalog."""
        changes = self.catalog.changes()
        if changes == self._seen:
            return
        key = self.catalog.name
        if self.backend.view.get(key) != changes:
            self.backend.refresh()
            self.backend.view[key] = changes
        name = self.catalog.get_meta("vector_collection")
        if name and (self.vectors is None or self.vectors.name != name):
            try:
                self.vectors = self.backend.open(name)
            except VectorStoreUnavailable:
                raise
            except VectorStoreError:
                self.vectors = None  # dense() says so; the keyword side still answers
        self._pending = self.catalog.vectors(self.catalog.journal().adds)
        self._pending_collections = self.catalog.vector_collections(self._pending[0])
        self._seen = changes

    # Reads take the document collections a reader may see: None for all, a list for those.
    def documents(self, collections: list[str] | None = None) -> list[str]:
        """The source of every indexed document."""
        return list(self.catalog.documents(collections))

    def document_text(self, source: str, collections: list[str] | None = None) -> str | None:
        """A document's whole text, as its offsets count it; None when it is not indexed
        (or not in these collections)."""
        return self.catalog.document_text(source, collections)

    def chunks(self, vector_ids: list[int], collections: list[str] | None = None) -> dict[int, StoredChunk]:
        """The chunks the catalog holds of these vector ids (what both searches return)."""
        return self.catalog.chunks_by_vector(vector_ids, collections)

    def copies(self, text_hashes: list[str], limit: int, collections: list[str] | None = None) -> list[StoredChunk]:
        """Chunks of these text hashes under any path (copies of a text), those of the
        shortest documents first, at most `limit`."""
        return self.catalog.copies(text_hashes, limit, collections) if text_hashes else []

    def sentence_vectors(self, spans: list[tuple[str, int, int]]) -> dict[tuple[str, int, int], np.ndarray]:
        """Stored vectors of the sentences inside these (source, start, end) spans, by each
        sentence's (source, start, end); sentences indexed without one are missing."""
        return {(source, *offsets): vector for source, start, end in spans
                for offsets, vector in self.catalog.sentence_vectors(source, start, end).items()}

    def keyword_search(self, query: str, k: int, collections: list[str] | None = None) -> list[tuple[int, float]]:
        """The k best chunks by BM25 as (vector id, score), best first."""
        return self.catalog.keyword_search(query, k, collections)

    def vector_search(self, vector: np.ndarray, k: int,
                      collections: list[str] | None = None) -> tuple[list[tuple[int, float]], str | None]:
        """The k nearest chunks as (vector id, cosine similarity), best first, and what went
        wrong when the store could not be searched (then only journaled vectors count)."""
        hits, problem = [], None
        try:
            hits = self._query_store(vector, k, collections)
        except VectorStoreError as exc:
            problem = str(exc)
        ids, matrix = self._pending
        if ids and collections is not None:
            keep = [j for j, i in enumerate(ids) if self._pending_collections.get(i) in collections]
            ids, matrix = [ids[j] for j in keep], matrix[keep]
        if ids:
            similarities = matrix @ vector
            hits += [(ids[j], float(similarities[j])) for j in np.argsort(-similarities)[:k]]
        best: dict[int, float] = {}
        for vector_id, similarity in hits:
            best[vector_id] = max(similarity, best.get(vector_id, -2.0))
        return sorted(best.items(), key=lambda pair: pair[1], reverse=True)[:k], problem

    def _query_store(self, vector: np.ndarray, k: int, collections: list[str] | None) -> list[tuple[int, float]]:
        if self.vectors is None:
            raise VectorStoreError(
                f"the vector collection {self.catalog.get_meta('vector_collection')!r} is missing "
                "from the vector store: run `rag check --repair`"
            )
        try:
            return self.vectors.query(vector, k, collections)
        except VectorStoreUnavailable:
            raise
        except VectorStoreError as exc:
            # Once more with a fresh view; what still fails needs a repair.
            self.backend.refresh()
            try:
                return self.vectors.query(vector, k, collections)
            except VectorStoreError:
                raise VectorStoreError(f"{exc}: run `rag check --repair`") from exc

    # -- writing -------------------------------------------------------------------------
    def apply_journal(self) -> None:
        """Bring the store in step with what the catalog committed (idempotent)."""
        journal = self.catalog.journal()
        self._add_from_catalog(journal.adds, "vectors-adding")
        self.vectors.delete(journal.deletes)
        self.catalog.clear_journal(journal.ids)
        self._own_writes_seen()

    def prepare(self, embedder: Callable[[], object] | None = None, progress: bool = False) -> None:
        """On every writer open: migrate an old index, finish what a crash left, and check
        counts and a sample of ids cheaply; repair from the catalog when anything is off.
        `embedder` gives the model, loaded only if a migration must embed vectors the old
        store lost."""
        self._finish_interrupted(embedder, progress)
        self.apply_journal()
        if not self._looks_consistent():
            self.repair(full=False, progress=progress)

    def _finish_interrupted(self, embedder, progress: bool) -> None:
        if self.catalog.needs_migration:
            self._migrate(embedder, progress)
        self._drop_leftover_collections()

    def check(self, full: bool = True, progress: bool = False) -> CheckReport:
        """Compare the store and the keyword rows with the catalog; with full, every
        chunk not found by its own vector must be stored as the catalog has it."""
        return self._check(full, progress)[0]

    def repair(self, full: bool = True, progress: bool = False,
               embedder: Callable[[], object] | None = None) -> CheckReport:
        """Check, then fix what was found from the catalog alone (nothing is embedded).
        The report describes the index as found; `repaired` says whether it was fixed."""
        self._finish_interrupted(embedder, progress)
        report, diff = self._check(full, progress)
        if report.healthy:
            self.apply_journal()  # vectors already in step: only the journal's record is left
            return report
        started = time.perf_counter()
        if diff.keyword_missing or diff.keyword_stale:
            self.catalog.repair_keywords()
        if diff.unreadable or diff.wrong or len(diff.missing) > self.catalog.chunk_count() // 2:
            self.rebuild_vectors(progress)
        else:
            self._add_from_catalog(sorted(diff.missing), "repair", progress)
            self.vectors.delete(sorted(diff.stale))
        self.catalog.clear_journal(self.catalog.journal().ids)
        self._own_writes_seen()
        report.repaired = True
        report.seconds = round(report.seconds + time.perf_counter() - started, 3)
        return report

    def _check(self, full: bool, progress: bool) -> tuple[CheckReport, _Diff]:
        started = time.perf_counter()
        diff = self._diff(full, progress)
        problems = [f"the vector store cannot be read: {diff.unreadable}"] if diff.unreadable else []
        report = CheckReport(
            chunks=self.catalog.chunk_count(),
            vectors_missing=len(diff.missing | diff.wrong),
            vectors_unreachable=len(diff.unreachable),
            vectors_stale=len(diff.stale),
            keyword_missing=diff.keyword_missing,
            keyword_stale=diff.keyword_stale,
            problems=problems,
            seconds=round(time.perf_counter() - started, 3),
        )
        return report, diff

    def rebuild_vectors(self, progress: bool = False) -> None:
        """A new collection from the catalog's vectors, switched to in one transaction;
        a crash before the switch leaves the old one live and the new one to clean up."""
        new = self.backend.open(self._new_collection_name(), create=True)
        with tqdm(total=self.catalog.chunk_count(), desc="Rebuilding vectors", unit="chunk",
                  disable=not progress) as bar:
            for ids, vectors in self.catalog.all_vectors(self.backend.batch):
                new.add(ids, vectors, self._collections_of(ids))
                bar.update(len(ids))
                failpoints.reach("rebuild")
        self.catalog.switch_vector_collection(new.name)
        old, self.vectors = self.vectors, new
        self._own_writes_seen()
        if old is not None:
            try:
                old.drop()
            except VectorStoreError:
                pass  # the next writer drops it
        self._drop_leftover_collections()

    def _add_from_catalog(self, ids: list[int], failpoint: str, progress: bool = False) -> None:
        """The catalog's vectors of these ids into the store, a batch at a time (ids the
        catalog no longer holds are skipped); `failpoint` is reached after each batch."""
        with tqdm(total=len(ids), desc="Adding vectors", unit="chunk", disable=not progress) as bar:
            for start in range(0, len(ids), self.backend.batch):
                found, vectors = self.catalog.vectors(ids[start : start + self.backend.batch])
                if found:
                    self.vectors.add(found, vectors, self._collections_of(found))
                bar.update(len(found))
                failpoints.reach(failpoint)

    def _collections_of(self, vector_ids: list[int]) -> list[str]:
        """The document collection of each vector, as the catalog says: the store keeps it
        beside the vector to filter searches."""
        labels = self.catalog.vector_collections(vector_ids)
        return [labels[i] for i in vector_ids]

    def _looks_consistent(self) -> bool:
        try:
            if self.vectors.count() != self.catalog.chunk_count():
                return False
            ids = self.catalog.vector_ids()
            sample = random.sample(ids, min(SAMPLE, len(ids)))
            return self.vectors.has(sample) == set(sample)
        except VectorStoreUnavailable:
            raise
        except VectorStoreError:
            return False

    def _diff(self, full: bool, progress: bool) -> _Diff:
        catalog_labels = self.catalog.vector_collections(self.catalog.vector_ids())
        catalog_ids = set(catalog_labels)
        keyword_missing, keyword_stale = self.catalog.keyword_problems()
        try:
            if self.vectors is None:
                raise VectorStoreError("the vector collection named in the catalog is missing")
            labels = self.vectors.labels()
            stored = set(labels)
            unfound = self._unfound(catalog_ids & stored, progress) if full else set()
            wrong = self._stored_otherwise(unfound)
        except VectorStoreUnavailable:
            raise
        except VectorStoreError as exc:
            return _Diff(catalog_ids, set(), set(), set(), str(exc), keyword_missing, keyword_stale)
        # A vector stored with another collection than the catalog's counts as missing: it
        # is added again with the catalog's (a search filtered by collection must trust it).
        mislabelled = {i for i in catalog_ids & stored if labels[i] != catalog_labels[i]}
        return _Diff((catalog_ids - stored) | mislabelled, stored - catalog_ids, wrong, unfound - wrong, None,
                     keyword_missing, keyword_stale)

    def _unfound(self, present: set[int], progress: bool) -> set[int]:
        """Stored vectors that a query with the vector itself does not return first."""
        unfound = set()
        k = min(OWN_VECTOR_K, len(present))
        with tqdm(total=len(present), desc="Checking vectors", unit="chunk", disable=not progress) as bar:
            for ids, vectors in self.catalog.all_vectors(256):
                keep = [j for j, i in enumerate(ids) if i in present]
                for j, hits in zip(keep, self.vectors.query_many(vectors[keep], k) if keep else []):
                    top = hits[0][1] if hits else -2.0
                    best = [i for i, s in hits if s >= top - 1e-5]
                    # k hits all at similarity 1 are copies of this very vector, more of them
                    # than were asked for: any k may come back (retrieval finds the rest by text).
                    if ids[j] not in best and not (len(best) == k and top >= 1 - 1e-5):
                        unfound.add(ids[j])
                bar.update(len(ids))
        return unfound

    def _stored_otherwise(self, ids: set[int]) -> set[int]:
        """Of these, the ids whose stored vector is not the catalog's (the store keeps the
        catalog's float16 values as float32, so equal means equal)."""
        if not ids:
            return set()
        ordered, catalog_vectors = self.catalog.vectors(sorted(ids))
        stored = self.vectors.vectors(ordered)
        return {i for i, vector in zip(ordered, catalog_vectors)
                if i not in stored or not np.allclose(stored[i], vector, atol=1e-6)}

    def _migrate(self, embedder, progress: bool) -> None:
        """An index made by an older version. One from before vectors lived in the catalog:
        copy each chunk's vector from the old collection (embedding again only what it
        cannot give). One from before schema 3: pool each chunk's sentence vectors. Schemas
        3 to 5 lacked only columns, which the writer's open added (locations; collections,
        all `default`), schema 4 the compact vectors, rewritten first (what is added
        after is compact already), and every one before 7 a keyword index that kept its own
        copy of the text, rebuilt without. Then the vectors are built anew from the catalog,
        each with its collection beside it (nothing is embedded), before the migration counts as
        done, so that the store holds what the catalog would re-add. Nothing is lost if this
        stops halfway: it resumes."""
        schema = self.catalog.get_meta("schema")
        model = functools.cache(embedder or _default_embedder)
        self.catalog.compact_vectors(self.backend.batch)
        self.catalog.compact_keywords()
        if schema is None:
            self._copy_legacy_vectors(model, progress)
        if schema in (None, "2"):
            self._pool_sentence_vectors(model, progress)
        self.rebuild_vectors(progress)
        self.catalog.finish_migration()

    def _copy_legacy_vectors(self, model: Callable[[], object], progress: bool) -> None:
        legacy = f"rag-{self.generation}"
        total = self.catalog.chunk_count()
        with tqdm(total=total, desc="Migrating vectors", unit="chunk", disable=not progress) as bar:
            for chunks in self.catalog.legacy_chunks(self.backend.batch):
                found = self.backend.legacy_vectors(legacy, [c.id for c in chunks])
                lost = [c for c in chunks if c.id not in found]
                if lost:
                    found.update(zip([c.id for c in lost], model().embed([c.text for c in lost])))
                self.catalog.store_legacy_vectors({c.id: found[c.id] for c in chunks})
                bar.update(len(chunks))

    def _pool_sentence_vectors(self, model: Callable[[], object], progress: bool) -> None:
        """Sentence vectors for chunks indexed without them: a forward pass of each chunk
        (ingest's cost once more). Models the torch encoder cannot pool keep none."""
        if not model().pools_sentences:
            return
        with tqdm(total=self.catalog.chunk_count(), desc="Pooling sentence vectors", unit="chunk",
                  disable=not progress) as bar:
            for chunks in self.catalog.chunks_without_sentences(self.backend.batch):
                _, sentences = model().embed_chunks([c.text for c in chunks])
                self.catalog.store_sentence_vectors({c.id: v for c, v in zip(chunks, sentences)})
                bar.update(len(chunks))

    def _drop_leftover_collections(self) -> None:
        """Collections of this generation that are not the live one: what a rebuild that
        died, or the migrated old collection, left behind."""
        live = self.catalog.get_meta("vector_collection")
        for name in _collections_of(self.backend, self.generation):
            if name != live:
                self.backend.drop(name)

    def _new_collection_name(self) -> str:
        return f"rag-{self.generation}-{uuid.uuid4().hex[:8]}"

    def _own_writes_seen(self) -> None:
        """This process's client saw its own writes: no refresh needed for them."""
        self.backend.view[self.catalog.name] = self.catalog.changes()

    # -- lifetime ------------------------------------------------------------------------
    def drop(self) -> None:
        self.catalog.close()
        _drop_generation(self.catalogs, self.backend, self.generation)

    def close(self) -> None:
        self.catalog.close()
        self.backend.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drop_generation(catalogs: Catalogs, backend: VectorBackend, generation: str) -> None:
    """A generation's collections and catalog, gone; its catalog need not open."""
    for name in _collections_of(backend, generation):
        backend.drop(name)
    catalogs.drop(generation)


def _collections_of(backend: VectorBackend, generation: str) -> list[str]:
    legacy = f"rag-{generation}"
    return [n for n in backend.names() if n == legacy or n.startswith(legacy + "-")]


def _default_embedder(model: str | None = None, precision: str = "auto"):
    from index.vectors.embedder import load_embedder

    return load_embedder(model, precision)


def open_catalogs(config: IndexConfig) -> Catalogs:
    """Where the config's catalogs live: PostgreSQL when it names a database, else SQLite
    files under its home (psycopg is imported only then)."""
    if config.database_url:
        try:
            from index.catalog.postgres import postgres_catalogs
        except ImportError as exc:
            raise StoreError(f"RAG_DATABASE_URL needs psycopg, which is not installed ({exc.name}): "
                             "pip install 'rag-chat[postgres]'") from exc
        return postgres_catalogs(config.database_url, config.database_prefix)
    from index.catalog.sqlite import SqliteCatalogs

    return SqliteCatalogs(config.home)


def open_durable(config: IndexConfig) -> Durable:
    """The tables of the config's index that outlive its generations (grants, saved
    conversations, the team's accounts, sessions, tokens, failed logins and audit log): in
    PostgreSQL when it names a database, else a SQLite file under its home; created when
    missing."""
    if config.database_url:
        open_catalogs(config)  # the same message when psycopg is missing
        return _postgres_durable(config.database_url, config.database_prefix)
    return _sqlite_durable(str(config.home.resolve() / SQLITE_FILE))


@functools.cache
def _postgres_durable(url: str, prefix: str) -> Durable:
    """One per database and prefix in a process (its connections are kept)."""
    from index.catalog.postgres import PostgresDurable

    return _created(PostgresDurable(url, f"{prefix}_{SCHEMA_SUFFIX}", DURABLE_POOL_SIZE))


@functools.cache
def _sqlite_durable(path: str) -> Durable:
    return _created(SqliteDurable(Path(path)))


def _created(db: Durable) -> Durable:
    db.create_tables()
    return db


def current_generation(config: IndexConfig) -> str | None:
    return open_catalogs(config).live()


def open_index(config: IndexConfig, exact_below: int = 0) -> Index:
    """Open the live index for reading. A process that only asks questions may give
    `exact_below`: a local index (SQLite catalog, embedded Chroma) of fewer chunks is then
    searched exactly over the catalog's vectors, without Chroma (index/vectors/exact.py)."""
    catalogs = open_catalogs(config)
    generation = catalogs.live()
    if generation is None:
        raise NoIndexError(f"no index {catalogs.where}: run `rag ingest` first")
    return Index(catalogs, generation, _reading_backend(config, catalogs, generation, exact_below), readonly=True)


def _reading_backend(config: IndexConfig, catalogs: Catalogs, generation: str, exact_below: int) -> VectorBackend:
    """Chroma, or exact search when the index is local and has fewer than `exact_below`
    chunks (measured only on SQLite: a server or PostgreSQL keeps its store)."""
    if exact_below and not (config.chroma_host or config.database_url):
        catalog = catalogs.open(generation, readonly=True)
        if catalog.chunk_count() < exact_below:
            return ExactBackend(catalog)
        catalog.close()
    return connect(config)


def check_index(config: IndexConfig, *, repair: bool = False, progress: bool = False) -> CheckReport:
    """Verify the whole live index (`rag check`); with repair, fix it from the catalog and
    migrate one made by an older version. Holds the write lock: a check needs a still index."""
    catalogs = open_catalogs(config)
    if catalogs.live() is None:
        raise NoIndexError(f"no index {catalogs.where}: run `rag ingest` first")
    if repair:
        with writing(config, progress=progress, prepare=False) as index:
            return index.repair(full=True, progress=progress,
                                embedder=lambda: _default_embedder(config.embed_model, config.embed_precision))
    with catalogs.lock(), open_index(config) as index:
        return index.check(full=True, progress=progress)


@contextmanager
def writing(config: IndexConfig, rebuild: bool = False, embedder: Callable[[], object] | None = None,
            progress: bool = False, prepare: bool = True):
    """Open the index for writing under an exclusive lock; yields the Index to write into,
    with prepare already checked against its catalog (see `Index.prepare`).

    With rebuild, a fresh generation is written and made live only when the block succeeds.
    """
    home = config.home
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the index folder {home}: {exc.strerror or exc}") from exc
    catalogs = open_catalogs(config)
    with catalogs.lock():
        backend = connect(config)
        backend.refresh()  # see everything other processes wrote
        live = catalogs.live()
        generation = live if live and not rebuild else uuid.uuid4().hex[:12]
        _remove_stale_generations(catalogs, backend, keep={live, generation})
        index = Index(catalogs, generation, backend)
        try:
            if prepare:
                index.prepare(embedder, progress)
            yield index
        except BaseException:
            if generation != live:
                index.drop()
            else:
                index.close()
            raise
        if generation != live:
            catalogs.switch(generation)
            if live:
                _drop_generation(catalogs, backend, live)
        index.close()


def _remove_stale_generations(catalogs: Catalogs, backend: VectorBackend, keep: set) -> None:
    """Drop what an interrupted rebuild left: catalogs and collections not live."""
    for generation in catalogs.generations():
        if generation not in keep:
            _drop_generation(catalogs, backend, generation)
