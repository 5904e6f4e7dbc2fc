"""Optimistic locking through the HTTP endpoint: concurrent conditional writes never lose an update."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dynamokit import Engine
from dynamokit.server._http import Server

from .conftest import http_client

THREADS = 8
INCREMENTS = 200
KEY = {"pk": {"S": "counter"}}


@pytest.fixture
def url() -> Iterator[str]:
    with Engine() as engine, Server(engine, port=0) as server:
        yield server.url


def increment(client: Any) -> int:
    """Add one to the counter with a version-conditioned UpdateItem; returns how many attempts failed."""
    conflicts = 0
    while True:
        version = client.get_item(TableName="counters", Key=KEY, ConsistentRead=True)["Item"]["version"]["N"]
        try:
            client.update_item(TableName="counters", Key=KEY, UpdateExpression="SET version = :next",
                               ConditionExpression="version = :seen",
                               ExpressionAttributeValues={":seen": {"N": version},
                                                          ":next": {"N": str(int(version) + 1)}})
            return conflicts
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            conflicts += 1


def test_optimistic_locking_counts_every_successful_write(url: str) -> None:
    """8 threads x 200 version-checked increments: the counter ends at exactly the 1600 successful writes."""
    setup = http_client(url)
    setup.create_table(TableName="counters", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
    setup.put_item(TableName="counters", Item={**KEY, "version": {"N": "0"}})
    start = threading.Barrier(THREADS)

    def worker() -> tuple[int, int]:
        """(successful writes, conflicts) of one thread's increments."""
        client = http_client(url)
        start.wait()
        written = conflicts = 0
        for _ in range(INCREMENTS):
            conflicts += increment(client)
            written += 1
        return written, conflicts

    with ThreadPoolExecutor(THREADS) as pool:
        results = [future.result() for future in [pool.submit(worker) for _ in range(THREADS)]]
    successes = [done for done, _ in results]
    conflicts = [failed for _, failed in results]
    final = int(setup.get_item(TableName="counters", Key=KEY, ConsistentRead=True)["Item"]["version"]["N"])
    assert final == sum(successes) == THREADS * INCREMENTS
    assert sum(conflicts) > 0  # the threads really raced
