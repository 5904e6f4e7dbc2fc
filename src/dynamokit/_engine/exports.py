"""Exports to S3: ExportTableToPointInTime (FULL_EXPORT and INCREMENTAL_EXPORT), DescribeExport, ListExports.

An export needs point-in-time recovery (`pitr`): a full export writes the table as it was at ExportTime (the
PITR state query `pitr._STATE_AT`, copied from one read snapshot into a scratch file by
`backups.copy_into_file`, so writers go on); an incremental export writes, per key changed in
(ExportFromTime, ExportToTime], its last change from the PITR change log with its image at ExportFromTime.
The request answers IN_PROGRESS; a background thread writes DynamoDB's layout into the bucket
(`objectstore`):

    <prefix>/AWSDynamoDB/<export-id>/_started
    <prefix>/AWSDynamoDB/<export-id>/data/<name>.json.gz    (or .ion.gz): JSON lines {"Item": {...}}
    <prefix>/AWSDynamoDB/<export-id>/manifest-files.json    one line per data file
    <prefix>/AWSDynamoDB/<export-id>/manifest-summary.json  (each manifest with its .md5)

and marks the export COMPLETED, or FAILED with DynamoDB's FailureCode (S3NoSuchBucket, UNKNOWN).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from . import backups, formats, jobs, pitr
from .errors import DynamoDBError, validation
from .objectstore import LocalStore, NoSuchBucket, ObjectStore
from .resources import table_name
from .schema import Table

if TYPE_CHECKING:
    from .core import Engine, Operation
    from .leadership import Job

log = logging.getLogger("dynamokit.engine")
ITEMS_PER_FILE = 100_000
MIN_INCREMENTAL = 15 * 60
MAX_INCREMENTAL = 24 * 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS exports (
  arn TEXT PRIMARY KEY,
  table_arn TEXT NOT NULL,
  started REAL NOT NULL,
  token TEXT,
  description BLOB NOT NULL
);
"""


