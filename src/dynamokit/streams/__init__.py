"""dynamokit.streams: the streams runtime for pattern 4 (true microservice).

Typed changes (`decode`), Lambda-deployable handlers with ordered partial-batch failures
(`StreamProcessor`), a local event-source runner (`LocalRunner`), idempotent view writers (`View`,
`wait_for_version`, `ensure_table` for the view tables), gapless backfill (`backfill`), the stream a runner
reads (the engine's, or any Streams endpoint: `RemoteSource`; both are a `StreamSource`) and sinks (`FtsSink`,
`DuckDBSink`, `OpenSearchSink`; any `Sink` can take each batch's changes); `Faults` injects redelivery and
failures into a handler, for tests.

A Lambda function imports only what it uses: changes, processor and views load neither the engine nor
SQLite; `LocalRunner`, `backfill`, the sources and the sinks are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._changes import Change, decode
from ._faults import Faults
from ._mapping import EventSourceMapping, MappingError
from ._metrics import Metrics
from ._processor import Sink, StreamProcessor, UnknownEntity
from ._views import Capacity, FreshRead, View, ViewTransaction, wait_for_version

if TYPE_CHECKING:
    from ._backfilling import backfill
    from ._runner import LocalRunner
    from ._sinks import DuckDBSink, FtsSink, FtsWriter, Hit, OpenSearchSink
    from ._sources import RemoteSource, StreamSource
    from ._tables import ensure_table

__all__ = [
    "Capacity",
    "Change",
    "DuckDBSink",
    "EventSourceMapping",
    "Faults",
    "FreshRead",
    "FtsSink",
    "FtsWriter",
    "Hit",
    "LocalRunner",
    "MappingError",
    "Metrics",
    "OpenSearchSink",
    "RemoteSource",
    "Sink",
    "StreamProcessor",
    "StreamSource",
    "UnknownEntity",
    "View",
    "ViewTransaction",
    "backfill",
    "decode",
    "ensure_table",
    "wait_for_version",
]

_LAZY = {"LocalRunner": "._runner", "DuckDBSink": "._sinks", "FtsSink": "._sinks", "FtsWriter": "._sinks",
         "Hit": "._sinks", "OpenSearchSink": "._sinks", "RemoteSource": "._sources",
         "StreamSource": "._sources", "backfill": "._backfilling", "ensure_table": "._tables"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LAZY[name], __name__), name)
