"""Sinks: full-text search (SQLite FTS5), analytics (DuckDB) and OpenSearch/Elasticsearch, each idempotent
under redelivery. Each is imported on first use: `DuckDBSink` needs `pip install 'dynamokit[analytics]'`."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .duck import DuckDBSink, safe_name
    from .fts import FtsSink, FtsWriter, Hit
    from .opensearch import OpenSearchSink

__all__ = ["DuckDBSink", "FtsSink", "FtsWriter", "Hit", "OpenSearchSink", "safe_name"]

_MODULES = {"DuckDBSink": ".duck", "safe_name": ".duck", "FtsSink": ".fts", "FtsWriter": ".fts", "Hit": ".fts",
            "OpenSearchSink": ".opensearch"}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_MODULES[name], __name__), name)