def iso(seconds: float) -> str:
    """An instant as the manifests write it: 2020-11-04T07:28:34.028Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _enum(request: dict[str, Any], name: str, where: str, values: tuple[str, ...]) -> str:
    value = request.get(name, values[0])
    if value not in values:
        raise validation(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
                         f"constraint: Member must satisfy enum value set: [{', '.join(values)}]")
    return str(value)


def _table(engine: Engine, arn: Any) -> Table:
    if not isinstance(arn, str):
        raise validation("1 validation error detected: Value null at 'tableArn' failed to satisfy constraint: "
                         "Member must not be null")
    try:
        return engine.table(table_name(arn, engine.region, engine.account_id))
    except DynamoDBError as error:
        if error.code == "ResourceNotFoundException":
            raise DynamoDBError("TableNotFoundException", f"Table not found: {arn}") from None
        raise


# -- the request ----------------------------------------------------------------------------------------------

def export_table_to_point_in_time(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    bucket = request.get("S3Bucket")
    if not isinstance(bucket, str) or not bucket:
        raise validation("1 validation error detected: Value null at 's3Bucket' failed to satisfy constraint: "
                         "Member must not be null")
    export_format = _enum(request, "ExportFormat", "exportFormat", ("DYNAMODB_JSON", "ION"))
    export_type = _enum(request, "ExportType", "exportType", ("FULL_EXPORT", "INCREMENTAL_EXPORT"))
    if request.get("S3SseAlgorithm") is not None:
        _enum(request, "S3SseAlgorithm", "s3SseAlgorithm", ("AES256", "KMS"))
    table = _table(engine, request.get("TableArn"))
    pitr.compact(engine, table.name)
    table = engine.table(table.name)
    token = request.get("ClientToken")
    if token is not None:
        found = _by_token(engine, token)
        if found is not None:
            if found["_request"] != _fingerprint(request):
                raise DynamoDBError("IdempotentParameterMismatchException",
                                    "ClientToken was already used with different parameters")
            return {"ExportDescription": _public(found)}
    base = table.description.get("_pitr")
    if base is None:
        raise DynamoDBError("PointInTimeRecoveryUnavailableException",
                            f"Point in time recovery is not enabled for table '{table.name}'")
    now = engine.clock()
    earliest = base["base_at"]
    description: dict[str, Any] = {"TableArn": table.description["TableArn"], "TableId": table.description["TableId"],
                                   "S3Bucket": bucket, "ExportFormat": export_format, "ExportType": export_type}
    if export_type == "FULL_EXPORT":
        if request.get("IncrementalExportSpecification") is not None:
            raise validation("IncrementalExportSpecification can only be specified with ExportType "
                             "INCREMENTAL_EXPORT")
        at = request.get("ExportTime", now)
        _check_time(at, earliest, now, "ExportTime")
        description["ExportTime"] = at
    else:
        if request.get("ExportTime") is not None:
            raise validation("ExportTime cannot be specified with ExportType INCREMENTAL_EXPORT")
        spec = request.get("IncrementalExportSpecification")
        if not isinstance(spec, dict) or spec.get("ExportFromTime") is None or spec.get("ExportToTime") is None:
            raise validation("IncrementalExportSpecification with ExportFromTime and ExportToTime must be "
                             "specified for ExportType INCREMENTAL_EXPORT")
        start, end = spec["ExportFromTime"], spec["ExportToTime"]
        _check_time(start, earliest, now, "ExportFromTime")
        _check_time(end, earliest, now, "ExportToTime")
        if not MIN_INCREMENTAL <= end - start <= MAX_INCREMENTAL:
            raise DynamoDBError("InvalidExportTimeException", "The incremental export period must be at least "
                                "15 minutes and at most 24 hours")
        view = _enum(spec, "ExportViewType", "incrementalExportSpecification.exportViewType",
                     ("NEW_AND_OLD_IMAGES", "NEW_IMAGE"))
        description["IncrementalExportSpecification"] = {"ExportFromTime": start, "ExportToTime": end,
                                                         "ExportViewType": view}
    for name in ("S3BucketOwner", "S3SseAlgorithm", "S3SseKmsKeyId", "ClientToken"):
        if request.get(name) is not None:
            description[name] = request[name]
    prefix = request.get("S3Prefix")
    if prefix:
        description["S3Prefix"] = prefix
    export_id = f"{int(now * 1000):014d}-{uuid.uuid4().hex[:8]}"
    arn = f"{table.description['TableArn']}/export/{export_id}"
    description = {"ExportArn": arn, "ExportStatus": "IN_PROGRESS", "StartTime": now, **description,
                   "_request": _fingerprint(request), "_tid": table.tid}
    with engine.storage.write() as conn:
        conn.execute("INSERT INTO exports(arn, table_arn, started, token, description) VALUES (?, ?, ?, ?, ?)",
                     (arn, description["TableArn"], now, token, orjson.dumps(description)))
    engine.leadership.run(*jobs.job(engine, "exports", arn, _run))
    return {"ExportDescription": _public(description)}


def _check_time(at: Any, earliest: float, now: float, name: str) -> None:
    if type(at) not in (int, float):
        raise DynamoDBError("SerializationException", f"{name} must be a timestamp")
    if at > now:
        raise DynamoDBError("InvalidExportTimeException", f"{name} {iso(at)} is in the future")
    if at < earliest:
        raise DynamoDBError("InvalidExportTimeException",
                            f"{name} {iso(at)} is before the earliest restorable time {iso(earliest)}")


def _fingerprint(request: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps({k: v for k, v in request.items() if k != "ClientToken"},
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()


def _by_token(engine: Engine, token: Any) -> dict[str, Any] | None:
    with engine.storage.snapshot() as conn:
        row = conn.execute("SELECT description FROM exports WHERE token = ? ORDER BY started DESC LIMIT 1",
                           (token,)).fetchone()
    return None if row is None else orjson.loads(row[0])  # type: ignore[no-any-return]


def _public(description: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in description.items() if not k.startswith("_")}


# -- writing the export ---------------------------------------------------------------------------------------

def pending(engine: Engine) -> list[Job]:
    """The exports not finished yet."""
    return jobs.pending(engine, "exports", _run)


def _run(engine: Engine, arn: str) -> None:
    try:
        with engine.storage.snapshot() as conn:
            description = orjson.loads(conn.execute("SELECT description FROM exports WHERE arn = ?",
                                                    (arn,)).fetchone()[0])
        try:
            description.update(_write(engine, description))
            description["ExportStatus"] = "COMPLETED"
        except NoSuchBucket as error:
            description.update(ExportStatus="FAILED", FailureCode="S3NoSuchBucket", FailureMessage=str(error))
        except Exception as error:
            log.exception("export %s failed", arn)
            description.update(ExportStatus="FAILED", FailureCode="UNKNOWN", FailureMessage=str(error))
        description["EndTime"] = engine.clock()
        with engine.storage.write() as conn:
            conn.execute("UPDATE exports SET description = ? WHERE arn = ?", (orjson.dumps(description), arn))
    except Exception:  # the engine may be closing
        log.exception("export %s stopped", arn)


def _write(engine: Engine, description: dict[str, Any], store: ObjectStore | None = None,
           progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write the export's objects (`progress` is told of each item written); returns the description's
    fields known once it is written."""
    store = store or engine.object_store()
    bucket = description["S3Bucket"]
    if not store.has_bucket(bucket):
        raise NoSuchBucket(bucket)
    prefix = description.get("S3Prefix", "").strip("/")
    folder = (f"{prefix}/" if prefix else "") + "AWSDynamoDB/" + description["ExportArn"].rsplit("/", 1)[1]
    store.put(bucket, f"{folder}/_started", b"")
    ion = description["ExportFormat"] == "ION"
    extension = ".ion.gz" if ion else ".json.gz"
    files: list[dict[str, Any]] = []
    count = size = 0
    lines = (_full_lines(engine, description) if description["ExportType"] == "FULL_EXPORT"
             else _incremental_lines(engine, description))
    for chunk, chunk_size in _chunks(lines, ITEMS_PER_FILE):
        body = b"".join(formats.ion_line(orjson.loads(orjson.dumps(line))) if ion else orjson.dumps(line) + b"\n"
                        for line in chunk)
        data = gzip.compress(body, compresslevel=1, mtime=0)
        key = f"{folder}/data/{base64.b32encode(uuid.uuid4().bytes).decode().rstrip('=').lower()}{extension}"
        etag = store.put(bucket, key, data)
        files.append({"itemCount": len(chunk), "md5Checksum": base64.b64encode(hashlib.md5(
            data, usedforsecurity=False).digest()).decode(), "etag": etag, "dataFileS3Key": key})
        count += len(chunk)
        size += chunk_size
        if progress is not None:
            progress(len(chunk))
    manifest_files = b"".join(orjson.dumps(f) + b"\n" for f in files)
    _put_manifest(store, bucket, f"{folder}/manifest-files", manifest_files)
    summary = {
        "version": "2023-08-01" if description["ExportType"] == "INCREMENTAL_EXPORT" else "2020-06-30",
        "exportArn": description["ExportArn"], "startTime": iso(description["StartTime"]),
        "endTime": iso(engine.clock()), "tableArn": description["TableArn"], "tableId": description["TableId"],
        "s3Bucket": bucket, "s3Prefix": prefix or None, "s3SseAlgorithm": description.get("S3SseAlgorithm", "AES256"),
        "s3SseKmsKeyId": description.get("S3SseKmsKeyId"), "manifestFilesS3Key": f"{folder}/manifest-files.json",
        "billedSizeBytes": size, "itemCount": count, "outputFormat": description["ExportFormat"],
        "exportType": description["ExportType"],
    }
    if "IncrementalExportSpecification" not in description:
        summary["exportTime"] = iso(description.get("ExportTime", description["StartTime"]))
    else:
        spec = description["IncrementalExportSpecification"]
        summary.update(exportFromTime=iso(spec["ExportFromTime"]), exportToTime=iso(spec["ExportToTime"]))
    _put_manifest(store, bucket, f"{folder}/manifest-summary", orjson.dumps(summary))
    return {"ExportManifest": f"{folder}/manifest-summary.json", "ItemCount": count, "BilledSizeBytes": size}


