"""DynamoDB's JSON 1.0 protocol: one request body in, one response (status, headers, body) out."""

from __future__ import annotations

import itertools
import logging
import uuid
import zlib
from typing import Any, Protocol

import orjson

from ._engine.errors import DatabaseLocked, DynamoDBError, EngineClosed

log = logging.getLogger("dynamokit.server")

TARGET_PREFIXES = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")
CONTENT_TYPE = "application/x-amz-json-1.0"
MAX_INFLATED_BYTES = 24 * 1024 * 1024  # the HTTP server's cap on plain bodies applies to inflated ones too
_RUN = uuid.uuid4().hex[:20].upper()  # request ids: this process's prefix + a counter (unique, cheap)
_REQUESTS = itertools.count(1)


class Backend(Protocol):
    def call(self, operation: str, request: dict[str, Any], *, wire: bool = False) -> dict[str, Any]: ...


def operation_of(target: str | None) -> str:
    """The operation named by an X-Amz-Target header."""
    if target:
        for prefix in TARGET_PREFIXES:
            if target.startswith(prefix):
                return target[len(prefix):]
    raise DynamoDBError("UnknownOperationException", "")


def inflate(body: bytes, limit: int) -> bytes:
    """A gzip body inflated incrementally: memory and time stay bounded by `limit` bytes of output, and a
    body that would inflate past it is refused (413) without being inflated further."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing; concatenated members too
    parts: list[bytes] = []
    size = 0
    data = body
    try:
        while data:
            part = inflater.decompress(data, limit + 1 - size)
            parts.append(part)
            size += len(part)
            if size > limit:
                raise DynamoDBError("RequestEntityTooLarge", f"Request body inflates to more than {limit} bytes",
                                    413)
            data = inflater.unconsumed_tail
            if not data and inflater.eof and inflater.unused_data:  # another gzip member follows
                data = inflater.unused_data
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        if not inflater.eof:
            raise zlib.error("truncated")
    except zlib.error:
        raise DynamoDBError("SerializationException", "Request body is not valid gzip") from None
    return b"".join(parts)


def decode_body(body: bytes, content_encoding: str | None = None,
                max_inflated: int = MAX_INFLATED_BYTES) -> dict[str, Any]:
    if content_encoding and "gzip" in content_encoding.lower():
        body = inflate(body, max_inflated)
    if not body:
        return {}
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise DynamoDBError("SerializationException", "Start of structure or map found where not expected")
    if not isinstance(request, dict):
        raise DynamoDBError("SerializationException", "Start of structure or map found where not expected")
    return request


# Operations DynamoDB answers with an empty body (its API reference: "an HTTP 200 response with an empty
# HTTP body"), not `{}`.
EMPTY_ANSWERS = frozenset({"TagResource", "UntagResource"})


def respond(status: int, payload: dict[str, Any], empty: bool = False) -> tuple[int, list[tuple[str, str]], bytes]:
    """A JSON 1.0 response; `empty` sends no body at all (for an empty payload)."""
    body = b"" if empty and not payload else orjson.dumps(payload)
    headers = [
        ("Content-Type", CONTENT_TYPE),
        ("x-amzn-RequestId", f"{_RUN}{next(_REQUESTS):012X}"),
        ("x-amz-crc32", str(zlib.crc32(body))),
        ("Content-Length", str(len(body))),
    ]
    return status, headers, body


def handle(backend: Backend, target: str | None, body: bytes, content_encoding: str | None = None,
           max_inflated: int = MAX_INFLATED_BYTES) -> tuple[int, list[tuple[str, str]], bytes]:
    """Answer one request: 200 with the result, 400 with DynamoDB's error body, 500 only for our own bugs."""
    if target is None and body.startswith(b"Action=GetCallerIdentity"):
        return caller_identity(getattr(backend, "account_id", "123456789012"))
    try:
        operation = operation_of(target)
        request = decode_body(body, content_encoding, max_inflated)
    except DynamoDBError as error:
        return respond(error.status, error.wire())
    return answer(backend, operation, request)


def answer(backend: Backend, operation: str, request: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Answer one decoded request of `operation`, as `handle` does."""
    try:
        return respond(200, backend.call(operation, request, wire=True), operation in EMPTY_ANSWERS)
    except DynamoDBError as error:
        return respond(error.status, error.wire())
    except (EngineClosed, DatabaseLocked):
        raise  # the caller closed the engine, or must run the request where it may wait (see storage.NO_WAIT)
    except Exception:  # a bug of ours: log it, answer as DynamoDB's internal error
        log.exception("internal error answering %s", operation)
        return respond(500, DynamoDBError("InternalServerError", "Internal server error", 500).wire())


def caller_identity(account_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """STS GetCallerIdentity (query protocol, XML), for SDKs and tools pointed at this endpoint for all
    services (AWS_ENDPOINT_URL) that ask who they are, e.g. to build ARNs for resource policies."""
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>arn:aws:iam::{account_id}:user/dynamokit</Arn><UserId>AIDADYNAMOKIT</UserId>"
        f"<Account>{account_id}</Account></GetCallerIdentityResult><ResponseMetadata>"
        f"<RequestId>{_RUN}{next(_REQUESTS):012X}</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    ).encode()
    return 200, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body
