"""The catalog: the source of truth for what is indexed, behind one interface.

It holds documents, their chunks with offsets and vectors, and a keyword index over the
chunk text, all changed in one transaction per batch of documents, so a crash at any
moment leaves every committed document whole. The vector store is derived from it: each
chunk has a vector id that is never reused, and the same transaction journals which
vector ids the store must add or delete (`vector_journal`); the writer applies the journal
after the commit, and the next writer replays whatever a crash left in it. Every commit
bumps the `changes` counter, so a reader in another process (or on another host) knows to
catch up.

Two backends run the SQL written here ("?" placeholders, the column "end" quoted): SQLite,
one file per generation under RAG_HOME, the embedded default (index/catalog/sqlite.py), and
PostgreSQL, one schema per generation in the database RAG_DATABASE_URL names, which replicas
on several hosts share (index/catalog/postgres.py). Each supplies its connections, its
tables, and its keyword index; `Catalogs` is where a backend keeps its generations, which
one is live, and the write lock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index import failpoints
from index.vectors.embedder import SentenceVectors
from index.errors import NeedsMigrationError

# Each chunk's vector is stored as float16 and read back as float32. The vector store is
# only ever given the catalog's vector (the journal adds from here), so a vector re-added
# from the catalog is still bit-identical to the one first added. Exact search over the
# rounded vectors found the same top 10 as over float32 for every bench question at 10k, and
# ClapNQ's and SQuAD's retrieval figures did not move (docs/benchmarks.md).
VECTOR_DTYPE = np.float16
# Sentence vectors as int8, each row with its own float32 scale (its largest |value| / 127):
# a chunk's ~7 take 2.7 KB instead of 5.4 as float16 (docs/benchmarks.md: the catalog went
# from 10.2 to 6.1 MB per 1,000 chunks with the float16 chunk vectors, answers unchanged).
SENTENCE_SCALE_DTYPE = np.float32
# 2: vectors live here; 3: sentence vectors too; 4: each chunk's location ("slide 3");
# 5: vectors as float16, sentence vectors as int8 (`VECTOR_FORMAT`); 6: each document's
# collection (index/collections.py), in the vectors' metadata too; 7: no copy of a chunk's
# text beside its document's (SQLite's keyword index kept one, PostgreSQL `chunks.text`:
# `compact_keywords`).
SCHEMA_VERSION = "7"
DEFAULT_COLLECTION = "default"
# Recorded in meta when the vectors are stored as schema 5 stores them; a catalog without it
# holds schema 4's float32 vectors and float16 sentence vectors until `compact_vectors`.
VECTOR_FORMAT = "float16 vectors, int8 sentence vectors"

# The tables both backends create alike (the chunks and keyword tables differ).
SHARED_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL,
    chunks INTEGER NOT NULL
);
"""

