"""Runner metrics: throughput, write-to-handler lag percentiles and the watermark."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100, nearest rank) of `values`; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Metrics:
    """Counters of one runner. `lag` is commit (ApproximateCreationDateTime, sharpened by when the runner
    last saw the stream empty) to handler completion, in ms, over the last `window` records; `watermark` is
    a time (engine clock, epoch seconds) before which every committed record has been handled."""

    window: int = 10_000
    processed: int = 0
    batches: int = 0
    filtered: int = 0
    parked: int = 0
    retries: int = 0
    watermark: float | None = None
    last_sequence_number: str | None = None
    _lags: deque[float] = field(default_factory=deque)
    _first: float | None = None
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def applied(self, lags_ms: list[float], sequence_number: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            if self._first is None:
                self._first = now
            self._last = now
            self.processed += len(lags_ms)
            self.batches += 1
            self._lags.extend(lags_ms)
            while len(self._lags) > self.window:
                self._lags.popleft()
            if sequence_number is not None:
                self.last_sequence_number = sequence_number

    def count(self, counter: str, n: int) -> None:
        """Add to a counter (filtered, parked, retries): batches on several threads count at once."""
        if n:
            with self._lock:
                setattr(self, counter, getattr(self, counter) + n)

    @property
    def records_per_second(self) -> float:
        span = self._last - self._first if self._first is not None else 0.0
        return self.processed / span if span > 0 else 0.0

    def lag_ms(self, q: float) -> float:
        with self._lock:
            values = list(self._lags)
        return percentile(values, q)

    @property
    def lag_p50_ms(self) -> float:
        return self.lag_ms(50)

    @property
    def lag_p99_ms(self) -> float:
        return self.lag_ms(99)

    def snapshot(self) -> dict[str, Any]:
        return {"processed": self.processed, "batches": self.batches, "filtered": self.filtered,
                "parked": self.parked, "retries": self.retries,
                "records_per_second": round(self.records_per_second, 1),
                "lag_p50_ms": round(self.lag_p50_ms, 2), "lag_p99_ms": round(self.lag_p99_ms, 2),
                "watermark": self.watermark, "last_sequence_number": self.last_sequence_number}

    def line(self) -> str:
        """A one-line progress report."""
        return (f"processed={self.processed} rate={self.records_per_second:.0f}/s "
                f"lag p50={self.lag_p50_ms:.1f}ms p99={self.lag_p99_ms:.1f}ms retries={self.retries} "
                f"parked={self.parked} filtered={self.filtered} watermark={self.watermark}")
