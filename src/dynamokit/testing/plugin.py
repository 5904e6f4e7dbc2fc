"""pytest fixtures: an in-process engine per test, a boto3 client bound to it, fresh tables from a model, and
`dynamokit.mock` (every DynamoDB client of the process answered by a fresh engine)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .. import Engine, client
from ..model import App
from ..model._schema import create_tables
from ._mock import Mock, mocking


@pytest.fixture
def dynamokit_engine() -> Iterator[Engine]:
    """An empty in-memory embedded engine, closed after the test."""
    with Engine() as engine:
        yield engine


@pytest.fixture
def dynamokit_client(dynamokit_engine: Engine) -> Any:
    """A boto3 `dynamodb` client whose requests `dynamokit_engine` answers in-process (no sockets)."""
    return client(dynamokit_engine)


@pytest.fixture
def dynamokit_tables(dynamokit_engine: Engine) -> Callable[[App], App]:
    """`dynamokit_tables(app)`: bind a model App to this test's engine and create its tables; returns it."""

    def make(app: App) -> App:
        app.use(dynamokit_engine)
        create_tables(app)
        return app

    return make


@pytest.fixture
def dynamokit_mock_options() -> dict[str, Any]:
    """Options of `dynamokit_mock` (`tables=`, `seed=`, `region=`): override this fixture to declare tables
    once for a module, class or conftest."""
    return {}


@pytest.fixture
def dynamokit_mock(dynamokit_mock_options: dict[str, Any]) -> Iterator[Engine]:
    """Every DynamoDB client in the process answered by a fresh engine for this test (`dynamokit.mock`)."""
    with Mock(**dynamokit_mock_options) as engine:
        yield engine


@pytest.fixture
def dynamokit_mock_server(dynamokit_mock_options: dict[str, Any]) -> Iterator[Mock]:
    """`dynamokit_mock` that also serves its engine on 127.0.0.1 with `AWS_ENDPOINT_URL_DYNAMODB` pointing at
    it (for subprocesses); yields the mock (`.engine`, `.url`)."""
    with mocking(serve=True, **dynamokit_mock_options) as made:
        yield made
