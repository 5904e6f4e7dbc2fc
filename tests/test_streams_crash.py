"""Crash safety of the stream log: a change and its stream record commit together, across SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import dynamokit
from dynamokit import Engine

from .test_streams import describe, read_shard

_WRITER = textwrap.dedent("""
    import sys
    from dynamokit import Engine
    engine = Engine(sys.argv[1])
    engine.streams.shard_period = 0.1  # shards roll over many times while writing
    n = 0
    while True:
        key = {"pk": {"S": f"k{n % 10}"}}
        if n % 7 == 6:
            engine.call("DeleteItem", {"TableName": "tbl", "Key": key})
        else:
            engine.call("PutItem", {"TableName": "tbl", "Item": {**key, "v": {"N": str(n)}}})
        print(n, flush=True)
        n += 1
""")

Change = tuple[str, str | None, str | None]  # eventName, old v, new v


def committed_changes(last: int) -> dict[str, list[Change]]:
    """The changes, per key, that operations 0..last of the writer make (no-op deletes change nothing)."""
    state: dict[str, str] = {}
    changes: dict[str, list[Change]] = {}
    for n in range(last + 1):
        key = f"k{n % 10}"
        old = state.get(key)
        if n % 7 == 6:
            if old is not None:
                changes.setdefault(key, []).append(("REMOVE", old, None))
                del state[key]
        else:
            changes.setdefault(key, []).append(("MODIFY" if old else "INSERT", old, str(n)))
            state[key] = str(n)
    return changes


def stream_changes(engine: Engine, arn: str) -> tuple[dict[str, list[Change]], list[dict[str, Any]]]:
    streams = dynamokit.client(engine, "dynamodbstreams")
    shards = describe(streams, arn)["Shards"]
    records: list[dict[str, Any]] = []
    for shard in shards:  # parents are listed before their children
        got = read_shard(streams, arn, shard["ShardId"])[0]
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in got]
        assert numbers == sorted(set(numbers))
        records += got
    changes: dict[str, list[Change]] = {}
    for r in records:
        data = r["dynamodb"]
        old, new = data.get("OldImage"), data.get("NewImage")
        changes.setdefault(data["Keys"]["pk"]["S"], []).append(
            (r["eventName"], old and old["v"]["N"], new and new["v"]["N"]))
    return changes, shards


def test_stream_records_survive_sigkill_with_their_changes(tmp_path: Path) -> None:
    """Rule: a change and its stream record commit together: after a writer is killed with SIGKILL
    mid-stream, the stream holds exactly the committed changes (each once), in per-item order."""
    db = str(tmp_path / "crash.db")
    with Engine(db) as engine:
        arn = engine.call("CreateTable", {
            "TableName": "tbl", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        })["TableDescription"]["LatestStreamArn"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    child = subprocess.Popen([sys.executable, "-c", _WRITER, db], stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 60
    while acknowledged < 400 and time.monotonic() < deadline:
        acknowledged = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.wait()
    # The writer ran ahead of our reading: its last acknowledgement is the last line in the pipe.
    acknowledged = max([acknowledged, *(int(line) for line in child.stdout.read().split())])
    with Engine(db) as engine:
        got, shards = stream_changes(engine, arn)
        assert any("ParentShardId" in s for s in shards)  # the writer's shards rolled over
        # The kill may land after the commit of operation acknowledged + 1, before its acknowledgement.
        assert got in (committed_changes(acknowledged), committed_changes(acknowledged + 1))
        for key, changes in got.items():
            item = engine.call("GetItem", {"TableName": "tbl", "Key": {"pk": {"S": key}}}).get("Item")
            assert (item and item["v"]["N"]) == changes[-1][2]
