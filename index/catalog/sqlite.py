"""The embedded catalog: one SQLite file per generation under RAG_HOME, with an FTS5 keyword
index, and `RAG_HOME/CURRENT` naming the live generation."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path

import filelock

from index.catalog import SHARED_TABLES, Catalog, in_collections, marks, query_terms
from index.catalog.maxscore import candidate_clauses, word_bound
from index.errors import IndexBusyError

# A chunk's row is ~3.8 KB (mostly its sentence vectors): a 4 KB page holds one and wastes
# the rest. With 16 KB pages the scaled 10k ClapNQ catalog took 5.86 MB per 1,000 chunks
# instead of 6.07 (1k: 6.19, 6.20), a built MkDocs site's 3.71 instead of 3.98, and keyword
# search, reading chunks and vectors, and committing them took as long
# (bench/results/catalog-size.json). 8 KB pages were worse than 4: a row of just over 4 KB
# had a page to itself.
PAGE_SIZE = 16384
REINDEX_BATCH = 50  # documents whose text is held at once while the keyword index is rebuilt
# The rarest words' rows scored to learn a score the top k must reach. At 100k chunks, the
# fewest words holding 500 rows gave keyword search's best mean and p95 (the bench's 100
# questions, one interleaved run: mean 10.6 ms, p95 21.6; 250 rows: 10.9, 25.1; 1,000:
# 11.7, 22.8; scoring every match: 19.0, 40.6).
RARE_ROWS = 500
# Above this k the bar is too low to leave out enough: at 100k chunks, against scoring every
# match, the median question took 0.63x the time at k 30 (retrieval's first fetch), 0.70x at
# 120 (its second) and 1.03-1.23x at 480 (its last).
MOST_PRUNED = 120
# A question's rarest words that rank (those no chunk holds are left out: they match nothing).
# Every match of a common word is a row FTS5 scores; on dev, ranking by the 5 rarest words
# lost nothing (answerable questions, hybrid retrieval: ClapNQ hit@1 0.957 -> 0.960, MRR
# 0.972 -> 0.973; SQuAD 0.826 -> 0.835, 0.890 -> 0.896; 6 words: 0.960 / 0.831).
MOST_WORDS = 5
# The keyword index keeps no copy of the text (schema 7): its content is the view
# `chunk_texts`, each chunk a slice of its document's text, which the catalog gives FTS5
# itself when it indexes or deletes (FTS5's own reads of the view, by its 'rebuild',
# 'integrity-check' or a plain DELETE, read a whole document for each chunk). Its own copy was
# 0.94 MB of the scaled 10k ClapNQ catalog's 7.01 per 1,000 chunks, and ranking never reads
# it (BM25 takes each row's length from `_docsize`): the same results and scores.
KEYWORD_TABLE = """CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content = 'chunk_texts', tokenize = 'porter unicode61 remove_diacritics 2'
)"""
SCHEMA = SHARED_TABLES + """
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
CREATE VIEW IF NOT EXISTS chunk_texts AS
    SELECT c.rowid AS rowid, chunk_text(d.text, c.start, c."end") AS text
    FROM chunks c JOIN documents d ON d.source = c.source;
""" + KEYWORD_TABLE + """;
CREATE TABLE IF NOT EXISTS vector_journal (
    vector_id INTEGER PRIMARY KEY,
    op TEXT NOT NULL CHECK (op IN ('add', 'delete'))
);
"""
# Columns added since the first version, to old catalogs and new ones the same way:
# vectors (schema 2), sentence vectors (3; NULL until the migration pools them, and for
# models the torch encoder cannot pool: the extractive answerer embeds those sentences when
# asked), locations (4; NULL for chunks indexed before: citations say "page N" then),
# collections (5; what was indexed before is in `default`).
ADDED_COLUMNS = {
    "vector": """
        ALTER TABLE chunks ADD COLUMN vector_id INTEGER;
        ALTER TABLE chunks ADD COLUMN vector BLOB;
        CREATE UNIQUE INDEX chunks_vector_id ON chunks(vector_id);""",
    "sentence_vectors": """
        ALTER TABLE chunks ADD COLUMN sentence_spans BLOB;
        ALTER TABLE chunks ADD COLUMN sentence_vectors BLOB;""",
    "location": "ALTER TABLE chunks ADD COLUMN location TEXT;",
    "collection": """
        ALTER TABLE documents ADD COLUMN collection TEXT NOT NULL DEFAULT 'default';
        ALTER TABLE chunks ADD COLUMN collection TEXT NOT NULL DEFAULT 'default';
        CREATE INDEX chunks_collection ON chunks(collection);""",
}


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (sqlite3's own cannot)."""


