"""The catalog: one SQLite file that is the source of truth for what is indexed.

It holds documents, their chunks with offsets and vectors, and an FTS5 keyword index over
the chunk text, all changed in one transaction per batch of documents, so a crash at any
moment leaves every committed document whole. The vector store is derived from it: each
chunk has a vector id that is never reused, and the same transaction journals which
vector ids the store must add or delete (`vector_journal`); the writer applies the journal
after the commit, and the next writer replays whatever a crash left in it. Every commit
bumps the `changes` counter, so a reader in another process knows to catch up.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import failpoints
from index.embedding import SENTENCE_DTYPE, SentenceVectors
from index.errors import NeedsMigrationError

# float32, not float16: float16 halves the vectors' share of the file but a vector re-added
# from the catalog would then differ from the one first embedded (README, Benchmarks, for
# what float16 does to recall@10 and size).
VECTOR_DTYPE = np.float32
# 2: vectors live here; 3: sentence vectors too.
SCHEMA_VERSION = "3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL,
    chunks INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL REFERENCES documents(source) ON DELETE CASCADE,
    chunk INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    page INTEGER,
    sha256 TEXT NOT NULL,
    text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE INDEX IF NOT EXISTS chunks_text_hash ON chunks(text_hash);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS vector_journal (
    vector_id INTEGER PRIMARY KEY,
    op TEXT NOT NULL CHECK (op IN ('add', 'delete'))
);
"""
# Added to catalogs made before vectors lived here (and to new ones, the same way).
VECTOR_COLUMNS = """
ALTER TABLE chunks ADD COLUMN vector_id INTEGER;
ALTER TABLE chunks ADD COLUMN vector BLOB;
CREATE UNIQUE INDEX chunks_vector_id ON chunks(vector_id);
"""
# Added to catalogs made before sentence vectors were kept; their chunks stay NULL until the
# migration pools them (Index._migrate), and for models the torch encoder cannot pool: the
# extractive answerer embeds those sentences when asked.
SENTENCE_COLUMNS = """
ALTER TABLE chunks ADD COLUMN sentence_spans BLOB;
ALTER TABLE chunks ADD COLUMN sentence_vectors BLOB;
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


@dataclass(frozen=True)
class Journal:
    """What the vector store still has to do for committed changes."""

    adds: list[int]
    deletes: list[int]

    @property
    def ids(self) -> list[int]:
        return self.adds + self.deletes


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (sqlite3's own cannot)."""


