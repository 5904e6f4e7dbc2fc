"""Model tests run against the embedded engine and moto_server over HTTP (an independent implementation)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.model import App, BotoTransport, Transport
from dynamokit.model._schema import create_tables

from ..conftest import moto_server
from .models import blog_app, sql_app


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def boto_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(params=["engine", "moto"])
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    """A fresh, empty DynamoDB: the embedded engine, or moto_server reset for this test."""
    if request.param == "engine":
        with Engine() as engine:
            yield engine
        return
    url = request.getfixturevalue("moto_url")
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).read()
    yield BotoTransport(boto_client(url))


@pytest.fixture
def blog(transport: Transport) -> App:
    app = blog_app().use(transport)
    create_tables(app)
    return app


@pytest.fixture
def sql(transport: Transport) -> App:
    app = sql_app().use(transport)
    create_tables(app)
    return app
