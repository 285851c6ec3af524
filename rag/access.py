"""Who asks, and what they may read and write: the collections granted to them (index/collections.py).

A user is a name and an admin flag. Without any accounts (the web chat on loopback, the
CLI) the caller is the local admin, who reads and writes every collection.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.catalog import DEFAULT_COLLECTION
from index.collections import Grants


@dataclass(frozen=True)
class Reader:
    name: str | None  # None: the local admin of a chat without accounts
    is_admin: bool


LOCAL_ADMIN = Reader(None, True)


def readable_collections(reader: Reader, grants: Grants) -> list[str] | None:
    """The collections `reader` may read; None: every one (an admin)."""
    return None if reader.is_admin else grants.readable(reader.name or "")


def writable_collections(reader: Reader, grants: Grants, existing: list[str]) -> list[str]:
    """The collections `reader` may upload to or remove from: an admin, `default` first
    (where uploads go unless another is chosen), then every other existing one."""
    if reader.is_admin:
        return [DEFAULT_COLLECTION, *sorted(set(existing) - {DEFAULT_COLLECTION})]
    return grants.writable(reader.name or "")


def audit(action: str, user: str | None, detail: dict) -> None:
    """Where uploads, removals, grants and questions are recorded: a no-op here, wired to
    the audit log where accounts are."""
