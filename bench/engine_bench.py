"""Point operations and Query on a populated table, through every way in, against the floors.

    python -m bench.engine_bench [--items 100000] [--calls 2000] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from dynamokit import Engine, client
from dynamokit.server.http import Server

from .stubs import HttpStub, RawSqlite, inprocess_stub_client

PARTITION = 50
VALUE = "x" * 250


def _table(call: Callable[[str, dict[str, Any]], Any]) -> None:
    call("CreateTable", {
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
    })


def _load(engine: Engine, items: int) -> None:
    for n in range(items):
        engine.call("PutItem", {"TableName": "bench", "Item": {
            "pk": {"S": f"p{n // PARTITION}"}, "sk": {"N": str(n % PARTITION)}, "v": {"S": VALUE}}})


def _requests(items: int) -> dict[str, Callable[[int], dict[str, Any]]]:
    partitions = max(1, items // PARTITION)
    rnd = random.Random(7)
    return {
        "PutItem": lambda i: {"TableName": "bench", "Item": {
            "pk": {"S": f"new{i % 997}"}, "sk": {"N": str(i)}, "v": {"S": VALUE}}},
        "GetItem": lambda i: {"TableName": "bench", "Key": {
            "pk": {"S": f"p{rnd.randrange(partitions)}"}, "sk": {"N": str(rnd.randrange(PARTITION))}}},
        "UpdateItem": lambda i: {"TableName": "bench", "Key": {
            "pk": {"S": f"p{rnd.randrange(partitions)}"}, "sk": {"N": "0"}},
            "UpdateExpression": "SET #c = if_not_exists(#c, :z) + :one",
            "ExpressionAttributeNames": {"#c": "c"},
            "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"}}},
        "Query": lambda i: {"TableName": "bench", "KeyConditionExpression": "pk = :p",
                            "ExpressionAttributeValues": {":p": {"S": f"p{rnd.randrange(partitions)}"}}},
    }


def _time(fn: Callable[[int], Any], calls: int) -> tuple[float, float, float]:
    """(ops/s, p50 µs, p99 µs) of `calls` calls after a short warm-up."""
    for i in range(min(100, calls)):
        fn(-1 - i)
    samples = []
    clock = time.perf_counter
    start = clock()
    for i in range(calls):
        t0 = clock()
        fn(i)
        samples.append(clock() - t0)
    total = clock() - start
    samples.sort()
    return calls / total, statistics.median(samples) * 1e6, samples[int(len(samples) * 0.99)] * 1e6


def _boto_call(made: Any) -> Callable[[str, dict[str, Any]], Any]:
    methods = {"PutItem": made.put_item, "GetItem": made.get_item, "UpdateItem": made.update_item,
               "Query": made.query}
    return lambda op, req: methods[op](**req)


def run(items: int, calls: int) -> dict[str, dict[str, tuple[float, float, float]]]:
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    requests = _requests(items)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(os.path.join(tmp, "bench.db"))
        _table(engine.call)
        t0 = time.perf_counter()
        _load(engine, items)
        print(f"loaded {items} items in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        server = Server(engine, port=0)
        server.start()
        stub = HttpStub()
        http = boto3.client("dynamodb", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="k",
                            aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))
        http_stub = boto3.client("dynamodb", endpoint_url=stub.url, region_name="us-east-1", aws_access_key_id="k",
                                 aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))
        targets: dict[str, Callable[[str, dict[str, Any]], Any]] = {
            "native": engine.call,
            "boto3 in-process": _boto_call(client(engine)),
            "boto3 stub in-process (floor)": _boto_call(inprocess_stub_client()),
            "HTTP (dynamokit serve)": _boto_call(http),
            "HTTP stub (floor)": _boto_call(http_stub),
        }
        for name, call in targets.items():
            results[name] = {}
            for op, make in requests.items():
                results[name][op] = _time(lambda i, op=op, make=make, call=call: call(op, make(i)), calls)
                print(f"{name:32} {op:10} {results[name][op][0]:9.0f} ops/s  p50 {results[name][op][1]:8.1f} µs",
                      file=sys.stderr)
        server.stop()
        stub.close()
        engine.close()
        raw = RawSqlite(os.path.join(tmp, "raw.db"))
        for n in range(items):
            raw.put(f"p{n // PARTITION}".encode(), n.to_bytes(4, "big"), VALUE.encode())
        partitions = max(1, items // PARTITION)
        rnd = random.Random(3)
        results["raw sqlite3 (floor)"] = {
            "PutItem": _time(lambda i: raw.put(b"new%d" % (i % 997), i.to_bytes(8, "big", signed=True),
                                               VALUE.encode()), calls),
            "GetItem": _time(lambda i: raw.get(b"p%d" % rnd.randrange(partitions),
                                               rnd.randrange(PARTITION).to_bytes(4, "big")), calls),
            "UpdateItem": _time(lambda i: raw.update(b"p%d" % rnd.randrange(partitions), (0).to_bytes(4, "big")),
                                calls),
            "Query": _time(lambda i: raw.query(b"p%d" % rnd.randrange(partitions)), calls),
        }
    return results


def markdown(results: dict[str, dict[str, tuple[float, float, float]]], items: int, calls: int) -> str:
    ops = ["PutItem", "GetItem", "UpdateItem", "Query"]
    lines = [f"Table of {items:,} items (50-item partitions, ~300 B items); {calls:,} calls per cell, one thread; "
             f"{platform.python_implementation()} {platform.python_version()} on {os.cpu_count()} cores "
             f"({platform.machine()}).", "",
             "| target | " + " | ".join(f"{op} ops/s (p50 µs)" for op in ops) + " |",
             "|---|" + "---|" * len(ops)]
    for name, row in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[op][0]:,.0f} ({row[op][1]:,.0f})" for op in ops) + " |")
    lines += ["", "Ratios (throughput of the target / throughput of its floor):", ""]
    pairs = [("native", "raw sqlite3 (floor)"), ("boto3 in-process", "boto3 stub in-process (floor)"),
             ("HTTP (dynamokit serve)", "HTTP stub (floor)")]
    lines += ["| target vs floor | " + " | ".join(ops) + " |", "|---|" + "---|" * len(ops)]
    for target, floor in pairs:
        lines.append(f"| {target} / {floor} | " + " | ".join(
            f"{results[target][op][0] / results[floor][op][0]:.2f}x" for op in ops) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", help="write the Markdown table to this file")
    args = parser.parse_args()
    table = markdown(run(args.items, args.calls), args.items, args.calls)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# Benchmarks\n\nRegenerate with `python -m bench.engine_bench --out docs/benchmarks.md`.\n\n")
            f.write(table)


if __name__ == "__main__":
    main()
