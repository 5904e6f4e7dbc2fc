"""Shard iterators: opaque strings naming a stream, a shard, a position in it and the time they were issued.

Shape: `<stream ARN>|1|<base64url of JSON [stream id, shard number, position, issued ms]>`, where the
position is the sequence number after which the next GetRecords starts reading.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from ..errors import DynamoDBError, validation

_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a shard iterator points."""

    arn: str
    sid: int
    shard: int
    after: int
    issued_ms: int


def encode(position: Position) -> str:
    payload = orjson.dumps([position.sid, position.shard, position.after, position.issued_ms])
    token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{position.arn}|{_VERSION}|{token}"


def decode(text: object) -> Position:
    """The position an iterator string names; ValidationException when it is not one of ours."""
    if not isinstance(text, str) or not 1 <= len(text) <= 2048:
        raise validation("1 validation error detected: Value null at 'shardIterator' failed to satisfy "
                         "constraint: Member must have length between 1 and 2048")
    arn, _, rest = text.rpartition("|")
    arn, _, version = arn.rpartition("|")
    try:
        fields = orjson.loads(base64.urlsafe_b64decode(rest + "=" * (-len(rest) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        fields = None
    if (version != _VERSION or not arn or not isinstance(fields, list) or len(fields) != 4
            or not all(isinstance(f, int) and not isinstance(f, bool) for f in fields)):
        raise validation(f"Invalid ShardIterator: {text}")
    return Position(arn, *fields)


def check_fresh(position: Position, now: float, ttl: float) -> None:
    """ExpiredIteratorException once an iterator is older than `ttl` seconds (15 minutes in DynamoDB)."""
    if now * 1000 - position.issued_ms > ttl * 1000:
        raise DynamoDBError(
            "ExpiredIteratorException",
            f"Iterator expired. The iterator was created at time {_when(position.issued_ms / 1000)} while "
            f"right now it is {_when(now)} which is further in the future than the tolerated delay of "
            f"{int(ttl * 1000)} milliseconds.")


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
