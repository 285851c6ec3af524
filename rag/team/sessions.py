"""Login sessions: a random token in the browser's cookie, its SHA-256 digest and expiry in
the database, so that every replica knows every session (no sticky sessions)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from index.catalog.team import TeamStore
from rag.team.accounts import User, digest


class Sessions:
    def __init__(self, store: TeamStore, hours: float, now: Callable[[], float] = time.time):
        self.store = store
        self.seconds = hours * 3600
        self.now = now

    def start(self, user: User) -> str:
        """A new session's token (for the cookie; only its digest is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.now()
        self.store.add_session(digest(token), user.name, now + self.seconds, now)
        return token

    def user(self, token: str) -> User | None:
        """Whose live session this token is, or None (unknown, expired, or its user removed)."""
        row = self.store.session_user(digest(token), self.now()) if token else None
        return User(*row) if row else None

    def end(self, token: str) -> None:
        self.store.remove_session(digest(token))
