"""`dynamokit serve --workers`: the background work survives `kill -9` of the worker doing it."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from dynamokit._engine import Engine, indexes

from .conftest import http_client
from .test_cli import _children, dynamokit, run

ITEMS = 4 * indexes.BACKFILL_CHUNK


def _until(found: Callable[[], object], timeout: float = 120.0) -> object:
    """`found()` once true (polled), else an AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)
    return value


def _lease(path: str, name: str) -> int | None:
    """The pid holding lease `name` in the database at `path`."""
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT pid FROM leases WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


def test_kill_9_of_the_leader_and_of_a_backfilling_worker(tmp_path: Path) -> None:
    """With three workers: after `kill -9` of the leader, another worker leads and sweeps an expired item;
    after `kill -9` of the worker running an index backfill, the backfill completes (the GSI becomes ACTIVE
    with every item); the supervisor replaces each killed worker."""
    path = str(tmp_path / "data.db")
    with Engine(path) as engine:
        engine.call("CreateTable", {"TableName": "tbl", "BillingMode": "PAY_PER_REQUEST",
                                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        engine.call("UpdateTimeToLive", {"TableName": "tbl", "TimeToLiveSpecification": {
            "Enabled": True, "AttributeName": "exp"}})
        for n in range(0, ITEMS, 25):
            engine.call("BatchWriteItem", {"RequestItems": {"tbl": [
                {"PutRequest": {"Item": {"pk": {"S": f"k{m}"}, "g": {"S": "x"}}}} for m in range(n, n + 25)]}})
    process = dynamokit("serve", "--port", "0", "--workers", "3", "--db", path)
    try:
        assert process.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        assert url, "no URL announced"
        workers = _children(process.pid)
        assert len(workers) == 3

        leader = _until(lambda: _lease(path, "leader"))
        assert leader in workers
        os.kill(leader, signal.SIGKILL)
        client = http_client(url.group(0))
        client.put_item(TableName="tbl", Item={"pk": {"S": "expired"}, "exp": {"N": str(int(time.time()) - 1)}})
        _until(lambda: _lease(path, "leader") not in (None, leader))
        _until(lambda: "Item" not in client.get_item(TableName="tbl", Key={"pk": {"S": "expired"}}))

        for attempt in range(5):  # until the kill lands while the backfill runs (it usually does at once)
            name = f"by_g{attempt}"
            client.update_table(
                TableName="tbl", AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
                                                         "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}}])
            runner = _lease(path, f"backfill:tbl:{name}")
            if runner is not None:
                os.kill(runner, signal.SIGKILL)
                if _status(client, name) == "CREATING":
                    break
        else:
            raise AssertionError("every backfill ended before its worker was killed")
        _until(lambda: _status(client, name) == "ACTIVE")
        assert client.query(TableName="tbl", IndexName=name, KeyConditionExpression="g = :g", Select="COUNT",
                            ExpressionAttributeValues={":g": {"S": "x"}})["Count"] == ITEMS
        _until(lambda: len(set(_children(process.pid)) - {leader, runner}) == 3)
        process.terminate()
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _status(client: object, index: str) -> str:
    table = client.describe_table(TableName="tbl")["Table"]  # type: ignore[attr-defined]
    return next(g["IndexStatus"] for g in table["GlobalSecondaryIndexes"] if g["IndexName"] == index)  # type: ignore[no-any-return]


def test_a_second_serve_cannot_share_the_port_of_workers(tmp_path: Path) -> None:
    """The workers' port (SO_REUSEPORT) is refused to another `serve`, which would otherwise take a share of
    its connections to another database."""
    process = dynamokit("serve", "--port", "0", "--workers", "2", "--db", str(tmp_path / "one.db"))
    try:
        assert process.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:(\d+)", process.stdout.readline())
        assert url
        done = run("serve", "--port", url.group(1), "--workers", "2", "--db", str(tmp_path / "two.db"))
        assert done.returncode == 1 and "cannot listen on" in done.stderr
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_the_console_works_whichever_worker_answers(tmp_path: Path) -> None:
    """The console's CSRF secret is one for all the workers of a `serve`: a form fetched from one worker and
    posted to another is accepted (each request opens a new connection, so both workers answer some)."""
    from .console.conftest import Browser

    process = dynamokit("serve", "--port", "0", "--workers", "2", "--db", str(tmp_path / "console.db"))
    try:
        assert process.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:(\d+)", process.stdout.readline())
        assert url
        client = http_client(url.group(0))
        names = [f"table{n}" for n in range(12)]
        for name in names:
            client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        browser = Browser(int(url.group(1)))
        browser.get("/console/")
        statuses = [browser.post(f"/console/tables/{name}/delete", {"confirm": name}, follow=False).status
                    for name in names]
        assert statuses == [303] * len(names)
        assert client.list_tables()["TableNames"] == []
    finally:
        process.terminate()
        process.wait(timeout=60)
