"""The DynamoDB Streams API: ListStreams, DescribeStream, GetShardIterator, GetRecords."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import DynamoDBError, resource_not_found, validation
from ..resources import parse_arn
from . import iterators, store
from .log import stream_not_found

if TYPE_CHECKING:
    from ..core import Engine, Operation

MAX_RECORD_BYTES = 1024 * 1024  # GetRecords returns at most 1 MB (and at least one record)
_ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")


def _trimmed() -> DynamoDBError:
    return DynamoDBError("TrimmedDataAccessException", "The data you are trying to access has been trimmed")


def _limit(request: dict[str, Any], default: int, high: int) -> int:
    value = request.get("Limit", default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise validation(f"1 validation error detected: Value '{value}' at 'limit' failed to satisfy "
                         "constraint: Member must have value greater than or equal to 1")
    if value > high:
        raise validation(f"1 validation error detected: Value '{value}' at 'limit' failed to satisfy "
                         f"constraint: Member must have value less than or equal to {high}")
    return value


def _text(request: dict[str, Any], name: str, where: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value:
        raise validation(f"1 validation error detected: Value null at '{where}' failed to satisfy "
                         "constraint: Member must not be null")
    return value


def _stream(engine: Engine, conn: sqlite3.Connection, arn: str) -> store.Stream:
    """The visible stream called `arn`, or ResourceNotFoundException (a malformed ARN: ValidationException)."""
    stream = store.stream_by_arn(conn, arn)
    if stream is None and (not isinstance(arn, str) or _malformed(arn)):
        raise validation(f"Invalid StreamArn: Invalid ResourceArn provided as input {arn}")
    if stream is None or not engine.streams.visible(stream, engine.clock()):
        raise stream_not_found(arn)
    return stream


def _malformed(arn: str) -> bool:
    """Whether `arn` is not the ARN of a table's stream."""
    try:
        return parse_arn(arn, "StreamArn").stream is None
    except DynamoDBError:
        return True


def _fresh_stream(engine: Engine, arn: str) -> None:
    """Roll the stream's shards over first if they are due (so lineage follows the clock, writes or not)."""
    stream = _stream(engine, engine.storage.connection(), arn)
    engine.streams.maintain(stream)


