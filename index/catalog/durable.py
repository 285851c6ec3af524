"""Tables that outlive the index's generations: who may read which collection, and saved
conversations. A rebuild (`rag ingest --rebuild`) writes a new generation and drops the old
one with its catalog, so these live beside the generations in the same database: SQLite's
`RAG_HOME/durable.sqlite`, or PostgreSQL's schema `<prefix>_durable_data` in
RAG_DATABASE_URL, which every replica shares (the name holds a "_" after the prefix, which
no generation's does, so no cleanup of generations ever drops it).

The SQL is the catalog's dialect: "?" placeholders, types both backends take.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from index.config import IndexConfig

SQLITE_FILE = "durable.sqlite"
SCHEMA_SUFFIX = "durable_data"


class Durable:
    """One database connection per thread (SQLite), or a pool (PostgreSQL)."""

    def execute(self, sql: str, params: tuple | list = ()):
        """Run one statement; the result has fetchone() and fetchall()."""
        raise NotImplementedError

    def transaction(self):
        """Everything this thread executes inside commits together or not at all."""
        raise NotImplementedError

    def create(self, ddl: str) -> None:
        """Tables (CREATE ... IF NOT EXISTS statements separated by ";"), made once."""
        with self.transaction():
            for statement in ddl.split(";"):
                if statement.strip():
                    self.execute(statement)


class SqliteDurable(Durable):
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()

    @property
    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            self._local.connection = connection
            self._local.depth = 0
        return connection

    def execute(self, sql, params=()):
        cursor = self._db.execute(sql, params)
        if not self._local.depth:
            self._db.commit()
        return cursor

    @contextmanager
    def transaction(self) -> Iterator[None]:
        db = self._db
        self._local.depth += 1
        try:
            yield
        except BaseException:
            if self._local.depth == 1:
                db.rollback()
            raise
        else:
            if self._local.depth == 1:
                db.commit()
        finally:
            self._local.depth -= 1


class PostgresDurable(Durable):
    def __init__(self, url: str, prefix: str):
        from index.catalog.postgres import _pool

        self.url = url
        self.schema = f"{prefix}_{SCHEMA_SUFFIX}"
        self._pool = _pool(url, 4, options=f"-c search_path={self.schema}")
        self._local = threading.local()
        with self._borrowed() as connection:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")

    def _borrowed(self):
        from index.catalog.postgres import _borrowed

        return _borrowed(self._pool, self.url)

    def execute(self, sql, params=()):
        from index.catalog.postgres import _placeholders, _Rows

        pinned = getattr(self._local, "connection", None)
        if pinned is not None:
            return pinned.execute(_placeholders(sql), params)
        with self._borrowed() as connection:
            cursor = connection.execute(_placeholders(sql), params)
            return _Rows(cursor.fetchall() if cursor.description else [])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "connection", None) is not None:
            yield
            return
        with self._borrowed() as connection, connection.transaction():
            self._local.connection = connection
            try:
                yield
            finally:
                self._local.connection = None


def open_durable(config: IndexConfig) -> Durable:
    """The durable tables' database of this index: one object per place in a process."""
    if config.database_url:
        return _postgres(config.database_url, config.database_prefix)
    return _sqlite(str(Path(config.home).resolve() / SQLITE_FILE))


@functools.cache
def _postgres(url: str, prefix: str) -> PostgresDurable:
    return PostgresDurable(url, prefix)


@functools.cache
def _sqlite(path: str) -> SqliteDurable:
    return SqliteDurable(Path(path))