class Catalog:
    """One catalog file. Each thread gets its own connection: the web chat answers on
    several threads at once, and a connection's statement cache is not safe to share
    between them (CPython issue 118172: wrong rows on 3.12 and 3.13)."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        self._uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self._local = threading.local()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        if not readonly:
            self.db.execute("PRAGMA journal_mode = WAL")
            self._create()
        elif self.get_meta("schema") != SCHEMA_VERSION:
            raise NeedsMigrationError(
                f"the index in {path.parent} was built by an older version: run `rag check --repair` "
                "(or any `rag ingest`) once to migrate it"
            )

    def _create(self) -> None:
        with self.db:
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(chunks)")}
            if "vector" not in columns:
                self.db.executescript(VECTOR_COLUMNS)
            if "sentence_vectors" not in columns:
                self.db.executescript(SENTENCE_COLUMNS)
            if self.get_meta("schema") is None and not self.chunk_count():
                self._set_meta("schema", SCHEMA_VERSION)

    @property
    def needs_migration(self) -> bool:
        return self.get_meta("schema") != SCHEMA_VERSION

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use and closed when the thread ends."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # check_same_thread off: close() closes every thread's connection from one thread.
            connection = sqlite3.connect(self._uri, uri=True, timeout=30, check_same_thread=False,
                                         factory=_Connection)
            connection.execute("PRAGMA foreign_keys = ON")
            self._local.connection = connection
            self._connections.add(connection)
            weakref.finalize(threading.current_thread(), connection.close)
        return connection

    def close(self) -> None:
        for connection in list(self._connections):
            connection.close()

    # -- metadata -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self._set_meta(key, value)

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

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
    def documents(self) -> dict[str, str]:
        """source -> sha256 of every indexed document."""
        return dict(self.db.execute("SELECT source, sha256 FROM documents"))

    def document_text(self, source: str) -> str | None:
        row = self.db.execute("SELECT text FROM documents WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def document_pages(self, source: str) -> list[dict]:
        row = self.db.execute("SELECT pages FROM documents WHERE source = ?", (source,)).fetchone()
        return json.loads(row[0]) if row else []

    def chunk_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def chunk_ids(self, sources: list[str] | None = None) -> list[str]:
        if sources is None:
            return [r[0] for r in self.db.execute("SELECT id FROM chunks")]
        return [
            r[0]
            for batch in _batches(sources)
            for r in self.db.execute(
                f"SELECT id FROM chunks WHERE source IN ({_marks(batch)})", batch
            )
        ]

    def chunks(self, ids: list[str]) -> dict[str, StoredChunk]:
        """Chunks by their id (source, version and position)."""
        return {c.id: c for c in self._chunks("id", ids)}

    def chunks_by_vector(self, vector_ids: list[int]) -> dict[int, StoredChunk]:
        """Chunks by vector id: what the vector store and the keyword search return."""
        return {c.vector_id: c for c in self._chunks("vector_id", vector_ids)}

    def _chunks(self, column: str, keys: list) -> list[StoredChunk]:
        found = []
        for batch in _batches(keys):
            rows = self.db.execute(
                "SELECT c.id, c.vector_id, c.source, c.chunk, c.start, c.end, c.page, c.sha256, f.text"
                " FROM chunks c JOIN chunks_fts f ON f.rowid = c.rowid"
                f" WHERE c.{column} IN ({_marks(batch)})",
                batch,
            )
            found.extend(StoredChunk(*row) for row in rows)
        return found

    def vector_ids(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT vector_id FROM chunks ORDER BY vector_id")]

    def vectors(self, vector_ids: list[int]) -> tuple[list[int], np.ndarray]:
        """The stored vectors of those ids that exist, as (ids, one row each)."""
        found, rows = [], []
        for batch in _batches(vector_ids):
            for vector_id, blob in self.db.execute(
                f"SELECT vector_id, vector FROM chunks WHERE vector_id IN ({_marks(batch)})", batch
            ):
                found.append(vector_id)
                rows.append(_unblob(blob))
        return found, np.stack(rows) if rows else np.empty((0, 0), dtype=VECTOR_DTYPE)

    def all_vectors(self, batch: int):
        """Every stored vector in batches of (ids, matrix), in vector id order."""
        after = 0
        while True:
            rows = self.db.execute(
                "SELECT vector_id, vector FROM chunks WHERE vector_id > ? ORDER BY vector_id LIMIT ?",
                (after, batch),
            ).fetchall()
            if not rows:
                return
            yield [r[0] for r in rows], np.stack([_unblob(r[1]) for r in rows])
            after = rows[-1][0]

    def vectors_by_text_hash(self, hashes: list[str]) -> dict[str, tuple[np.ndarray, SentenceVectors | None]]:
        """A stored vector and sentence vectors for each known text hash, to reuse instead
        of embedding again."""
        found = {}
        for batch in _batches(hashes):
            rows = self.db.execute(
                "SELECT text_hash, vector, sentence_spans, sentence_vectors FROM chunks"
                f" WHERE text_hash IN ({_marks(batch)}) GROUP BY text_hash",
                batch,
            )
            found.update((h, (_unblob(blob), _sentences(spans, vectors))) for h, blob, spans, vectors in rows)
        return found

    def sentence_vectors(self, source: str, start: int, end: int) -> dict[tuple[int, int], np.ndarray]:
        """The stored vectors of sentences inside source's text[start:end], by their offsets
        in the document; a sentence that two overlapping chunks hold comes from the first."""
        found: dict[tuple[int, int], np.ndarray] = {}
        rows = self.db.execute(
            "SELECT start, sentence_spans, sentence_vectors FROM chunks"
            " WHERE source = ? AND start < ? AND end > ? AND sentence_vectors IS NOT NULL ORDER BY start",
            (source, end, start),
        )
        for chunk_start, spans, vectors in rows:
            sentences = _sentences(spans, vectors)
            for (s, e), vector in zip(sentences.spans + chunk_start, sentences.vectors):
                if start <= s and e <= end and vector.any():
                    found.setdefault((int(s), int(e)), vector)
        return found

    def keyword_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """BM25 over chunk text; returns (vector id, score) with higher scores better."""
        terms = [w for w in dict.fromkeys(_WORD.findall(query.lower())) if w not in STOPWORDS]
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        # Rank inside FTS5, then join only the top k: joining every match first cost a
        # quarter of the query time at 100k chunks.
        rows = self.db.execute(
            "SELECT c.vector_id, s.score FROM (SELECT rowid, -bm25(chunks_fts) AS score FROM chunks_fts"
            " WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?) s"
            " JOIN chunks c ON c.rowid = s.rowid ORDER BY s.score DESC",
            (match, k),
        )
        return [(row[0], row[1]) for row in rows]

    # -- the journal of vector store work --------------------------------------------
    def journal(self) -> Journal:
        rows = self.db.execute("SELECT vector_id, op FROM vector_journal").fetchall()
        return Journal([v for v, op in rows if op == "add"], [v for v, op in rows if op == "delete"])

    def clear_journal(self, vector_ids: list[int]) -> None:
        with self.db:
            for batch in _batches(vector_ids):
                self.db.execute(f"DELETE FROM vector_journal WHERE vector_id IN ({_marks(batch)})", batch)

    def switch_vector_collection(self, name: str) -> None:
        """A rebuilt collection holds every committed vector: the journal is done."""
        with self.db:
            self._set_meta("vector_collection", name)
            self.db.execute("DELETE FROM vector_journal")
            self._bump_changes()

    # -- writes -------------------------------------------------------------------------
    def commit_documents(self, documents: list[tuple[object, list[NewChunk]]], removed: list[str]) -> None:
        """Replace documents and remove others atomically, journaling the vector store's work.

        `documents` pairs an `index.loaders.Document` with its new chunks.
        """
        replaced = [doc.source for doc, _ in documents]
        with self.db:
            self._journal_deletes(replaced + removed)
            self._delete_sources(replaced + removed)
            for doc, chunks in documents:
                self._insert_document(doc, chunks)
            self._bump_changes()
            failpoints.reach("catalog-commit")

    def _journal_deletes(self, sources: list[str]) -> None:
        for batch in _batches(sources):
            self.db.execute(
                "INSERT OR REPLACE INTO vector_journal SELECT vector_id, 'delete' FROM chunks"
                f" WHERE source IN ({_marks(batch)})",
                batch,
            )

    def _delete_sources(self, sources: list[str]) -> None:
        for batch in _batches(sources):
            marks = _marks(batch)
            self.db.execute(
                f"DELETE FROM chunks_fts WHERE rowid IN"
                f" (SELECT rowid FROM chunks WHERE source IN ({marks}))",
                batch,
            )
            self.db.execute(f"DELETE FROM chunks WHERE source IN ({marks})", batch)
            self.db.execute(f"DELETE FROM documents WHERE source IN ({marks})", batch)

    def _insert_document(self, doc, chunks: list[NewChunk]) -> None:
        pages = json.dumps([[p.number, p.start, p.end] for p in doc.pages])
        self.db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?)",
            (doc.source, doc.sha256, doc.text, pages, len(chunks)),
        )
        for chunk, vector_id in zip(chunks, self._new_vector_ids(len(chunks))):
            spans, vectors = _sentence_blobs(chunk.sentences)
            cursor = self.db.execute(
                "INSERT INTO chunks (id, source, chunk, start, end, page, sha256, text_hash, vector_id, vector,"
                " sentence_spans, sentence_vectors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (chunk.id, doc.source, chunk.chunk, chunk.start, chunk.end, chunk.page,
                 doc.sha256, chunk.text_hash, vector_id, _blob(chunk.vector), spans, vectors),
            )
            self.db.execute(
                "INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cursor.lastrowid, chunk.text)
            )
            self.db.execute("INSERT INTO vector_journal VALUES (?, 'add')", (vector_id,))

    # -- keyword side repair and migration ----------------------------------------------
    def keyword_problems(self) -> tuple[int, int]:
        """(chunks with no keyword row, keyword rows with no chunk)."""
        missing = self.db.execute(
            "SELECT count(*) FROM chunks c LEFT JOIN chunks_fts f ON f.rowid = c.rowid WHERE f.rowid IS NULL"
        ).fetchone()[0]
        stale = self.db.execute(
            "SELECT count(*) FROM chunks_fts f LEFT JOIN chunks c ON c.rowid = f.rowid WHERE c.rowid IS NULL"
        ).fetchone()[0]
        return missing, stale

    def repair_keywords(self) -> None:
        """Keyword rows again from the documents' text: the chunk offsets say what each holds."""
        with self.db:
            self.db.execute("DELETE FROM chunks_fts WHERE rowid NOT IN (SELECT rowid FROM chunks)")
            self.db.execute(
                "INSERT INTO chunks_fts (rowid, text) SELECT c.rowid, substr(d.text, c.start + 1, c.end - c.start)"
                " FROM chunks c JOIN documents d ON d.source = c.source"
                " WHERE c.rowid NOT IN (SELECT rowid FROM chunks_fts)"
            )
            self._bump_changes()

    def legacy_chunks(self, batch: int):
        """Chunks with no vector yet (an index made before vectors lived here), in batches."""
        while True:
            ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE vector IS NULL LIMIT ?", (batch,))]
            if not ids:
                return
            yield list(self.chunks(ids).values())

    def store_legacy_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        with self.db:
            for (chunk_id, vector), vector_id in zip(vectors.items(), self._new_vector_ids(len(vectors))):
                self.db.execute("UPDATE chunks SET vector_id = ?, vector = ? WHERE id = ?",
                                (vector_id, _blob(vector), chunk_id))

    def chunks_without_sentences(self, batch: int):
        """Chunks with no sentence vectors (an index made before they were kept), in batches."""
        while True:
            ids = [r[0] for r in self.db.execute(
                "SELECT id FROM chunks WHERE sentence_vectors IS NULL LIMIT ?", (batch,))]
            if not ids:
                return
            yield list(self.chunks(ids).values())

    def store_sentence_vectors(self, sentences: dict[str, SentenceVectors]) -> None:
        with self.db:
            for chunk_id, vectors in sentences.items():
                self.db.execute("UPDATE chunks SET sentence_spans = ?, sentence_vectors = ? WHERE id = ?",
                                (*_sentence_blobs(vectors), chunk_id))

    def finish_migration(self) -> None:
        with self.db:
            self.db.execute("DROP TABLE IF EXISTS pending")
            self._set_meta("schema", SCHEMA_VERSION)
            self._bump_changes()


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=VECTOR_DTYPE).tobytes()


def _unblob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=VECTOR_DTYPE)


def _sentence_blobs(sentences: SentenceVectors | None) -> tuple[bytes | None, bytes | None]:
    if sentences is None:
        return None, None
    return (np.ascontiguousarray(sentences.spans, np.int32).tobytes(),
            np.ascontiguousarray(sentences.vectors, SENTENCE_DTYPE).tobytes())


def _sentences(spans: bytes | None, vectors: bytes | None) -> SentenceVectors | None:
    if spans is None or vectors is None:
        return None
    offsets = np.frombuffer(spans, np.int32).reshape(-1, 2)
    return SentenceVectors(offsets, np.frombuffer(vectors, SENTENCE_DTYPE).reshape(len(offsets), -1))


def _marks(batch: list) -> str:
    return ",".join("?" * len(batch))


def _batches(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]
