"""Query and Scan: key ranges read straight from SQLite's B-trees, paged by Limit and 1 MB."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import orjson

from . import capacity
from . import expressions as ex
from .errors import validation
from .keys import KeyAttr, KeySchema, compose, encode_scalar, escape, partition_hash
from .requests import Expressions, choice, prepare
from .schema import Index, Table
from .values import item_size

if TYPE_CHECKING:
    from .core import Engine

# Set while PartiQL runs its own Query: a WHERE may name key attributes beyond the key condition, a Query's
# filter may not.
KEY_FILTERS: ContextVar[bool] = ContextVar("KEY_FILTERS", default=False)
PAGE_BYTES = 1024 * 1024
MAX_SEGMENTS = 1_000_000
_SPACE = 1 << 32  # the partition-hash space that parallel scan segments divide
_SELECTS = ("SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES")


def _index(table: Table, request: dict[str, Any]) -> Index | None:
    name = request.get("IndexName")
    if name is None:
        return None
    index = table.indexes.get(name)
    if index is None:
        raise validation(f"The table does not have the specified index: {name}")
    if not index.active:
        raise validation(f"Cannot read from backfilling global secondary index: {name}")
    if index.is_global and request.get("ConsistentRead"):
        raise validation("Consistent reads are not supported on global secondary indexes")
    return index


def _select(request: dict[str, Any], exprs: Expressions, table: Table, index: Index | None) -> str:
    has_projection = exprs.get("ProjectionExpression") is not None
    default = "SPECIFIC_ATTRIBUTES" if has_projection else (
        "ALL_PROJECTED_ATTRIBUTES" if index is not None else "ALL_ATTRIBUTES")
    select = choice(request, "Select", _SELECTS, default)
    wanted = "only the Count" if select == "COUNT" else select
    if has_projection and select != "SPECIFIC_ATTRIBUTES":
        given = "AttributesToGet" if "AttributesToGet" in request else "ProjectionExpression"
        raise validation(f"1 validation error detected: Cannot specify the {given} when choosing to get {wanted}")
    if select == "ALL_PROJECTED_ATTRIBUTES" and index is None:
        raise validation("1 validation error detected: ALL_PROJECTED_ATTRIBUTES can be used only when Querying "
                         "using an IndexName")
    if select == "ALL_ATTRIBUTES" and index is not None and index.is_global and index.projection != "ALL":
        raise validation(f"One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not "
                         f"supported for global secondary index {index.name} because its projection type is "
                         "not ALL")
    if select == "SPECIFIC_ATTRIBUTES" and not has_projection:
        raise validation("1 validation error detected: Must specify the AttributesToGet or ProjectionExpression "
                         "when choosing to get SPECIFIC_ATTRIBUTES")
    return select


def _limit(request: dict[str, Any]) -> int | None:
    limit = request.get("Limit")
    if limit is None:
        return None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise validation(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                         "constraint: Member must have value greater than or equal to 1")
    return limit


def _start(request: dict[str, Any], table: Table, index: Index | None) -> tuple[Any, ...] | None:
    """The storage position of ExclusiveStartKey: table key, plus index key for index reads."""
    start = request.get("ExclusiveStartKey")
    if start is None:
        return None
    if not isinstance(start, dict):
        raise validation("The provided starting key is invalid")
    names = set(table.key.names) | (set(index.key.names) if index else set())
    if set(start) != names:
        raise validation("The provided starting key is invalid: The provided key element does not match the "
                         "schema")
    hk, rk = table.key.of_item(start)
    position: tuple[Any, ...] = (partition_hash(hk), hk, rk)
    if index is not None:
        ihk, irk = index.key.of_item(start)
        position = (partition_hash(ihk), ihk, irk) + position
    return position


def _covered(projection: ex.ProjectionAST | None, names: dict[str, str], projected: frozenset[str]) -> bool:
    """Whether every attribute a ProjectionExpression names is among an index's `projected` attributes."""
    if projection is None:
        return True
    return all(ex.resolve_path(path, names)[0] in projected for path in projection.paths)


