"""The stream log's SQLite tables and the text forms of its identifiers (labels, shard ids, sequence numbers).

Tables (one database with the items, so a change and its record commit together):
- `streams`: one row per stream ever enabled (until it expires); at most one per table (`tid`) is enabled
  (`disabled` is NULL). `seq` is the stream's sequence counter
  (every record, shard start and shard end takes the next number); `last` is the newest record's number;
  shards roll over in generations: generation `gen`, opened at `gen_start`, has `slots` shards.
- `stream_shards`: shard number `gen * slots + slot`, its public id, parent id, sequence range, and
  `trimmed`, the highest sequence number already deleted by retention.
- `stream_records`: each record's JSON, keyed by (stream, shard, sequence number).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
  sid INTEGER PRIMARY KEY,
  arn TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  table_name TEXT NOT NULL,
  tid INTEGER NOT NULL,
  view_type TEXT NOT NULL,
  key_schema BLOB NOT NULL,
  created REAL NOT NULL,
  disabled REAL,
  slots INTEGER NOT NULL,
  gen INTEGER NOT NULL,
  gen_start REAL NOT NULL,
  seq INTEGER NOT NULL,
  last INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS streams_by_table ON streams(table_name, sid);
CREATE UNIQUE INDEX IF NOT EXISTS streams_enabled ON streams(tid) WHERE disabled IS NULL;
CREATE TABLE IF NOT EXISTS stream_shards (
  sid INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  shard_id TEXT NOT NULL,
  parent_id TEXT,
  created REAL NOT NULL,
  closed REAL,
  start_seq INTEGER NOT NULL,
  end_seq INTEGER,
  trimmed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sid, shard)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS stream_shards_by_id ON stream_shards(sid, shard_id);
CREATE TABLE IF NOT EXISTS stream_records (
  sid INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  created REAL NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY (sid, shard, seq)
) WITHOUT ROWID;
"""

SEQUENCE_DIGITS = 21


def sequence_text(seq: int) -> str:
    """A sequence number as DynamoDB shows it: a decimal string of 21 to 40 digits."""
    return f"{seq:0{SEQUENCE_DIGITS}d}"


def parse_sequence(text: object) -> int | None:
    """The number of a sequence-number string, or None when it is not one."""
    if isinstance(text, str) and SEQUENCE_DIGITS <= len(text) <= 40 and text.isascii() and text.isdigit():
        return int(text)
    return None


def stream_label(when: float) -> str:
    """A stream label: the creation time, ISO 8601 to the millisecond (`2026-11-27T07:55:00.123`)."""
    stamp = datetime.fromtimestamp(round(when, 3), UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"


def shard_id(created: float, shard: int) -> str:
    """A shard id shaped like DynamoDB's: `shardId-<20-digit creation ms>-<8 hex digits>`."""
    return f"shardId-{int(created * 1000):020d}-{shard:08x}"


@dataclass(frozen=True, slots=True)
class Stream:
    """One row of `streams`."""

    sid: int
    arn: str
    label: str
    table_name: str
    tid: int
    view_type: str
    key_schema: bytes
    created: float
    disabled: float | None
    slots: int
    gen: int
    gen_start: float
    seq: int
    last: int


@dataclass(frozen=True, slots=True)
class Shard:
    """One row of `stream_shards`."""

    sid: int
    shard: int
    shard_id: str
    parent_id: str | None
    created: float
    closed: float | None
    start_seq: int
    end_seq: int | None
    trimmed: int

    def shape(self) -> dict[str, object]:
        """The DescribeStream shape of this shard."""
        span = {"StartingSequenceNumber": sequence_text(self.start_seq)}
        if self.end_seq is not None:
            span["EndingSequenceNumber"] = sequence_text(self.end_seq)
        out: dict[str, object] = {"ShardId": self.shard_id, "SequenceNumberRange": span}
        if self.parent_id is not None:
            out["ParentShardId"] = self.parent_id
        return out


STREAM_COLUMNS = ", ".join(Stream.__slots__)
SHARD_COLUMNS = ", ".join(Shard.__slots__)


def stream_by_arn(conn: sqlite3.Connection, arn: str) -> Stream | None:
    row = conn.execute(f"SELECT {STREAM_COLUMNS} FROM streams WHERE arn = ?", (arn,)).fetchone()
    return Stream(*row) if row else None


def stream_by_sid(conn: sqlite3.Connection, sid: int) -> Stream | None:
    row = conn.execute(f"SELECT {STREAM_COLUMNS} FROM streams WHERE sid = ?", (sid,)).fetchone()
    return Stream(*row) if row else None


def shard_by_id(conn: sqlite3.Connection, sid: int, public_id: str) -> Shard | None:
    row = conn.execute(f"SELECT {SHARD_COLUMNS} FROM stream_shards WHERE sid = ? AND shard_id = ?",
                       (sid, public_id)).fetchone()
    return Shard(*row) if row else None


def shard_by_number(conn: sqlite3.Connection, sid: int, shard: int) -> Shard | None:
    row = conn.execute(f"SELECT {SHARD_COLUMNS} FROM stream_shards WHERE sid = ? AND shard = ?",
                       (sid, shard)).fetchone()
    return Shard(*row) if row else None
