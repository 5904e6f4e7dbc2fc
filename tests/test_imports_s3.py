"""ImportTable, DescribeImport, ListImports through all three ways in (local bucket folders), and exports and
imports against a real S3 API: moto_server over HTTP."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from dynamokit import Engine
from dynamokit._engine import imports
from dynamokit._engine.objectstore import LocalStore, S3Store

from .conftest import Caller, create, expect_error

KEY = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
       "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


def wait_import(ddb: Caller, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found: dict[str, Any] = ddb("DescribeImport", ImportArn=arn)["ImportTableDescription"]
        if found["ImportStatus"] != "IN_PROGRESS":
            return found
        time.sleep(0.01)
    raise AssertionError("import still IN_PROGRESS")


def start_import(ddb: Caller, bucket: str, table: str = "imported", prefix: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    source = {"S3Bucket": bucket, **({"S3KeyPrefix": prefix} if prefix else {})}
    request = {"InputFormat": "DYNAMODB_JSON", "InputCompressionType": "NONE", **extra}
    started: dict[str, Any] = ddb("ImportTable", S3BucketSource=source, TableCreationParameters={
        "TableName": table, **KEY}, **request)["ImportTableDescription"]
    return started


@pytest.fixture
def local(ddb: Caller) -> LocalStore:
    store = ddb.engine.object_store()
    assert isinstance(store, LocalStore)
    return store


def fresh_bucket(store: Any) -> str:
    name = f"imports-{uuid.uuid4().hex[:12]}"
    if isinstance(store, LocalStore):
        store.create_bucket(name)
    else:
        store.client.create_bucket(Bucket=name)
    return name


def test_import_lines_and_counts(ddb: Caller, local: LocalStore) -> None:
    bucket = fresh_bucket(local)
    lines = "".join(orjson.dumps({"Item": {"pk": {"S": f"msg{i}"}, "n": {"N": str(i)}}}).decode() + "\n"
                    for i in range(5))
    lines += "".join(orjson.dumps({"Item": {"pk": {"S": f"msg{i}"}}}).decode() for i in range(10, 13))  # one line
    local.put(bucket, "data/one.json", lines.encode())
    local.put(bucket, "data/two", b'{"Item": {"pk": {"S": "zzz"}}}')
    local.put(bucket, "other/skipped.json", b'{"Item": {"pk": {"S": "no"}}}')
    started = start_import(ddb, bucket, prefix="data/")
    assert started["ImportStatus"] == "IN_PROGRESS"
    assert started["TableArn"].endswith(":table/imported") and started["ImportArn"].startswith(
        started["TableArn"] + "/import/")
    assert ddb("DescribeTable", TableName="imported")["Table"]["TableStatus"] in ("CREATING", "ACTIVE")
    done = wait_import(ddb, started["ImportArn"])
    assert done["ImportStatus"] == "COMPLETED", done
    assert (done["ProcessedItemCount"], done["ImportedItemCount"], done["ErrorCount"]) == (9, 9, 0)
    assert done["ProcessedSizeBytes"] > 0 and done["InputFormat"] == "DYNAMODB_JSON"
    assert ddb("DescribeTable", TableName="imported")["Table"]["TableStatus"] == "ACTIVE"
    keys = sorted(i["pk"]["S"] for i in ddb("Scan", TableName="imported")["Items"])
    assert keys == ["msg0", "msg1", "msg10", "msg11", "msg12", "msg2", "msg3", "msg4", "zzz"]
    listed = ddb("ListImports", TableArn=started["TableArn"])["ImportSummaryList"]
    assert [s["ImportArn"] for s in listed][-1] == started["ImportArn"]


def test_bad_lines_are_counted_not_fatal(ddb: Caller, local: LocalStore) -> None:
    bucket = fresh_bucket(local)
    body = b"\n".join([
        b'{"Item": {"pk": {"S": "good1"}}}',
        b'{"pk": {"S": "not wrapped in Item"}}',
        b'{"Item": {"pk": {"S": "broken"',
        b'{"Item": {"other": {"S": "no key"}}}',
        b'{"Item": {"pk": {"N": "1"}}}',
        b'{"Item": {"pk": {"S": "badset"}, "s": {"SS": ["a", "a"]}}}',
        b'{"Item": {"pk": {"S": "good2"}}}',
    ])
    local.put(bucket, "data.json.gz", gzip.compress(body))
    local.put(bucket, "not-gzip", b"plain text")
    done = wait_import(ddb, start_import(ddb, bucket, InputCompressionType="GZIP")["ImportArn"])
    assert (done["ProcessedItemCount"], done["ImportedItemCount"], done["ErrorCount"]) == (8, 2, 6)
    assert (done["ImportStatus"], done["FailureCode"]) == ("FAILED", "ItemValidationError")
    assert sorted(i["pk"]["S"] for i in ddb("Scan", TableName="imported")["Items"]) == ["good1", "good2"]
    assert ddb("DescribeTable", TableName="imported")["Table"]["TableStatus"] == "ACTIVE"


def test_import_from_a_missing_bucket_fails_and_creates_nothing(ddb: Caller) -> None:
    started = start_import(ddb, f"missing-{uuid.uuid4().hex}", table="never")
    done = wait_import(ddb, started["ImportArn"])
    assert (done["ImportStatus"], done["FailureCode"]) == ("FAILED", "S3NoSuchBucket")
    assert "The specified bucket does not exist" in done["FailureMessage"]
    assert done["TableArn"].endswith(":table/never")
    assert "never" not in ddb("ListTables")["TableNames"]


def test_validation_errors_create_nothing(ddb: Caller, local: LocalStore) -> None:
    bucket = fresh_bucket(local)
    error = expect_error(ddb, "ImportTable", S3BucketSource={"S3Bucket": bucket}, InputFormat="DYNAMODB_JSON",
                         InputCompressionType="NONE", TableCreationParameters={
                             **KEY, "TableName": "prov", "BillingMode": "PROVISIONED"})
    assert (error.code, str(error)) == ("ValidationException", "One or more parameter values were invalid: "
                                        "ReadCapacityUnits and WriteCapacityUnits must both be specified when "
                                        "BillingMode is PROVISIONED")
    error = expect_error(ddb, "ImportTable", S3BucketSource={"S3Bucket": bucket}, InputFormat="XML",
                         TableCreationParameters={**KEY, "TableName": "xml"})
    assert error.code == "ValidationException"
    error = expect_error(ddb, "ImportTable", S3BucketSource={"S3Bucket": bucket}, InputFormat="DYNAMODB_JSON",
                         InputFormatOptions={"Csv": {"Delimiter": ","}}, TableCreationParameters={**KEY,
                                                                                                 "TableName": "opt"})
    assert error.code == "ValidationException"
    create(ddb, "taken")
    error = expect_error(ddb, "ImportTable", S3BucketSource={"S3Bucket": bucket}, InputFormat="DYNAMODB_JSON",
                         TableCreationParameters={**KEY, "TableName": "taken"})
    assert error.code == "ResourceInUseException"
    assert ddb("ListTables")["TableNames"] == ["taken"]
    assert ddb("ListImports")["ImportSummaryList"] == [] or ddb.way == "http"


def test_unknown_import_arn(ddb: Caller) -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/tbl/import/01234567890123-abcdef12"
    error = expect_error(ddb, "DescribeImport", ImportArn=arn)
    assert (error.code, str(error)) == ("ImportNotFoundException", f"Import not found: {arn}")


@pytest.mark.skipif(imports.zstandard is not None, reason="zstandard is installed")
def test_zstd_needs_the_zstandard_module(ddb: Caller, local: LocalStore) -> None:
    error = expect_error(ddb, "ImportTable", S3BucketSource={"S3Bucket": fresh_bucket(local)},
                         InputFormat="DYNAMODB_JSON", InputCompressionType="ZSTD",
                         TableCreationParameters={**KEY, "TableName": "zstd"})
    assert error.code == "ValidationException" and "zstandard" in str(error)
    assert "zstd" not in ddb("ListTables")["TableNames"]


def test_csv_import(ddb: Caller, local: LocalStore) -> None:
    bucket = fresh_bucket(local)
    local.put(bucket, "with-header.csv", b'pk;n;note\na;1;"semi;colon"\nb;2;\nshort\n')
    local.put(bucket, "headerless.csv", b"c;3;x\n")
    # the header given by HeaderList applies to every file: "with-header.csv"'s first line is then data
    types = {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "n", "AttributeType": "N"}],
             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
             "BillingMode": "PAY_PER_REQUEST"}
    done = wait_import(ddb, ddb("ImportTable", S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "with"},
                                InputFormat="CSV", InputFormatOptions={"Csv": {"Delimiter": ";"}},
                                TableCreationParameters={"TableName": "csv", **types})["ImportTableDescription"][
        "ImportArn"])
    assert (done["ProcessedItemCount"], done["ImportedItemCount"], done["ErrorCount"]) == (3, 2, 1)
    items = sorted(ddb("Scan", TableName="csv")["Items"], key=lambda i: i["pk"]["S"])
    assert items == [{"pk": {"S": "a"}, "n": {"N": "1"}, "note": {"S": "semi;colon"}}, {"pk": {"S": "b"}, "n": {"N": "2"}}]
    done = wait_import(ddb, ddb("ImportTable", S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "headerless"},
                                InputFormat="CSV", InputFormatOptions={"Csv": {"Delimiter": ";", "HeaderList": [
                                    "pk", "n", "other"]}}, TableCreationParameters={"TableName": "csv2", **types})[
        "ImportTableDescription"]["ImportArn"])
    assert done["ImportStatus"] == "COMPLETED"
    assert ddb("Scan", TableName="csv2")["Items"] == [{"pk": {"S": "c"}, "n": {"N": "3"}, "other": {"S": "x"}}]


def test_client_token(ddb: Caller, local: LocalStore) -> None:
    bucket = fresh_bucket(local)
    first = start_import(ddb, bucket, table="tok", ClientToken="abc")
    assert start_import(ddb, bucket, table="tok", ClientToken="abc")["ImportArn"] == first["ImportArn"]
    error = expect_error(ddb, "ImportTable", S3BucketSource={"S3Bucket": bucket}, InputFormat="ION",
                         TableCreationParameters={**KEY, "TableName": "tok"}, ClientToken="abc")
    assert error.code == "IdempotentParameterMismatchException"
    wait_import(ddb, first["ImportArn"])


# -- round trips ------------------------------------------------------------------------------------------------

def round_trip(engine: Engine, bucket: str, count: int) -> None:
    """Write `count` items, export them, import the export into a new table: the same items."""
    ddb = Caller("native", engine)
    create(ddb, "source", range_key="sk", range_type="N",
           GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "ALL"}}])
    ddb("UpdateContinuousBackups", TableName="source",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    pad = "x" * 260
    for start in range(0, count, 25):
        ddb("BatchWriteItem", RequestItems={"source": [{"PutRequest": {"Item": {
            "pk": {"S": f"p{i % 97}"}, "sk": {"N": str(i)}, "g": {"S": f"g{i % 5}"}, "pad": {"S": pad},
            "m": {"M": {"b": {"B": "AAE="}, "ns": {"NS": [str(i), "0.5"]}}}}}}
            for i in range(start, min(start + 25, count))]})
    arn = ddb("DescribeTable", TableName="source")["Table"]["TableArn"]
    export = ddb("ExportTableToPointInTime", TableArn=arn, S3Bucket=bucket, S3Prefix="exports/x")["ExportDescription"]
    engine.wait_for_backfills()
    export = ddb("DescribeExport", ExportArn=export["ExportArn"])["ExportDescription"]
    assert (export["ExportStatus"], export["ItemCount"]) == ("COMPLETED", count), export
    definitions = [{"AttributeName": n, "AttributeType": t} for n, t in (("pk", "S"), ("sk", "N"), ("g", "S"))]
    started = ddb("ImportTable", S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": export["ExportManifest"].rsplit(
        "/", 1)[0] + "/data/"}, InputFormat="DYNAMODB_JSON", InputCompressionType="GZIP", TableCreationParameters={
        "TableName": "copy", "AttributeDefinitions": definitions, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "ALL"}}]})["ImportTableDescription"]
    engine.wait_for_backfills()
    done = ddb("DescribeImport", ImportArn=started["ImportArn"])["ImportTableDescription"]
    assert (done["ImportStatus"], done["ImportedItemCount"], done["ErrorCount"]) == ("COMPLETED", count, 0), done

    def everything(table: str, **extra: Any) -> list[Any]:
        items, start = [], None
        while True:
            page = ddb("Scan", TableName=table, **extra, **({"ExclusiveStartKey": start} if start else {}))
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if start is None:
                return sorted(items, key=orjson.dumps)

    assert everything("copy") == everything("source")
    assert everything("copy", IndexName="by-g") == everything("source", IndexName="by-g")


def test_local_round_trip(tmp_path: Any) -> None:
    with Engine(str(tmp_path / "db.sqlite"), s3_dir=str(tmp_path / "buckets")) as engine:
        bucket = fresh_bucket(engine.object_store())
        round_trip(engine, bucket, 5000)
        assert os.path.isdir(tmp_path / "buckets" / bucket / "exports" / "x" / "AWSDynamoDB")


@pytest.mark.slow
def test_local_round_trip_100k(tmp_path: Any) -> None:
    with Engine(str(tmp_path / "db.sqlite"), s3_dir=str(tmp_path / "buckets")) as engine:
        round_trip(engine, fresh_bucket(engine.object_store()), 100_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    """moto_server on a free 127.0.0.1 port (S3 over HTTP), stopped after the module's tests."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def test_s3_round_trip(tmp_path: Any, moto_s3: str) -> None:
    with Engine(str(tmp_path / "db.sqlite"), s3_endpoint_url=moto_s3) as engine:
        store = engine.object_store()
        assert isinstance(store, S3Store)
        bucket = fresh_bucket(store)
        round_trip(engine, bucket, 500)
        keys = [key for key, _ in store.keys(bucket, "exports/x/AWSDynamoDB/")]
        assert any(k.endswith("/manifest-summary.json") for k in keys)
        assert any(k.endswith(".json.gz") and "/data/" in k for k in keys)


