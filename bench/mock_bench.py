"""`dynamokit.mock` against moto's `mock_aws`, as a test suite uses them.

    python -m bench.mock_bench [--setups 30] [--bodies 5]

setup: start the mock, make a boto3 client, create 5 tables, stop (dynamokit also with the tables declared
once: `dynamokit.mock(tables=...)`). body: 200 PutItem, 200 GetItem, 20 Query through a boto3 client inside
an active mock. Medians of interleaved runs; per call = body / 420.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3

import dynamokit

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
REGION = "us-east-1"
TABLES = [{
    "TableName": f"table-{n}", "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "S"}],
} for n in range(5)]


def _moto() -> Any:
    from moto import mock_aws

    return mock_aws()


def setup_moto() -> None:
    with _moto():
        made = boto3.client("dynamodb", region_name=REGION)
        for table in TABLES:
            made.create_table(**table)


def setup_dynamokit() -> None:
    with dynamokit.mock():
        made = boto3.client("dynamodb", region_name=REGION)
        for table in TABLES:
            made.create_table(**table)


def setup_dynamokit_declared() -> None:
    with dynamokit.mock(tables=TABLES):
        boto3.client("dynamodb", region_name=REGION)


def body(made: Any) -> None:
    for n in range(200):
        made.put_item(TableName="table-0", Item={"pk": {"S": f"p{n % 20}"}, "sk": {"S": f"s{n:04}"},
                                                 "payload": {"S": "x" * 100}, "n": {"N": str(n)}})
    for n in range(200):
        made.get_item(TableName="table-0", Key={"pk": {"S": f"p{n % 20}"}, "sk": {"S": f"s{n:04}"}})
    for n in range(20):
        made.query(TableName="table-0", KeyConditionExpression="pk = :p",
                   ExpressionAttributeValues={":p": {"S": f"p{n}"}})


def _timed_body(start: Callable[[], Any]) -> float:
    with start():
        made = boto3.client("dynamodb", region_name=REGION)
        made.create_table(**TABLES[0])
        began = time.perf_counter()
        body(made)
        return time.perf_counter() - began


def _median(runs: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", type=int, default=30)
    parser.add_argument("--bodies", type=int, default=5)
    args = parser.parse_args()
    for warm in (setup_moto, setup_dynamokit, setup_dynamokit_declared):
        warm()
    setups: dict[str, list[float]] = {"moto": [], "dynamokit": [], "dynamokit, tables declared": []}
    for _ in range(args.setups):  # interleaved, so machine noise hits all alike
        setups["moto"].append(_median(1, setup_moto))
        setups["dynamokit"].append(_median(1, setup_dynamokit))
        setups["dynamokit, tables declared"].append(_median(1, setup_dynamokit_declared))
    bodies: dict[str, list[float]] = {"moto": [], "dynamokit": []}
    for _ in range(args.bodies):
        bodies["moto"].append(_timed_body(_moto))
        bodies["dynamokit"].append(_timed_body(dynamokit.mock))
    print(f"per-test setup (mock + client + 5 tables), median of {args.setups}:")
    for name, times in setups.items():
        print(f"  {name:28} {statistics.median(times) * 1000:8.2f} ms")
    print(f"test body (200 put, 200 get, 20 query), median of {args.bodies}:")
    for name, times in bodies.items():
        total = statistics.median(times)
        print(f"  {name:28} {total * 1000:8.1f} ms  {total / 420 * 1e6:8.1f} us/call")
    moto_body, ours_body = statistics.median(bodies["moto"]), statistics.median(bodies["dynamokit"])
    moto_setup, ours_setup = statistics.median(setups["moto"]), statistics.median(setups["dynamokit"])
    print(f"per call: dynamokit {moto_body / ours_body:.1f}x faster than moto (target >= 5x); "
          f"setup: {ours_setup / moto_setup:.2f} of moto's (target <= 1)")


if __name__ == "__main__":
    main()
