"""pytest fixtures: an in-process engine per test, a boto3 client bound to it, fresh tables from a model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .. import Engine, client
from ..model import App
from ..model.schema import create_tables


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
