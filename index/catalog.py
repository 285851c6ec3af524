"""The catalog: one SQLite file that is the source of truth for what is indexed.

It holds documents, their chunks with offsets, and an FTS5 keyword index over the chunk
text, all changed in one transaction per batch of documents, so the keyword side and the
document list can never disagree. Chroma holds only vectors: a chunk id the catalog does
not list is invisible, and ids written to Chroma before a commit are journaled in
`pending` so a crash leaves nothing behind that the next writer does not clean up.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY);
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


class Catalog:
    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self.db = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- metadata -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

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
        found = {}
        for batch in _batches(ids):
            rows = self.db.execute(
                "SELECT c.id, c.source, c.chunk, c.start, c.end, c.page, c.sha256, f.text"
                " FROM chunks c JOIN chunks_fts f ON f.rowid = c.rowid"
                f" WHERE c.id IN ({_marks(batch)})",
                batch,
            )
            found.update((row[0], StoredChunk(*row)) for row in rows)
        return found

    def ids_by_text_hash(self, hashes: list[str]) -> dict[str, str]:
        """An already-embedded chunk id for each known text hash (to reuse its vector)."""
        found = {}
        for batch in _batches(hashes):
            rows = self.db.execute(
                f"SELECT text_hash, min(id) FROM chunks WHERE text_hash IN ({_marks(batch)})"
                " GROUP BY text_hash",
                batch,
            )
            found.update(rows)
        return found

    def keyword_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """BM25 over chunk text; returns (chunk id, score) with higher scores better."""
        terms = [w for w in dict.fromkeys(_WORD.findall(query.lower())) if w not in STOPWORDS]
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        # Rank inside FTS5, then join only the top k: joining every match first cost a
        # quarter of the query time at 100k chunks.
        rows = self.db.execute(
            "SELECT c.id, s.score FROM (SELECT rowid, -bm25(chunks_fts) AS score FROM chunks_fts"
            " WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?) s"
            " JOIN chunks c ON c.rowid = s.rowid ORDER BY s.score DESC",
            (match, k),
        )
        return [(row[0], row[1]) for row in rows]

    # -- the crash journal ------------------------------------------------------------
    def add_pending(self, ids: list[str]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO pending VALUES (?)", ((i,) for i in ids))

    def orphans(self) -> list[str]:
        """Journaled ids that no committed chunk uses: safe to delete from the vectors."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT p.id FROM pending p LEFT JOIN chunks c ON c.id = p.id WHERE c.id IS NULL"
            )
        ]

    def clear_pending(self) -> None:
        with self.db:
            self.db.execute("DELETE FROM pending")

    # -- writes -------------------------------------------------------------------------
    def commit_documents(
        self, documents: list[tuple[object, list[NewChunk]]], removed: list[str]
    ) -> list[str]:
        """Replace documents and remove others atomically; returns the ids no longer used.

        `documents` pairs an `index.loaders.Document` with its new chunks.
        """
        replaced = [doc.source for doc, _ in documents]
        old_ids = self.chunk_ids(replaced + removed)
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO pending VALUES (?)", ((i,) for i in old_ids)
            )
            self._delete_sources(replaced + removed)
            for doc, chunks in documents:
                self._insert_document(doc, chunks)
        return old_ids

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
        for chunk in chunks:
            cursor = self.db.execute(
                "INSERT INTO chunks (id, source, chunk, start, end, page, sha256, text_hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (chunk.id, doc.source, chunk.chunk, chunk.start, chunk.end, chunk.page,
                 doc.sha256, chunk.text_hash),
            )
            self.db.execute(
                "INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cursor.lastrowid, chunk.text)
            )


def _marks(batch: list) -> str:
    return ",".join("?" * len(batch))


def _batches(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]