def test_s3_missing_bucket(tmp_path: Any, moto_s3: str) -> None:
    with Engine(str(tmp_path / "db.sqlite"), s3_endpoint_url=moto_s3) as engine:
        ddb = Caller("native", engine)
        done = wait_import(ddb, start_import(ddb, f"missing-{uuid.uuid4().hex}")["ImportArn"])
        assert (done["ImportStatus"], done["FailureCode"]) == ("FAILED", "S3NoSuchBucket")
        assert ddb("ListTables")["TableNames"] == []
        create(ddb)
        ddb("UpdateContinuousBackups", TableName="tbl",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        export = ddb("ExportTableToPointInTime", TableArn=engine.table_arn("tbl"), S3Bucket="missing-bucket")
        engine.wait_for_backfills()
        done = ddb("DescribeExport", ExportArn=export["ExportDescription"]["ExportArn"])["ExportDescription"]
        assert (done["ExportStatus"], done["FailureCode"]) == ("FAILED", "S3NoSuchBucket")


def test_s3_endpoint_from_the_environment(tmp_path: Any, moto_s3: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMOKIT_S3_ENDPOINT_URL", moto_s3)
    with Engine(str(tmp_path / "db.sqlite")) as engine:
        store = engine.object_store()
        assert isinstance(store, S3Store) and store.endpoint_url == moto_s3


def test_serve_s3_api_answers_s3_at_the_same_url(tmp_path: Any) -> None:
    """`serve --s3-api`: one URL for DynamoDB and the S3 calls around imports and exports (as moto's
    AWS-verified tests make them with AWS_ENDPOINT_URL)."""
    import boto3
    from botocore.exceptions import ClientError

    from dynamokit._cli import start_server

    from .conftest import http_client

    with Engine(str(tmp_path / "db.sqlite"), s3_dir=str(tmp_path / "s3")) as engine:
        server = start_server(engine, "127.0.0.1", 0, "us-east-1", s3_api=True)
        try:
            s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="k",
                              aws_secret_access_key="s")
            ddb = Caller("http", engine, http_client(server.url))
            s3.create_bucket(Bucket="landing")
            s3.put_bucket_tagging(Bucket="landing", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
            s3.put_object(Bucket="landing", Key="in/data.json", Body=b'{"Item": {"pk": {"S": "x"}}}')
            s3.put_object(Bucket="landing", Key="in/more.json.gz", Body=gzip.compress(b'{"Item": {"pk": {"S": "y"}}}'))
            assert [o["Key"] for o in s3.list_objects_v2(Bucket="landing", Prefix="in/")["Contents"]] == [
                "in/data.json", "in/more.json.gz"]
            done = wait_import(ddb, start_import(ddb, "landing", prefix="in/data")["ImportArn"])
            assert (done["ImportStatus"], done["ImportedItemCount"]) == ("COMPLETED", 1)
            ddb("UpdateContinuousBackups", TableName="imported",
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
            export = ddb("ExportTableToPointInTime", TableArn=done["TableArn"], S3Bucket="landing",
                         S3Prefix="out")["ExportDescription"]
            engine.wait_for_backfills()
            export = ddb("DescribeExport", ExportArn=export["ExportArn"])["ExportDescription"]
            summary = orjson.loads(s3.get_object(Bucket="landing", Key=export["ExportManifest"])["Body"].read())
            assert summary["itemCount"] == 1
            with pytest.raises(ClientError) as caught:
                s3.delete_bucket(Bucket="landing")
            assert caught.value.response["Error"]["Code"] == "BucketNotEmpty"
            for entry in s3.list_object_versions(Bucket="landing").get("Versions", []):
                s3.delete_object(Bucket="landing", Key=entry["Key"], VersionId=entry["VersionId"])
            s3.delete_bucket(Bucket="landing")
            with pytest.raises(ClientError) as caught:
                s3.put_object(Bucket="landing", Key="k", Body=b"")
            assert caught.value.response["Error"]["Code"] == "NoSuchBucket"
            assert ddb("ListTables")["TableNames"] == ["imported"]  # DynamoDB requests still answered
        finally:
            server.stop()


def test_serve_refuses_s3_api_with_auth(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from dynamokit._cli import main

    done = CliRunner().invoke(main, ["serve", "--s3-api", "--auth", str(tmp_path / "creds.json")])
    assert done.exit_code == 2 and "--s3-api" in done.output
