"""Real boto3 clients answered in-process by an Engine: botocore's sending step is replaced, no sockets."""

from __future__ import annotations

from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from .engine import Engine
from .server.protocol import handle

_ENDPOINT = "http://dynamokit.invalid"


class _Raw:
    """The raw body object botocore reads a response from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _send(engine: Engine) -> Any:
    def send(request: Any, **_: Any) -> AWSResponse:
        headers = request.headers
        target = headers.get("X-Amz-Target")
        if isinstance(target, bytes):
            target = target.decode()
        encoding = headers.get("Content-Encoding")
        if isinstance(encoding, bytes):
            encoding = encoding.decode()
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        status, response_headers, payload = handle(engine, target, body or b"", encoding)
        return AWSResponse(request.url, status, dict(response_headers), _Raw(payload))

    return send


def client(engine: Engine, service: str = "dynamodb", *, region_name: str | None = None,
           config: Config | None = None) -> Any:
    """A boto3 client (`dynamodb` or `dynamodbstreams`) whose requests `engine` answers in-process."""
    session = boto3.session.Session(
        aws_access_key_id="dynamokit", aws_secret_access_key="dynamokit",
        region_name=region_name or engine.region,
    )
    # No retries (nothing transient happens in-process); legacy mode skips standard mode's per-call bookkeeping.
    base = Config(signature_version=UNSIGNED, retries={"max_attempts": 1, "mode": "legacy"})
    made = session.client(service, endpoint_url=_ENDPOINT, config=base.merge(config) if config else base)
    made.meta.events.register_first("before-send", _send(engine))
    return made


def resource(engine: Engine, *, region_name: str | None = None) -> Any:
    """A boto3 DynamoDB resource (tables, items) answered in-process by `engine`."""
    session = boto3.session.Session(
        aws_access_key_id="dynamokit", aws_secret_access_key="dynamokit",
        region_name=region_name or engine.region,
    )
    made = session.resource("dynamodb", endpoint_url=_ENDPOINT,
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    made.meta.client.meta.events.register_first("before-send", _send(engine))
    return made
