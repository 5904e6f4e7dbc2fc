"""ExportTableToPointInTime, DescribeExport, ListExports: DynamoDB's errors, statuses and S3 layout, written
into local bucket folders, through all three ways in."""

from __future__ import annotations

import gzip
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from dynamokit import Engine
from dynamokit._engine.objectstore import LocalStore
from dynamokit.server._access import accesses

from .conftest import Caller, Clock, create, expect_error


def store_of(engine: Engine) -> LocalStore:
    store = engine.object_store()
    assert isinstance(store, LocalStore)
    return store


@pytest.fixture
def bucket(ddb: Caller) -> str:
    store_of(ddb.engine).create_bucket("exports")
    return "exports"


def with_pitr(ddb: Caller, name: str = "tbl", **key: Any) -> str:
    create(ddb, name, **key)
    ddb("UpdateContinuousBackups", TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    return str(ddb("DescribeTable", TableName=name)["Table"]["TableArn"])


def wait_export(ddb: Caller, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found: dict[str, Any] = ddb("DescribeExport", ExportArn=arn)["ExportDescription"]
        if found["ExportStatus"] != "IN_PROGRESS":
            return found
        time.sleep(0.01)
    raise AssertionError("export still IN_PROGRESS")


def objects(engine: Engine, bucket: str, export: dict[str, Any]) -> dict[str, bytes]:
    """The export's objects, by key below its folder."""
    store = store_of(engine)
    folder = export["ExportManifest"].rsplit("/", 1)[0] + "/"
    return {key[len(folder):]: store.get(bucket, key) for key, _ in store.keys(bucket, folder)}


def data_lines(engine: Engine, bucket: str, export: dict[str, Any]) -> list[Any]:
    found = objects(engine, bucket, export)
    lines = []
    for entry in found["manifest-files.json"].splitlines():
        key = orjson.loads(entry)["dataFileS3Key"]
        lines += [orjson.loads(line) for line in gzip.decompress(store_of(engine).get(bucket, key)).splitlines()]
    return lines


def test_export_needs_point_in_time_recovery(ddb: Caller, bucket: str) -> None:
    arn = create(ddb)["TableDescription"]["TableArn"]
    error = expect_error(ddb, "ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket)
    assert error.code == "PointInTimeRecoveryUnavailableException"
    assert str(error) == "Point in time recovery is not enabled for table 'tbl'"


def test_export_of_a_missing_table(ddb: Caller, bucket: str) -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/nothing-here"
    error = expect_error(ddb, "ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket)
    assert (error.code, str(error)) == ("TableNotFoundException", f"Table not found: {arn}")


def test_full_export_layout(ddb: Caller, bucket: str) -> None:
    arn = with_pitr(ddb)
    items = [{"pk": {"S": "user1"}, "binaryfoo": {"B": b"bar" if ddb.client else "YmFy"}},
             {"pk": {"S": "user2"}, "foo": {"S": "bar"}, "n": {"N": "1.50"}, "ss": {"SS": ["a", "b"]}},
             {"pk": {"S": "user3"}, "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}]}}}}]
    for item in items:
        ddb("PutItem", TableName="tbl", Item=item)
    started = ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket, S3Prefix="prefix",
                  ExportFormat="DYNAMODB_JSON")["ExportDescription"]
    assert started["ExportStatus"] == "IN_PROGRESS"
    assert started["ExportType"] == "FULL_EXPORT" and started["TableArn"] == arn
    assert started["ExportArn"].startswith(arn + "/export/")
    done = wait_export(ddb, started["ExportArn"])
    assert done["ExportStatus"] == "COMPLETED", done
    assert (done["ItemCount"], done["S3Bucket"], done["S3Prefix"]) == (3, bucket, "prefix")
    export_id = started["ExportArn"].rsplit("/", 1)[1]
    assert done["ExportManifest"] == f"prefix/AWSDynamoDB/{export_id}/manifest-summary.json"
    found = objects(ddb.engine, bucket, done)
    assert {"_started", "manifest-summary.json", "manifest-summary.md5", "manifest-files.json",
            "manifest-files.md5"} <= set(found)
    summary = orjson.loads(found["manifest-summary.json"])
    assert summary["exportArn"] == done["ExportArn"] and summary["tableArn"] == arn
    assert (summary["itemCount"], summary["outputFormat"], summary["s3Bucket"]) == (3, "DYNAMODB_JSON", bucket)
    assert summary["manifestFilesS3Key"] == f"prefix/AWSDynamoDB/{export_id}/manifest-files.json"
    assert summary["exportTime"].endswith("Z") and summary["version"] == "2020-06-30"
    for entry in found["manifest-files.json"].splitlines():
        described = orjson.loads(entry)
        assert described["dataFileS3Key"].startswith(f"prefix/AWSDynamoDB/{export_id}/data/")
        assert described["dataFileS3Key"].endswith(".json.gz")
    stored = [{"pk": {"S": "user1"}, "binaryfoo": {"B": "YmFy"}}, {**items[1], "n": {"N": "1.5"}}, items[2]]
    assert sorted(data_lines(ddb.engine, bucket, done), key=orjson.dumps) == sorted(
        ({"Item": item} for item in stored), key=orjson.dumps)
    listed = ddb("ListExports", TableArn=arn)["ExportSummaries"]
    assert listed == [{"ExportArn": done["ExportArn"], "ExportStatus": "COMPLETED", "ExportType": "FULL_EXPORT"}]


def test_empty_table_exports_one_empty_file(ddb: Caller, bucket: str) -> None:
    arn = with_pitr(ddb)
    done = wait_export(ddb, ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket)["ExportDescription"][
        "ExportArn"])
    assert (done["ExportStatus"], done["ItemCount"], done["BilledSizeBytes"]) == ("COMPLETED", 0, 0)
    assert done["ExportManifest"].startswith("AWSDynamoDB/")  # no prefix
    assert data_lines(ddb.engine, bucket, done) == []


def test_export_to_a_missing_bucket_fails(ddb: Caller) -> None:
    arn = with_pitr(ddb)
    started = ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket="no-such-bucket")["ExportDescription"]
    done = wait_export(ddb, started["ExportArn"])
    assert (done["ExportStatus"], done["FailureCode"]) == ("FAILED", "S3NoSuchBucket")
    assert "The specified bucket does not exist" in done["FailureMessage"]


def test_unknown_export_arn(ddb: Caller) -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/tbl/export/01234567890123-abcdef12"
    error = expect_error(ddb, "DescribeExport", ExportArn=arn)
    assert (error.code, str(error)) == ("ExportNotFoundException", f"Export not found: {arn}")
    if ddb.way == "native":  # boto3 checks minimum lengths itself
        assert expect_error(ddb, "DescribeExport", ExportArn="short").code == "ValidationException"


def test_bad_requests(ddb: Caller, bucket: str) -> None:
    arn = with_pitr(ddb)
    assert expect_error(ddb, "ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket,
                        ExportFormat="CSV").code == "ValidationException"
    error = expect_error(ddb, "ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket, ExportTime=time.time() + 3600)
    assert error.code == "InvalidExportTimeException"
    error = expect_error(ddb, "ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket, ExportTime=1_000_000)
    assert error.code == "InvalidExportTimeException"
    assert expect_error(ddb, "ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket,
                        ExportType="INCREMENTAL_EXPORT").code == "ValidationException"
    assert expect_error(ddb, "ListExports", MaxResults=26).code == "ValidationException"


def test_client_token_is_idempotent(ddb: Caller, bucket: str) -> None:
    arn = with_pitr(ddb)
    first = ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket, ClientToken="t1")["ExportDescription"]
    again = ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket, ClientToken="t1")["ExportDescription"]
    assert again["ExportArn"] == first["ExportArn"]
    error = expect_error(ddb, "ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket, S3Prefix="other",
                         ClientToken="t1")
    assert error.code == "IdempotentParameterMismatchException"
    wait_export(ddb, first["ExportArn"])


def test_list_exports_pages(ddb: Caller, bucket: str) -> None:
    arn = with_pitr(ddb, f"pages-{uuid.uuid4().hex}")  # the http way's engine keeps earlier tests' exports
    made = [ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket)["ExportDescription"]["ExportArn"]
            for _ in range(3)]
    for export in made:
        wait_export(ddb, export)
    seen, token = [], None
    while True:
        page = ddb("ListExports", TableArn=arn, MaxResults=2, **({"NextToken": token} if token else {}))
        seen += [s["ExportArn"] for s in page["ExportSummaries"]]
        token = page.get("NextToken")
        if token is None:
            break
    assert seen == sorted(made, key=made.index)


@pytest.fixture
def clocked(tmp_path: Any) -> Iterator[tuple[Engine, Clock]]:
    clock = Clock()
    with Engine(str(tmp_path / "db.sqlite"), clock=clock, s3_dir=str(tmp_path / "s3")) as engine:
        store_of(engine).create_bucket("b")
        yield engine, clock


def test_export_at_an_earlier_instant(clocked: tuple[Engine, Clock]) -> None:
    engine, clock = clocked
    ddb = Caller("native", engine)
    arn = with_pitr(ddb)
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    clock.advance(10)
    then = clock()
    clock.advance(10)
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "2"}})
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "b"}})
    done = wait_export(ddb, ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket="b",
                                ExportTime=then)["ExportDescription"]["ExportArn"])
    assert data_lines(engine, "b", done) == [{"Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}]


def test_incremental_export(clocked: tuple[Engine, Clock]) -> None:
    engine, clock = clocked
    ddb = Caller("native", engine)
    arn = with_pitr(ddb, range_key="sk")
    for name in ("a", "b", "same"):
        ddb("PutItem", TableName="tbl", Item={"pk": {"S": name}, "sk": {"S": "1"}, "v": {"N": "1"}})
    clock.advance(10)
    start = clock()
    clock.advance(10)
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "2"}})
    ddb("DeleteItem", TableName="tbl", Key={"pk": {"S": "b"}, "sk": {"S": "1"}})
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "c"}, "sk": {"S": "1"}})
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "same"}, "sk": {"S": "1"}, "v": {"N": "5"}})
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "same"}, "sk": {"S": "1"}, "v": {"N": "1"}})
    clock.advance(20 * 60)
    end = clock()
    clock.advance(1)
    ddb("PutItem", TableName="tbl", Item={"pk": {"S": "late"}, "sk": {"S": "1"}})
    error = expect_error(ddb, "ExportTableToPointInTime", TableArn=arn, S3Bucket="b", ExportType="INCREMENTAL_EXPORT",
                         IncrementalExportSpecification={"ExportFromTime": start, "ExportToTime": start + 60})
    assert error.code == "InvalidExportTimeException"
    done = wait_export(ddb, ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket="b",
                                ExportType="INCREMENTAL_EXPORT", IncrementalExportSpecification={
                                    "ExportFromTime": start, "ExportToTime": end})["ExportDescription"]["ExportArn"])
    assert (done["ExportStatus"], done["ItemCount"], done["ExportType"]) == ("COMPLETED", 3, "INCREMENTAL_EXPORT")
    lines = {line["Keys"]["pk"]["S"]: line for line in data_lines(engine, "b", done)}
    assert set(lines) == {"a", "b", "c"}
    key = {"sk": {"S": "1"}}
    assert lines["a"]["NewImage"] == {"pk": {"S": "a"}, **key, "v": {"N": "2"}}
    assert lines["a"]["OldImage"] == {"pk": {"S": "a"}, **key, "v": {"N": "1"}}
    assert "NewImage" not in lines["b"] and lines["b"]["OldImage"]["pk"] == {"S": "b"}
    assert "OldImage" not in lines["c"] and lines["c"]["Keys"] == {"pk": {"S": "c"}, **key}
    assert set(lines["a"]["Metadata"]) == {"WriteTimestampMicros"}
    summary = orjson.loads(objects(engine, "b", done)["manifest-summary.json"])
    assert summary["exportType"] == "INCREMENTAL_EXPORT" and "exportFromTime" in summary


