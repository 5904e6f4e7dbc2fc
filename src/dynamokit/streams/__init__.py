"""dynamokit.streams: the streams runtime for pattern 4 (true microservice).

Typed changes (`decode`), Lambda-deployable handlers with ordered partial-batch failures
(`StreamProcessor`), a local event-source runner (`LocalRunner`), idempotent view writers (`View`,
`wait_for_version`), gapless backfill (`backfill`) and sinks (`FtsSink`, `DuckDBSink`, `OpenSearchSink`;
any `Sink` can take each batch's changes).

A Lambda function imports only what it uses: changes, processor and views load neither the engine nor
SQLite; `LocalRunner` and the sinks are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .changes import Change, decode
from .mapping import EventSourceMapping, MappingError
from .metrics import Metrics
from .processor import Sink, StreamProcessor, UnknownEntity
from .views import Capacity, FreshRead, View, ViewTransaction, wait_for_version

if TYPE_CHECKING:
    from .runner import LocalRunner
    from .sinks import DuckDBSink, FtsSink, FtsWriter, Hit, OpenSearchSink

__all__ = [
    "Capacity",
    "Change",
    "DuckDBSink",
    "EventSourceMapping",
    "FreshRead",
    "FtsSink",
    "FtsWriter",
    "Hit",
    "LocalRunner",
    "MappingError",
    "Metrics",
    "OpenSearchSink",
    "Sink",
    "StreamProcessor",
    "UnknownEntity",
    "View",
    "ViewTransaction",
    "decode",
    "wait_for_version",
]

_LAZY = {"LocalRunner": ".runner", "DuckDBSink": ".sinks", "FtsSink": ".sinks", "FtsWriter": ".sinks", "Hit": ".sinks",
         "OpenSearchSink": ".sinks"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LAZY[name], __name__), name)
