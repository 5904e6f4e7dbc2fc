"""Rate limit (a token bucket of write capacity units per second) and progress (items/s, ETA)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class Limiter:
    """Write capacity units per second shared by every segment; `reserve` says how long to wait first."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be a positive number of WCU/s, not {rate}")
        self.rate, self.clock = rate, clock
        self._lock = threading.Lock()
        self._tokens = rate or 0.0
        self._at = clock()

    def reserve(self, units: float) -> float:
        """Take `units` (going into debt if needed); returns the seconds to wait before spending them."""
        if self.rate is None:
            return 0.0
        with self._lock:
            now = self.clock()
            self._tokens = min(self.rate, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= units
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


@dataclass
class Progress:
    """A run's progress over one table (updated after every chunk)."""

    table: str
    target: int
    total: int | None = None  # the table's ItemCount when the run started (an estimate)
    scanned: int = 0
    migrated: int = 0
    skipped: int = 0
    retried: int = 0
    parked: int = 0
    chunks: int = 0
    wcu: float = 0.0
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, counts: dict[str, int], wcu: float) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)
            self.chunks += 1
            self.wcu += wcu

    @property
    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    @property
    def rate(self) -> float:
        """Items scanned per second."""
        return self.scanned / self.elapsed

    @property
    def eta(self) -> float | None:
        """Seconds left, from the scan rate and the estimated item count (None when unknown)."""
        if not self.total or not self.scanned:
            return None
        return max(self.total - self.scanned, 0) / self.rate

    def __str__(self) -> str:
        eta = "?" if self.eta is None else f"{self.eta:.0f}s"
        total = f"/{self.total}" if self.total else ""
        return (
            f"{self.table} -> v{self.target}: scanned {self.scanned}{total}, migrated {self.migrated}, "
            f"skipped {self.skipped}, retried {self.retried}, parked {self.parked}; "
            f"{self.rate:,.0f} items/s, {self.wcu:,.0f} WCU, ETA {eta}"
        )
