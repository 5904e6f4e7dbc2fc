"""Export and import throughput: 100k items of ~300 B in a file database, exported to S3 (local folders, or
an S3 endpoint with --s3-endpoint-url) by ExportTableToPointInTime and imported back by ImportTable.

    python bench/export_bench.py [--items 100000] [--s3-endpoint-url http://127.0.0.1:PORT]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from dynamokit import Engine  # noqa: E402

KEY = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
       "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


def _wait(engine: Engine, operation: str, arn_name: str, arn: str, shape: str, status: str) -> dict[str, Any]:
    while True:
        found: dict[str, Any] = engine.call(operation, {arn_name: arn})[shape]
        if found[status] != "IN_PROGRESS":
            return found
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--s3-endpoint-url", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="export-bench-")
    with Engine(os.path.join(folder, "bench.db"), s3_endpoint_url=args.s3_endpoint_url,
                s3_dir=os.path.join(folder, "s3")) as engine:
        store = engine.object_store()
        if args.s3_endpoint_url:
            store.client.create_bucket(Bucket="bench")  # type: ignore[attr-defined]
        else:
            store.create_bucket("bench")  # type: ignore[attr-defined]
        engine.call("CreateTable", {"TableName": "bench", **KEY})
        engine.call("UpdateContinuousBackups", {"TableName": "bench", "PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True}})
        pad = "x" * 260
        for start in range(0, args.items, 25):
            engine.call("BatchWriteItem", {"RequestItems": {"bench": [
                {"PutRequest": {"Item": {"pk": {"S": f"item-{i:08d}"}, "n": {"N": str(i)}, "pad": {"S": pad}}}}
                for i in range(start, min(start + 25, args.items))]}})
        size = engine.call("DescribeTable", {"TableName": "bench"})["Table"]["TableSizeBytes"]
        started = time.perf_counter()
        arn = engine.call("ExportTableToPointInTime", {"TableArn": engine.table_arn("bench"), "S3Bucket": "bench",
                                                       "S3Prefix": "bench"})["ExportDescription"]["ExportArn"]
        export = _wait(engine, "DescribeExport", "ExportArn", arn, "ExportDescription", "ExportStatus")
        exported = time.perf_counter() - started
        assert export["ExportStatus"] == "COMPLETED" and export["ItemCount"] == args.items, export
        started = time.perf_counter()
        arn = engine.call("ImportTable", {
            "S3BucketSource": {"S3Bucket": "bench", "S3KeyPrefix": export["ExportManifest"].rsplit("/", 1)[0] + "/data/"},
            "InputFormat": "DYNAMODB_JSON", "InputCompressionType": "GZIP",
            "TableCreationParameters": {"TableName": "imported", **KEY}})["ImportTableDescription"]["ImportArn"]
        imported = _wait(engine, "DescribeImport", "ImportArn", arn, "ImportTableDescription", "ImportStatus")
        took = time.perf_counter() - started
        assert imported["ImportStatus"] == "COMPLETED" and imported["ImportedItemCount"] == args.items, imported
        where = args.s3_endpoint_url or "local folders"
        print(f"{args.items} items, {size / args.items:.0f} B each, S3: {where}: export {exported:.2f} s "
              f"({args.items / exported:,.0f} items/s), import {took:.2f} s ({args.items / took:,.0f} items/s)")


if __name__ == "__main__":
    main()
