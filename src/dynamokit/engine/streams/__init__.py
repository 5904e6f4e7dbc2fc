"""DynamoDB Streams: the durable change log written with each item change, and the Streams API."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core import Engine, Operation
    from ..schema import Table

# The DynamoDB Streams API operations (ListStreams, DescribeStream, GetShardIterator, GetRecords),
# merged into the Engine's operation table.
OPERATIONS: dict[str, Operation] = {}


class StreamLog:
    """The change log of every table with a stream; each record commits in its change's transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enable(self, conn: sqlite3.Connection, tid: int, description: dict[str, Any]) -> None:
        """A table's stream is turned on: give `description` its LatestStreamArn and LatestStreamLabel."""

    def disable(self, conn: sqlite3.Connection, tid: int, description: dict[str, Any]) -> None:
        """A table's stream is turned off (the old stream stays readable for the retention period)."""

    def drop(self, conn: sqlite3.Connection, table: Table) -> None:
        """A table is deleted."""

    def record(self, conn: sqlite3.Connection, table: Table, old: dict[str, Any] | None,
               new: dict[str, Any] | None, service: bool) -> None:
        """Append the stream record of one item change (old -> new; None for absent)."""
