"""The comparison as data: measures per pattern and access pattern, on-demand cost, and JSON output."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .meter import Tally

# On-demand prices, USD per million request units (us-east-1, standard table class).
READ_PRICE = 0.125
WRITE_PRICE = 0.625
PATTERNS = ("simple", "faux_sql", "single_table", "microservice")


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class Measure:
    """One access pattern on one blog: means per call, and latency percentiles."""

    requests: float
    rcu: float
    wcu: float
    p50_ms: float
    p99_ms: float

    @property
    def cost_per_million(self) -> float:
        """USD for a million calls on on-demand capacity."""
        return self.rcu * READ_PRICE + self.wcu * WRITE_PRICE

    def to_json(self) -> dict[str, float]:
        return {
            "requests": round(self.requests, 3),
            "rcu": round(self.rcu, 3),
            "wcu": round(self.wcu, 3),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "cost_per_million_usd": round(self.cost_per_million, 4),
        }


@dataclass(frozen=True)
class Probe:
    """An interrupted delete: a failure injected after 0, 1, ... writes until the delete completes."""

    interruptions: int  # failure points tried (writes the delete makes before its last)
    partial: int  # of those, how many left a half-done delete
    orphans: int  # comments and likes left without their post

    def to_json(self) -> dict[str, int]:
        return {"interruptions": self.interruptions, "partial_states": self.partial, "orphans": self.orphans}


@dataclass(frozen=True)
class Change:
    """The product change on one pattern, made while a writer kept writing."""

    items_rewritten: int  # base items rewritten (microservice: view lines the backfill wrote)
    index_items: int  # entries the engine copied into a GSI added with UpdateTable (not requests)
    wcu: float  # the change's write units (a new GSI's backfill included, as the engine metered it)
    rcu: float  # the change's read units (the migration's or backfill's Scan)
    seconds: float  # wall time of the change
    served_seconds: float  # from its start until the new access pattern was served
    writes: int  # comments the writer had acknowledged by the end of the change
    failed_writes: int  # comments the writer was refused (none expected)
    lost_writes: int  # acknowledged comments missing from the final data
    access: Measure  # the new access pattern afterwards, per call

    @property
    def cost(self) -> float:
        """USD on on-demand capacity."""
        return (self.rcu * READ_PRICE + self.wcu * WRITE_PRICE) / 1e6

    def to_json(self) -> dict[str, Any]:
        return {
            "items_rewritten": self.items_rewritten,
            "index_items": self.index_items,
            "wcu": round(self.wcu, 3),
            "rcu": round(self.rcu, 3),
            "cost_usd": round(self.cost, 8),
            "seconds": round(self.seconds, 3),
            "served_seconds": round(self.served_seconds, 3),
            "writer_acknowledged": self.writes,
            "failed_writes": self.failed_writes,
            "lost_writes": self.lost_writes,
            "access": self.access.to_json(),
        }


@dataclass
class PatternReport:
    name: str
    title: str
    summary: str
    guarantees: str
    load_seconds: float
    load: Measure
    access: dict[str, Measure]
    probe: Probe
    lag_ms: list[float] = field(default_factory=list)
    background: Tally | None = None  # the reader's own requests while following the run's writes
    runner: dict[str, float] | None = None  # the stream runner's metrics after loading
    change: Change | None = None  # the product change, adapted to live

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title,
            "load_seconds": round(self.load_seconds, 3),
            "access_patterns": {k: m.to_json() for k, m in self.access.items()},
            "integrity": {"guarantees": self.guarantees, "interrupted_delete": self.probe.to_json()},
        }
        if self.lag_ms:
            out["lag_p50_ms"] = round(percentile(self.lag_ms, 0.5), 3)
            out["lag_p99_ms"] = round(percentile(self.lag_ms, 0.99), 3)
            out["lag_samples"] = len(self.lag_ms)
        if self.background is not None:
            out["background"] = {
                "requests": self.background.requests,
                "rcu": round(self.background.rcu, 3),
                "wcu": round(self.background.wcu, 3),
            }
        if self.runner is not None:
            out["runner"] = self.runner
        if self.change is not None:
            out["change"] = self.change.to_json()
        return out


@dataclass
class Report:
    size: int
    seed: int
    dataset: dict[str, int]
    repetitions: int
    titles: dict[str, str]  # access pattern key -> title
    patterns: dict[str, PatternReport]
    agreement: dict[str, bool]
    seconds: float = 0.0
    change_title: str = "a user's comments, newest first"

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "seed": self.seed,
            "dataset": self.dataset,
            "repetitions": self.repetitions,
            "pricing_usd_per_million": {"read_request_unit": READ_PRICE, "write_request_unit": WRITE_PRICE},
            "access_patterns": self.titles,
            "patterns": {name: p.to_json() for name, p in self.patterns.items()},
            "agreement": self.agreement,
            "change": {"access_pattern": self.change_title},
            "seconds": round(self.seconds, 3),
        }
