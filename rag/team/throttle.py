"""Failed logins limited per client IP and per account, with the state in the database so
that every replica applies the same limits.

The rule (docs/team.md, "Throttling"):
- An IP with `attempts` failures within `window` seconds is refused (429) for a window. Each
  further failure from it before it has stayed quiet for a window after its lock doubles the
  lock (up to a day): a guesser gets `attempts` tries, then one per lock, and the locks grow.
- An account with `attempts` failures within the window (from any IPs) is refused to IPs
  that failed on it in the window themselves. An IP with no failures of its own, the
  owner's say, still logs in: an attacker elsewhere cannot lock anyone out, and a guesser
  spread over many IPs gets one try per IP per window once the account is under attack.
- Refused attempts are not checked and not counted; a correct password clears nothing (a
  guesser with an account of their own must not reset their IP's count by logging in).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from index.catalog.team import TeamStore

MAX_LOCK_SECONDS = 86400
KEY_CHARS = 100  # names tried are kept to this length


class Throttle:
    def __init__(self, store: TeamStore, attempts: int, window: float, now: Callable[[], float] = time.time):
        self.store = store
        self.attempts = attempts
        self.window = window
        self.now = now

    def retry_after(self, ip: str, account: str) -> float | None:
        """Seconds until this IP may try this account again, or None when it may now."""
        now = self.now()
        ip_free = _locked_until(self._failures("ip", ip, now - MAX_LOCK_SECONDS - self.window),
                                self.attempts, self.window)
        if ip_free > now:
            return ip_free - now
        if not self._failures("ip", ip, now - self.window):
            return None  # an IP without recent failures is never held back by the account's
        recent = self._failures("account", account, now - self.window)
        if len(recent) >= self.attempts:
            return recent[-self.attempts] + self.window - now
        return None

    def failed(self, ip: str, account: str) -> None:
        now = self.now()
        forget = now - MAX_LOCK_SECONDS - self.window
        self.store.add_failure("ip", ip, now, forget)
        self.store.add_failure("account", account[:KEY_CHARS], now, forget)

    def _failures(self, scope: str, key: str, since: float) -> list[float]:
        return self.store.failure_times(scope, key[:KEY_CHARS], since)


def _locked_until(failures: list[float], attempts: int, window: float) -> float:
    """When the lock these failure times (oldest first) earned ends (the past: no lock)."""
    until, lock, recent = float("-inf"), 0.0, []
    for at in failures:
        if lock and at > until + window:
            lock = 0.0  # it stayed quiet for a window after its lock: forgiven
        recent = [t for t in recent if t > at - window] + [at]
        if lock or len(recent) >= attempts:
            lock = min(2 * lock if lock else window, MAX_LOCK_SECONDS)
            until = at + lock
    return until
