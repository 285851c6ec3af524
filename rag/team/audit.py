"""The audit log: who did what, from where, appended to the database and never changed
(the database refuses updates and deletions of its rows)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from index.catalog.team import TeamStore


@dataclass(frozen=True)
class Event:
    at: float  # seconds since the epoch
    user: str | None
    ip: str | None
    action: str
    detail: dict

    def to_dict(self) -> dict:
        return asdict(self)


def utc(at: float) -> str:
    """Seconds since the epoch as they are shown: 2026-12-06T09:00:00Z."""
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Audit:
    def __init__(self, store: TeamStore, now: Callable[[], float] = time.time):
        self.store = store
        self.now = now

    def record(self, action: str, user: str | None = None, ip: str | None = None, **detail) -> None:
        """Append one event: `action` names what happened ("login", "upload", "grant", ...),
        `user` who did it (None: nobody logged in), `ip` where from, and the keyword
        arguments what it was done to (JSON values), e.g.
        `audit.record("grant", user="ana", collection="hr", to="ben", right="read")`."""
        self.store.add_audit(self.now(), user, ip, action, json.dumps(detail, ensure_ascii=False, sort_keys=True))

    def events(self, since: float | None = None, user: str | None = None) -> list[Event]:
        """The events since a time (seconds since the epoch), of one user or everyone, oldest first."""
        return [Event(at, name, ip, action, json.loads(detail))
                for at, name, ip, action, detail in self.store.audit(since, user)]
