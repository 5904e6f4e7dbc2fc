"""Shared fixtures: one real engine reached natively, through an in-process boto3 client, and over HTTP."""

from __future__ import annotations

import copy
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

import dynamokit
from dynamokit import DynamoDBError, Engine


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class Caller:
    """Calls DynamoDB operations in wire shape through one way in; errors come back as DynamoDBError."""

    def __init__(self, way: str, engine: Engine, client: Any = None) -> None:
        self.way, self.engine, self.client = way, engine, client

    def __call__(self, operation: str, **request: Any) -> dict[str, Any]:
        before = copy.deepcopy(request)
        try:
            return self._call(operation, request)
        finally:
            # The engine is handed callers' parameters as they are (natively, and by the in-process client):
            # it must never change them.
            assert request == before, f"{operation} changed its request parameters"

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if self.client is None:
            return self.engine.call(operation, request)
        try:
            out = getattr(self.client, _snake(operation))(**request)
        except ClientError as error:
            err = error.response["Error"]
            extra = {k: v for k, v in error.response.items() if k not in ("Error", "ResponseMetadata", "message", "Message")}
            raise DynamoDBError(err["Code"], err.get("Message", ""), **extra) from None
        out.pop("ResponseMetadata", None)
        return out


START = 1_795_000_000.0


class Clock:
    """A fake engine clock: time moves only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine() as made:
        yield made


@pytest.fixture(scope="session")
def http_engine() -> Iterator[tuple[Engine, str]]:
    from dynamokit.server._http import Server

    with Engine() as made:
        server = Server(made, port=0)
        server.start()
        try:
            yield made, server.url
        finally:
            server.stop()


def http_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k",
                        aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))


@pytest.fixture(params=["native", "boto3", "http"])
def ddb(request: pytest.FixtureRequest, engine: Engine) -> Caller:
    """The same engine behaviour through each of the three ways in."""
    if request.param == "native":
        return Caller("native", engine)
    if request.param == "boto3":
        return Caller("boto3", engine, dynamokit.client(engine))
    shared, url = request.getfixturevalue("http_engine")
    for name in shared.call("ListTables", {})["TableNames"]:
        shared.call("DeleteTable", {"TableName": name})
    return Caller("http", shared, http_client(url))


def expect_error(ddb: Caller, operation: str, **request: Any) -> DynamoDBError:
    """The DynamoDBError that `operation` answers (failing the test if it succeeds)."""
    with pytest.raises(DynamoDBError) as caught:
        ddb(operation, **request)
    return caught.value


def create(ddb: Caller, name: str = "tbl", hash_key: str = "pk", range_key: str | None = None,
           hash_type: str = "S", range_type: str = "S", index_types: dict[str, str] | None = None,
           **extra: Any) -> dict[str, Any]:
    """Create an on-demand table with the given key (index key attributes default to S)."""
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attrs = [{"AttributeName": hash_key, "AttributeType": hash_type}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attrs.append({"AttributeName": range_key, "AttributeType": range_type})
    for index in extra.get("GlobalSecondaryIndexes", []) + extra.get("LocalSecondaryIndexes", []):
        for element in index["KeySchema"]:
            if all(a["AttributeName"] != element["AttributeName"] for a in attrs):
                kind = (index_types or {}).get(element["AttributeName"], "S")
                attrs.append({"AttributeName": element["AttributeName"], "AttributeType": kind})
    return ddb("CreateTable", TableName=name, KeySchema=keys, AttributeDefinitions=attrs,
               BillingMode="PAY_PER_REQUEST", **extra)


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free 127.0.0.1 port, for tests that check our code against an independent
    implementation (skips when moto[server] is not installed); its URL, stopped afterwards."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
