"""Sinks: full-text search (SQLite FTS5), analytics (DuckDB) and OpenSearch/Elasticsearch, each idempotent
under redelivery."""

from .duck import DuckDBSink, safe_name
from .fts import FtsSink, FtsWriter, Hit
from .opensearch import OpenSearchSink

__all__ = ["DuckDBSink", "FtsSink", "FtsWriter", "Hit", "OpenSearchSink", "safe_name"]