# Words too common to rank anything; dropping them keeps OR queries fast on large indexes.
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how
    i if in into is it its me my of on or our she he so than that the their them then there
    these they this to was we were what when where which who whom whose why will with would
    you your""".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class StoredChunk:
    id: str
    vector_id: int
    source: str
    chunk: int
    start: int
    end: int
    page: int | None
    sha256: str
    text: str
    location: str | None = None  # how a citation names where it is ("slide 3"); None: nowhere finer
    # Copies of a text share the hash of what the model reads (`Embedder.input_keys`):
    # retrieval cites the copy in the most specific document, sized by its chunk count.
    text_hash: str | None = None
    document_chunks: int = 1
    collection: str = DEFAULT_COLLECTION


@dataclass(frozen=True)
class NewChunk:
    id: str
    chunk: int
    start: int
    end: int
    page: int | None
    text: str
    text_hash: str
    vector: np.ndarray
    sentences: SentenceVectors | None = None
    location: str | None = None


@dataclass(frozen=True)
class Journal:
    """What the vector store still has to do for committed changes."""

    adds: list[int]
    deletes: list[int]

    @property
    def ids(self) -> list[int]:
        return self.adds + self.deletes


class Catalog:
    """One generation's catalog. A backend sets `name` (what identifies this catalog to every
    process) and `where` (for messages), and implements the hooks at the end."""

    name: str
    where: str
    # The chunk's collection, as the chunk lookups filter by it.
    CHUNK_COLLECTION = "c.collection"

    def __init__(self, readonly: bool = False):
        if not readonly:
            self._create()
            if self.get_meta("schema") is None and not self.chunk_count():
                with self._transaction():
                    self._set_meta("schema", SCHEMA_VERSION)
                    self._set_meta("vector_format", VECTOR_FORMAT)
        elif self.get_meta("schema") != SCHEMA_VERSION:
            raise NeedsMigrationError(
                f"the index {self.where} was built by an older version: run `rag check --repair` "
                "(or any `rag ingest`) once to migrate it"
            )

    @property
    def needs_migration(self) -> bool:
        return self.get_meta("schema") != SCHEMA_VERSION

    # -- metadata -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction():
            self._set_meta(key, value)

    def _set_meta(self, key: str, value: str) -> None:
        self._execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                      (key, value))

    def changes(self) -> int:
        """How many commits changed what is indexed: a reader that saw another number
        must catch up."""
        return int(self.get_meta("changes") or 0)

    def _bump_changes(self) -> None:
        self._set_meta("changes", str(self.changes() + 1))

    def _new_vector_ids(self, n: int) -> range:
        first = int(self.get_meta("next_vector_id") or 1)
        self._set_meta("next_vector_id", str(first + n))
        return range(first, first + n)

    # -- reads ----------------------------------------------------------------------
    def documents(self, collections: list[str] | None = None) -> dict[str, str]:
        """source -> sha256 of every indexed document (of these collections; None: all)."""
        where, params = in_collections(collections, "collection")
        return dict(self._execute(f"SELECT source, sha256 FROM documents WHERE {where}", params).fetchall())

    def document_collections(self) -> dict[str, str]:
        """source -> the collection of every indexed document."""
        return dict(self._execute("SELECT source, collection FROM documents").fetchall())

    def collection_sizes(self) -> dict[str, tuple[int, int]]:
        """collection -> (documents, chunks) of every collection that holds a document."""
        rows = self._execute("SELECT collection, count(*), coalesce(sum(chunks), 0) FROM documents"
                             " GROUP BY collection ORDER BY collection").fetchall()
        return {name: (int(documents), int(chunks)) for name, documents, chunks in rows}

    def document_text(self, source: str, collections: list[str] | None = None) -> str | None:
        where, params = in_collections(collections, "collection")
        row = self._execute(f"SELECT text FROM documents WHERE source = ? AND {where}",
                            [source, *params]).fetchone()
        return row[0] if row else None

    def chunk_count(self) -> int:
        return self._execute("SELECT count(*) FROM chunks").fetchone()[0]

    def chunk_ids(self, sources: list[str] | None = None) -> list[str]:
        if sources is None:
            return [r[0] for r in self._execute("SELECT id FROM chunks").fetchall()]
        return [
            r[0]
            for batch in _batches(sources)
            for r in self._execute(f"SELECT id FROM chunks WHERE source IN ({marks(batch)})", batch).fetchall()
        ]

    def chunks(self, ids: list[str]) -> dict[str, StoredChunk]:
        """Chunks by their id (source, version and position)."""
        return {c.id: c for c in self._chunks("id", ids)}

    def chunks_by_vector(self, vector_ids: list[int], collections: list[str] | None = None) -> dict[int, StoredChunk]:
        """Chunks by vector id: what the vector store and the keyword search return (those of
        these collections; None: all)."""
        return {c.vector_id: c for c in self._chunks("vector_id", vector_ids, collections)}

    def copies(self, text_hashes: list[str], limit: int, collections: list[str] | None = None) -> list[StoredChunk]:
        """Chunks of these text hashes under any path (in these collections; None: all),
        those of the shortest documents first, at most `limit` (a text on every page, a
        footer, costs no more)."""
        allowed, params = in_collections(collections, self.CHUNK_COLLECTION)
        rows = self._execute(self._select_chunks(f"c.text_hash IN ({marks(text_hashes)}) AND {allowed}")
                             + " ORDER BY d.chunks, c.source, c.chunk LIMIT ?",
                             [*text_hashes, *params, limit]).fetchall()
        return self._stored_chunks(rows)

    def _chunks(self, column: str, keys: list, collections: list[str] | None = None) -> list[StoredChunk]:
        rows = []
        allowed, params = in_collections(collections, self.CHUNK_COLLECTION)
        for batch in _batches(keys):
            rows += self._execute(self._select_chunks(f"c.{column} IN ({marks(batch)}) AND {allowed}"),
                                  [*batch, *params]).fetchall()
        return self._stored_chunks(rows)

    def _select_chunks(self, condition: str) -> str:
        """The SELECT of StoredChunk's columns but the text from the chunks where `condition` holds."""
        return ('SELECT c.id, c.vector_id, c.source, c.chunk, c.start, c."end", c.page, c.sha256,'
                " c.location, c.text_hash, d.chunks, c.collection"
                f" FROM chunks c JOIN documents d ON d.source = c.source WHERE {condition}")

    def _stored_chunks(self, rows: list) -> list[StoredChunk]:
        """`_select_chunks`' rows as StoredChunks, each text a slice of its document's, which
        is read once: no other copy is kept (schema 7), and slicing the document in SQL for
        each chunk read all of it each time (30 chunks of a 4 MB document: 130 ms). A chunk
        whose document another process replaced or removed between the two reads (its
        version, sha256, is not the chunk's) is left out, as a read after that commit would."""
        documents = self._document_texts({row[2] for row in rows})
        return [StoredChunk(*row[:8], documents[row[2]][1][row[4]:row[5]], *row[8:]) for row in rows
                if documents.get(row[2], (None,))[0] == row[7]]

    def _document_texts(self, sources) -> dict[str, tuple[str, str]]:
        """source -> (sha256, text) of these documents."""
        found = {}
        for batch in _batches(sorted(sources)):
            rows = self._execute(f"SELECT source, sha256, text FROM documents WHERE source IN ({marks(batch)})",
                                 batch).fetchall()
            found.update((source, (sha256, text)) for source, sha256, text in rows)
        return found

    def vector_ids(self) -> list[int]:
        return [r[0] for r in self._execute("SELECT vector_id FROM chunks ORDER BY vector_id").fetchall()]

    def vectors(self, vector_ids: list[int]) -> tuple[list[int], np.ndarray]:
        """The stored vectors of those ids that exist, as (ids, one row each)."""
        found, rows = [], []
        for batch in _batches(vector_ids):
            for vector_id, blob in self._execute(
                f"SELECT vector_id, vector FROM chunks WHERE vector_id IN ({marks(batch)})", batch
            ).fetchall():
                found.append(vector_id)
                rows.append(_unblob(blob))
        return found, np.stack(rows) if rows else np.empty((0, 0), dtype=np.float32)

    def vector_collections(self, vector_ids: list[int]) -> dict[int, str]:
        """vector id -> the collection of its chunk: what the vector store keeps beside it."""
        found = {}
        for batch in _batches(vector_ids):
            found.update(self._execute(
                f"SELECT vector_id, collection FROM chunks WHERE vector_id IN ({marks(batch)})", batch).fetchall())
        return found

    def all_vectors(self, batch: int) -> Iterator[tuple[list[int], np.ndarray]]:
        """Every stored vector in batches of (ids, matrix), in vector id order."""
        after = 0
        while True:
            rows = self._execute(
                "SELECT vector_id, vector FROM chunks WHERE vector_id > ? ORDER BY vector_id LIMIT ?",
                (after, batch),
            ).fetchall()
            if not rows:
                return
            yield [r[0] for r in rows], np.stack([_unblob(r[1]) for r in rows])
            after = rows[-1][0]

    def every_vector(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every stored vector in one read: (vector ids, one row each, their collections).
        What an exact search scans (index/vectors/exact.py): one SELECT and one buffer is half
        the time of `all_vectors`' batches (67 against 110 ms for 20k vectors)."""
        rows = self._execute("SELECT vector_id, vector, collection FROM chunks WHERE vector IS NOT NULL").fetchall()
        if not rows:
            return np.empty(0, np.int64), np.empty((0, 0), np.float32), np.empty(0, str)
        matrix = np.frombuffer(b"".join(r[1] for r in rows), VECTOR_DTYPE).reshape(len(rows), -1)
        return (np.array([r[0] for r in rows], np.int64), matrix.astype(np.float32),
                np.array([r[2] for r in rows]))

    def vectors_by_text_hash(self, hashes: list[str]) -> dict[str, tuple[np.ndarray, SentenceVectors | None]]:
        """A stored vector and sentence vectors for each known text hash, to reuse instead
        of embedding again."""
        found = {}
        for batch in _batches(hashes):
            rows = self._execute(
                "SELECT text_hash, vector, sentence_spans, sentence_vectors FROM chunks WHERE rowid IN"
                f" (SELECT min(rowid) FROM chunks WHERE text_hash IN ({marks(batch)}) GROUP BY text_hash)",
                batch,
            ).fetchall()
            found.update((h, (_unblob(blob), _sentences(spans, vectors))) for h, blob, spans, vectors in rows)
        return found

    def sentence_vectors(self, source: str, start: int, end: int) -> dict[tuple[int, int], np.ndarray]:
        """The stored vectors of sentences inside source's text[start:end], by their offsets
        in the document; a sentence that two overlapping chunks hold comes from the first."""
        found: dict[tuple[int, int], np.ndarray] = {}
        rows = self._execute(
            "SELECT start, sentence_spans, sentence_vectors FROM chunks"
            ' WHERE source = ? AND start < ? AND "end" > ? AND sentence_vectors IS NOT NULL ORDER BY start',
            (source, end, start),
        ).fetchall()
        for chunk_start, spans, vectors in rows:
            sentences = _sentences(spans, vectors)
            for (s, e), vector in zip(sentences.spans + chunk_start, sentences.vectors):
                if start <= s and e <= end and vector.any():
                    found.setdefault((int(s), int(e)), vector)
        return found

    # -- the journal of vector store work --------------------------------------------
    def journal(self) -> Journal:
        rows = self._execute("SELECT vector_id, op FROM vector_journal").fetchall()
        return Journal([v for v, op in rows if op == "add"], [v for v, op in rows if op == "delete"])

    def clear_journal(self, vector_ids: list[int]) -> None:
        with self._transaction():
            for batch in _batches(vector_ids):
                self._execute(f"DELETE FROM vector_journal WHERE vector_id IN ({marks(batch)})", batch)

    def switch_vector_collection(self, name: str) -> None:
        """A rebuilt collection holds every committed vector: the journal is done."""
        with self._transaction():
            self._set_meta("vector_collection", name)
            self._execute("DELETE FROM vector_journal")
            self._bump_changes()

    # -- writes -------------------------------------------------------------------------
    def commit_documents(self, documents: list[tuple[object, list[NewChunk]]], removed: list[str],
                         collection: str = DEFAULT_COLLECTION) -> None:
        """Replace documents and remove others atomically, journaling the vector store's work.

        `documents` pairs an `index.formats.Document` with its new chunks, all put in `collection`.
        """
        replaced = [doc.source for doc, _ in documents]
        with self._transaction():
            self._journal_deletes(replaced + removed)
            self._delete_sources(replaced + removed)
            for doc, chunks in documents:
                self._insert_document(doc, chunks, collection)
            self._bump_changes()
            failpoints.reach("catalog-commit")

    def _journal_deletes(self, sources: list[str]) -> None:
        for batch in _batches(sources):
            self._execute(
                "INSERT INTO vector_journal (vector_id, op) SELECT vector_id, 'delete' FROM chunks"
                f" WHERE source IN ({marks(batch)}) ON CONFLICT (vector_id) DO UPDATE SET op = excluded.op",
                batch,
            )

    def _delete_sources(self, sources: list[str]) -> None:
        for batch in _batches(sources):
            listed = marks(batch)
            self._delete_keywords(batch)
            self._execute(f"DELETE FROM chunks WHERE source IN ({listed})", batch)
            self._execute(f"DELETE FROM documents WHERE source IN ({listed})", batch)

    def _insert_document(self, doc, chunks: list[NewChunk], collection: str) -> None:
        pages = json.dumps([[p.number, p.start, p.end] for p in doc.pages])
        self._execute(
            "INSERT INTO documents (source, sha256, text, pages, chunks, collection) VALUES (?, ?, ?, ?, ?, ?)",
            (doc.source, doc.sha256, doc.text, pages, len(chunks), collection),
        )
        for chunk, vector_id in zip(chunks, self._new_vector_ids(len(chunks))):
            spans, vectors = _sentence_blobs(chunk.sentences)
            rowid = self._execute(
                'INSERT INTO chunks (id, source, chunk, start, "end", page, sha256, text_hash, vector_id, vector,'
                " sentence_spans, sentence_vectors, location, collection)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING rowid",
                (chunk.id, doc.source, chunk.chunk, chunk.start, chunk.end, chunk.page, doc.sha256,
                 chunk.text_hash, vector_id, _blob(chunk.vector), spans, vectors, chunk.location, collection),
            ).fetchone()[0]
            self._index_keywords(rowid, doc.text[chunk.start:chunk.end])  # what a delete will give
            self._execute("INSERT INTO vector_journal VALUES (?, 'add')", (vector_id,))

    # -- migration from older versions -------------------------------------------------
    def legacy_chunks(self, batch: int) -> Iterator[list[StoredChunk]]:
        """Chunks with no vector yet (an index made before vectors lived here), in batches."""
        while True:
            ids = [r[0] for r in self._execute("SELECT id FROM chunks WHERE vector IS NULL LIMIT ?",
                                                (batch,)).fetchall()]
            if not ids:
                return
            yield list(self.chunks(ids).values())

    def store_legacy_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        with self._transaction():
            for (chunk_id, vector), vector_id in zip(vectors.items(), self._new_vector_ids(len(vectors))):
                self._execute("UPDATE chunks SET vector_id = ?, vector = ? WHERE id = ?",
                              (vector_id, _blob(vector), chunk_id))

    def chunks_without_sentences(self, batch: int) -> Iterator[list[StoredChunk]]:
        """Chunks with no sentence vectors (an index made before they were kept), in batches."""
        while True:
            ids = [r[0] for r in self._execute(
                "SELECT id FROM chunks WHERE sentence_vectors IS NULL LIMIT ?", (batch,)).fetchall()]
            if not ids:
                return
            yield list(self.chunks(ids).values())

    def store_sentence_vectors(self, sentences: dict[str, SentenceVectors]) -> None:
        with self._transaction():
            for chunk_id, vectors in sentences.items():
                self._execute("UPDATE chunks SET sentence_spans = ?, sentence_vectors = ? WHERE id = ?",
                              (*_sentence_blobs(vectors), chunk_id))

    def compact_vectors(self, batch: int) -> None:
        """Rewrite schema 4's float32 vectors and float16 sentence vectors as schema 5 keeps
        them, all in one transaction: a stop halfway leaves every row as it was, and
        `vector_format` says whether it is done (rows written later are compact already)."""
        if self.get_meta("vector_format") == VECTOR_FORMAT:
            return
        with self._transaction():
            after = 0
            while rows := self._execute(
                "SELECT rowid, vector, sentence_spans, sentence_vectors FROM chunks WHERE rowid > ?"
                " ORDER BY rowid LIMIT ?", (after, batch)).fetchall():
                for rowid, vector, spans, sentences in rows:
                    old = _sentences(spans, sentences, _float16_sentences)
                    self._execute("UPDATE chunks SET vector = ?, sentence_vectors = ? WHERE rowid = ?",
                                  (None if vector is None else _blob(np.frombuffer(vector, np.float32)),
                                   _sentence_blobs(old)[1], rowid))
                after = rows[-1][0]
            self._set_meta("vector_format", VECTOR_FORMAT)

    def compact_keywords(self) -> None:
        """An older catalog's keyword side in this version's form, in place: no copy of the
        chunks' text beside the documents'."""
        raise NotImplementedError

    def finish_migration(self) -> None:
        with self._transaction():
            self._execute("DROP TABLE IF EXISTS pending")
            self._set_meta("schema", SCHEMA_VERSION)
            self._bump_changes()

    # -- what a backend implements ---------------------------------------------------
    def _execute(self, sql: str, params: tuple | list = ()):
        """Run one statement written with "?" placeholders; the result has fetchone() and
        fetchall(). Inside `_transaction`, on the transaction's connection."""
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager:
        """Everything this thread executes inside commits together or not at all."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _create(self) -> None:
        """The tables, created or brought up to date (a writer opens the catalog)."""
        raise NotImplementedError

    def _index_keywords(self, rowid: int, text: str) -> None:
        """Make a new chunk's text searchable by keyword (inside the commit's transaction)."""
        raise NotImplementedError

    def _delete_keywords(self, sources: list[str]) -> None:
        """Drop the keyword rows of these sources' chunks, before the chunks go."""
        raise NotImplementedError

    def keyword_search(self, query: str, k: int, collections: list[str] | None = None) -> list[tuple[int, float]]:
        """BM25 over chunk text; returns (vector id, score) with higher scores better, of the
        chunks in these collections (None: all)."""
        raise NotImplementedError

    def keyword_problems(self) -> tuple[int, int]:
        """(chunks with no keyword row, keyword rows with no chunk)."""
        raise NotImplementedError

    def repair_keywords(self) -> None:
        """Keyword rows again from the documents' text: the chunk offsets say what each holds."""
        raise NotImplementedError