def _put_manifest(store: Any, bucket: str, key: str, body: bytes) -> None:
    store.put(bucket, key + ".json", body)
    store.put(bucket, key + ".md5", hashlib.md5(body, usedforsecurity=False).hexdigest().encode())


def _chunks(lines: Iterator[tuple[Any, int]], per_file: int) -> Iterator[tuple[list[Any], int]]:
    """Lines grouped into data files (an empty table still gets one, empty, file)."""
    chunk: list[Any] = []
    size = 0
    emitted = False
    for line, line_size in lines:
        chunk.append(line)
        size += line_size
        if len(chunk) == per_file:
            yield chunk, size
            emitted = True
            chunk, size = [], 0
    if chunk or not emitted:
        yield chunk, size


def _full_lines(engine: Engine, description: dict[str, Any]) -> Iterator[tuple[Any, int]]:
    """{"Item": item} of every item at ExportTime (or now, for `export_table`), with the item's size."""
    tid, at = description["_tid"], description.get("ExportTime")
    file = backups.snapshot_file(engine, f"export-{uuid.uuid4().hex}")
    try:
        if at is None:
            backups.copy_into_file(engine.storage.path, file, "SELECT phash, hk, rk, size, item FROM main.items "
                                   "WHERE tid = ? ORDER BY phash, hk, rk", (tid,), lambda conn: None)
        else:
            backups.copy_into_file(engine.storage.path, file, pitr._STATE_AT, (tid, tid, at, tid, at, at),
                                   lambda conn: None)
        snapshot = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            for size, raw in snapshot.execute("SELECT size, item FROM items ORDER BY rowid"):
                yield {"Item": orjson.Fragment(raw)}, size
        finally:
            snapshot.close()
    finally:
        backups.remove_file(file)


