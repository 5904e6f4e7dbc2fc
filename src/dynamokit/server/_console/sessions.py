"""The console's logins under `--auth`: server-side sessions and the failed-login throttle.

A session keeps the backend bound to the principal that logged in (never a secret), its own CSRF token, and
when it ends: after IDLE seconds without a request, ABSOLUTE seconds after login, or when the temporary
credentials it was opened with expire, whichever comes first. The browser holds only the session's id, in an
HttpOnly, SameSite=Strict cookie.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

IDLE = 30 * 60.0
ABSOLUTE = 8 * 3600.0
MAX_SESSIONS = 1000
FAILURE_WINDOW = 300.0
MAX_FAILURES_PER_KEY = 5  # per access key id, in FAILURE_WINDOW seconds
MAX_FAILURES = 50  # all access key ids together (a guesser changing key ids), in FAILURE_WINDOW seconds


@dataclass
class Session:
    """One logged-in browser."""

    issuer: Any  # the AuthorizingBackend that verified the login: a session is good on its own server only
    backend: Any  # that backend bound to the principal: every call is authorized as the API authorizes it
    user: str  # the principal's ARN, shown in the header
    ends: float  # absolute end (login + ABSOLUTE, or the credentials' expiry)
    seen: float
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # this session's CSRF token


class Sessions:
    """Sessions by id, and failed logins by access key id; `clock` is replaceable in tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, deque[float]] = {}
        self._all_failures: deque[float] = deque()
        self._lock = threading.Lock()

    def open(self, issuer: Any, backend: Any, user: str, expires: float | None) -> tuple[str, Session]:
        """A new session (and its id, for the cookie)."""
        now = self.clock()
        ends = now + ABSOLUTE if expires is None else min(now + ABSOLUTE, expires)
        session = Session(issuer, backend, user, ends, now)
        ident = secrets.token_urlsafe(32)
        with self._lock:
            for old in [k for k, s in self._sessions.items() if not self._alive(s, now)]:
                del self._sessions[old]
            while len(self._sessions) >= MAX_SESSIONS:  # the oldest goes first
                del self._sessions[next(iter(self._sessions))]
            self._sessions[ident] = session
        return ident, session

    def find(self, issuer: Any, ident: str) -> Session | None:
        """The live session of this id opened on `issuer` (its idle time restarts), else None."""
        now = self.clock()
        with self._lock:
            session = self._sessions.get(ident)
            if session is None or session.issuer is not issuer:
                return None
            if not self._alive(session, now):
                del self._sessions[ident]
                return None
            session.seen = now
            return session

    def close(self, ident: str) -> None:
        with self._lock:
            self._sessions.pop(ident, None)

    @staticmethod
    def _alive(session: Session, now: float) -> bool:
        return now < session.ends and now < session.seen + IDLE

    def throttled(self, key_id: str) -> bool:
        """Too many failed logins lately, for this access key id or altogether."""
        now = self.clock()
        with self._lock:
            recent = self._failures.get(key_id, deque())
            for queue in (recent, self._all_failures):
                while queue and queue[0] <= now - FAILURE_WINDOW:
                    queue.popleft()
            return len(recent) >= MAX_FAILURES_PER_KEY or len(self._all_failures) >= MAX_FAILURES

    def failed(self, key_id: str) -> None:
        now = self.clock()
        with self._lock:
            if key_id not in self._failures and len(self._failures) >= MAX_SESSIONS:
                self._failures.clear()  # bounded memory: the overall limit still holds
            self._failures.setdefault(key_id, deque()).append(now)
            self._all_failures.append(now)

    def succeeded(self, key_id: str) -> None:
        with self._lock:
            self._failures.pop(key_id, None)


SESSIONS = Sessions()