class _Page:
    """Collects one page of a Query or Scan: Limit, 1 MB, filter, projection, LastEvaluatedKey."""

    def __init__(self, engine: Engine, request: dict[str, Any], table: Table, index: Index | None,
                 exprs: Expressions, select: str, wire: bool) -> None:
        self.table, self.index, self.exprs, self.select = table, index, exprs, select
        self.limit = _limit(request)
        self.filter = exprs.get("FilterExpression")
        self.projection = exprs.get("ProjectionExpression")
        # Index reads return only the projected attributes; an LSI read of ALL_ATTRIBUTES, or naming an
        # attribute the index does not project, fetches the whole item from the table (and is charged for it).
        projected = None if index is None else index.projected_names(table.key)
        if index is not None and projected is not None and not index.is_global and (
                select == "ALL_ATTRIBUTES" or not _covered(self.projection, exprs.names, projected)):
            projected = None
        self.projected = projected
        # Items returned as stored may stay serialized (see Engine.call's `wire`).
        self.as_stored = wire and self.projected is None and self.projection is None
        self.items: list[Any] = []
        self.count = 0
        self.scanned = 0
        self.bytes = 0
        self.last: dict[str, Any] | None = None

    def run(self, rows: Iterator[tuple[int, bytes]]) -> None:
        if self.filter is None and (self.as_stored or (self.select == "COUNT" and self.projected is None)):
            self._unparsed(rows, keep=self.select != "COUNT")
            return
        limit = self.limit
        for size, raw in rows:
            item = orjson.loads(raw)
            if self.projected is not None:
                item = {k: v for k, v in item.items() if k in self.projected}
                size = item_size(item)
            self.scanned += 1
            self.bytes += size
            if self.filter is None or ex.evaluate_condition(self.filter, item, self.exprs.names,
                                                             self.exprs.values):
                self.count += 1
                if self.select != "COUNT":
                    if self.projection is not None:
                        item = ex.project(self.projection, item, self.exprs.names)
                    self.items.append(orjson.Fragment(raw) if self.as_stored else item)
            if (limit is not None and self.scanned >= limit) or self.bytes >= PAGE_BYTES:
                self.last = self._key_of(raw)
                break

    def _unparsed(self, rows: Iterator[tuple[int, bytes]], keep: bool) -> None:
        """No filter and nothing to project: the same paging without parsing any item; `keep` sends the
        items as stored (Select=COUNT keeps none)."""
        limit, items = self.limit, self.items
        for size, raw in rows:
            self.scanned += 1
            self.bytes += size
            if keep:
                items.append(orjson.Fragment(raw))
            if (limit is not None and self.scanned >= limit) or self.bytes >= PAGE_BYTES:
                self.last = self._key_of(raw)
                break
        self.count = self.scanned

    def _key_of(self, raw: bytes) -> dict[str, Any]:
        full = orjson.loads(raw)
        names = self.table.key.names + (self.index.key.names if self.index is not None else ())
        return {n: full[n] for n in names}

    def result(self, request: dict[str, Any], consistent: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"Count": self.count, "ScannedCount": self.scanned}
        if self.select != "COUNT":
            out["Items"] = self.items
        if self.last is not None:
            out["LastEvaluatedKey"] = self.last
        mode = capacity.wanted(request)
        consumed = capacity.Consumed(is_write=False)
        units = float(max(1, math.ceil(self.bytes / capacity.READ_UNIT)))
        units = units if consistent else units / 2
        if self.index is not None:
            consumed.add_index(self.index.name, self.index.is_global, units)
        else:
            consumed.table = units
        self.consumed = consumed
        if mode is not None:
            out["ConsumedCapacity"] = consumed.shape(self.table.name, mode)
        return out


Bound = tuple[bytes, bool] | None  # (encoded sort key, inclusive)


def _bounds_sql(column: str, lower: Bound, upper: Bound) -> tuple[str, list[bytes]]:
    sql, args = "", []
    if lower is not None:
        sql += f" AND {column} >{'=' if lower[1] else ''} ?"
        args.append(lower[0])
    if upper is not None:
        sql += f" AND {column} <{'=' if upper[1] else ''} ?"
        args.append(upper[0])
    return sql, args


def _successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with `prefix`."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def _below(prefix: bytes) -> Bound:
    """The exclusive upper bound of every key starting with `prefix` (None: unbounded)."""
    upper = _successor(prefix)
    return None if upper is None else (upper, False)


def _range_bounds(op: str | None, values: list[bytes], prefix: bytes, composed: bool) -> tuple[Bound, Bound]:
    """Sort-key bounds for `prefix` (equal leading parts) followed by `op` on the next part."""
    if composed:
        exact = [escape(v) + b"\x00\x00" for v in values]
        start: Bound = (prefix, True) if prefix else None
        if op is None:
            return start, _below(prefix)
        if op == "BEGINS_WITH":
            return (prefix + escape(values[0]), True), _below(prefix + escape(values[0]))
        first = prefix + exact[0]
        return {
            "EQ": ((first, True), _below(first)),
            "LT": (start, (first, False)),
            "LE": (start, _below(first)),
            "GT": ((_successor(first) or first, True), _below(prefix)),
            "GE": ((first, True), _below(prefix)),
            "BETWEEN": ((first, True), _below(prefix + exact[-1])),
        }[op]
    if op is None:
        return None, None
    v = values[0]
    return {
        "EQ": ((v, True), (v, True)),
        "LT": (None, (v, False)),
        "LE": (None, (v, True)),
        "GT": ((v, False), None),
        "GE": ((v, True), None),
        "BETWEEN": ((v, True), (values[-1], True)),
        "BEGINS_WITH": ((v, True), _below(v)),
    }[op]


