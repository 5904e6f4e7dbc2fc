"""Engines sharing one database file: one leader at a time, jobs run once, and each engine follows the
catalog changes of the others (see _engine/leadership.py). The kill -9 takeover of `serve --workers` is in
test_workers.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dynamokit._engine import Engine
from dynamokit._engine.errors import DynamoDBError

KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}


def test_one_leader_at_a_time_and_the_next_takes_over(tmp_path: Path) -> None:
    """Of two engines on one file, the first to tick leads; the other leads once the first closes."""
    path = str(tmp_path / "db")
    first, second = Engine(path), Engine(path)
    try:
        first.leadership.tick()
        second.leadership.tick()
        assert (first.leadership.leading, second.leadership.leading) == (True, False)
        first.leadership.tick()  # renewing keeps it
        second.leadership.tick()
        assert (first.leadership.leading, second.leadership.leading) == (True, False)
        first.close()
        second.leadership.tick()
        assert second.leadership.leading
    finally:
        first.close()
        second.close()


def test_a_dead_process_leadership_is_taken_over(tmp_path: Path) -> None:
    """A leader process that died (its lease not yet expired) is replaced at the next tick."""
    path = str(tmp_path / "db")
    script = ("import sys; from dynamokit._engine import Engine; e = Engine(sys.argv[1]); e.leadership.tick(); "
              "assert e.leadership.leading; import os; os._exit(0)")  # dies without closing (no release)
    child = subprocess.Popen([sys.executable, "-c", script, path])
    assert child.wait(60) == 0
    with Engine(path) as engine:
        leader = engine.leadership.leader()
        assert leader is not None and leader[1] == child.pid
        engine.leadership.tick()
        assert engine.leadership.leading


def test_leader_sweeps_ttl_and_others_do_not(tmp_path: Path) -> None:
    """Only the leader's tick sweeps expired items."""
    path = str(tmp_path / "db")
    with Engine(path) as leader, Engine(path) as other:
        leader.call("CreateTable", {"TableName": "tbl", "BillingMode": "PAY_PER_REQUEST", **KEYS})
        leader.call("UpdateTimeToLive", {"TableName": "tbl", "TimeToLiveSpecification": {"Enabled": True,
                                                                                      "AttributeName": "exp"}})
        leader.leadership.tick()
        other.call("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "a"}, "exp": {"N": str(int(time.time()) - 5)}}})
        other.leadership.tick()
        assert "Item" in other.call("GetItem", {"TableName": "tbl", "Key": {"pk": {"S": "a"}}})
        leader.leadership.tick()
        assert "Item" not in other.call("GetItem", {"TableName": "tbl", "Key": {"pk": {"S": "a"}}})


def test_each_engine_follows_the_catalog_changes_of_the_other(tmp_path: Path) -> None:
    """CreateTable, UpdateTable and DeleteTable through one engine are seen by the next request to the other."""
    path = str(tmp_path / "db")
    with Engine(path) as first, Engine(path) as second:
        with pytest.raises(DynamoDBError, match="not found"):
            second.call("DescribeTable", {"TableName": "tbl"})
        first.call("CreateTable", {"TableName": "tbl", "BillingMode": "PAY_PER_REQUEST", **KEYS})
        second.call("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "a"}, "g": {"S": "x"}}})
        second.call("UpdateTable", {
            "TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
            "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}}]})
        second.wait_for_backfills(60)
        described = first.call("DescribeTable", {"TableName": "tbl"})["Table"]
        assert described["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
        assert described["StreamSpecification"]["StreamEnabled"]
        first.call("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "b"}, "g": {"S": "x"}}})  # indexed, streamed
        found = second.call("Query", {"TableName": "tbl", "IndexName": "by_g", "KeyConditionExpression": "g = :g",
                                      "ExpressionAttributeValues": {":g": {"S": "x"}}})
        assert sorted(i["pk"]["S"] for i in found["Items"]) == ["a", "b"]
        second.call("DeleteTable", {"TableName": "tbl"})
        with pytest.raises(DynamoDBError, match="not found"):
            first.call("GetItem", {"TableName": "tbl", "Key": {"pk": {"S": "a"}}})
        assert first.call("ListTables")["TableNames"] == []


def test_a_job_runs_once_and_is_taken_over_when_its_process_dies(tmp_path: Path) -> None:
    """A backfill runs in the process that started it, holding its lease: while that process lives, no other
    engine runs it too; once it is killed midway (kill -9), the leader resumes the backfill and completes it."""
    from dynamokit._engine import indexes

    path = str(tmp_path / "db")
    items = 3 * indexes.BACKFILL_CHUNK
    with Engine(path) as engine:
        engine.call("CreateTable", {"TableName": "tbl", "BillingMode": "PAY_PER_REQUEST", **KEYS})
        for n in range(0, items, 25):
            engine.call("BatchWriteItem", {"RequestItems": {"tbl": [
                {"PutRequest": {"Item": {"pk": {"S": f"k{m}"}, "g": {"S": "x"}}}} for m in range(n, n + 25)]}})
        # Another process starts the backfill and stops itself at once (SIGSTOP), its backfill midway.
        script = """if True:
            import os, signal, sys
            from dynamokit._engine import Engine
            engine = Engine(sys.argv[1])
            engine.call("UpdateTable", {
                "TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
                "GlobalSecondaryIndexUpdates": [{"Create": {
                    "IndexName": "by_g", "Projection": {"ProjectionType": "KEYS_ONLY"},
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}}]})
            os.kill(os.getpid(), signal.SIGSTOP)
        """
        child = subprocess.Popen([sys.executable, "-c", script, path])
        try:
            _, status = os.waitpid(child.pid, os.WUNTRACED)
            assert os.WIFSTOPPED(status)
            status_of = engine.call("DescribeTable", {"TableName": "tbl"})["Table"]["GlobalSecondaryIndexes"][0]
            assert status_of["IndexStatus"] == "CREATING"
            holder = engine.storage.connection().execute(
                "SELECT pid FROM leases WHERE name = 'backfill:tbl:by_g'").fetchone()
            assert holder == (child.pid,)
            engine.leadership.resume()  # a job whose process lives is left to it (which may hold the write lock)
            assert engine.backfills == []
        finally:
            child.kill()
            child.wait()
        engine.leadership.tick()  # ... and takes over one whose process died
        engine.wait_for_backfills(60)
        index = engine.call("DescribeTable", {"TableName": "tbl"})["Table"]["GlobalSecondaryIndexes"][0]
        assert index["IndexStatus"] == "ACTIVE"
        found = engine.call("Query", {"TableName": "tbl", "IndexName": "by_g", "KeyConditionExpression": "g = :g",
                                      "ExpressionAttributeValues": {":g": {"S": "x"}}, "Select": "COUNT"})
        assert found["Count"] == items
