"""dynamokit.streams: the streams runtime for pattern 4 (true microservice).

Typed changes (`decode`), Lambda-deployable handlers with ordered partial-batch failures
(`StreamProcessor`), a local event-source runner (`LocalRunner`), idempotent view writers (`View`,
`wait_for_version`), gapless backfill (`backfill`) and sinks (`FtsSink`, `DuckDBSink`, `OpenSearchSink`;
any `Sink` can take each batch's changes).
"""

from .changes import Change, decode
from .processor import Sink, StreamProcessor, UnknownEntity
from .runner import LocalRunner
from .sinks import DuckDBSink, FtsSink, FtsWriter, Hit, OpenSearchSink
from .views import Capacity, FreshRead, View, ViewTransaction, wait_for_version

__all__ = [
    "Capacity",
    "Change",
    "DuckDBSink",
    "FreshRead",
    "FtsSink",
    "FtsWriter",
    "Hit",
    "LocalRunner",
    "OpenSearchSink",
    "Sink",
    "StreamProcessor",
    "UnknownEntity",
    "View",
    "ViewTransaction",
    "decode",
    "wait_for_version",
]