def _key_condition(exprs: Expressions, schema: KeySchema) -> tuple[bytes, Bound, Bound]:
    """The partition key and the sort-key bounds of a KeyConditionExpression, checked against `schema`."""
    ast = exprs.get("KeyConditionExpression")
    if ast is None:
        raise validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in "
                         "the request.")
    by_name: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for name, op, operands in ex.key_conditions(ast, exprs.names, exprs.values):
        if name in by_name:
            raise validation("KeyConditionExpressions must only contain one condition per key")
        by_name[name] = (op, operands)
    hash_parts = []
    for attr in schema.hashes:
        cond = by_name.pop(attr.name, None)
        if cond is None:
            raise validation(f"Query condition missed key schema element: {attr.name}")
        if cond[0] != "EQ":
            raise validation("Query key condition not supported")
        hash_parts.append(_operand(attr, cond[1][0], True))
    ranges = [(attr, by_name.pop(attr.name, None)) for attr in schema.ranges]
    if by_name:
        missing = next((attr.name for attr, cond in ranges if cond is None), None)
        if missing is None:
            raise validation("Query key condition not supported")
        raise validation(f"Query condition missed key schema element: {missing}")
    given = [(attr, cond) for attr, cond in ranges if cond is not None]
    if given and given[-1][0] != ranges[len(given) - 1][0]:
        raise validation(f"Query condition missed key schema element: {ranges[len(given) - 1][0].name}")
    if any(cond[0] != "EQ" for _, cond in given[:-1]):
        raise validation("Query key condition not supported")
    composed = len(schema.ranges) > 1
    hk = hash_parts[0] if len(hash_parts) == 1 else compose(hash_parts)
    prefix = compose([_operand(attr, cond[1][0], False) for attr, cond in given[:-1]]) if composed else b""
    if not given:
        return (hk, *_range_bounds(None, [], prefix, composed))
    attr, (op, operands) = given[-1]
    if op == "BEGINS_WITH" and attr.kind == "N":
        raise validation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
                         "operator or function: begins_with, operand type: N")
    return (hk, *_range_bounds(op, [_operand(attr, o, False) for o in operands], prefix, composed))


def _check_filter(exprs: Expressions, schema: KeySchema) -> None:
    """A Query's filter (FilterExpression or QueryFilter) may not name a key attribute of what it reads."""
    ast = exprs.get("FilterExpression")
    if ast is None:
        return
    for node in ast.nodes:
        if isinstance(node, ex.Path):
            name = ex.resolve_path(node, exprs.names)[0]
            if name in schema.names:
                raise validation("Filter Expression can only contain non-primary key attributes: Primary key "
                                 f"attribute: {name}")


def _operand(attr: KeyAttr, value: dict[str, Any], is_hash: bool) -> bytes:
    actual = next(iter(value))
    if actual != attr.kind:
        raise validation("One or more parameter values were invalid: Condition parameter type does not match "
                         "schema type")
    encoded = encode_scalar(attr.kind, value[attr.kind])
    if not encoded and attr.kind != "N" and is_hash:
        raise validation("One or more parameter values are not valid. The AttributeValue for a key attribute "
                         f"cannot contain an empty {'string' if attr.kind == 'S' else 'binary'} value. Key: "
                         f"{attr.name}")
    return encoded


