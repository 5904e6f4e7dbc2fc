"""Backup and restore throughput (100k items of ~300 B in a file database), point-in-time restore, and the
storage and write-time overhead of point-in-time recovery's change log.

    python bench/backups_bench.py [--items 100000] [--writes 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from dynamokit import Engine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=100_000)
    args = parser.parse_args()
    with Engine(os.path.join(tempfile.mkdtemp(prefix="backups-"), "bench.db")) as engine:
        engine.call("CreateTable", {"TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
                                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        pad = "x" * 260
        for start in range(0, args.items, 25):
            engine.call("BatchWriteItem", {"RequestItems": {"bench": [
                {"PutRequest": {"Item": {"pk": {"S": f"item-{i:08d}"}, "n": {"N": str(i)}, "pad": {"S": pad}}}}
                for i in range(start, min(start + 25, args.items))]}})
        size = engine.call("DescribeTable", {"TableName": "bench"})["Table"]["TableSizeBytes"]
        started = time.perf_counter()
        arn = engine.call("CreateBackup", {"TableName": "bench", "BackupName": "bench"})["BackupDetails"]["BackupArn"]
        backup = time.perf_counter() - started
        started = time.perf_counter()
        engine.call("RestoreTableFromBackup", {"TargetTableName": "restored", "BackupArn": arn})
        engine.wait_for_backfills()
        restore = time.perf_counter() - started
        count = engine.call("DescribeTable", {"TableName": "restored"})["Table"]["ItemCount"]
        assert count == args.items, count
        print(f"{args.items} items, {size / args.items:.0f} B each: backup {backup:.2f} s "
              f"({args.items / backup:,.0f} items/s), restore {restore:.2f} s ({args.items / restore:,.0f} items/s)")
        plain = _writes(engine, "restored", args.writes, pad)
        engine.call("UpdateContinuousBackups", {"TableName": "bench", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True}})
        logged = _writes(engine, "bench", args.writes, pad)
        conn = engine.storage.connection()
        log_bytes = conn.execute("SELECT SUM(pgsize) FROM dbstat WHERE name IN ('pitr_log', 'pitr_log_key', "
                                 "'pitr_log_time')").fetchone()[0]
        started = time.perf_counter()
        engine.call("RestoreTableToPointInTime", {"SourceTableName": "bench", "TargetTableName": "pitr",
                                                  "UseLatestRestorableTime": True})
        engine.wait_for_backfills()
        pitr = time.perf_counter() - started
        print(f"{args.writes} PutItems: {plain * 1e6:.0f} us each without PITR, {logged * 1e6:.0f} us with; "
              f"change log {log_bytes / args.writes:.0f} B per write ({log_bytes / args.writes:.0f} MB per "
              f"million writes); restore to the latest time {pitr:.2f} s")


def _writes(engine: Engine, table: str, count: int, pad: str) -> float:
    """Seconds per PutItem overwriting existing items."""
    started = time.perf_counter()
    for i in range(count):
        engine.call("PutItem", {"TableName": table, "Item": {"pk": {"S": f"item-{i % 100_000:08d}"},
                                                            "n": {"N": str(-i)}, "pad": {"S": pad}}})
    return (time.perf_counter() - started) / count


if __name__ == "__main__":
    main()