class Catalogs(Protocol):
    """Where a backend keeps an index's catalogs: one per generation, a pointer to the live
    one, and the lock that lets one writer at a time in."""

    where: str  # for messages: "in .rag", "in PostgreSQL at db:5432/rag"

    def live(self) -> str | None:
        """The live generation; None before anything was indexed."""
        ...
    def switch(self, generation: str) -> None:
        """Make this generation live, atomically."""
        ...
    def generations(self) -> list[str]: ...
    def open(self, generation: str, readonly: bool = False) -> Catalog: ...
    def drop(self, generation: str) -> None:
        """A generation's catalog, gone; it need not open."""
        ...
    def lock(self) -> AbstractContextManager:
        """Held while writing; a second writer gets IndexBusyError. A writer that dies
        releases it."""
        ...


def query_terms(query: str) -> list[str]:
    """The words of a question that can rank anything, each once, in order."""
    return [w for w in dict.fromkeys(_WORD.findall(query.lower())) if w not in STOPWORDS]


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=VECTOR_DTYPE).tobytes()


def _unblob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=VECTOR_DTYPE).astype(np.float32)


def _sentence_blobs(sentences: SentenceVectors | None) -> tuple[bytes | None, bytes | None]:
    if sentences is None:
        return None, None
    return (np.ascontiguousarray(sentences.spans, np.int32).tobytes(), quantized(sentences.vectors))