def query(engine: Engine, request: dict[str, Any], wire: bool = False) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    index = _index(table, request)
    exprs = prepare(request, "KeyConditionExpression", "FilterExpression", "ProjectionExpression")
    select = _select(request, exprs, table, index)
    schema = index.key if index is not None else table.key
    hk, lower, upper = _key_condition(exprs, schema)
    if not KEY_FILTERS.get():
        _check_filter(exprs, schema)
    forward = request.get("ScanIndexForward", True)
    if not isinstance(forward, bool):
        raise validation("ScanIndexForward must be a boolean")
    start = _start(request, table, index)
    if start is not None and start[1] != hk:
        raise validation("The provided starting key is outside query boundaries based on provided conditions")
    page = _Page(engine, request, table, index, exprs, select, wire)
    order = "" if forward else " DESC"
    phash = partition_hash(hk)
    conn = engine.storage.connection()
    if index is None:
        sql = "SELECT size, item FROM items WHERE tid = ? AND phash = ? AND hk = ?"
        args: list[Any] = [table.tid, phash, hk]
        extra, values = _bounds_sql("rk", lower, upper)
        sql += extra
        args += values
        if start is not None:
            sql += " AND rk > ?" if forward else " AND rk < ?"
            args.append(start[2])
        sql += f" ORDER BY rk{order}"
    else:
        sql = ("SELECT i.size, i.item FROM index_entries e JOIN items i ON i.tid = e.tid AND i.phash = e.tphash "
               "AND i.hk = e.hk AND i.rk = e.rk WHERE e.tid = ? AND e.iid = ? AND e.phash = ? AND e.ihk = ?")
        args = [table.tid, index.iid, phash, hk]
        extra, values = _bounds_sql("e.irk", lower, upper)
        sql += extra
        args += values
        if start is not None:
            sql += " AND (e.irk, e.tphash, e.hk, e.rk) " + (">" if forward else "<") + " (?, ?, ?, ?)"
            args += [start[2], start[3], start[4], start[5]]
        sql += f" ORDER BY e.irk{order}, e.tphash{order}, e.hk{order}, e.rk{order}"
    with engine.storage.snapshot():
        page.run(conn.execute(sql, args))
    out = page.result(request, bool(request.get("ConsistentRead", False)))
    engine.charge(table, page.consumed)
    return out


def _segment(request: dict[str, Any]) -> tuple[int, int] | None:
    segment, total = request.get("Segment"), request.get("TotalSegments")
    if segment is None and total is None:
        return None
    if total is None:
        raise validation("The TotalSegments parameter is required but was not present in the request when "
                         "Segment parameter is present")
    if segment is None:
        raise validation("The Segment parameter is required but was not present in the request when "
                         "parameter TotalSegments is present")
    if not isinstance(total, int) or not 1 <= total <= MAX_SEGMENTS:
        raise validation(f"1 validation error detected: Value '{total}' at 'totalSegments' failed to satisfy "
                         f"constraint: Member must have value {'less than or equal to 1000000' if isinstance(total, int) and total > 1 else 'greater than or equal to 1'}")
    if not isinstance(segment, int) or segment < 0:
        raise validation(f"1 validation error detected: Value '{segment}' at 'segment' failed to satisfy "
                         "constraint: Member must have value greater than or equal to 0")
    if segment >= total:
        raise validation("The Segment parameter is zero-based and must be less than parameter TotalSegments")
    return segment * _SPACE // total, (segment + 1) * _SPACE // total


def scan(engine: Engine, request: dict[str, Any], wire: bool = False) -> dict[str, Any]:
    table = engine.table(request.get("TableName"))
    index = _index(table, request)
    exprs = prepare(request, "FilterExpression", "ProjectionExpression")
    select = _select(request, exprs, table, index)
    segment = _segment(request)
    start = _start(request, table, index)
    if segment is not None and start is not None and not segment[0] <= start[0] < segment[1]:
        raise validation("Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. "
                         f"TotalSegments: {request['TotalSegments']} Segment: {request['Segment']}")
    page = _Page(engine, request, table, index, exprs, select, wire)
    conn = engine.storage.connection()
    if index is None:
        sql = "SELECT size, item FROM items WHERE tid = ?"
        args: list[Any] = [table.tid]
        order = " ORDER BY phash, hk, rk"
        position = "(phash, hk, rk)"
        column = "phash"
    else:
        sql = ("SELECT i.size, i.item FROM index_entries e JOIN items i ON i.tid = e.tid AND i.phash = e.tphash "
               "AND i.hk = e.hk AND i.rk = e.rk WHERE e.tid = ? AND e.iid = ?")
        args = [table.tid, index.iid]
        order = " ORDER BY e.phash, e.ihk, e.irk, e.tphash, e.hk, e.rk"
        position = "(e.phash, e.ihk, e.irk, e.tphash, e.hk, e.rk)"
        column = "e.phash"
    if segment is not None:
        sql += f" AND {column} >= ? AND {column} < ?"
        args += list(segment)
    if start is not None:
        sql += f" AND {position} > ({', '.join('?' * len(start))})"
        args += list(start)
    with engine.storage.snapshot():
        page.run(conn.execute(sql + order, args))
    out = page.result(request, bool(request.get("ConsistentRead", False)))
    engine.charge(table, page.consumed)
    return out

