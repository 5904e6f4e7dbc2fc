"""PartiQL for DynamoDB: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction.

Each statement is translated into the engine's own operations (GetItem, Query, Scan, PutItem, UpdateItem,
DeleteItem, TransactGetItems, TransactWriteItems), so validation, conditions, indexes, streams and capacity
follow exactly the rules of those operations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .operations import batch_execute_statement, execute_statement, execute_transaction

if TYPE_CHECKING:
    from ..core import Engine

OPERATIONS: dict[str, Callable[[Engine, dict[str, Any]], dict[str, Any]]] = {
    "ExecuteStatement": execute_statement,
    "BatchExecuteStatement": batch_execute_statement,
    "ExecuteTransaction": execute_transaction,
}

__all__ = ["OPERATIONS"]
