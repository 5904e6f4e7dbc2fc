"""The Engine: one DynamoDB-compatible database, answering operations in DynamoDB's wire shape."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Self, TypeVar

import orjson

from . import (
    account,
    backups,
    batches,
    control,
    dynamodbstreams,
    exports,
    imports,
    items,
    leadership,
    objectstore,
    partiql,
    pitr,
    reads,
    resource_policies,
    shapes,
    tags,
    transactions,
    ttl,
)
from .capacity import Consumed, Usage
from .errors import DatabaseLocked, DynamoDBError, EngineClosed, resource_not_found
from .faults import Fault, Faults
from .resources import Resource, table_name
from .schema import Table, check_name
from .storage import Storage
from .throttle import Throttle

Operation = Callable[["Engine", dict[str, Any]], dict[str, Any]]
T = TypeVar("T")

OPERATIONS: dict[str, Operation] = {
    "CreateTable": control.create_table,
    "DescribeTable": control.describe_table,
    "ListTables": control.list_tables,
    "UpdateTable": control.update_table,
    "DeleteTable": control.delete_table,
    "PutItem": items.put_item,
    "GetItem": items.get_item,
    "UpdateItem": items.update_item,
    "DeleteItem": items.delete_item,
    "Query": reads.query,
    "Scan": reads.scan,
    **backups.OPERATIONS,
    **batches.OPERATIONS,
    **transactions.OPERATIONS,
    **ttl.OPERATIONS,
    **tags.OPERATIONS,
    **account.OPERATIONS,
    **resource_policies.OPERATIONS,
    **partiql.OPERATIONS,
    **pitr.OPERATIONS,
    **dynamodbstreams.OPERATIONS,
    **exports.OPERATIONS,
    **imports.OPERATIONS,
}

# Variants for `call(..., wire=True)`.
WIRE_OPERATIONS: dict[str, Operation] = {
    "Query": partial(reads.query, wire=True),
    "Scan": partial(reads.scan, wire=True),
}


class Engine:
    """A DynamoDB-compatible database stored in one SQLite file (or a throwaway one for ":memory:").

    `call(operation, request)` takes and returns DynamoDB's JSON wire shapes and raises
    `DynamoDBError` for anything DynamoDB would answer with an error.

    `throttling=True`: tables throttle by their provisioned capacity (see `throttle`); `faults`: errors
    injected with a probability, from a random source seeded with `fault_seed` (see `faults`). Both off by
    default, and then cost nothing.

    Jobs (index backfills, restores, exports, imports) run in background threads of the engine that starts
    them; `resume_backfills=True` also runs those an engine that stopped or died left unfinished. The
    periodic work (TTL sweeps, PITR folding, taking over orphaned jobs) runs in `leadership.start()`'s loop,
    in one engine of all those sharing the file (see `leadership`).
    """

    def __init__(self, path: str = ":memory:", *, region: str = "us-east-1",
                 account_id: str = "123456789012", clock: Callable[[], float] = time.time,
                 resume_backfills: bool = True, s3_endpoint_url: str | None = None,
                 s3_dir: str | None = None, throttling: bool = False, faults: Iterable[Fault] = (),
                 fault_seed: int | None = None) -> None:
        self.storage = Storage(path, schemas=(ttl.SCHEMA, tags.SCHEMA, transactions.SCHEMA, dynamodbstreams.SCHEMA,
                                                      backups.SCHEMA, pitr.SCHEMA, exports.SCHEMA, imports.SCHEMA,
                                                      leadership.SCHEMA))
        self.s3 = objectstore.Config(s3_endpoint_url, s3_dir)  # where exports and imports find their buckets
        self._object_store: objectstore.ObjectStore | None = None
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self._tables: dict[str, Table] = {}
        self._catalog_version = -1
        self._catalog_lock = threading.Lock()
        self._seen = threading.local()
        self.operations: dict[str, Operation] = dict(OPERATIONS)
        self.usage = Usage()
        self.throttle: Throttle | None = Throttle(self) if throttling else None
        self._admit: tuple[Callable[[str, dict[str, Any]], None], ...] = ()
        self.faults = Faults(faults, fault_seed, changed=self._arm)
        self._arm()
        self.streams = dynamodbstreams.StreamLog(self)
        self.ttl = ttl.TimeToLive(self)
        self.backfills: list[threading.Thread] = []  # the jobs this engine ran (see `wait_for_backfills`)
        self.leadership = leadership.Leadership(self)
        self._calls = 0  # operations running (outermost calls), so close() can wait for them
        self._calls_lock = threading.Lock()
        self._closed = False
        if resume_backfills:
            self.leadership.resume()

    # -- the one entry point ---------------------------------------------------------------------------
    def call(self, operation: str, request: dict[str, Any] | None = None, *, wire: bool = False) -> dict[str, Any]:
        """Run one DynamoDB operation; `request` and the result are in DynamoDB's JSON wire shape.

        `wire=True` is for callers that only serialize the result with orjson (the protocol layer): items a
        Query or Scan returns unchanged may then be `orjson.Fragment`s of their stored JSON, never parsed."""
        handler = (wire and WIRE_OPERATIONS.get(operation)) or self.operations.get(operation)
        if handler is None:
            raise DynamoDBError("UnknownOperationException", f"Unknown operation: {operation}")
        if request is None:
            request = {}
        elif not isinstance(request, dict):
            raise DynamoDBError("SerializationException", "Request body must be a JSON object")
        seen = self._seen
        outermost = not getattr(seen, "calling", False)
        if outermost:
            with self._calls_lock:  # counted, so close() can wait for it
                if self._closed:
                    raise EngineClosed("this Engine is closed")
                self._calls += 1
            # One catalog check per operation, however many tables or items it names (writes check it
            # inside their transaction instead: see `prepare_write`).
            seen.calling, seen.checked = True, False
        failed: str | None = "InternalServerError"  # what the usage totals count the call as, if not answered
        try:
            try:
                if outermost:
                    for admit in self._admit:  # faults, throttling: none unless enabled
                        admit(operation, request)
                answer = handler(self, request)
                failed = None
                return answer
            except (KeyError, TypeError, AttributeError, ValueError, IndexError, OverflowError,
                    sqlite3.InterfaceError, sqlite3.ProgrammingError):
                # A wrong JSON type tripped an operation: name it as DynamoDB does. Anything else is our bug.
                found = shapes.problem(operation, request)
                if found is None:
                    raise
                raise DynamoDBError("SerializationException", found) from None
        except DynamoDBError as error:
            failed = error.code
            raise
        except (DatabaseLocked, EngineClosed):
            failed = ""  # not answered: the server runs it again (locked) or answers 503 (closed)
            raise
        finally:
            if outermost:
                seen.calling = seen.checked = False
                with self._calls_lock:
                    self._calls -= 1
                if failed != "":
                    self.usage.count(operation, request, failed)

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new operations, wait (up to `timeout` seconds) for those running, then stop the
        background work and close the database: no thread is left using a closed connection."""
        with self._calls_lock:
            if self._closed:
                return
            self._closed = True
        deadline = time.monotonic() + timeout
        while self._calls and time.monotonic() < deadline:
            time.sleep(0.005)
        self.leadership.stop()
        try:
            self.leadership.release()
        finally:
            self.storage.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- catalog ----------------------------------------------------------------------------------------
    def table(self, name: Any, missing: str = "Requested resource not found") -> Table:
        """The table called `name`, from a cache that follows changes made by any connection or process."""
        if type(name) is not str or name.startswith("arn:"):
            name = table_name(name, self.region, self.account_id)
        seen = self._seen
        if not getattr(seen, "checked", False):
            self._refresh_catalog()
            seen.checked = getattr(seen, "calling", False)
        table = self._tables.get(name)
        if table is None:
            check_name(name, "tableName")  # an invalid name is a ValidationException, not "not found"
            raise resource_not_found(missing)
        return table

    def _refresh_catalog(self) -> None:
        # data_version changes when another connection commits; this thread's own DDL resets `_seen`.
        conn = self.storage.connection()
        data_version = conn.execute("PRAGMA data_version").fetchone()[0]
        if getattr(self._seen, "data_version", None) == data_version:
            return
        self._seen.data_version = data_version
        self._load_catalog(conn, _catalog_version(conn))

    def _load_catalog(self, conn: Any, version: int) -> None:
        """Read the catalog into the cache unless it already holds `version`."""
        if version == self._catalog_version:
            return
        with self._catalog_lock:
            tables = {}
            for name, tid, description in conn.execute("SELECT name, tid, description FROM catalog"):
                tables[name] = Table.from_description(tid, orjson.loads(description))
                tables[name].catalog_version = version
            self._tables = tables
            self._catalog_version = version

    def prepare_write(self, prepare: Callable[..., T], *args: Any) -> T:
        """`prepare(*args)`, the validation of a write, against the cached catalog without checking it first:
        the write checks it inside its transaction (`is_current`). Should validation fail, the catalog is
        checked and, if it changed, the write validated again, so no error comes from a stale catalog."""
        seen = self._seen
        if getattr(seen, "checked", False) or not getattr(seen, "calling", False):
            return prepare(*args)
        seen.checked = True
        cached = self._tables
        try:
            return prepare(*args)
        except Exception:
            self._refresh_catalog()
            if self._tables is cached:  # the catalog had not changed (nor had another thread reloaded it)
                raise
        return prepare(*args)

    def is_current(self, conn: Any, *tables: Table) -> bool:
        """Whether `tables` still describe the catalog as seen inside the caller's write transaction. If not,
        the cache is reloaded from that transaction, and the caller validates its request again (e.g. a write
        validated before another process added an index or a stream)."""
        version = _catalog_version(conn)
        if all(table.catalog_version == version for table in tables):
            return True
        self._load_catalog(conn, version)
        return False

    def catalog_changed(self, conn: Any) -> None:
        """Mark the catalog changed (inside the write transaction that changed it)."""
        self.storage.next_counter(conn, "catalog")
        self._seen.data_version = None
        self._seen.checked = False

    def resource(self, name: Any) -> Resource:
        """The table a `TableName` parameter (a name or an ARN) names; the one resolution access control
        uses too (see `resources`)."""
        return Resource("aws", self.region, self.account_id, table_name(name, self.region, self.account_id))

    def table_arn(self, name: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{name}"

    # -- hooks of later layers ------------------------------------------------------------------------
    def charge(self, table: Table, consumed: Consumed) -> None:
        """Add a request's consumed capacity to the running totals."""
        self.usage.add(table.name, consumed)
        if self.throttle is not None:
            self.throttle.charge(table, consumed)

    def _arm(self) -> None:
        """The checks run before each operation: injected faults, then throttling."""
        checks: list[Callable[[str, dict[str, Any]], None]] = []
        if getattr(self, "faults", None):
            checks.append(self.faults.inject)
        if self.throttle is not None:
            checks.append(self.throttle.admit)
        self._admit = tuple(checks)


    def object_store(self) -> objectstore.ObjectStore:
        """The S3-compatible store of exports and imports (see `objectstore`)."""
        if self._object_store is None:
            self._object_store = self.s3.open(self.storage.path)
        return self._object_store

    def tables(self) -> dict[str, Table]:
        """Every table, by name."""
        self._refresh_catalog()
        return self._tables

    def online_index_wcu(self, table: str, index: str) -> float:
        """Write units this engine's backfill of a GSI added with UpdateTable consumed (DynamoDB reports them
        only in CloudWatch, as OnlineIndexConsumedWriteCapacity)."""
        return self.usage.snapshot()["online_index"].get(f"{table}/index/{index}", 0.0)

    def wait_for_backfills(self, timeout: float | None = None) -> None:
        """Block until the jobs this engine runs (index backfills, restores, exports, imports) have finished."""
        for thread in list(self.backfills):
            thread.join(timeout)


def _catalog_version(conn: Any) -> int:
    """The catalog's version as `conn` sees it (bumped by every catalog change)."""
    row = conn.execute("SELECT value FROM counters WHERE name = 'catalog'").fetchone()
    return row[0] if row else 0
