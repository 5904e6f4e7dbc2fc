"""The stream log: each change's record, written in the change's own transaction; shard generations,
retention and an in-process tail (`StreamLog.wait`).

Shards: a stream has `slots` shards per generation; a record goes to slot `crc32(partition key) % slots`
of the open generation, so one key's records stay in one shard per generation, in commit order. When a
generation is older than `shard_period` (checked at the next record, DescribeStream or GetShardIterator),
its shards close (EndingSequenceNumber) and each gets a child in the same slot (ParentShardId).

Sequence numbers come from one counter per stream, so they increase within a shard, and a child's range
starts after its parent's end.

Tailing in-process, without polling:

    after = None
    while running:
        after = engine.streams.wait(stream_arn, after, timeout=30) or after
        ...  # GetRecords on the shards being followed
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import DynamoDBError, resource_not_found, validation
from ..values import item_size
from . import store

if TYPE_CHECKING:
    from ..core import Engine
    from ..schema import Table

HOUR = 3600.0
_SERVICE = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
_IMAGES = {"KEYS_ONLY": (False, False), "NEW_IMAGE": (True, False), "OLD_IMAGE": (False, True),
           "NEW_AND_OLD_IMAGES": (True, True)}
# Take the next sequence number of a table's enabled stream for a record (it becomes the stream's newest).
_NEXT = ("UPDATE streams SET seq = seq + 1, last = seq + 1 WHERE tid = ? AND disabled IS NULL "
         "RETURNING sid, arn, view_type, seq, gen, gen_start, slots")


class StreamLog:
    """The change log of every table with a stream; each record commits in its change's transaction.

    Settings (attributes, adjustable at any time): `shard_count` shards per generation of streams enabled
    from then on, `shard_period` seconds before a generation closes and each shard gets a child,
    `retention` seconds records stay readable (and disabled streams stay listed), `iterator_ttl` seconds a
    shard iterator is valid, `trim_every` records between physical trims of a stream (reads already hide
    what retention has expired), `poll_interval` seconds between checks in `wait` for writes made by
    other processes.
    """

    def __init__(self, engine: Engine, *, shard_count: int = 4, shard_period: float = 4 * HOUR,
                 retention: float = 24 * HOUR, iterator_ttl: float = 900.0, trim_every: int = 1024,
                 poll_interval: float = 0.5) -> None:
        self.engine = engine
        self.shard_count = shard_count
        self.shard_period = shard_period
        self.retention = retention
        self.iterator_ttl = iterator_ttl
        self.trim_every = trim_every
        self.poll_interval = poll_interval
        self._changed = threading.Condition()
        self._version = 0  # bumped by every record written in this process while someone waits
        self._waiting = 0

    # -- control-plane hooks (inside the table's write transaction) ----------------------------------------
    def enable(self, conn: sqlite3.Connection, tid: int, description: dict[str, Any]) -> None:
        """A table's stream is turned on: a new stream (new label and ARN) with its first shard generation."""
        now = self.engine.clock()
        label, arn = self._new_arn(conn, description["TableArn"], now)
        sid = self.engine.storage.next_counter(conn, "stream_id")
        view = description["StreamSpecification"]["StreamViewType"]
        self._end(conn, tid, now)  # a table has at most one enabled stream
        conn.execute(
            "INSERT INTO streams(sid, arn, label, table_name, tid, view_type, key_schema, created, disabled, "
            "slots, gen, gen_start, seq, last) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 0, ?, 1, 0)",
            (sid, arn, label, description["TableName"], tid, view, orjson.dumps(description["KeySchema"]),
             now, self.shard_count, now))
        self._open_generation(conn, sid, 0, self.shard_count, 1, now, {})
        description.update(LatestStreamArn=arn, LatestStreamLabel=label)
        self._expire(conn, now)

    def disable(self, conn: sqlite3.Connection, tid: int, description: dict[str, Any]) -> None:
        """A table's stream is turned off: its shards close; it stays readable for the retention period."""
        now = self.engine.clock()
        self._end(conn, tid, now)
        self._expire(conn, now)

    def drop(self, conn: sqlite3.Connection, table: Table) -> None:
        """A table is deleted: its stream, if any, ends as when disabled."""
        now = self.engine.clock()
        self._end(conn, table.tid, now)
        self._expire(conn, now)

    def _new_arn(self, conn: sqlite3.Connection, table_arn: str, now: float) -> tuple[str, str]:
        """A label (the creation time) and ARN no other stream has: a clash moves the label 1 ms on."""
        while True:
            label = store.stream_label(now)
            arn = f"{table_arn}/stream/{label}"
            if conn.execute("SELECT 1 FROM streams WHERE arn = ?", (arn,)).fetchone() is None:
                return label, arn
            now += 0.001

    def _end(self, conn: sqlite3.Connection, tid: int, now: float) -> None:
        """End the table's enabled stream, if any: close its shards and mark it disabled."""
        row = conn.execute("SELECT sid FROM streams WHERE tid = ? AND disabled IS NULL", (tid,)).fetchone()
        if row is not None:
            self._close_open_shards(conn, row[0], now)
            conn.execute("UPDATE streams SET disabled = ? WHERE sid = ?", (now, row[0]))

    # -- shards ------------------------------------------------------------------------------------------
    def _open_generation(self, conn: sqlite3.Connection, sid: int, gen: int, slots: int, start: int,
                         now: float, parents: dict[int, str]) -> None:
        for slot in range(slots):
            shard = gen * slots + slot
            conn.execute("INSERT INTO stream_shards(sid, shard, shard_id, parent_id, created, start_seq) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (sid, shard, store.shard_id(now, shard), parents.get(slot), now, start))

    def _close_open_shards(self, conn: sqlite3.Connection, sid: int,
                           now: float) -> tuple[int, int, int, dict[int, str]]:
        """Close the open generation; returns its ending sequence number, generation, slots, ids by slot."""
        end, gen, slots = conn.execute(
            "UPDATE streams SET seq = seq + 1 WHERE sid = ? RETURNING seq, gen, slots", (sid,)).fetchone()
        ids = dict(conn.execute(
            "SELECT shard - ?, shard_id FROM stream_shards WHERE sid = ? AND closed IS NULL",
            (gen * slots, sid)).fetchall())
        conn.execute("UPDATE stream_shards SET closed = ?, end_seq = ? WHERE sid = ? AND closed IS NULL",
                     (now, end, sid))
        return end, gen, slots, ids

    def _roll(self, conn: sqlite3.Connection, sid: int, now: float) -> None:
        """Close every open shard of a stream and open a child for each (same slot, new generation)."""
        end, gen, slots, parents = self._close_open_shards(conn, sid, now)
        self._open_generation(conn, sid, gen + 1, slots, end + 1, now, parents)
        conn.execute("UPDATE streams SET gen = ?, gen_start = ?, seq = ? WHERE sid = ?",
                     (gen + 1, now, end + 1, sid))

    def maintain(self, stream: store.Stream) -> None:
        """Roll the stream's shards over if its open generation is older than `shard_period`."""
        if stream.disabled is not None or self.engine.clock() - stream.gen_start < self.shard_period:
            return
        with self.engine.storage.write() as conn:
            now = self.engine.clock()
            row = conn.execute("SELECT gen_start FROM streams WHERE sid = ? AND disabled IS NULL",
                               (stream.sid,)).fetchone()
            if row is not None and now - row[0] >= self.shard_period:
                self._roll(conn, stream.sid, now)

    # -- the change log ----------------------------------------------------------------------------------
    def record(self, conn: sqlite3.Connection, table: Table, old: dict[str, Any] | None,
               new: dict[str, Any] | None, service: bool, sizes: tuple[int, int] | None = None) -> None:
        """Append the stream record of one item change (old -> new; None for absent) to the table's enabled
        stream (as of this transaction: a stream disabled meanwhile gets nothing). `sizes`, the (old, new)
        item sizes when the caller knows them, saves measuring the images again."""
        now = self.engine.clock()
        row = conn.execute(_NEXT, (table.tid,)).fetchone()
        if row is None:
            return
        sid, arn, view, seq, gen, gen_start, slots = row
        if now - gen_start >= self.shard_period:
            self._roll(conn, sid, now)
            sid, arn, view, seq, gen, gen_start, slots = conn.execute(_NEXT, (table.tid,)).fetchone()
        image = new if new is not None else old
        assert image is not None
        shard = gen * slots + zlib.crc32(orjson.dumps(image[table.key.hash.name])) % slots
        event = _event(self.engine.region, arn, view, table.key.names, old, new, service, seq, now, sizes)
        conn.execute("INSERT INTO stream_records(sid, shard, seq, created, record) VALUES (?, ?, ?, ?, ?)",
                     (sid, shard, seq, now, event))
        if seq % self.trim_every == 0:
            self._trim(conn, sid, now)
            self._expire(conn, now)
        if self._waiting:
            with self._changed:
                self._version += 1
                self._changed.notify_all()

    # -- retention ---------------------------------------------------------------------------------------
    def cutoff(self, now: float) -> float:
        """Records created before this time have expired."""
        return now - self.retention

    def visible(self, stream: store.Stream, now: float) -> bool:
        """Whether a stream is listed and readable: enabled, or disabled within the retention period."""
        return stream.disabled is None or stream.disabled >= self.cutoff(now)

    def _trim(self, conn: sqlite3.Connection, sid: int, now: float) -> None:
        """Delete a stream's expired records (each shard's expired prefix) and its shards closed that long."""
        cutoff = self.cutoff(now)
        for (shard,) in conn.execute("SELECT shard FROM stream_shards WHERE sid = ?", (sid,)).fetchall():
            live = conn.execute("SELECT seq FROM stream_records WHERE sid = ? AND shard = ? AND created >= ? "
                                "ORDER BY seq LIMIT 1", (sid, shard, cutoff)).fetchone()
            bound = live[0] if live else 1 << 62
            (last,) = conn.execute("SELECT MAX(seq) FROM stream_records WHERE sid = ? AND shard = ? "
                                   "AND seq < ?", (sid, shard, bound)).fetchone()
            if last is not None:
                conn.execute("DELETE FROM stream_records WHERE sid = ? AND shard = ? AND seq <= ?",
                             (sid, shard, last))
                conn.execute("UPDATE stream_shards SET trimmed = ? WHERE sid = ? AND shard = ?",
                             (last, sid, shard))
        conn.execute("DELETE FROM stream_shards WHERE sid = ? AND closed < ?", (sid, cutoff))

    def _expire(self, conn: sqlite3.Connection, now: float) -> None:
        """Forget streams disabled for longer than the retention period."""
        expired = conn.execute("SELECT sid FROM streams WHERE disabled < ?", (self.cutoff(now),)).fetchall()
        for (sid,) in expired:
            for table in ("stream_records", "stream_shards", "streams"):
                conn.execute(f"DELETE FROM {table} WHERE sid = ?", (sid,))

    def trim(self) -> None:
        """Physically delete everything retention has expired, in every stream (reads already hide it)."""
        with self.engine.storage.write() as conn:
            now = self.engine.clock()
            for (sid,) in conn.execute("SELECT sid FROM streams").fetchall():
                self._trim(conn, sid, now)
            self._expire(conn, now)

    # -- in-process tail ---------------------------------------------------------------------------------
    def wait(self, stream_arn: str, after: str | None = None, timeout: float | None = None) -> str | None:
        """Block until the stream holds a record newer than sequence number `after` (None: newer than its
        newest now); return the newest record's SequenceNumber, or None after `timeout` seconds (or at once
        when the stream has ended: disabled or its table deleted).

        Writers in this process wake waiters as they record (no polling); each wake-up first waits for the
        in-process writer's transaction to end, so a record is seen once committed and never before.
        Writes from other processes are noticed within `poll_interval` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        conn = self.engine.storage.connection()
        stream = store.stream_by_arn(conn, stream_arn)
        if stream is None:
            raise stream_not_found(stream_arn)
        floor = stream.last if after is None else store.parse_sequence(after)
        if floor is None:
            raise validation(f"Invalid SequenceNumber: {after}")
        with self._changed:
            self._waiting += 1
        try:
            return self._wait(conn, stream.sid, floor, deadline)
        finally:
            with self._changed:
                self._waiting -= 1

    def _wait(self, conn: sqlite3.Connection, sid: int, floor: int, deadline: float | None) -> str | None:
        while True:
            with self._changed:
                seen = self._version
            with self.engine.storage.write():
                pass  # a barrier: writers of this process that recorded before `seen` have committed
            row = conn.execute("SELECT last, disabled FROM streams WHERE sid = ?", (sid,)).fetchone()
            if row is not None and row[0] > floor:
                return store.sequence_text(row[0])
            if row is None or row[1] is not None:
                return None  # the stream has ended: nothing newer will come
            pause = self.poll_interval
            if deadline is not None:
                pause = min(pause, deadline - time.monotonic())
            if pause <= 0:
                return None
            with self._changed:
                if self._version == seen:
                    self._changed.wait(pause)


def _event(region: str, arn: str, view: str, key_names: tuple[str, ...], old: dict[str, Any] | None,
           new: dict[str, Any] | None, service: bool, seq: int, now: float,
           sizes: tuple[int, int] | None) -> bytes:
    """The JSON of one stream record, as GetRecords returns it (SizeBytes: keys plus images included)."""
    with_new, with_old = _IMAGES[view]
    image = new if new is not None else old
    assert image is not None
    keys = {name: image[name] for name in key_names}
    data: dict[str, Any] = {"ApproximateCreationDateTime": int(now), "Keys": keys}
    size = item_size(keys)
    if with_new and new is not None:
        data["NewImage"] = new
        size += sizes[1] if sizes else item_size(new)
    if with_old and old is not None:
        data["OldImage"] = old
        size += sizes[0] if sizes else item_size(old)
    data.update(SequenceNumber=store.sequence_text(seq), SizeBytes=size, StreamViewType=view)
    event: dict[str, Any] = {
        "awsRegion": region,
        "dynamodb": data,
        "eventID": hashlib.blake2b(f"{arn}#{seq}".encode(), digest_size=16).hexdigest(),
        "eventName": "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
    }
    if service:
        event["userIdentity"] = _SERVICE
    return orjson.dumps(event)


def stream_not_found(arn: str) -> DynamoDBError:
    return resource_not_found(f"Requested resource not found: Stream: {arn} not found")
