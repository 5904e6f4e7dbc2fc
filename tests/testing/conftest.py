"""Tests of `dynamokit.mock` run with no AWS configuration at all, and nothing may leave the process: a
request that would reach the network (other than 127.0.0.1) raises `Leaked` at once instead of connecting."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.endpoint import Endpoint

from dynamokit.testing import _mock as mocking

LOCAL = ("127.0.0.1", "localhost")


class Leaked(AssertionError):
    """A request tried to leave the process."""


def _guard(url: str) -> None:
    if urlsplit(url).hostname not in LOCAL:
        raise Leaked(f"request to {url} would have left the process")


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    """No AWS environment, no config files, no instance metadata; network sends refused."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr("boto3.DEFAULT_SESSION", None)
    send = Endpoint._send

    def guarded(self: Any, request: Any) -> Any:
        _guard(request.url)
        return send(self, request)

    monkeypatch.setattr(Endpoint, "_send", guarded)
    try:
        from aiobotocore.endpoint import AioEndpoint
    except ImportError:
        pass
    else:
        async_send = AioEndpoint._send

        async def async_guarded(self: Any, request: Any) -> Any:
            _guard(request.url)
            return await async_send(self, request)

        monkeypatch.setattr(AioEndpoint, "_send", async_guarded)
    yield
    leftover = mocking.active_mock()
    if leftover is not None:  # a test that left a mock running must not spoil the next ones
        leftover.stop()
        pytest.fail("a dynamokit.mock was left active")


USERS = {
    "TableName": "users", "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
}
ORDERS = {
    "TableName": "orders", "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "order", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": "customer", "AttributeType": "S"},
                             {"AttributeName": "order", "AttributeType": "S"}],
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}