class SqliteCatalog(Catalog):
    """Each thread gets its own connection: the web chat answers on several threads at once,
    and a connection's statement cache is not safe to share between them (CPython issue
    118172: wrong rows on 3.12 and 3.13)."""

    # Unary + keeps SQLite from searching by the collection index: it preferred it to the
    # ids' or text hashes' (it has no statistics), and read every chunk of the collection,
    # 0.5-0.6 s a lookup at 100k chunks in one collection against 0.05 s.
    CHUNK_COLLECTION = "+c.collection"

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        self.name = str(path)
        self.where = f"in {path.parent}"
        self._uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self._local = threading.local()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        # (the `changes` count they were counted at, how many chunks hold each term asked)
        self._frequencies: tuple[int | None, dict[str, int]] = (None, {})
        self._rows: tuple[int | None, int] = (None, 0)
        super().__init__(readonly)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use and closed when the thread ends."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # check_same_thread off: close() closes every thread's connection from one thread.
            connection = sqlite3.connect(self._uri, uri=True, timeout=30, check_same_thread=False,
                                         factory=_Connection)
            connection.execute("PRAGMA foreign_keys = ON")
            # Python's slice, not SQL's substr: substr stops at a NUL character.
            connection.create_function("chunk_text", 3, _slice, deterministic=True)
            self._local.connection = connection
            self._connections.add(connection)
            weakref.finalize(threading.current_thread(), connection.close)
        return connection

    def _execute(self, sql, params=()):
        return self.db.execute(sql, params)

    def _transaction(self) -> sqlite3.Connection:
        return self.db  # commits when the block ends, rolls back when it raises

    def close(self) -> None:
        for connection in list(self._connections):
            connection.close()

    def _create(self) -> None:
        self.db.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # a new file's; an old one keeps its own
        self.db.execute("PRAGMA journal_mode = WAL")
        with self.db:
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(chunks)")}
            for column, script in ADDED_COLUMNS.items():
                if column not in columns:
                    self.db.executescript(script)

    def _index_keywords(self, rowid: int, text: str) -> None:
        self._execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (rowid, text))

    def _delete_keywords(self, sources: list[str]) -> None:
        """FTS5 takes a row out by tokenizing its text again, given here: reading it through
        the view read the whole document again for every chunk (a 4 MB document's 4,593
        chunks: 56 s). Only the rows the index holds (`_docsize`): FTS5 would take a chunk it
        never indexed out of the totals BM25 ranks by all the same."""
        self.db.executemany("INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', ?, ?)",
                            self._chunk_texts(sources, indexed=True))

    def _chunk_texts(self, sources: list[str], indexed: bool = False) -> list[tuple[int, str]]:
        """(rowid, text) of these documents' chunks (with indexed, of those the keyword index
        holds), each document's text read once."""
        held = " JOIN chunks_fts_docsize k ON k.id = c.rowid" if indexed else ""
        rows = self._execute(f'SELECT c.rowid, c.source, c.start, c."end" FROM chunks c{held}'
                             f" WHERE c.source IN ({marks(sources)})", sources).fetchall()
        documents = self._document_texts(sources)
        return [(rowid, documents[source][1][start:end]) for rowid, source, start, end in rows]

    def _index_every_chunk(self) -> None:
        """Every chunk into an empty keyword index, a few documents at a time (a document's
        text is read once, not once a chunk as FTS5's 'rebuild' reads the view)."""
        sources = [row[0] for row in self._execute("SELECT source FROM documents").fetchall()]
        for start in range(0, len(sources), REINDEX_BATCH):
            self.db.executemany("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)",
                                self._chunk_texts(sources[start : start + REINDEX_BATCH]))

    def keyword_search(self, query: str, k: int, collections: list[str] | None = None) -> list[tuple[int, float]]:
        """The k best chunks by FTS5's bm25 over the question's ranking words, scored only
        where they can still reach the top k (`_candidates`): the same chunks and scores as
        scoring every match, which at 100k chunks spent ~10x longer scoring than finding."""
        terms = self._ranking_terms(query_terms(query))
        if not terms:
            return []
        candidates = self._candidates(terms, k, collections)
        return self._top(_any_of(terms), k, collections, candidates)

    def _top(self, match: str, k: int, collections: list[str] | None, candidates: str | None = None):
        """(vector_id, score) of the k best matches, of those `candidates` (an FTS5 query)
        finds when given. `+rowid` keeps SQLite from handing the candidates to FTS5 one rowid
        at a time: FTS5 then counts every word's rows again for each (5 s for 982 candidates
        in a 100k-row table, against 23 ms), where as a plain filter each match costs a
        lookup and only the candidates are scored."""
        among, params = "", [match]
        if candidates is not None:
            among = " AND +chunks_fts.rowid IN (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?)"
            params.append(candidates)
        if collections is None:
            # Rank inside FTS5, then join only the top k: joining every match first cost a
            # quarter of the query time at 100k chunks.
            rows = self._execute(
                "SELECT c.vector_id, s.score FROM (SELECT rowid, -bm25(chunks_fts) AS score FROM chunks_fts"
                f" WHERE chunks_fts MATCH ?{among} ORDER BY bm25(chunks_fts) LIMIT ?) s"
                " JOIN chunks c ON c.rowid = s.rowid ORDER BY s.score DESC",
                [*params, k],
            )
        else:
            # A reader's collections filter the matches before the top k is taken: filtering
            # after would leave fewer than k (none, when others' documents rank first).
            allowed, allowed_params = in_collections(collections, "c.collection")
            rows = self._execute(
                "SELECT c.vector_id, -bm25(chunks_fts) AS score FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid"
                f" WHERE chunks_fts MATCH ?{among} AND {allowed} ORDER BY bm25(chunks_fts) LIMIT ?",
                [*params, *allowed_params, k],
            )
        return [(row[0], row[1]) for row in rows]

    def _ranking_terms(self, terms: list[str]) -> list[str]:
        """The MOST_WORDS rarest terms some chunk holds, of those at most half the chunks
        hold (or of all, when none is). FTS5's BM25 gives a term in more than half the
        chunks an idf of 1e-6: leaving it out moves no chunk that holds another term, and
        skips scoring every chunk it is in. At 100k chunks "s" (of "DeepSeek's") and "one"
        were in 52% and 57% of them, and each of the slowest 5% of the bench's questions held
        one of them (bench/keyword_tail.py). Counts are kept until the catalog changes."""
        changes = self.changes()
        if self._frequencies[0] != changes:
            self._frequencies = (changes, {})
        known = self._frequencies[1]
        half = self.chunk_count() / 2
        for term in terms:
            if term not in known:
                known[term] = self._execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                                            (_phrase(term),)).fetchone()[0]
        ranking = [t for t in terms if known[t] <= half] or terms
        rarest = set(sorted((t for t in ranking if known[t]), key=known.get)[:MOST_WORDS])
        return [t for t in ranking if t in rarest]

    def _candidates(self, terms: list[str], k: int, collections: list[str] | None) -> str | None:
        """An FTS5 query for the rows that can still reach the top k, or None to score every
        match. Rows whose words cannot add up to a bar the k-th best score reaches are left
        out (maxscore.candidate_clauses). The bar is the higher k-th best score of two
        queries that name each word at most once, and so score a row no higher than the
        whole question does: the rarest words (their first RARE_ROWS rows), and the rows that
        hold one of them and another word (scored by every word: their true scores)."""
        if k > MOST_PRUNED:
            return None
        counts = self._frequencies[1]
        held = sorted((t for t in terms if counts[t]), key=counts.get)
        rare = 1
        while rare < len(held) and sum(counts[t] for t in held[:rare]) < RARE_ROWS:
            rare += 1
        if rare >= len(held):  # no word held, or the rarest are all: few matches to score
            return None
        rarest = _any_of(held[:rare])
        bar = max(self._kth_score(rarest, k, collections),
                  self._kth_score(f"({rarest}) AND ({_any_of(held[rare:])})", k, collections))
        if not bar:
            return None
        rows = self._keyword_rows()
        clauses = candidate_clauses({t: word_bound(counts[t], rows) for t in held}, bar)
        if clauses is None:
            return None
        return " OR ".join("(" + " AND ".join(f"({_any_of(part)})" for part in clause) + ")" for clause in clauses)

    def _kth_score(self, match: str, k: int, collections: list[str] | None) -> float:
        """The k-th best score of this query, or 0 when fewer than k rows match."""
        found = self._top(match, k, collections)
        return found[-1][1] if len(found) == k else 0.0

    def _keyword_rows(self) -> int:
        """The rows FTS5's bm25 counts as N (its own, which a stale row would make differ from
        the chunks'), kept with the words' counts until the catalog changes."""
        changes = self._frequencies[0]  # as current as the counts `_ranking_terms` just checked
        if self._rows[0] != changes:
            self._rows = (changes, self._execute("SELECT count(*) FROM chunks_fts_docsize").fetchone()[0])
        return self._rows[1]

    def keyword_problems(self) -> tuple[int, int]:
        """By the index's own record of the rows it holds (`_docsize`): looking a rowid up in
        the keyword table itself finds every chunk, since it reads the view."""
        missing = self._execute(
            "SELECT count(*) FROM chunks c LEFT JOIN chunks_fts_docsize k ON k.id = c.rowid WHERE k.id IS NULL"
        ).fetchone()[0]
        stale = self._execute(
            "SELECT count(*) FROM chunks_fts_docsize k LEFT JOIN chunks c ON c.rowid = k.id WHERE c.rowid IS NULL"
        ).fetchone()[0]
        return missing, stale

    def repair_keywords(self) -> None:
        """The whole keyword index again: a row deleted without its text leaves its words
        behind, which only starting over takes out."""
        with self._transaction():
            self._execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('delete-all')")
            self._index_every_chunk()
            self._bump_changes()

    def compact_keywords(self) -> None:
        """Schema 6's keyword table, which kept a copy of every chunk's text (`_content`),
        rebuilt in place as schema 7's, in one transaction: a stop halfway leaves the old one."""
        if not self._execute("SELECT 1 FROM sqlite_master WHERE name = 'chunks_fts_content'").fetchone():
            return
        with self._transaction():
            self._execute("DROP TABLE chunks_fts")
            self._execute(KEYWORD_TABLE)
            self._index_every_chunk()


