"""Durability: acknowledged writes survive SIGKILL; several processes share one database file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from dynamokit import Engine

_WRITER = textwrap.dedent("""
    import sys
    from dynamokit import Engine
    engine = Engine(sys.argv[1])
    n = 0
    while True:
        engine.call("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": f"k{n}"}, "g": {"S": f"g{n % 7}"},
                                                         "v": {"S": "x" * 500}}})
        engine.call("UpdateItem", {"TableName": "tbl", "Key": {"pk": {"S": "counter"}},
                                   "UpdateExpression": "ADD c :one", "ExpressionAttributeValues": {":one": {"N": "1"}}})
        print(n, flush=True)
        n += 1
""")


def _create(engine: Engine) -> None:
    engine.call("CreateTable", {
        "TableName": "tbl", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "g", "AttributeType": "S"}],
        "GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    })


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    """A writer killed with SIGKILL mid-stream loses no acknowledged write and leaves nothing half-written."""
    db = str(tmp_path / "crash.db")
    with Engine(db) as engine:
        _create(engine)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    child = subprocess.Popen([sys.executable, "-c", _WRITER, db], stdout=subprocess.PIPE, text=True, env=env)
    acknowledged = -1
    assert child.stdout is not None
    deadline = time.monotonic() + 60
    while acknowledged < 300 and time.monotonic() < deadline:
        acknowledged = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.wait()
    with Engine(db) as engine:
        for n in range(acknowledged + 1):
            assert "Item" in engine.call("GetItem", {"TableName": "tbl", "Key": {"pk": {"S": f"k{n}"}}}), n
        counter = int(engine.call("GetItem", {"TableName": "tbl", "Key": {"pk": {"S": "counter"}}})["Item"]["c"]["N"])
        assert counter >= acknowledged + 1
        # Every put of item n preceded increment n: the counter never runs ahead of the puts.
        items = engine.call("Scan", {"TableName": "tbl", "Select": "COUNT"})
        total = items["Count"]
        while "LastEvaluatedKey" in items:
            items = engine.call("Scan", {"TableName": "tbl", "Select": "COUNT",
                                         "ExclusiveStartKey": items["LastEvaluatedKey"]})
            total += items["Count"]
        assert counter in (total - 1, total - 2)
        # The index holds exactly the items that carry its key: item and index entry committed together.
        indexed = sum(engine.call("Query", {"TableName": "tbl", "IndexName": "by_g",
                                            "KeyConditionExpression": "g = :g",
                                            "ExpressionAttributeValues": {":g": {"S": f"g{k}"}},
                                            "Select": "COUNT"})["Count"] for k in range(7))
        assert indexed == total - 1


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    """Two processes writing the same file concurrently: every write lands, the catalog is shared."""
    db = str(tmp_path / "shared.db")
    with Engine(db) as engine:
        _create(engine)
    script = textwrap.dedent("""
        import sys
        from dynamokit import Engine
        engine = Engine(sys.argv[1])
        for n in range(200):
            engine.call("UpdateItem", {"TableName": "tbl", "Key": {"pk": {"S": "shared"}},
                                       "UpdateExpression": "ADD c :one",
                                       "ExpressionAttributeValues": {":one": {"N": "1"}}})
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    children = [subprocess.Popen([sys.executable, "-c", script, db], env=env) for _ in range(2)]
    assert all(child.wait(timeout=120) == 0 for child in children)
    with Engine(db) as engine:
        item = engine.call("GetItem", {"TableName": "tbl", "Key": {"pk": {"S": "shared"}}})["Item"]
        assert item["c"] == {"N": "400"}


def test_throwaway_database_is_removed_without_close() -> None:
    """An Engine() that is never closed still removes its throwaway database once it is garbage-collected."""
    import gc

    engine = Engine()
    folder = Path(engine.storage.path).parent
    assert folder.is_dir()
    del engine
    gc.collect()
    assert not folder.exists()


def test_throwaway_database_of_a_killed_process_is_removed() -> None:
    """A process killed with SIGKILL cannot remove its throwaway database; the next Engine() removes it, so
    killed test runs do not keep RAM in /dev/shm. A live process's database is left alone."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from dynamokit import Engine
        engine = Engine()
        print(engine.storage.path, flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip()).parent
    with Engine() as engine:
        assert folder.is_dir()  # its process is alive
        assert Path(engine.storage.path).parent.name.startswith(f"dynamokit-{os.getpid()}-")
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert folder.is_dir()
    with Engine():
        assert not folder.exists()
