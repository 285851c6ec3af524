"""Collections: every document belongs to one (`default` unless ingested with another), and
grants say which users may read or write which collection.

A document is keyed by its source path alone, so one path is in one collection: a citation,
the vector journal and the file a citation opens all name a document by its path, and a
path in two collections would leave open which collection's readers may see it. Ingesting a
path that another collection holds is an error for that file (remove it there first).

Grants are stored by user name in the durable tables (they outlive rebuilds; accounts are
joined to them by name): (collection, user, access), access `read` or `write` (write
includes read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.catalog import DEFAULT_COLLECTION
from index.store import open_catalogs, open_durable
from index.config import IndexConfig
from index.errors import CollectionError

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
ACCESS = ("read", "write")


def check_name(name: str) -> str:
    """The name, if it can be a collection's: letters, digits, "-" and "_", 1 to 64."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise CollectionError(
            f"not a collection name: {name!r} (use 1-64 letters, digits, '-' or '_'; no paths)")
    return name


@dataclass(frozen=True)
class Grant:
    collection: str
    user: str
    access: str


class Grants:
    """The grants of one index (both catalog backends: see index/catalog/durable.py)."""

    def __init__(self, config: IndexConfig):
        self.db = open_durable(config)

    def grant(self, collection: str, user: str, access: str, existing: set[str]) -> Grant:
        """Give `user` read or write access to `collection`, which must be one of `existing`
        (the collections holding documents) or `default`; replaces the user's earlier grant."""
        check_name(collection)
        if access not in ACCESS:
            raise CollectionError(f"access must be one of {', '.join(ACCESS)}, not {access!r}")
        if not user.strip():
            raise CollectionError("a grant needs a user name")
        if collection != DEFAULT_COLLECTION and collection not in existing:
            raise CollectionError(f"no collection {collection!r}: ingest documents into it first "
                                  f"(rag ingest --collection {collection} PATH)")
        self.db.execute("INSERT INTO grants VALUES (?, ?, ?) ON CONFLICT (collection, username)"
                        " DO UPDATE SET access = excluded.access", (collection, user, access))
        return Grant(collection, user, access)

    def revoke(self, collection: str, user: str) -> bool:
        """Take away `user`'s access to `collection`; False when there was none."""
        check_name(collection)
        with self.db.transaction():
            had = self.db.execute("SELECT 1 FROM grants WHERE collection = ? AND username = ?",
                                  (collection, user)).fetchone()
            self.db.execute("DELETE FROM grants WHERE collection = ? AND username = ?", (collection, user))
        return had is not None

    def all(self) -> list[Grant]:
        rows = self.db.execute("SELECT collection, username, access FROM grants"
                               " ORDER BY collection, username").fetchall()
        return [Grant(*row) for row in rows]

    def readable(self, user: str) -> list[str]:
        """The collections `user` may read (a write grant includes reading)."""
        return self._of(user, ACCESS)

    def writable(self, user: str) -> list[str]:
        return self._of(user, ("write",))

    def _of(self, user: str, accesses: tuple[str, ...]) -> list[str]:
        rows = self.db.execute(
            f"SELECT collection FROM grants WHERE username = ? AND access IN ({','.join('?' * len(accesses))})"
            " ORDER BY collection", (user, *accesses)).fetchall()
        return [row[0] for row in rows]


def live_collection_sizes(config: IndexConfig) -> dict[str, tuple[int, int]]:
    """collection -> (documents, chunks) in the live index; empty before anything is indexed."""
    catalogs = open_catalogs(config)
    generation = catalogs.live()
    if generation is None:
        return {}
    catalog = catalogs.open(generation, readonly=True)
    try:
        return catalog.collection_sizes()
    finally:
        catalog.close()
