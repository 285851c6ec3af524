"""Accounts and API tokens: who may log in, with which password or token.

Passwords are hashed with Argon2id (argon2-cffi's PasswordHasher, its RFC 9106 low-memory
defaults); tokens are random (secrets.token_urlsafe, 256 bits) and stored as SHA-256 digests,
which is enough for secrets that long (a slow hash protects guessable passwords only).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from index.catalog.team import TeamStore
from rag.errors import RagError

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
TOKEN_PREFIX = "rag_"
TOKEN = re.compile(TOKEN_PREFIX + r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32)
TOKEN_ID = re.compile(r"[0-9a-f]{8,64}")  # the start of a token's digest, as `rag tokens list` shows it
SHOWN_ID_CHARS = 12
MIN_PASSWORD_CHARS = 8
_HASHER = PasswordHasher()


@functools.cache
def _unknown_user_hash() -> str:
    """Verified against for unknown names, so that a wrong name takes as long as a wrong
    password. Made when accounts are opened, not at import: hashing it took 0.25 s of every
    `rag ask`, which never opens them."""
    return _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(RagError):
    """An account or token cannot be created, found or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    name: str | None  # None: the local admin of a chat without accounts (rag/access.py)
    is_admin: bool


@dataclass(frozen=True)
class TokenInfo:
    id: str  # the first characters of its digest: enough to name it, useless to log in
    label: str
    created: float
    revoked: float | None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise AccountError(f"not an account name: {name!r} (1-64 letters, digits, '.', '_' or '-')")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD_CHARS} characters")
    return password


def generated_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


class Accounts:
    def __init__(self, store: TeamStore, now: Callable[[], float] = time.time):
        self.store = store
        self.now = now
        _unknown_user_hash()  # now, so that the first login with an unknown name is not the slower

    def check_new(self, name: str) -> None:
        """An error when no account can be created with this name."""
        if self.store.user(check_name(name)):
            raise self._taken(name)

    def add(self, name: str, password: str, is_admin: bool = False) -> User:
        check_name(name)
        if not self.store.add_user(name, _HASHER.hash(check_password(password)), is_admin, self.now()):
            raise self._taken(name)
        return User(name, is_admin)

    def remove(self, name: str) -> None:
        """The account, its sessions and its tokens: it is logged out everywhere at once."""
        if not self.store.remove_user(name):
            raise self._unknown(name)

    def set_password(self, name: str, password: str) -> None:
        """The new password; every session of the account ends."""
        if not self.store.set_password(name, _HASHER.hash(check_password(password))):
            raise self._unknown(name)

    def users(self) -> list[User]:
        return [User(name, admin) for name, admin, _ in self.store.users()]

    def exist(self) -> bool:
        return self.store.has_users()

    def verify(self, name: str, password: str) -> User | None:
        """The user whose name and password these are, or None."""
        row = self.store.user(name) if NAME.fullmatch(name) else None
        try:
            _HASHER.verify(row[1] if row else _unknown_user_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        return User(row[0], row[2]) if row else None

    def create_token(self, name: str, label: str = "") -> str:
        """A new token for the user, returned once: only its digest is kept."""
        self.require(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.store.add_token(digest(token), name, label, self.now())
        return token

    def tokens(self, name: str) -> list[TokenInfo]:
        self.require(name)
        return [TokenInfo(d[:SHOWN_ID_CHARS], label, created, revoked)
                for d, label, created, revoked in self.store.tokens(name)]

    def revoke_token(self, name: str, token_id: str) -> None:
        """Revoke the user's token named by its id (or given whole)."""
        self.require(name)
        if TOKEN.fullmatch(token_id):
            token_id = digest(token_id)
        elif not TOKEN_ID.fullmatch(token_id):
            raise AccountError(f"not a token id: {token_id!r} (the id `rag tokens list` shows, "
                               "or the token itself)")
        live = [d for d, _, _, revoked in self.store.tokens(name) if revoked is None and d.startswith(token_id)]
        if not live:
            raise AccountError(f"{name!r} has no live token with the id {token_id[:SHOWN_ID_CHARS]}")
        if len(live) > 1:
            raise AccountError(f"the id {token_id} names {len(live)} tokens of {name!r}: give more of it")
        self.store.revoke_token(name, live[0], self.now())

    def user_for_token(self, token: str) -> User | None:
        if not TOKEN.fullmatch(token):
            return None
        row = self.store.token_user(digest(token))
        return User(*row) if row else None

    def require(self, name: str) -> User:
        row = self.store.user(name)
        if row is None:
            raise self._unknown(name)
        return User(row[0], row[2])

    def _taken(self, name: str) -> AccountError:
        return AccountError(f"the account {name!r} already exists (a new password: `rag users passwd {name}`)")

    def _unknown(self, name: str) -> AccountError:
        return AccountError(f"no account named {name!r} (`rag users list` shows them)")
