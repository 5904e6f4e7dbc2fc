"""TransactWriteItems and TransactGetItems: all-or-nothing, isolated, idempotent."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import Operation

OPERATIONS: dict[str, Operation] = {}
