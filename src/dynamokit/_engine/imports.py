"""Imports from S3: ImportTable, DescribeImport, ListImports.

ImportTable validates its TableCreationParameters as CreateTable does and creates the new table CREATING
(a validation error creates nothing), then answers IN_PROGRESS. A background thread reads every object under
the S3 source's prefix (`objectstore`), inflates it (GZIP, ZSTD when the `zstandard` module is installed,
NONE), parses it (DYNAMODB_JSON lines of {"Item": ...}, ION, CSV) and writes the items in chunked write
transactions (writers of other tables interleave), counting what it read (ProcessedItemCount,
ProcessedSizeBytes), wrote (ImportedItemCount) and could not use (ErrorCount: an unparsable line, a line
that is not an item, an invalid item). As in DynamoDB, bad items are skipped, not fatal: the table is kept
and made ACTIVE with the good ones, and an import with errors ends FAILED with FailureCode
ItemValidationError. A missing bucket ends the import FAILED (S3NoSuchBucket) and removes the table.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import logging
import os
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from . import control, formats, jobs
from .commit import check_index_keys, commit, load, locate
from .errors import DynamoDBError, validation
from .objectstore import NoSuchBucket
from .schema import Table
from .values import check_item

if TYPE_CHECKING:
    from .core import Engine, Operation
    from .leadership import Job

log = logging.getLogger("dynamokit.engine")
CHUNK = 2000
_EXPORT_FILES = ("manifest-summary.", "manifest-files.", "_started")

try:  # ZSTD needs the optional `zstandard` module
    import zstandard
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None  # type: ignore[assignment]

SCHEMA = """
CREATE TABLE IF NOT EXISTS imports (
  arn TEXT PRIMARY KEY,
  table_arn TEXT NOT NULL,
  started REAL NOT NULL,
  token TEXT,
  description BLOB NOT NULL
);
"""

_CREATION_PARAMETERS = ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
                        "OnDemandThroughput", "SSESpecification", "GlobalSecondaryIndexes")


def _enum(value: Any, where: str, values: tuple[str, ...]) -> str:
    if value not in values:
        raise validation(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
                         f"constraint: Member must satisfy enum value set: [{', '.join(values)}]")
    return str(value)


def _null(where: str) -> DynamoDBError:
    return validation(f"1 validation error detected: Value null at '{where}' failed to satisfy constraint: "
                      "Member must not be null")


# -- the request ----------------------------------------------------------------------------------------------

def import_table(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    source = request.get("S3BucketSource")
    if not isinstance(source, dict) or not isinstance(source.get("S3Bucket"), str):
        raise _null("s3BucketSource.s3Bucket" if isinstance(source, dict) else "s3BucketSource")
    for name in ("S3KeyPrefix", "S3BucketOwner"):
        if source.get(name) is not None and not isinstance(source[name], str):
            raise DynamoDBError("SerializationException", f"{name} must be a string")
    if request.get("InputFormat") is None:
        raise _null("inputFormat")
    input_format = _enum(request["InputFormat"], "inputFormat", ("DYNAMODB_JSON", "ION", "CSV"))
    compression = _enum(request.get("InputCompressionType", "NONE"), "inputCompressionType",
                        ("GZIP", "ZSTD", "NONE"))
    if compression == "ZSTD" and zstandard is None:
        raise validation("ZSTD input is not supported by this dynamokit installation (the zstandard module "
                         "is not installed)")
    options = request.get("InputFormatOptions")
    if options is not None:
        _check_options(options, input_format)
    parameters = request.get("TableCreationParameters")
    if not isinstance(parameters, dict):
        raise _null("tableCreationParameters")
    token = request.get("ClientToken")
    fingerprint = hashlib.sha256(orjson.dumps({k: v for k, v in request.items() if k != "ClientToken"},
                                              option=orjson.OPT_SORT_KEYS)).hexdigest()
    if token is not None:
        with engine.storage.snapshot() as conn:
            row = conn.execute("SELECT description FROM imports WHERE token = ? ORDER BY started DESC LIMIT 1",
                               (token,)).fetchone()
        if row is not None:
            found = orjson.loads(row[0])
            if found["_request"] != fingerprint:
                raise DynamoDBError("IdempotentParameterMismatchException",
                                    "ClientToken was already used with different parameters")
            return {"ImportTableDescription": _public(found)}
    create = {k: v for k, v in parameters.items() if k in _CREATION_PARAMETERS and k != "OnDemandThroughput"}
    if "BillingMode" not in create:
        create["BillingMode"] = "PROVISIONED"
    created = control.create_table(engine, create)["TableDescription"]  # validates; nothing made on error
    now = engine.clock()
    arn = f"{created['TableArn']}/import/{int(now * 1000):014d}-{uuid.uuid4().hex[:8]}"
    with engine.storage.write() as conn:
        tid, raw = conn.execute("SELECT tid, description FROM catalog WHERE name = ?",
                                (created["TableName"],)).fetchone()
        table_description = orjson.loads(raw)
        table_description["TableStatus"] = "CREATING"
        table_description["_import"] = arn
        conn.execute("UPDATE catalog SET description = ? WHERE tid = ?", (orjson.dumps(table_description), tid))
        engine.catalog_changed(conn)
        description: dict[str, Any] = {
            "ImportArn": arn, "ImportStatus": "IN_PROGRESS", "TableArn": created["TableArn"],
            "TableId": created["TableId"], "S3BucketSource": source, "ErrorCount": 0, "InputFormat": input_format,
            "InputCompressionType": compression, "TableCreationParameters": parameters, "StartTime": now,
            "ProcessedSizeBytes": 0, "ProcessedItemCount": 0, "ImportedItemCount": 0,
            "_request": fingerprint, "_tid": tid,
        }
        if options is not None:
            description["InputFormatOptions"] = options
        if token is not None:
            description["ClientToken"] = token
        conn.execute("INSERT INTO imports(arn, table_arn, started, token, description) VALUES (?, ?, ?, ?, ?)",
                     (arn, created["TableArn"], now, token, orjson.dumps(description)))
    engine.leadership.run(*jobs.job(engine, "imports", arn, _run))
    return {"ImportTableDescription": _public(description)}


def _check_options(options: Any, input_format: str) -> None:
    csv = options.get("Csv") if isinstance(options, dict) else None
    if csv is None:
        return
    if input_format != "CSV":
        raise validation("InputFormatOptions for CSV can only be specified with InputFormat CSV")
    if not isinstance(csv, dict):
        raise DynamoDBError("SerializationException", "Start of structure or map found where not expected")
    delimiter = csv.get("Delimiter", ",")
    if delimiter not in formats.CSV_DELIMITERS:
        raise validation(f"1 validation error detected: Value '{delimiter}' at 'inputFormatOptions.csv.delimiter' "
                         "failed to satisfy constraint: Member must satisfy regular expression pattern: [,;:|\\t ]")
    header = csv.get("HeaderList")
    if header is not None and (not isinstance(header, list) or not 1 <= len(header) <= 255
                               or not all(isinstance(h, str) and h for h in header)):
        raise validation("1 validation error detected: Value at 'inputFormatOptions.csv.headerList' failed to "
                         "satisfy constraint: Member must have length between 1 and 255")


def _public(description: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in description.items() if not k.startswith("_")}


# -- running the import ---------------------------------------------------------------------------------------

class _Counts:
    def __init__(self) -> None:
        self.processed = self.imported = self.errors = self.size = 0


def pending(engine: Engine) -> list[Job]:
    """The imports not finished yet."""
    return jobs.pending(engine, "imports", _run)


def _run(engine: Engine, arn: str) -> None:
    try:
        with engine.storage.snapshot() as conn:
            description = orjson.loads(conn.execute("SELECT description FROM imports WHERE arn = ?",
                                                    (arn,)).fetchone()[0])
        counts = _Counts()
        failure: tuple[str, str] | None = None
        drop = False
        try:
            _load_all(engine, description, counts)
            if counts.errors:
                failure = ("ItemValidationError", ("Some of the items failed validation checks and were not "
                                                   "imported. Please check CloudWatch error logs for more details."))
        except NoSuchBucket as error:
            failure, drop = ("S3NoSuchBucket", str(error)), True
        except Exception as error:
            log.exception("import %s failed", arn)
            failure, drop = ("UNKNOWN", str(error)), True
        description.update(ProcessedItemCount=counts.processed, ImportedItemCount=counts.imported,
                           ErrorCount=counts.errors, ProcessedSizeBytes=counts.size, EndTime=engine.clock(),
                           ImportStatus="COMPLETED" if failure is None else "FAILED")
        if failure is not None:
            description.update(FailureCode=failure[0], FailureMessage=failure[1])
        with engine.storage.write() as conn:
            row = conn.execute("SELECT description FROM catalog WHERE tid = ?", (description["_tid"],)).fetchone()
            if row is not None:
                if drop:
                    conn.execute("DELETE FROM catalog WHERE tid = ?", (description["_tid"],))
                    conn.execute("DELETE FROM items WHERE tid = ?", (description["_tid"],))
                    conn.execute("DELETE FROM index_entries WHERE tid = ?", (description["_tid"],))
                else:
                    table_description = orjson.loads(row[0])
                    table_description.pop("_import", None)
                    table_description["TableStatus"] = "ACTIVE"
                    conn.execute("UPDATE catalog SET description = ? WHERE tid = ?",
                                 (orjson.dumps(table_description), description["_tid"]))
                engine.catalog_changed(conn)
            conn.execute("UPDATE imports SET description = ? WHERE arn = ?", (orjson.dumps(description), arn))
    except Exception:  # the engine may be closing
        log.exception("import %s stopped", arn)


def _load_all(engine: Engine, description: dict[str, Any], counts: _Counts) -> None:
    store = engine.object_store()
    source = description["S3BucketSource"]
    bucket, prefix = source["S3Bucket"], source.get("S3KeyPrefix") or ""
    keys = [(k, s) for k, s in store.keys(bucket, prefix)
            if not (k.rsplit("/", 1)[-1].startswith(_EXPORT_FILES) and "AWSDynamoDB/" in k)]
    chunk: list[dict[str, Any]] = []
    for key, size in keys:
        counts.size += size
        for item in _items(store.get(bucket, key), description, counts):
            chunk.append(item)
            if len(chunk) == CHUNK:
                _write(engine, description["_tid"], chunk, counts)
                chunk = []
    if chunk:
        _write(engine, description["_tid"], chunk, counts)


def _inflate(data: bytes, compression: str) -> bytes:
    if compression == "AUTO":  # `import_files`: by the data's magic number
        compression = "GZIP" if data[:2] == b"\x1f\x8b" else "ZSTD" if data[:4] == b"\x28\xb5\x2f\xfd" else "NONE"
    if compression == "ZSTD" and zstandard is None:
        raise ValueError("ZSTD data needs the zstandard module")
    if compression == "GZIP":
        return gzip.decompress(data)
    if compression == "ZSTD":
        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(data))
    return data


def _items(data: bytes, description: dict[str, Any], counts: _Counts) -> Iterator[Any]:
    """The items of one object, as written (not yet validated); each unusable entry counts an error."""
    try:
        text = _inflate(data, description["InputCompressionType"]).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as error:
        log.info("import: unreadable object: %s", error)
        counts.processed += 1
        counts.errors += 1
        return
    kind = description["InputFormat"]
    if kind == "CSV":
        yield from _csv_items(text, description, counts)
        return
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            documents = list(formats.ion_documents(line) if kind == "ION" else formats.json_values(line))
        except ValueError:
            counts.processed += 1
            counts.errors += 1
            continue
        for document in documents:
            counts.processed += 1
            if isinstance(document, dict) and len(document) == 1 and isinstance(document.get("Item"), dict):
                yield document["Item"]
            else:
                counts.errors += 1


def _csv_items(text: str, description: dict[str, Any], counts: _Counts) -> Iterator[dict[str, Any]]:
    options = (description.get("InputFormatOptions") or {}).get("Csv") or {}
    types = {a["AttributeName"]: a["AttributeType"]
             for a in description["TableCreationParameters"].get("AttributeDefinitions", [])}
    try:
        for row in formats.csv_rows(text, options.get("Delimiter", ","), options.get("HeaderList")):
            counts.processed += 1
            if row is None:
                counts.errors += 1
                continue
            yield {name: {types.get(name, "S"): value} for name, value in row.items()
                   if value != "" or name in types}
    except (csv.Error, ValueError) as error:  # a malformed CSV file (e.g. an unterminated quote)
        log.info("import: unreadable CSV: %s", error)
        counts.errors += 1


def _write(engine: Engine, tid: int, chunk: list[Any], counts: _Counts) -> None:
    """Validate a chunk of items and write the valid ones in one write transaction."""
    with engine.storage.snapshot() as conn:
        row = conn.execute("SELECT description FROM catalog WHERE tid = ?", (tid,)).fetchone()
    if row is None:
        raise DynamoDBError("ResourceNotFoundException", "The table being imported was deleted")
    table = Table.from_description(tid, orjson.loads(row[0]))
    ready = []
    for raw in chunk:
        try:
            item, size = check_item(raw)
            hk, rk = table.key.of_item(item)
            check_index_keys(table, item)
        except (DynamoDBError, TypeError, ValueError, KeyError, AttributeError):
            counts.errors += 1
            continue
        ready.append((locate(table, hk, rk), item, size))
    with engine.storage.write() as conn:
        for key, item, size in ready:
            commit(engine, conn, table, key, load(conn, table, key), item, size)
    counts.imported += len(ready)


def import_files(engine: Engine, name: str, directory: str, input_format: str | None = None,
                 csv_options: dict[str, Any] | None = None,
                 progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the items of the files under `directory` (an export's layout, or any files of one format,
    compressed or not) into the existing table `name`; `progress` is told of each file's bytes read. Returns
    the counts ImportTable reports. For `dynamokit import`."""
    table = engine.table(name)
    counts = _Counts()
    paths = sorted(os.path.join(folder, file) for folder, _, files in os.walk(directory) for file in files
                   if not file.startswith(_EXPORT_FILES) and not file.endswith((".md5", ".checksum")))
    definitions = table.description["AttributeDefinitions"]
    for path in paths:
        kind = input_format or ("ION" if ".ion" in os.path.basename(path)
                                else "CSV" if ".csv" in os.path.basename(path) else "DYNAMODB_JSON")
        description = {"InputFormat": kind, "InputCompressionType": "AUTO",
                       "TableCreationParameters": {"AttributeDefinitions": definitions},
                       "InputFormatOptions": {"Csv": csv_options or {}}}
        with open(path, "rb") as file:
            data = file.read()
        counts.size += len(data)
        chunk: list[Any] = []
        for item in _items(data, description, counts):
            chunk.append(item)
            if len(chunk) == CHUNK:
                _write(engine, table.tid, chunk, counts)
                chunk = []
        if chunk:
            _write(engine, table.tid, chunk, counts)
        if progress is not None:
            progress(len(data))
    return {"ProcessedItemCount": counts.processed, "ImportedItemCount": counts.imported,
            "ErrorCount": counts.errors, "ProcessedSizeBytes": counts.size}


# -- describing and listing -----------------------------------------------------------------------------------

def describe_import(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    return {"ImportTableDescription": _public(jobs.stored(engine, "imports", request, "ImportArn",
                                                          "ImportNotFoundException"))}


def list_imports(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    found, token = jobs.listed(engine, "imports", request, "PageSize")
    out: dict[str, Any] = {"ImportSummaryList": [
        {k: job[k] for k in ("ImportArn", "ImportStatus", "TableArn", "S3BucketSource", "InputFormat",
                             "StartTime", "EndTime") if k in job} for job in found]}
    if token is not None:
        out["NextToken"] = token
    return out


OPERATIONS: dict[str, Operation] = {
    "ImportTable": import_table,
    "DescribeImport": describe_import,
    "ListImports": list_imports,
}

__all__ = ["OPERATIONS", "SCHEMA", "import_files", "pending"]
