"""BatchGetItem and BatchWriteItem."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import Operation

OPERATIONS: dict[str, Operation] = {}