def _slice(text: str, start: int, end: int) -> str:
    return text[start:end]


def _any_of(terms: list[str]) -> str:
    return " OR ".join(_phrase(t) for t in terms)


def _phrase(term: str) -> str:
    """A word as an FTS5 phrase: quoted, so that no word is read as an operator."""
    return '"' + term.replace('"', '""') + '"'


class SqliteCatalogs:
    """Generations as `catalog-<generation>.sqlite` files in one folder."""

    def __init__(self, home: Path):
        self.home = home
        self.where = f"in {home}"

    def live(self) -> str | None:
        pointer = self.home / "CURRENT"
        return pointer.read_text().strip() if pointer.exists() else None

    def switch(self, generation: str) -> None:
        tmp = self.home / "CURRENT.tmp"
        tmp.write_text(generation)
        os.replace(tmp, self.home / "CURRENT")

    def generations(self) -> list[str]:
        return [p.name.removeprefix("catalog-").removesuffix(".sqlite")
                for p in self.home.glob("catalog-*.sqlite")]

    def open(self, generation: str, readonly: bool = False) -> SqliteCatalog:
        return SqliteCatalog(self._path(generation), readonly=readonly)

    def drop(self, generation: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self._path(generation)}{suffix}").unlink(missing_ok=True)

    def _path(self, generation: str) -> Path:
        return self.home / f"catalog-{generation}.sqlite"

    @contextmanager
    def lock(self):
        """An OS file lock, so a writer that dies releases it (kept a native lock:
        filelock's soft fallback would leave a dead writer's lock behind)."""
        lock = filelock.FileLock(self.home / "write.lock", timeout=0, preserve_lock_file=True)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise IndexBusyError(
                f"index is busy: another process is writing to {self.home}; try again when it finishes"
            ) from None
        try:
            yield
        finally:
            lock.release()
