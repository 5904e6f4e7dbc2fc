"""The Transport protocol (wire-shaped `call`) and a boto3-client implementation of it."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any, Protocol

from .._errors import DynamoDBError


class Transport(Protocol):
    """Anything answering DynamoDB operations in wire shape; `dynamokit.Engine` is one."""

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...


class AsyncTransport(Protocol):
    """The async flavour: `await transport.call(operation, request)`."""

    async def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _to_boto(value: Any) -> Any:
    """Wire-shape JSON to botocore's shape: binary values are bytes, not base64 text."""
    if isinstance(value, dict):
        if len(value) == 1:
            if isinstance(value.get("B"), str):
                return {"B": base64.b64decode(value["B"])}
            if isinstance(value.get("BS"), list) and all(isinstance(v, str) for v in value["BS"]):
                return {"BS": [base64.b64decode(v) for v in value["BS"]]}
        return {k: _to_boto(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_boto(v) for v in value]
    return value


def _from_boto(value: Any) -> Any:
    """botocore's shape back to wire-shape JSON."""
    if isinstance(value, dict):
        if len(value) == 1:
            if isinstance(value.get("B"), bytes):
                return {"B": base64.b64encode(value["B"]).decode()}
            if isinstance(value.get("BS"), list) and value["BS"] and isinstance(value["BS"][0], bytes):
                return {"BS": [base64.b64encode(v).decode() for v in value["BS"]]}
        return {k: _from_boto(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_boto(v) for v in value]
    return value


def _client_error(error: Any) -> DynamoDBError:
    """botocore's ClientError as DynamoDB's error (code, message and extra fields in wire shape)."""
    err = error.response.get("Error", {})
    extra = {
        k: v
        for k, v in error.response.items()
        if k not in ("Error", "ResponseMetadata", "message", "Message")
    }
    return DynamoDBError(err.get("Code", "UnknownError"), err.get("Message", ""), **_from_boto(extra))


def _response(response: dict[str, Any]) -> dict[str, Any]:
    response.pop("ResponseMetadata", None)
    result: dict[str, Any] = _from_boto(response)
    return result


class BotoTransport:
    """A Transport over any boto3 DynamoDB client (AWS, moto_server, `dynamokit.client(engine)`)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        try:
            response = getattr(self.client, _snake(operation))(**_to_boto(request))
        except ClientError as error:
            raise _client_error(error) from None
        return _response(response)


class AsyncBotoTransport:
    """An AsyncTransport over an aiobotocore DynamoDB client (AWS, any DynamoDB-compatible endpoint):

    ```python
    session = aiobotocore.session.get_session()
    async with session.create_client("dynamodb", endpoint_url=...) as client:
        app.use(AsyncBotoTransport(client))
        post = await app.get(Post, post_id="p1").arun()
    ```
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    async def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            response = await getattr(self.client, _snake(operation))(**_to_boto(request))
        except ClientError as error:
            raise _client_error(error) from None
        return _response(response)


class ThreadTransport:
    """An AsyncTransport over a synchronous one (e.g. the embedded `dynamokit.Engine`): each call runs in a
    worker thread, so the event loop never blocks on SQLite."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self.transport.call, operation, request)