_CHANGED = """
SELECT l.phash, l.hk, l.rk, l.at, l.size, l.item FROM pitr_log l
 WHERE l.tid = ? AND l.at > ? AND l.at <= ?
   AND l.id = (SELECT MAX(m.id) FROM pitr_log m INDEXED BY pitr_log_key
                WHERE m.tid = l.tid AND m.phash = l.phash AND m.hk = l.hk AND m.rk = l.rk AND m.at <= ?)
 ORDER BY l.id
"""
_BEFORE = """
SELECT item FROM (
  SELECT 1 AS o, id, item FROM pitr_log INDEXED BY pitr_log_key
   WHERE tid = ? AND phash = ? AND hk = ? AND rk = ? AND at <= ?
  UNION ALL SELECT 0, 0, item FROM pitr_base WHERE tid = ? AND phash = ? AND hk = ? AND rk = ?)
 ORDER BY o DESC, id DESC LIMIT 1
"""


def _incremental_lines(engine: Engine, description: dict[str, Any]) -> Iterator[tuple[Any, int]]:
    """Per key changed in (from, to]: {"Metadata", "Keys", "NewImage"?, "OldImage"?} (its state at `to` and,
    for NEW_AND_OLD_IMAGES, at `from`), from one read snapshot."""
    tid = description["_tid"]
    spec = description["IncrementalExportSpecification"]
    start, end = spec["ExportFromTime"], spec["ExportToTime"]
    old_images = spec["ExportViewType"] == "NEW_AND_OLD_IMAGES"
    with engine.storage.snapshot() as conn:
        raw_description = conn.execute("SELECT description FROM catalog WHERE tid = ?", (tid,)).fetchone()
        if raw_description is None:
            raise DynamoDBError("TableNotFoundException", f"Table not found: {description['TableArn']}")
        names = Table.from_description(tid, orjson.loads(raw_description[0])).key.names
        out = []
        for phash, hk, rk, at, size, raw in conn.execute(_CHANGED, (tid, start, end, end)).fetchall():
            before = conn.execute(_BEFORE, (tid, phash, hk, rk, start, tid, phash, hk, rk)).fetchone()
            old = orjson.loads(before[0]) if before is not None and before[0] is not None else None
            new = orjson.loads(raw) if raw is not None else None
            if old == new:
                continue
            image = new if new is not None else old
            assert image is not None
            line: dict[str, Any] = {"Metadata": {"WriteTimestampMicros": {"N": str(int(at * 1_000_000))}},
                                    "Keys": {name: image[name] for name in names}}
            if new is not None:
                line["NewImage"] = new
            if old_images and old is not None:
                line["OldImage"] = old
            out.append((line, size))
    yield from out


def export_table(engine: Engine, name: str, directory: str, export_format: str = "DYNAMODB_JSON",
                 progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Export the table's current items (PITR not needed) into `directory`, in DynamoDB's layout
    (`<directory>/AWSDynamoDB/<export-id>/...`); returns the summary manifest's fields as DescribeExport
    would show them. For `dynamokit export`."""
    table = engine.table(name)
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    now = engine.clock()
    description = {"ExportArn": f"{table.description['TableArn']}/export/{int(now * 1000):014d}-"
                                f"{uuid.uuid4().hex[:8]}", "StartTime": now, "TableArn": table.description["TableArn"],
                   "TableId": table.description["TableId"], "S3Bucket": os.path.basename(directory),
                   "ExportFormat": export_format, "ExportType": "FULL_EXPORT", "_tid": table.tid}
    description.update(_write(engine, description, LocalStore(os.path.dirname(directory)), progress))
    description.update(ExportStatus="COMPLETED", EndTime=engine.clock())
    return _public(description)


# -- describing and listing -----------------------------------------------------------------------------------

def describe_export(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    return {"ExportDescription": _public(jobs.stored(engine, "exports", request, "ExportArn",
                                                     "ExportNotFoundException"))}


def list_exports(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    found, token = jobs.listed(engine, "exports", request, "MaxResults")
    out: dict[str, Any] = {"ExportSummaries": [{k: job[k] for k in ("ExportArn", "ExportStatus", "ExportType")}
                                               for job in found]}
    if token is not None:
        out["NextToken"] = token
    return out


OPERATIONS: dict[str, Operation] = {
    "ExportTableToPointInTime": export_table_to_point_in_time,
    "DescribeExport": describe_export,
    "ListExports": list_exports,
}

__all__ = ["OPERATIONS", "SCHEMA", "export_table", "iso", "pending"]