def list_streams(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    limit = _limit(request, 100, 100)
    table_name = request.get("TableName")
    start = request.get("ExclusiveStartStreamArn")
    cutoff = engine.streams.cutoff(engine.clock())
    sql = "SELECT arn, table_name, label FROM streams WHERE sid > ? AND (disabled IS NULL OR disabled >= ?)"
    args: list[Any] = [0, cutoff]
    if table_name is not None:
        sql += " AND table_name = ?"
        args.append(table_name)
    with engine.storage.snapshot() as conn:
        if start is not None:
            args[0] = _stream(engine, conn, start).sid
        rows = conn.execute(sql + " ORDER BY sid LIMIT ?", (*args, limit + 1)).fetchall()
    out: dict[str, Any] = {"Streams": [{"StreamArn": arn, "TableName": name, "StreamLabel": label}
                                       for arn, name, label in rows[:limit]]}
    if len(rows) > limit:
        out["LastEvaluatedStreamArn"] = rows[limit - 1][0]
    return out


def describe_stream(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    arn = _text(request, "StreamArn", "streamArn")
    limit = _limit(request, 100, 100)
    start = request.get("ExclusiveStartShardId")
    _fresh_stream(engine, arn)
    cutoff = engine.streams.cutoff(engine.clock())
    with engine.storage.snapshot() as conn:
        stream = _stream(engine, conn, arn)
        after, after_id = -1, ""
        if start is not None:
            shard = store.shard_by_id(conn, stream.sid, start)
            # Shards are listed in shard-id order (as DynamoDB does); an id that names no shard starts the
            # listing after its place in that order.
            after, after_id = (shard.shard, "") if shard is not None else (-1, str(start))
        rows = conn.execute(f"SELECT {store.SHARD_COLUMNS} FROM stream_shards WHERE sid = ? AND shard > ? "
                            "AND shard_id > ? AND (closed IS NULL OR closed >= ?) ORDER BY shard LIMIT ?",
                            (stream.sid, after, after_id, cutoff, limit + 1)).fetchall()
    shards = [store.Shard(*row) for row in rows]
    description: dict[str, Any] = {
        "StreamArn": stream.arn,
        "StreamLabel": stream.label,
        "StreamStatus": "ENABLED" if stream.disabled is None else "DISABLED",
        "StreamViewType": stream.view_type,
        "CreationRequestDateTime": stream.created,
        "TableName": stream.table_name,
        "KeySchema": orjson.loads(stream.key_schema),
        "Shards": [shard.shape() for shard in shards[:limit]],
    }
    if len(shards) > limit:
        description["LastEvaluatedShardId"] = shards[limit - 1].shard_id
    return {"StreamDescription": description}


def get_shard_iterator(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    arn = _text(request, "StreamArn", "streamArn")
    public_id = _text(request, "ShardId", "shardId")
    kind = request.get("ShardIteratorType")
    if kind not in _ITERATOR_TYPES:
        raise validation(f"1 validation error detected: Value '{kind}' at 'shardIteratorType' failed to "
                         "satisfy constraint: Member must satisfy enum value set: "
                         f"[{', '.join(_ITERATOR_TYPES)}]")
    sequence = request.get("SequenceNumber")
    if kind.endswith("_SEQUENCE_NUMBER") and sequence is None:
        raise validation(f"Must specify a SequenceNumber when the ShardIteratorType is {kind}")
    if not kind.endswith("_SEQUENCE_NUMBER") and sequence is not None:
        raise validation(f"Cannot specify a SequenceNumber when the ShardIteratorType is {kind}")
    _fresh_stream(engine, arn)
    now = engine.clock()
    with engine.storage.snapshot() as conn:
        stream = _stream(engine, conn, arn)
        shard = store.shard_by_id(conn, stream.sid, public_id)
        if shard is None or (shard.closed is not None and shard.closed < engine.streams.cutoff(now)):
            raise resource_not_found(f"Requested resource not found: Shard: {public_id} in Stream: {arn} "
                                     "not found")
        after = _start(engine, conn, stream, shard, kind, sequence, now)
    position = iterators.Position(arn, stream.sid, shard.shard, after, int(now * 1000))
    return {"ShardIterator": iterators.encode(position)}


def _start(engine: Engine, conn: sqlite3.Connection, stream: store.Stream, shard: store.Shard, kind: str,
           sequence: Any, now: float) -> int:
    """The sequence number a new iterator reads after."""
    if kind == "TRIM_HORIZON":
        live = conn.execute("SELECT seq FROM stream_records WHERE sid = ? AND shard = ? AND created >= ? "
                            "ORDER BY seq LIMIT 1",
                            (stream.sid, shard.shard, engine.streams.cutoff(now))).fetchone()
        if live is not None:
            return int(live[0]) - 1
        return max(shard.start_seq, shard.trimmed, _newest(conn, shard))
    if kind == "LATEST":
        return shard.end_seq if shard.end_seq is not None else max(shard.start_seq, _newest(conn, shard))
    seq = store.parse_sequence(sequence)
    high = shard.end_seq if shard.end_seq is not None else stream.seq
    if seq is None or not shard.start_seq <= seq <= high:
        raise _not_in_shard(sequence, shard, stream)
    after = seq - 1 if kind == "AT_SEQUENCE_NUMBER" else seq
    if after < shard.trimmed:
        raise _trimmed()
    if seq not in (shard.start_seq, shard.end_seq) and conn.execute(
            "SELECT 1 FROM stream_records WHERE sid = ? AND shard = ? AND seq = ?",
            (shard.sid, shard.shard, seq)).fetchone() is None:
        raise _not_in_shard(sequence, shard, stream)  # e.g. the number of a record of another shard
    return after


def _not_in_shard(sequence: Any, shard: store.Shard, stream: store.Stream) -> DynamoDBError:
    return validation(f"Invalid SequenceNumber {sequence} for shard {shard.shard_id} of stream {stream.arn}")


def _newest(conn: sqlite3.Connection, shard: store.Shard) -> int:
    row = conn.execute("SELECT MAX(seq) FROM stream_records WHERE sid = ? AND shard = ?",
                       (shard.sid, shard.shard)).fetchone()
    return int(row[0] or 0)


def get_records(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    position = iterators.decode(request.get("ShardIterator"))
    limit = _limit(request, 1000, 1000)
    now = engine.clock()
    iterators.check_fresh(position, now, engine.streams.iterator_ttl)
    with engine.storage.snapshot() as conn:
        stream = store.stream_by_sid(conn, position.sid)
        if stream is None or stream.arn != position.arn or not engine.streams.visible(stream, now):
            raise stream_not_found(position.arn)
        shard = store.shard_by_number(conn, position.sid, position.shard)
        if shard is None or position.after < shard.trimmed:
            raise _trimmed()
        rows = conn.execute("SELECT seq, created, record FROM stream_records WHERE sid = ? AND shard = ? "
                            "AND seq > ? ORDER BY seq LIMIT ?",
                            (position.sid, position.shard, position.after, limit + 1)).fetchall()
    if rows and rows[0][1] < engine.streams.cutoff(now):
        raise _trimmed()
    records: list[Any] = []
    size = 0
    after = position.after
    for seq, _, blob in rows[:limit]:
        if records and size + len(blob) > MAX_RECORD_BYTES:
            break
        records.append(orjson.loads(blob))
        size += len(blob)
        after = seq
    out: dict[str, Any] = {"Records": records}
    if shard.closed is None or len(records) < len(rows):
        issued = iterators.Position(position.arn, position.sid, position.shard, after, int(now * 1000))
        out["NextShardIterator"] = iterators.encode(issued)
    return out


OPERATIONS: dict[str, Operation] = {
    "ListStreams": list_streams,
    "DescribeStream": describe_stream,
    "GetShardIterator": get_shard_iterator,
    "GetRecords": get_records,
}
