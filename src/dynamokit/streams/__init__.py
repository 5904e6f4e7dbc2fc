"""dynamokit.streams: the streams runtime for pattern 4 (true microservice).

Typed changes (`decode`), Lambda-deployable handlers with ordered partial-batch failures
(`StreamProcessor`), a local event-source runner (`LocalRunner`), idempotent view writers (`View`,
`wait_for_version`), gapless backfill (`backfill`) and sinks (`FtsSink`, `DuckDBSink`).
"""

from .changes import Change, decode
from .processor import StreamProcessor, UnknownEntity
from .runner import LocalRunner
from .sinks import DuckDBSink, FtsSink, Hit
from .views import FreshRead, View, ViewTransaction, wait_for_version

__all__ = [
    "Change",
    "DuckDBSink",
    "FreshRead",
    "FtsSink",
    "Hit",
    "LocalRunner",
    "StreamProcessor",
    "UnknownEntity",
    "View",
    "ViewTransaction",
    "decode",
    "wait_for_version",
]
