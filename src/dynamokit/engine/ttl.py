"""Time to live: UpdateTimeToLive / DescribeTimeToLive and the sweeper that deletes expired items."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import Engine, Operation

OPERATIONS: dict[str, Operation] = {}


class TimeToLive:
    """The engine's TTL sweeper: `sweep()` deletes expired items now; `start(interval)` runs it in the background."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, interval: float = 1.0) -> None:
        """Sweep every `interval` seconds in a daemon thread until `stop()`."""

    def stop(self) -> None:
        """Stop the background sweeper (the engine calls this on close)."""