def _sentences(spans: bytes | None, vectors: bytes | None, decode=None) -> SentenceVectors | None:
    if spans is None or vectors is None:
        return None
    offsets = np.frombuffer(spans, np.int32).reshape(-1, 2)
    return SentenceVectors(offsets, (decode or dequantized)(vectors, len(offsets)))


def quantized(vectors: np.ndarray) -> bytes:
    """Rows of float vectors as int8, each scaled by its largest |value| / 127: the scales
    (float32), then the int8 rows. A zero row stays zero."""
    rows = np.asarray(vectors, np.float32)
    scales = (np.abs(rows).max(axis=1) / 127).astype(SENTENCE_SCALE_DTYPE)
    divisors = np.where(scales > 0, scales, 1)[:, None]
    return scales.tobytes() + np.round(rows / divisors).astype(np.int8).tobytes()


def dequantized(blob: bytes, rows: int) -> np.ndarray:
    """`quantized`'s rows back as float32."""
    scales = np.frombuffer(blob, SENTENCE_SCALE_DTYPE, count=rows)
    values = np.frombuffer(blob, np.int8, offset=scales.nbytes).reshape(rows, -1)
    return values.astype(np.float32) * scales[:, None]


def _float16_sentences(blob: bytes, rows: int) -> np.ndarray:
    """Sentence vectors as schema 4 stored them."""
    return np.frombuffer(blob, np.float16).reshape(rows, -1)


def in_collections(collections: list[str] | None, column: str) -> tuple[str, list[str]]:
    """The SQL condition (and its parameters) that `column` is one of these collections;
    None allows every one, an empty list none."""
    if collections is None:
        return "1 = 1", []
    if not collections:
        return "1 = 0", []
    return f"{column} IN ({marks(collections)})", list(collections)


def marks(batch: list) -> str:
    """The "?" placeholders of an IN list of these values."""
    return ",".join("?" * len(batch))


def _batches(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]
