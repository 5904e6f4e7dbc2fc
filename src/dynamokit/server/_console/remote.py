"""The console's backend for `dynamokit console --endpoint-url URL`: any DynamoDB endpoint (AWS included)
through boto3, with boto3's default credential chain. It serves the console only: the DynamoDB API on
POST / of the console's own server is refused, so the console never becomes an open proxy to the account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._errors import DynamoDBError
from ...model._transport import BotoTransport

STREAMS_OPERATIONS = frozenset({"DescribeStream", "GetShardIterator", "GetRecords", "ListStreams"})


class RemoteBackend:
    """DynamoDB's and DynamoDB Streams' operations, in wire shape, on a remote endpoint."""

    def __init__(self, endpoint_url: str | None, region: str | None = None, profile: str | None = None) -> None:
        import boto3  # type: ignore[import-untyped]

        session = boto3.Session(profile_name=profile, region_name=region)
        self.endpoint_url = endpoint_url
        self.region = session.region_name or "us-east-1"
        self._dynamodb = BotoTransport(session.client("dynamodb", endpoint_url=endpoint_url, region_name=self.region))
        self._streams = BotoTransport(session.client("dynamodbstreams", endpoint_url=endpoint_url,
                                                     region_name=self.region))

    def call(self, operation: str, request: dict[str, Any], *, wire: bool = False) -> dict[str, Any]:
        transport = self._streams if operation in STREAMS_OPERATIONS else self._dynamodb
        return transport.call(operation, request)

    def bind(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Any:
        """The HTTP server asks this before serving POST /: refused (see the module's docstring)."""
        raise DynamoDBError("UnrecognizedClientException",
                            "This is a dynamokit console; its DynamoDB API is not served here", 400)