def test_ion_export_and_import_round_trip(clocked: tuple[Engine, Clock]) -> None:
    engine, _ = clocked
    ddb = Caller("native", engine)
    arn = with_pitr(ddb)
    item = {"pk": {"S": "a \"quoted\" 'key' \u00e9"}, "n": {"N": "-1.5E+7"}, "i": {"N": "42"}, "b": {"B": "YmFy"},
            "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "0.001"]}, "bs": {"BS": ["YQ=="]}, "t": {"BOOL": True},
            "z": {"NULL": True}, "m": {"M": {"field name": {"L": [{"S": ""}, {"M": {}}]}}}}
    ddb("PutItem", TableName="tbl", Item=item)
    done = wait_export(ddb, ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket="b",
                                ExportFormat="ION")["ExportDescription"]["ExportArn"])
    data = [k for k in objects(engine, "b", done) if k.startswith("data/")]
    assert len(data) == 1 and data[0].endswith(".ion.gz")
    text = gzip.decompress(store_of(engine).get("b", done["ExportManifest"].rsplit("/", 1)[0] + "/" + data[0]))
    assert text.startswith(b"$ion_1_0 {Item:{") and b"$dynamodb_SS::[" in text
    started = ddb("ImportTable", S3BucketSource={"S3Bucket": "b", "S3KeyPrefix": done["ExportManifest"].rsplit(
        "/", 1)[0]}, InputFormat="ION", InputCompressionType="GZIP", TableCreationParameters={
        "TableName": "copy", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"})
    engine.wait_for_backfills()
    imported = ddb("DescribeImport", ImportArn=started["ImportTableDescription"]["ImportArn"])["ImportTableDescription"]
    assert (imported["ImportStatus"], imported["ImportedItemCount"], imported["ErrorCount"]) == ("COMPLETED", 1, 0)
    assert ddb("Scan", TableName="copy")["Items"] == ddb("Scan", TableName="tbl")["Items"]


def test_access_control_names_the_resources(engine: Engine) -> None:
    table = engine.table_arn("tbl")
    export = f"{table}/export/01234567890123-abcdef12"
    assert [a.resource for a in accesses(engine, "ExportTableToPointInTime", {"TableArn": table})] == [table]
    assert [a.resource for a in accesses(engine, "DescribeExport", {"ExportArn": export})] == [export]
    assert [a.resource for a in accesses(engine, "ImportTable", {"TableCreationParameters": {
        "TableName": "new"}})] == [engine.table_arn("new")]
    assert [a.action for a in accesses(engine, "ListImports", {})] == ["dynamodb:ListImports"]


def test_cli_export_and_import_round_trip(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from dynamokit._cli import main

    with Engine(str(tmp_path / "a.db")) as engine:
        ddb = Caller("native", engine)
        create(ddb, range_key="sk", range_type="N")
        for i in range(300):
            ddb("PutItem", TableName="tbl", Item={"pk": {"S": f"p{i % 7}"}, "sk": {"N": str(i)}, "v": {"S": "x" * i}})
        expected = sorted(ddb("Scan", TableName="tbl")["Items"], key=orjson.dumps)
    out = str(tmp_path / "out")
    done = CliRunner().invoke(main, ["export", "--db", str(tmp_path / "a.db"), "--table", "tbl", "--out", out])
    assert done.exit_code == 0, done.output
    assert "exported 300 items" in done.output
    (export_id,) = os.listdir(os.path.join(out, "AWSDynamoDB"))
    assert os.path.exists(os.path.join(out, "AWSDynamoDB", export_id, "manifest-summary.json"))
    done = CliRunner().invoke(main, ["import", "--db", str(tmp_path / "b.db"), "--table", "tbl", "--from", out,
                                     "--key", "pk:S,sk:N"])
    assert done.exit_code == 0, done.output
    assert "imported 300 of 300 items" in done.output
    with Engine(str(tmp_path / "b.db")) as engine:
        assert sorted(engine.call("Scan", {"TableName": "tbl"})["Items"], key=orjson.dumps) == expected
