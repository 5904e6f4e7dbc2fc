"""DynamoDB Streams: the durable change log written with each item change, and the Streams API.

`log.StreamLog` writes records inside each change's transaction and keeps shards and retention;
`api` answers ListStreams, DescribeStream, GetShardIterator and GetRecords; `iterators` encodes shard
iterators; `store` holds the SQLite tables and identifier formats.
"""

from .api import OPERATIONS
from .log import StreamLog
from .store import SCHEMA

__all__ = ["OPERATIONS", "SCHEMA", "StreamLog"]
