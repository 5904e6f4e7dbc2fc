"""View writers: version-guarded idempotent upserts and tombstones, counters exact under redelivery,
multi-item view updates in one transaction, key-condition reads, the capacity a view consumes, and a
read-your-writes helper. Inside a StreamProcessor batch, writes are deferred to one transaction per view
(see `deferred`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Self

import orjson

from .._engine.capacity import write_units
from .._engine.values import item_size
from .._errors import DynamoDBError
from ..model import Transport
from ..model._values import Item, from_item, to_av, to_item
from ._deferred import pending

Version = int | Decimal
_WIDTH = 64  # digits of a stored version: sequence numbers have up to 40 (DynamoDB) or 56 (Kinesis)
_GUARD = "attribute_not_exists(#v) OR #v < :v"
APPLIED = "~applied#"  # key prefix of the items recording which events a counter has absorbed
_READS = frozenset({"GetItem", "Query", "Scan"})
_SORT_OPERATORS = frozenset({"=", "<", "<=", ">", ">="})


@dataclass(frozen=True)
class Capacity:
    """Capacity units consumed: read (RCU) and write (WCU)."""

    read: float = 0.0
    write: float = 0.0


@dataclass(frozen=True)
class _Op:
    """One view change: one write (version-guarded), or a counter's event marker plus its increment.
    `targets` names the items it writes (table and key); `version` is the stamp of a version-guarded put."""

    items: tuple[dict[str, Any], ...]
    targets: tuple[str, ...]
    version: str | None = None


def encode_version(version: Version) -> str:
    """A version as text whose order is numeric order (zero-padded; sequence numbers overflow DynamoDB N)."""
    whole = int(version)
    if whole < 0 or len(str(whole)) > _WIDTH:
        raise ValueError(f"versions must be non-negative with at most {_WIDTH} digits: {version}")
    fraction = Decimal(version) - whole
    return f"{whole:0{_WIDTH}d}" + (str(fraction)[1:] if fraction else "")


def decode_version(text: str) -> Version:
    return Decimal(text) if "." in text else int(text)


class View:
    """A read view in table `table_name` (any key schema). Items carry `version_attribute` (text, see
    `encode_version`); a write with a version not above the stored one is a no-op, so duplicates and late
    deliveries are harmless. Deletes leave tombstones (`deleted_attribute`), so a late upsert cannot
    resurrect the item."""

    def __init__(self, transport: Transport, table_name: str, *, version_attribute: str = "_version",
                 deleted_attribute: str = "_deleted") -> None:
        self.transport, self.table_name = transport, table_name
        self.version_attribute, self.deleted_attribute = version_attribute, deleted_attribute
        schema = transport.call("DescribeTable", {"TableName": table_name})["Table"]["KeySchema"]
        self.key_names = tuple(k["AttributeName"] for k in schema)
        self._consumed = Capacity()
        self._consumed_lock = threading.Lock()

    @property
    def consumed(self) -> Capacity:
        """The capacity units this view's requests have consumed so far, failed conditional writes and
        cancelled transactions included (counted by DynamoDB's rule: it does not report them)."""
        return self._consumed

    # -- single writes (deferred inside a stream batch: then True means queued) ---------------------------
    def upsert(self, key: Mapping[str, Any], attributes: Mapping[str, Any], version: Version) -> bool:
        """Replace the item with `attributes` unless it holds `version` or newer; True when written."""
        return self._run(self._put(key, dict(attributes), version))

    def delete(self, key: Mapping[str, Any], version: Version) -> bool:
        """Tombstone the item unless it holds `version` or newer; True when written."""
        return self._run(self._put(key, {self.deleted_attribute: True}, version))

    def add(self, key: Mapping[str, Any], counter_attribute: str, delta: int | Decimal, event_id: str) -> bool:
        """Add `delta` to a counter once per `event_id` (a redelivered event adds nothing); True when added."""
        return self._run(self._add(key, counter_attribute, delta, event_id))

    def transaction(self) -> ViewTransaction:
        """`with view.transaction() as tx: tx.upsert(...); tx.add(...)`: all applied in one transaction
        (stale or already-applied parts are dropped, the rest is applied)."""
        return ViewTransaction(self)

    # -- reads ---------------------------------------------------------------------------------------------
    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The live item (plain values, with its version), or None when absent or tombstoned."""
        item = self._item(key)
        return None if item is None or self.deleted_attribute in item else self._plain(item)

    def version(self, key: Mapping[str, Any], attribute: str | None = None) -> Version | None:
        """The item's version (or the value of `attribute`), tombstones included; None when absent."""
        item = self._item(key)
        if item is None or (attribute or self.version_attribute) not in item:
            return None
        value = self._plain(item)[attribute or self.version_attribute]
        return value if isinstance(value, (int, Decimal)) else None

    def items(self) -> Iterator[dict[str, Any]]:
        """Every live item (plain values), skipping tombstones and counter event markers (a Scan)."""
        request: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True}
        while True:
            page = self.call("Scan", request)
            for item in page["Items"]:
                first = item[self.key_names[0]]
                if self.deleted_attribute not in item and not str(first.get("S", "")).startswith(APPLIED):
                    yield self._plain(item)
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def query(self, partition: Any, sort: tuple[str, Any] | None = None, *, prefix: str | None = None,
              limit: int | None = None, descending: bool = False) -> list[dict[str, Any]]:
        """The live items (plain values, like `get`) of one partition, in sort-key order (a consistent Query,
        following pages). `sort` narrows the sort key: `("=" | "<" | "<=" | ">" | ">=", value)` or
        `("between", (low, high))`; `prefix` is `begins_with`. `limit` counts live items (tombstones are
        skipped, not counted)."""
        request = self._query_request(partition, sort, prefix, descending)
        found: list[dict[str, Any]] = []
        while limit is None or len(found) < limit:
            if limit is not None:
                request["Limit"] = limit - len(found)
            page = self.call("Query", request)
            found += [self._plain(item) for item in page["Items"] if self.deleted_attribute not in item]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    def _query_request(self, partition: Any, sort: tuple[str, Any] | None, prefix: str | None,
                       descending: bool) -> dict[str, Any]:
        names = {"#p": self.key_names[0]}
        values = {":p": to_av(partition)}
        condition = "#p = :p"
        if sort is not None and prefix is not None:
            raise ValueError("give `sort` or `prefix`, not both")
        if sort is not None or prefix is not None:
            if len(self.key_names) < 2:
                raise ValueError(f"view table {self.table_name} has no sort key")
            names["#s"] = self.key_names[1]
            chosen: tuple[str, Any] = sort if sort is not None else ("begins_with", prefix)
            operator, operand = chosen
            if operator == "between":
                low, high = operand
                condition += " AND #s BETWEEN :s AND :t"
                values |= {":s": to_av(low), ":t": to_av(high)}
            elif operator == "begins_with":
                condition += " AND begins_with(#s, :s)"
                values[":s"] = to_av(operand)
            elif operator in _SORT_OPERATORS:
                condition += f" AND #s {operator} :s"
                values[":s"] = to_av(operand)
            else:
                raise ValueError(f"unknown sort-key condition {operator!r}")
        return {"TableName": self.table_name, "KeyConditionExpression": condition, "ConsistentRead": True,
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                "ScanIndexForward": not descending}

    def _plain(self, item: Item) -> dict[str, Any]:
        plain = from_item(item)
        stored = plain.get(self.version_attribute)
        if isinstance(stored, str):
            plain[self.version_attribute] = decode_version(stored)
        return plain

    def _item(self, key: Mapping[str, Any]) -> Item | None:
        found: Item | None = self.call("GetItem", {
            "TableName": self.table_name, "Key": to_item(key), "ConsistentRead": True}).get("Item")
        return found

    # -- metered calls -------------------------------------------------------------------------------------
    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request asking for its consumed capacity, and add that to `consumed`."""
        request["ReturnConsumedCapacity"] = "TOTAL"
        try:
            response = self.transport.call(operation, request)
        except DynamoDBError as error:
            self._charge(operation, _failure_units(operation, request, error))
            raise
        self._charge(operation, _reported_units(response.get("ConsumedCapacity")))
        return response

    def _charge(self, operation: str, units: float) -> None:
        with self._consumed_lock:
            if operation in _READS:
                self._consumed = replace(self._consumed, read=self._consumed.read + units)
            else:
                self._consumed = replace(self._consumed, write=self._consumed.write + units)

    # -- building and running ------------------------------------------------------------------------------
    def _put(self, key: Mapping[str, Any], attributes: dict[str, Any], version: Version) -> _Op:
        stamp = {"S": encode_version(version)}
        item = {**to_item(attributes), **to_item(key), self.version_attribute: stamp}
        return _Op(({"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": _GUARD,
                             "ExpressionAttributeNames": {"#v": self.version_attribute},
                             "ExpressionAttributeValues": {":v": stamp},
                             "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},),
                   (self._target(item),), stamp["S"])

    def _add(self, key: Mapping[str, Any], counter: str, delta: int | Decimal, event_id: str) -> _Op:
        wire = to_item(key)
        marker = APPLIED + orjson.dumps([event_id, counter, sorted(wire.items())]).decode()
        marker_item = {name: {"S": marker} for name in self.key_names}
        return _Op((
            {"Put": {"TableName": self.table_name, "Item": marker_item,
                     "ConditionExpression": "attribute_not_exists(#k)",
                     "ExpressionAttributeNames": {"#k": self.key_names[0]},
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Update": {"TableName": self.table_name, "Key": wire, "UpdateExpression": "ADD #c :d",
                        "ExpressionAttributeNames": {"#c": counter},
                        "ExpressionAttributeValues": {":d": to_av(delta)}}},
        ), (self._target(marker_item), self._target(wire)))

    def _target(self, item: Item) -> str:
        """The table and key of an item, as text (what a transaction may write only once)."""
        return orjson.dumps([self.table_name, [item[name] for name in self.key_names]]).decode()

    def _run(self, op: _Op) -> bool:
        writes = pending()
        if writes is not None:
            writes.add(self, op)
            return True
        return self.commit_ops([op]) == 1

    def commit_ops(self, ops: list[_Op]) -> int:
        """Apply ops: a lone put as a conditional PutItem, else in one transaction; stale or already-applied
        ops are dropped. Returns how many took effect."""
        if len(ops) == 1 and len(ops[0].items) == 1:
            try:
                self.call("PutItem", dict(ops[0].items[0]["Put"]))
                return 1
            except DynamoDBError as error:
                if error.code == "ConditionalCheckFailedException":
                    return 0
                raise
        return len(transact(self, ops))


def _reported_units(consumed: Any) -> float:
    """CapacityUnits of a ConsumedCapacity object or list (TransactWriteItems answers a list)."""
    if isinstance(consumed, list):
        return sum(_reported_units(c) for c in consumed)
    return float(consumed.get("CapacityUnits", 0.0)) if isinstance(consumed, dict) else 0.0


def _failure_units(operation: str, request: dict[str, Any], error: DynamoDBError) -> float:
    """What a failed write still consumes, which DynamoDB does not report: by its rule, 1 WCU per KB of the
    larger of the stored item (returned by ReturnValuesOnConditionCheckFailure=ALL_OLD) and the new one,
    doubled in a transaction. For a cancelled transaction's actions whose condition held, the stored item
    is not returned and only the new item is counted (at least 1 WCU)."""
    if operation == "PutItem" and error.code == "ConditionalCheckFailedException":
        return _write_units(error.extra.get("Item"), request.get("Item"))
    reasons = error.extra.get("CancellationReasons")
    if operation != "TransactWriteItems" or error.code != "TransactionCanceledException" or not reasons:
        return 0.0
    return sum(_write_units(reason.get("Item"), action.get("Put", {}).get("Item"), transactional=True)
               for action, reason in zip(request["TransactItems"], reasons, strict=True))


def _write_units(old: Item | None, new: Item | None, transactional: bool = False) -> float:
    return write_units(item_size(old) if old else 0, item_size(new) if new else 0, transactional)


def transact(view: View, ops: list[_Op]) -> list[_Op]:
    """Apply ops in one TransactWriteItems (charged to `view`); ops whose condition fails (stale, already
    applied) are dropped and the rest retried. Returns the ops applied."""
    while ops:
        items = [item for op in ops for item in op.items]
        try:
            view.call("TransactWriteItems", {"TransactItems": items})
            return ops
        except DynamoDBError as error:
            reasons = error.extra.get("CancellationReasons")
            if error.code != "TransactionCanceledException" or not reasons:
                raise
            codes = iter(r.get("Code", "None") for r in reasons)
            verdicts = [[next(codes) for _ in op.items] for op in ops]
            if any(c not in ("None", "ConditionalCheckFailed") for v in verdicts for c in v):
                raise
            ops = [op for op, v in zip(ops, verdicts, strict=True) if "ConditionalCheckFailed" not in v]
    return ops


class ViewTransaction:
    """Collects view writes (possibly to several Views on one transport) and applies them together."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.ops: list[_Op] = []

    def upsert(self, key: Mapping[str, Any], attributes: Mapping[str, Any], version: Version,
               view: View | None = None) -> None:
        self.ops.append((view or self.view)._put(key, dict(attributes), version))

    def delete(self, key: Mapping[str, Any], version: Version, view: View | None = None) -> None:
        target = view or self.view
        self.ops.append(target._put(key, {target.deleted_attribute: True}, version))

    def add(self, key: Mapping[str, Any], counter_attribute: str, delta: int | Decimal, event_id: str,
            view: View | None = None) -> None:
        self.ops.append((view or self.view)._add(key, counter_attribute, delta, event_id))

    def commit(self) -> int:
        """Apply what was collected (at most 100 items in DynamoDB); returns how many ops took effect (inside
        a stream batch: how many were queued). The capacity is charged to the view the transaction was
        started from."""
        ops, self.ops = self.ops, []
        writes = pending()
        if writes is None:
            return len(transact(self.view, ops)) if ops else 0
        for op in ops:
            writes.add(self.view, op)
        return len(ops)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.commit()


@dataclass(frozen=True)
class FreshRead:
    """The result of `wait_for_version`: the item, and whether the view (not the base table) answered."""

    item: Any
    from_view: bool


def wait_for_version(view: View, key: Mapping[str, Any], version: Version, timeout: float,
                     fallback: Callable[[], Any] | None = None, *, attribute: str | None = None) -> FreshRead:
    """Read-your-writes: wait (bounded by `timeout` seconds) until the view item holds `version` or newer
    (of the view version, or of `attribute`, e.g. the entity's own version field), then read it; past the
    timeout answer from `fallback()` (a consistent read of the base table) or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        current = view.version(key, attribute)
        if current is not None and current >= version:
            return FreshRead(view.get(key), True)
        left = deadline - time.monotonic()
        if left <= 0:
            if fallback is None:
                raise TimeoutError(f"view {view.table_name} has not reached version {version} for {dict(key)}")
            return FreshRead(fallback(), False)
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)
