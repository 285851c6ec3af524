"""A team's use of the web chat: accounts, sessions, login throttling, API tokens and the
audit log, stored in the durable tables beside grants and saved conversations
(index/catalog/durable.py, index/catalog/team.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from index.catalog.team import TeamStore
from index.store import open_durable
from rag.settings import Settings
from rag.team.accounts import AccountError, Accounts, User
from rag.team.audit import Audit, Event
from rag.team.sessions import Sessions
from rag.team.throttle import Throttle


@dataclass(frozen=True)
class Team:
    accounts: Accounts
    sessions: Sessions
    throttle: Throttle
    audit: Audit


def open_team(settings: Settings, now: Callable[[], float] = time.time) -> Team:
    store = TeamStore(open_durable(settings.index_config))
    return Team(
        Accounts(store, now),
        Sessions(store, settings.session_hours, now),
        Throttle(store, settings.login_attempts, settings.login_window_seconds, now),
        Audit(store, now),
    )


__all__ = ["AccountError", "Accounts", "Audit", "Event", "Sessions", "Team", "Throttle", "User", "open_team"]
