"""Tables that outlive the index's generations: who may read which collection, and saved
conversations. A rebuild (`rag ingest --rebuild`) writes a new generation and drops the old
one with its catalog, so these live beside the generations in the same database: SQLite's
`RAG_HOME/durable.sqlite`, or PostgreSQL's schema `<prefix>_durable_data` in
RAG_DATABASE_URL, which every replica shares (the name holds a "_" after the prefix, which
no generation's does, so no cleanup of generations ever drops it).

The SQL is the catalog's dialect: "?" placeholders, types both backends take. `open_durable`
(index/store.py) picks the backend as `open_catalogs` does.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

SQLITE_FILE = "durable.sqlite"
SCHEMA_SUFFIX = "durable_data"
DURABLE_POOL_SIZE = 4  # grants are read once a question, conversations once a turn


class Durable:
    """The durable tables' database; a backend implements `_execute` and `_transaction`."""

    def execute(self, sql: str, params: tuple | list = ()):
        """Run one statement; the result has fetchone() and fetchall()."""
        return self._execute(sql, params)

    def transaction(self) -> AbstractContextManager:
        """Everything this thread executes inside commits together or not at all."""
        return self._transaction()

    def create(self, ddl: str) -> None:
        """Tables (CREATE ... IF NOT EXISTS statements separated by ";"), made once."""
        with self.transaction():
            for statement in ddl.split(";"):
                if statement.strip():
                    self.execute(statement)


class SqliteDurable(Durable):
    """One connection per thread, committing each statement outside a transaction."""

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

    def _execute(self, sql, params=()):
        cursor = self._db.execute(sql, params)
        if not self._local.depth:
            self._db.commit()
        return cursor

    @contextmanager
    def _transaction(self) -> Iterator[None]:
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
