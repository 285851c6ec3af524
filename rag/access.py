"""Who asks, and what they may read and write: the collections granted to them (index/collections.py).

A user is an account's name and admin flag (rag/team/accounts.py). Without any accounts
(the web chat on loopback, the CLI) the caller is the local admin, who reads and writes
every collection.
"""

from __future__ import annotations

from index.catalog import DEFAULT_COLLECTION
from index.collections import Grants
from rag.team.accounts import User

LOCAL_ADMIN = User(None, True)


def readable_collections(reader: User, grants: Grants) -> list[str] | None:
    """The collections `reader` may read; None: every one (an admin)."""
    return None if reader.is_admin else grants.readable(reader.name or "")


def writable_collections(reader: User, grants: Grants, existing: list[str]) -> list[str]:
    """The collections `reader` may upload to or remove from: an admin, `default` first
    (where uploads go unless another is chosen), then every other existing one."""
    if reader.is_admin:
        return [DEFAULT_COLLECTION, *sorted(set(existing) - {DEFAULT_COLLECTION})]
    return grants.writable(reader.name or "")

