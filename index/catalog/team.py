"""The team's rows: accounts, sessions, API tokens, failed logins and the audit log, in the
durable tables (index/catalog/durable.py: SQLite `RAG_HOME/durable.sqlite`, or the schema
`<prefix>_durable_data` of RAG_DATABASE_URL) beside grants and saved conversations, so that
every replica sees the same ones.

They live outside the index's generations: a rebuild of the index switches generations and
must not log anyone out or lose the audit log. The SQL is here, in the catalog's "?"
dialect; what the rows mean (hashing, expiry, throttling) is rag/team's.

Times are seconds since the epoch (floats); secrets are stored only as SHA-256 digests.
"""

from __future__ import annotations

from index.catalog.durable import Durable

class TeamStore:
    """The SQL of the team's tables over the durable tables' database."""

    def __init__(self, db: Durable):
        self._execute = db.execute
        self._transaction = db.transaction

    # -- accounts -------------------------------------------------------------------
    def add_user(self, name: str, password_hash: str, is_admin: bool, created: float) -> bool:
        """False when the name is taken (the stored account is left as it was)."""
        with self._transaction():
            return bool(self._execute(
                "INSERT INTO users (name, password_hash, is_admin, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                (name, password_hash, is_admin, created)).fetchall())

    def user(self, name: str) -> tuple[str, str, bool] | None:
        """(name, password hash, is admin) of an account, or None."""
        row = self._execute("SELECT name, password_hash, is_admin FROM users WHERE name = ?", (name,)).fetchone()
        return (row[0], row[1], bool(row[2])) if row else None

    def users(self) -> list[tuple[str, bool, float]]:
        """(name, is admin, created) of every account, by name."""
        rows = self._execute("SELECT name, is_admin, created FROM users ORDER BY name").fetchall()
        return [(name, bool(admin), created) for name, admin, created in rows]

    def has_users(self) -> bool:
        return self._execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def set_password(self, name: str, password_hash: str) -> bool:
        """The new hash, and the account's sessions ended (a password changed after a leak
        must log the thief out), in one transaction."""
        with self._transaction():
            self._execute("DELETE FROM sessions WHERE user_name = ?", (name,))
            return bool(self._execute("UPDATE users SET password_hash = ? WHERE name = ? RETURNING name",
                                      (password_hash, name)).fetchall())

    def remove_user(self, name: str) -> bool:
        """The account, its sessions, tokens, grants and saved conversations, in one transaction.
        Grants and conversations are joined to accounts by name: kept, they would pass to the
        next account given the same name. The audit log keeps what the user did."""
        with self._transaction():
            self._execute("DELETE FROM sessions WHERE user_name = ?", (name,))
            self._execute("DELETE FROM api_tokens WHERE user_name = ?", (name,))
            self._execute("DELETE FROM grants WHERE username = ?", (name,))
            self._execute("DELETE FROM conversation_turns WHERE conversation IN"
                          " (SELECT id FROM conversations WHERE owner = ?)", (name,))
            self._execute("DELETE FROM conversations WHERE owner = ?", (name,))
            return bool(self._execute("DELETE FROM users WHERE name = ? RETURNING name", (name,)).fetchall())

    # -- sessions -------------------------------------------------------------------
    def add_session(self, digest: str, name: str, expires: float, now: float) -> None:
        with self._transaction():
            self._execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            self._execute("INSERT INTO sessions (id, user_name, expires) VALUES (?, ?, ?)", (digest, name, expires))

    def session_user(self, digest: str, now: float) -> tuple[str, bool] | None:
        row = self._execute(
            "SELECT u.name, u.is_admin FROM sessions s JOIN users u ON u.name = s.user_name"
            " WHERE s.id = ? AND s.expires > ?", (digest, now)).fetchone()
        return (row[0], bool(row[1])) if row else None

    def remove_session(self, digest: str) -> None:
        with self._transaction():
            self._execute("DELETE FROM sessions WHERE id = ?", (digest,))

    # -- API tokens -----------------------------------------------------------------
    def add_token(self, digest: str, name: str, label: str, created: float) -> None:
        with self._transaction():
            self._execute("INSERT INTO api_tokens (id, user_name, label, created) VALUES (?, ?, ?, ?)",
                          (digest, name, label, created))

    def token_user(self, digest: str) -> tuple[str, bool] | None:
        row = self._execute(
            "SELECT u.name, u.is_admin FROM api_tokens t JOIN users u ON u.name = t.user_name"
            " WHERE t.id = ? AND t.revoked IS NULL", (digest,)).fetchone()
        return (row[0], bool(row[1])) if row else None

    def tokens(self, name: str) -> list[tuple[str, str, float, float | None]]:
        """(digest, label, created, revoked) of a user's tokens, oldest first."""
        return [tuple(row) for row in self._execute(
            "SELECT id, label, created, revoked FROM api_tokens WHERE user_name = ? ORDER BY created",
            (name,)).fetchall()]

    def revoke_token(self, name: str, digest: str, now: float) -> None:
        with self._transaction():
            self._execute("UPDATE api_tokens SET revoked = ? WHERE user_name = ? AND id = ? AND revoked IS NULL",
                          (now, name, digest))

    # -- failed logins --------------------------------------------------------------
    def add_failure(self, scope: str, key: str, at: float, forget_before: float) -> None:
        with self._transaction():
            self._execute("DELETE FROM login_failures WHERE at < ?", (forget_before,))
            self._execute("INSERT INTO login_failures (scope, key, at) VALUES (?, ?, ?)", (scope, key, at))

    def failure_times(self, scope: str, key: str, since: float) -> list[float]:
        rows = self._execute("SELECT at FROM login_failures WHERE scope = ? AND key = ? AND at > ? ORDER BY at",
                             (scope, key, since)).fetchall()
        return [row[0] for row in rows]

    # -- audit ----------------------------------------------------------------------
    def add_audit(self, at: float, user: str | None, ip: str | None, action: str, detail: str) -> None:
        with self._transaction():
            self._execute("INSERT INTO audit (at, user_name, ip, action, detail) VALUES (?, ?, ?, ?, ?)",
                          (at, user, ip, action, detail))

    def audit(self, since: float | None, user: str | None) -> list[tuple[float, str | None, str | None, str, str]]:
        """(time, user, ip, action, detail JSON) in the order they were written."""
        asked = {"at >= ?": since, "user_name = ?": user}
        conditions = [condition for condition, value in asked.items() if value is not None]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._execute(f"SELECT at, user_name, ip, action, detail FROM audit{where} ORDER BY id",
                             [value for value in asked.values() if value is not None]).fetchall()
        return [tuple(row) for row in rows]

