"""Sinks: full-text search (SQLite FTS5) and analytics (DuckDB), each idempotent under redelivery."""

from .duck import DuckDBSink
from .fts import FtsSink, Hit

__all__ = ["DuckDBSink", "FtsSink", "Hit"]
