"""Injected faults, for testing retry code: errors answered with a seeded probability per operation and table,
before the operation runs (so a faulted request changes nothing). None unless added: `Engine(faults=[...])`,
`engine.faults.add(...)`, `dynamokit.mock(faults=[...], fault_seed=1)`."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._errors import DynamoDBError
from .throttle import PROVISIONED_MESSAGE, uses

# Code -> (HTTP status, DynamoDB's message).
ERRORS: dict[str, tuple[int, str]] = {
    "ThrottlingException": (400, "Rate of requests exceeds the allowed throughput."),
    "ProvisionedThroughputExceededException": (400, PROVISIONED_MESSAGE),
    "RequestLimitExceeded": (400, ("Throughput exceeds the current throughput limit for your account. Please "
                                   "contact AWS Support at https://aws.amazon.com/support request a limit increase")),
    "TransactionConflictException": (400, "Transaction is ongoing for the item"),
    "InternalServerError": (500, "Internal server error"),
    "ServiceUnavailable": (503, "Service unavailable"),
}


@dataclass(frozen=True)
class Fault:
    """Answer `operation` (None: every operation) on `table` (None: any) with `error`, with probability
    `rate`, at most `times` times (None: unbounded)."""

    operation: str | None
    error: str = "ThrottlingException"
    rate: float = 1.0
    table: str | None = None
    times: int | None = None

    def __post_init__(self) -> None:
        if self.error not in ERRORS:
            raise ValueError(f"unknown fault {self.error!r}; one of {', '.join(ERRORS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"a fault's rate is a probability, not {self.rate!r}")


class Faults:
    """An engine's faults and the seeded random source deciding when they fire. `fired` lists the
    (operation, error) of each fault answered, in order."""

    def __init__(self, faults: Iterable[Fault] = (), seed: int | None = None,
                 changed: Callable[[], None] | None = None) -> None:
        self._faults: list[Fault] = []
        self._left: dict[int, int] = {}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._changed = changed
        self.fired: list[tuple[str, str]] = []
        for fault in faults:
            self.add(fault)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
            if fault.times is not None:
                self._left[id(fault)] = fault.times
        if self._changed is not None:
            self._changed()
        return fault

    def clear(self) -> None:
        """Remove every fault (the random source goes on)."""
        with self._lock:
            self._faults.clear()
            self._left.clear()
        if self._changed is not None:
            self._changed()

    def seed(self, seed: int | None) -> None:
        """Restart the random source from `seed`."""
        with self._lock:
            self._random.seed(seed)

    def inject(self, operation: str, request: dict[str, Any]) -> None:
        """Raise the first matching fault that fires (one random draw per matching fault)."""
        names: list[str] | None = None
        with self._lock:
            for fault in self._faults:
                if fault.operation is not None and fault.operation != operation:
                    continue
                if fault.table is not None:
                    if names is None:
                        names = [_plain(name) for name, _ in uses(operation, request)]
                    if fault.table not in names:
                        continue
                left = self._left.get(id(fault))
                if left == 0 or self._random.random() >= fault.rate:
                    continue
                if left is not None:
                    self._left[id(fault)] = left - 1
                self.fired.append((operation, fault.error))
                status, message = ERRORS[fault.error]
                raise DynamoDBError(fault.error, message, status)


def _plain(name: Any) -> str:
    """A table name from a name or an ARN."""
    text = str(name)
    return text.rpartition("table/")[2] if text.startswith("arn:") else text
