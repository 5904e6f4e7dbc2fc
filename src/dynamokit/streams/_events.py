"""Event shapes: which source an event record came from, its batch-item identifier, the DynamoDB stream
record inside it, and the Lambda shape of a GetRecords record."""

from __future__ import annotations

import base64
from typing import Any, Literal

import orjson

Source = Literal["dynamodb", "kinesis", "sqs"]
_SOURCES: dict[str, Source] = {"aws:dynamodb": "dynamodb", "aws:kinesis": "kinesis", "aws:sqs": "sqs"}


def source_of(record: dict[str, Any]) -> Source:
    """The event source of one Lambda event record (a bare GetRecords record counts as DynamoDB)."""
    if "kinesis" in record:
        return "kinesis"
    if "messageId" in record:
        return "sqs"
    return _SOURCES.get(record.get("eventSource", ""), "dynamodb")


def identifier(record: dict[str, Any]) -> str:
    """The `itemIdentifier` Lambda expects for a failed record: sequence number or SQS message id."""
    kind = source_of(record)
    if kind == "sqs":
        return str(record["messageId"])
    if kind == "kinesis":
        return str(record["kinesis"]["sequenceNumber"])
    return str(record["dynamodb"]["SequenceNumber"])


def unwrap(record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The DynamoDB change record carried by an event record, and the sequence number that orders it.

    DynamoDB Streams records (GetRecords or Lambda shape) are returned as they are; a Kinesis record's
    base64 `data` and an SQS message's JSON `body` are opened (each holding a DynamoDB stream record or a
    Kinesis-for-DynamoDB payload)."""
    kind = source_of(record)
    if kind == "kinesis":
        inner = orjson.loads(base64.b64decode(record["kinesis"]["data"]))
        return inner, str(record["kinesis"]["sequenceNumber"])
    if kind == "sqs":
        body = record["body"]
        inner = orjson.loads(body) if isinstance(body, (str, bytes)) else body
        if "kinesis" in inner or "messageId" in inner:
            return unwrap(inner)
        return inner, inner.get("dynamodb", {}).get("SequenceNumber")
    return record, record.get("dynamodb", {}).get("SequenceNumber")


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda delivers it: `eventSourceARN` added, camelCase identity."""
    out = dict(record)
    out["eventSourceARN"] = stream_arn
    identity = record.get("userIdentity")
    if identity is not None:
        out["userIdentity"] = {"type": identity.get("Type", identity.get("type")),
                               "principalId": identity.get("PrincipalId", identity.get("principalId"))}
    return out


def table_of_arn(arn: str | None) -> str | None:
    """The table name in a table or stream ARN (`...:table/NAME/stream/LABEL`)."""
    if not arn or ":table/" not in arn:
        return None
    return arn.split(":table/", 1)[1].split("/", 1)[0]
