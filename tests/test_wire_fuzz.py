"""Property-based fuzzing over the wire: no request, however hostile, gets an HTTP 500 or hangs the server.

Requests for every operation of DynamoDB and DynamoDB Streams are generated from botocore's service model
(valid shapes, aimed at seeded tables so that keys resolve and expressions evaluate), then mutated: wrong
JSON types, nulls, empty and huge values, odd Unicode, deep nesting, huge numbers, bad base64, broken bodies.
They are sent over real HTTP to a real `Server` (and, faster, through the same protocol code in-process).
Each answer must be a 200, or a 400 with DynamoDB's error body, within 5 s; the server must answer a known-good
request afterwards. `-m slow` runs the 100,000-case variant, collecting every 500 instead of stopping at one.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import orjson
import pytest
from botocore.model import Shape
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dynamokit import DynamoDBError, Engine
from dynamokit import _protocol as protocol
from dynamokit._engine.core import OPERATIONS as ENGINE_OPERATIONS
from dynamokit.server._http import Server

TIMEOUT = 5.0  # seconds per request: longer is a hang
TARGETS = {"dynamodb": "DynamoDB_20120810.", "dynamodbstreams": "DynamoDBStreams_20120810."}
DEFAULT_CASES = int(os.environ.get("WIRE_FUZZ_CASES", "2500"))  # 15-40 s over HTTP on a busy 2-core machine
SLOW_CASES = int(os.environ.get("WIRE_FUZZ_SLOW_CASES", "100000"))

# -- the seeded world --------------------------------------------------------------------------------------

KeyDef = tuple[str, str]  # (attribute, S | N | B)


@dataclass(frozen=True)
class TableDef:
    name: str
    hash: KeyDef
    range: KeyDef | None = None
    indexes: dict[str, tuple[KeyDef, KeyDef | None]] = field(default_factory=dict)
    keys: tuple[dict[str, Any], ...] = ()  # the seeded items' keys

    def schema(self, index: str | None = None) -> tuple[KeyDef, KeyDef | None]:
        return self.indexes.get(index, (self.hash, self.range))


TABLES = (
    TableDef("fz_hash", ("pk", "S"), keys=({"pk": {"S": "a"}}, {"pk": {"S": "é\u202e"}}, {"pk": {"S": "b"}})),
    TableDef("fz_range", ("pk", "S"), ("sk", "N"),
             {"by_g": (("g", "S"), ("sk", "N")), "by_l": (("pk", "S"), ("l", "S"))},
             tuple({"pk": {"S": "a"}, "sk": {"N": n}} for n in ("1", "2", "-3.5", "1e10"))),
    TableDef("fz_num", ("id", "N"), keys=({"id": {"N": "1"}}, {"id": {"N": "-2.5"}}, {"id": {"N": "9" * 38}})),
    TableDef("fz_bin", ("pk", "B"), ("sk", "B"),
             keys=({"pk": {"B": "AAE="}, "sk": {"B": "AQ=="}}, {"pk": {"B": "AAE="}, "sk": {"B": "/w=="}})),
)
SCRATCH = TableDef("fz_scratch", ("pk", "S"))  # CreateTable/DeleteTable aim here, not at the seeded tables
SENTINEL = "fz_sentinel"  # never generated: the known-good request after every case reads it
ATTRIBUTES = ("s", "n", "b", "lst", "mp", "ss", "ns", "bs", "t", "nul", "g", "l", "missing")


def seed_attributes(i: int) -> dict[str, Any]:
    """Non-key attributes of every type, so that expressions find something to evaluate."""
    return {"s": {"S": f"text{i}"}, "n": {"N": str(i * 7 - 3)}, "b": {"B": "AAECAw=="},
            "lst": {"L": [{"N": "1"}, {"S": "x"}, {"M": {"k": {"S": "v"}}}]},
            "mp": {"M": {"k": {"S": "v"}, "n": {"N": "2"}, "deep": {"L": [{"BOOL": True}]}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AA==", "AQ=="]},
            "t": {"BOOL": i % 2 == 0}, "nul": {"NULL": True}, "g": {"S": f"g{i % 2}"}, "l": {"S": f"l{i}"}}


@dataclass
class World:
    """What the generated requests aim at: the server's address and the stream values found at start."""

    engine: Engine
    url: str = ""
    port: int = 0
    stream_arns: list[str] = field(default_factory=list)
    shard_ids: list[str] = field(default_factory=list)
    iterators: list[str] = field(default_factory=list)
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _create(engine: Engine, table: TableDef) -> None:
    keys, defs = [{"AttributeName": table.hash[0], "KeyType": "HASH"}], {table.hash[0]: table.hash[1]}
    if table.range:
        keys.append({"AttributeName": table.range[0], "KeyType": "RANGE"})
        defs[table.range[0]] = table.range[1]
    request: dict[str, Any] = {"TableName": table.name, "KeySchema": keys, "BillingMode": "PAY_PER_REQUEST"}
    for name, (h, r) in table.indexes.items():
        index_keys = [{"AttributeName": h[0], "KeyType": "HASH"}] + (
            [{"AttributeName": r[0], "KeyType": "RANGE"}] if r else [])
        defs.update({h[0]: h[1], **({r[0]: r[1]} if r else {})})
        kind = "GlobalSecondaryIndexes" if h != table.hash else "LocalSecondaryIndexes"
        request.setdefault(kind, []).append({"IndexName": name, "KeySchema": index_keys,
                                             "Projection": {"ProjectionType": "ALL"}})
    request["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": t} for a, t in defs.items()]
    engine.call("CreateTable", request)


def reseed(engine: Engine) -> None:
    """(Re)create the seeded tables and put their items back (cases may delete or change them)."""
    existing = set(engine.call("ListTables", {})["TableNames"])
    for table in (*TABLES, TableDef(SENTINEL, ("pk", "S"), keys=({"pk": {"S": "ok"}},))):
        if table.name not in existing:
            _create(engine, table)
        for i, key in enumerate(table.keys):
            engine.call("PutItem", {"TableName": table.name, "Item": {**seed_attributes(i), **key}})


def start_world(engine: Engine) -> World:
    reseed(engine)
    world = World(engine)
    engine.call("UpdateTable", {"TableName": "fz_range", "StreamSpecification": {
        "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    engine.call("PutItem", {"TableName": "fz_range", "Item": {"pk": {"S": "s"}, "sk": {"N": "0"}}})
    arn = engine.call("DescribeTable", {"TableName": "fz_range"})["Table"]["LatestStreamArn"]
    world.stream_arns.append(arn)
    for shard in engine.call("DescribeStream", {"StreamArn": arn})["StreamDescription"]["Shards"]:
        world.shard_ids.append(shard["ShardId"])
        world.iterators.append(engine.call("GetShardIterator", {
            "StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"])
    return world


# -- valid values ------------------------------------------------------------------------------------------

_TEXTS = st.one_of(st.sampled_from(["a", "b", "text1", "g0", "l1", "é\u202e", "x" * 40]), st.text(max_size=8))
_NUMBERS = st.one_of(st.sampled_from(["0", "1", "2", "-3.5", "1e10", "7", "0.001", "9" * 38, "-1E-130", "1E125"]),
                     st.integers(-10**6, 10**6).map(str))
_BINARIES = st.one_of(st.sampled_from(["AAE=", "AQ==", "/w==", "AAECAw==", "AA=="]),
                      st.binary(min_size=1, max_size=8).map(lambda b: base64.b64encode(b).decode()))
_SCALARS = st.one_of(
    _TEXTS.map(lambda s: {"S": s}), _NUMBERS.map(lambda n: {"N": n}), _BINARIES.map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}), st.just({"NULL": True}),
    st.lists(_TEXTS, min_size=1, max_size=3, unique=True).map(lambda s: {"SS": s}),
    st.lists(st.integers(-99, 99), min_size=1, max_size=3, unique=True).map(lambda s: {"NS": [str(n) for n in s]}),
)
VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(lambda v: {"L": v}),
    st.dictionaries(st.sampled_from(ATTRIBUTES), inner, max_size=3).map(lambda v: {"M": v})), max_leaves=6)


def key_values(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return {"S": _TEXTS.filter(bool).map(lambda s: {"S": s}), "N": _NUMBERS.map(lambda n: {"N": n}),
            "B": _BINARIES.map(lambda b: {"B": b})}[kind]


def keys(table: TableDef) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly a seeded item's key, sometimes another key of the right types."""
    parts = {table.hash[0]: key_values(table.hash[1])}
    if table.range:
        parts[table.range[0]] = key_values(table.range[1])
    made = st.fixed_dictionaries(parts)
    return st.one_of(st.sampled_from(table.keys), made) if table.keys else made


def items(table: TableDef) -> st.SearchStrategy[dict[str, Any]]:
    extra = st.dictionaries(st.sampled_from(ATTRIBUTES), VALUES, max_size=4)
    return st.builds(lambda key, i, more: {**seed_attributes(i), **more, **key}, keys(table),
                     st.integers(0, 3), extra)


# -- expressions: templates whose placeholders are filled to match the table ---------------------------------

EXPRESSIONS = {
    "KeyConditionExpression": ["#h = :h", "#h = :h AND #r = :a", "#h = :h AND #r BETWEEN :a AND :b",
                               "#h = :h AND begins_with(#r, :a)", "#h = :h AND #r < :a", "#h = :h AND #r >= :a",
                               "#h = :h AND #h = :a", "#r = :a", ":h = #h"],
    "ConditionExpression": ["attribute_exists(#a)", "attribute_not_exists(#h)", "#a = :v", "#a <> :v",
                            "#a BETWEEN :v AND :w", "#a IN (:v, :w)", "begins_with(#a, :v)", "contains(#a, :v)",
                            "size(#a) > :v", "attribute_type(#a, :v)", "NOT (#a < :v) OR #b >= :w",
                            "#a.#b[0] = :v", "(#a = :v AND #b = :w) OR attribute_exists(#a.#b)", "#a[1] < :v"],
    "UpdateExpression": ["SET #a = :v", "SET #a = #a + :v", "SET #a = :v - #b", "ADD #a :v", "DELETE #a :v",
                         "REMOVE #a", "SET #a = list_append(#a, :v)", "SET #a = if_not_exists(#b, :v)",
                         "SET #a.#b = :v", "SET #a[0] = :v REMOVE #b", "SET #a = :v, #b = :w ADD #c :v",
                         "SET #a[5] = :v", "REMOVE #a[0], #b.#c"],
    "ProjectionExpression": ["#a", "#a, #b", "#a.#b[1]", "#a[0].#b, #c", "#h, #a"],
}
EXPRESSIONS["FilterExpression"] = EXPRESSIONS["ConditionExpression"]
STATEMENTS = ['SELECT * FROM "fz_hash" WHERE pk = ?', 'SELECT * FROM "fz_range" WHERE pk = ? AND sk > ?',
              'UPDATE "fz_hash" SET n = n + ? WHERE pk = ?', 'DELETE FROM "fz_num" WHERE id = ?',
              'INSERT INTO "fz_hash" VALUE {\'pk\': ?, \'s\': ?}', 'SELECT s, n FROM "fz_range"."by_g" WHERE g = ?',
              "SELECT * FROM fz_hash WHERE contains(ss, ?) OR n BETWEEN ? AND ?", "EXISTS(SELECT * FROM fz_hash)"]


def _placeholder_names(table: TableDef, index: Any) -> dict[str, st.SearchStrategy[str]]:
    h, r = table.schema(index if isinstance(index, str) else None)
    attributes = st.sampled_from(ATTRIBUTES + (table.hash[0],))
    return {"#h": st.just(h[0]), "#r": st.just(r[0]) if r else attributes}


def _placeholder_values(table: TableDef, index: Any) -> dict[str, st.SearchStrategy[Any]]:
    h, r = table.schema(index if isinstance(index, str) else None)
    out: dict[str, st.SearchStrategy[Any]] = {":h": st.one_of(key_values(h[1]), VALUES)}
    if r:
        out[":a"] = out[":b"] = st.one_of(key_values(r[1]), key_values(r[1]), VALUES)
    return out


def fill_placeholders(draw: Callable[..., Any], node: Any, table: TableDef) -> None:
    """Give every structure with expressions the ExpressionAttributeNames/-Values its texts use."""
    if isinstance(node, list):
        for element in node:
            fill_placeholders(draw, element, table)
        return
    if not isinstance(node, dict):
        return
    named = next((t for t in (*TABLES, SCRATCH) if t.name == node.get("TableName")), table)
    texts = " ".join(v for k, v in node.items() if k.endswith("Expression") and isinstance(v, str))
    for parameter in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        node.pop(parameter, None)
    if texts:
        names = _placeholder_names(named, node.get("IndexName"))
        values = _placeholder_values(named, node.get("IndexName"))
        used_names = sorted(set(re.findall(r"#\w+", texts)))
        used_values = sorted(set(re.findall(r":\w+", texts)))
        if used_names:
            node["ExpressionAttributeNames"] = {
                n: draw(names.get(n, st.sampled_from(ATTRIBUTES))) for n in used_names}
        if used_values:
            node["ExpressionAttributeValues"] = {v: draw(values.get(v, VALUES)) for v in used_values}
    for value in node.values():
        fill_placeholders(draw, value, named)


# -- requests from botocore's service model ---------------------------------------------------------------

_MODELS = {service: botocore.session.get_session().get_service_model(service) for service in TARGETS}
_IMPLEMENTED = set(ENGINE_OPERATIONS)
_HOT = {"PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
        "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
# Every operation of both services; the item and read operations most often, unimplemented ones rarely.
OPERATIONS = [(service, name) for service, model in _MODELS.items() for name in model.operation_names
              for _ in range(12 if name in _HOT else 3 if name in _IMPLEMENTED else 1)]
_SCRATCH_OPERATIONS = {"CreateTable", "DeleteTable"}
_MAX_DEPTH = 7


class RequestBuilder:
    """Hypothesis strategies for valid-shaped requests of one operation, aimed at one table."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._cache: dict[tuple[str, str], st.SearchStrategy[dict[str, Any]]] = {}

    def request(self, service: str, operation: str, table: TableDef) -> st.SearchStrategy[dict[str, Any]]:
        if operation in _SCRATCH_OPERATIONS:
            table = SCRATCH
        cached = self._cache.get((operation, table.name))
        if cached is None:
            shape = _MODELS[service].operation_model(operation).input_shape
            cached = self._shape(shape, "", table, 0) if shape is not None else st.just({})
            self._cache[(operation, table.name)] = cached
        return cached

    def _override(self, shape: Shape, name: str, table: TableDef) -> st.SearchStrategy[Any] | None:
        world = self.world
        arn = world.engine.table_arn(table.name)
        if name == "ResourceArn":
            return st.sampled_from([arn] * 6 + [table.name, arn + "/index/by_g", "arn:aws:dynamodb:::table/"])
        if name in ("TableName", "TableArn", "GlobalTableName", "SourceTableArn", "TargetTableName") or \
                shape.name in ("TableName", "TableArn"):
            return st.sampled_from([table.name] * 12 + [arn, "fz_missing", "a"])
        if name == "IndexName":
            return st.sampled_from([*table.indexes, "by_g", "nope"])
        if shape.name == "Key" or name in ("Key", "ExclusiveStartKey"):
            return keys(table)
        if shape.name == "PutItemInputAttributeMap" or name == "Item":
            return items(table)
        if shape.name == "AttributeValue":
            return VALUES
        if name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            return st.just(None)  # filled by fill_placeholders
        if name in EXPRESSIONS:
            return st.sampled_from(EXPRESSIONS[name])
        if name == "Statement":
            return st.sampled_from(STATEMENTS)
        if name in ("StreamArn", "ExclusiveStartStreamArn"):
            return st.sampled_from(world.stream_arns + ["arn:aws:dynamodb:us-east-1:1:table/x/stream/y"])
        if name in ("ShardId", "ExclusiveStartShardId"):
            return st.sampled_from(world.shard_ids + ["shardId-0"])
        if name == "ShardIterator":
            return st.sampled_from(world.iterators + ["bogus"])
        if name in ("Limit", "Segment", "TotalSegments"):
            return st.integers(-1, 5)
        if name == "AttributeName":
            return st.sampled_from(ATTRIBUTES + (table.hash[0],))
        return None

    def _shape(self, shape: Shape, name: str, table: TableDef, depth: int) -> st.SearchStrategy[Any]:
        override = self._override(shape, name, table)
        if override is not None:
            return override
        kind = shape.type_name
        if kind == "structure":
            required = set(shape.required_members)
            members = {m: s for m, s in shape.members.items() if m in required or depth < _MAX_DEPTH}
            return st.fixed_dictionaries(
                {m: self._shape(s, m, table, depth + 1) for m, s in members.items() if m in required},
                optional={m: self._shape(s, m, table, depth + 1) for m, s in members.items() if m not in required})
        if kind == "list":
            low = min(shape.metadata.get("min", 0), 2)
            return st.lists(self._shape(shape.member, name, table, depth + 1), min_size=low, max_size=max(low, 3))
        if kind == "map":
            table_keyed = "Table" in shape.key.name
            map_keys = (st.sampled_from([table.name, "fz_missing"]) if table_keyed
                        else self._shape(shape.key, name, table, depth + 1))
            return st.dictionaries(map_keys, self._shape(shape.value, name, table, depth + 1), max_size=2)
        if kind == "string":
            enum = shape.enum
            return st.sampled_from(enum) if enum else _TEXTS
        if kind in ("integer", "long"):
            low, high = shape.metadata.get("min", -5), shape.metadata.get("max", 10**6)
            return st.integers(min(low, 0), min(high, 10**6))
        if kind == "boolean":
            return st.booleans()
        if kind in ("double", "float"):
            return st.floats(-1e6, 1e6, allow_nan=False)
        if kind == "timestamp":
            return st.floats(0, 2e9)
        if kind == "blob":
            return _BINARIES
        return st.none()


# -- mutations -------------------------------------------------------------------------------------------

_DEEP_MAP: dict[str, Any] = {"S": "bottom"}
for _ in range(40):
    _DEEP_MAP = {"M": {"d": _DEEP_MAP}}
_DEEP_LIST: Any = []
for _ in range(200):
    _DEEP_LIST = [_DEEP_LIST]
HOSTILE: list[Any] = [
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 2**70, 1.5, 1e308, -0.0, "", " ", "\x00", "a\x00b",
    "\u202e\u200fRTL", "\ud800", "\udfff", "a\ud83d", "\U0001f600", "\ufeff", "x" * 70_000, "1" * 100_000,
    "1e999999999", "-1e-999999", "NaN", "Infinity", "-0", "0x10", "1_000", " 1", "1 ", "١٢٣", "1e-131",
    "1E126", "9" * 39, "0." + "0" * 200 + "1", "!!", "A", "AAA", "=AAA", "AA==AA==", "YQ", "\x00\x00==",
    {}, [], [None], [{}], {"S": None}, {"N": 123}, {"N": None}, {"N": ""}, {"N": "x"}, {"N": "1\x00"},
    {"S": "a", "N": "1"}, {"B": "!!"}, {"B": "A"}, {"BOOL": "true"}, {"NULL": False}, {"SS": []},
    {"SS": ["a", "a"]}, {"NS": ["1", "1.0"]}, {"NS": [1]}, {"BS": ["!!"]}, {"L": None}, {"M": []},
    {"X": "y"}, {"": ""}, {"L": [None]}, {"M": {"a": None}}, _DEEP_MAP, _DEEP_LIST,
    {"N": "1" * 100_000}, {"S": "x" * 500_000}, {"B": "QUFB" * 1000}, {"SS": ["\ud800"]},
    # expression texts that stress the parser within the 4 KB limit
    "(" * 1500 + "#a = :v" + ")" * 1500, "NOT " * 1000 + "#a = :v", "#a" + "[0]" * 1300 + " = :v",
    " OR ".join(["#a = :v"] * 500), "#a IN (" + ", ".join([":v"] * 700) + ")", "SET #a = " + " + ".join(["#a"] * 1300),
    "size(" * 800 + "#a" + ")" * 800 + " > :v", "SET " + ", ".join(f"a{i} = :v" for i in range(400)),
]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i))


def _parent(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        node = node[part]
    return node


def _copying(draw: Callable[..., Any]) -> Callable[..., Any]:
    """`draw` returning private copies: later mutations must not change shared constants (HOSTILE)."""
    return lambda strategy: copy.deepcopy(draw(strategy))


def mutate(draw: Callable[..., Any], request: dict[str, Any]) -> None:
    """One hostile change somewhere in `request`: replace, drop, wrap, or add an unexpected member."""
    draw = _copying(draw)
    paths = list(_paths(request))
    how = draw(st.sampled_from(["replace", "replace", "replace", "drop", "wrap", "add", "retag"]))
    if not paths or how == "add":
        target = _parent(request, draw(st.sampled_from(paths))) if paths else request
        if isinstance(target, dict):
            target[draw(st.sampled_from(["Bogus", "S", "N", "M", "TableName", ":v", "#n", ""]))] = draw(
                st.sampled_from(HOSTILE))
        elif isinstance(target, list):
            target.append(draw(st.sampled_from(HOSTILE)))
        return
    path = draw(st.sampled_from(paths))
    parent, last = _parent(request, path), path[-1]
    if how == "drop":
        del parent[last]
    elif how == "wrap":
        parent[last] = draw(st.sampled_from([[parent[last]], {"M": {"w": parent[last]}}, {"L": [parent[last]]},
                                             {"S": parent[last]}, {"N": parent[last]}]))
    elif how == "retag" and isinstance(parent[last], dict) and len(parent[last]) == 1:
        ((_, inner),) = parent[last].items()
        parent[last] = {draw(st.sampled_from(["S", "N", "B", "SS", "NS", "BS", "L", "M", "BOOL", "NULL"])): inner}
    else:
        parent[last] = draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=5), VALUES))


def encode(draw: Callable[..., Any], request: dict[str, Any]) -> bytes:
    """The request body: JSON, ASCII-escaped or raw UTF-8 (lone surrogates become invalid UTF-8), or broken."""
    if draw(st.booleans()):
        body = json.dumps(request, ensure_ascii=True).encode()
    else:
        body = json.dumps(request, ensure_ascii=False).encode("utf-8", "surrogatepass")
    broken = draw(st.sampled_from([None] * 20 + ["truncate", "array", "garbage", "empty", "nul"]))
    if broken == "truncate":
        return body[: max(1, len(body) // 2)]
    if broken == "array":
        return b"[" + body + b"]"
    if broken == "garbage":
        return body + b"\xff\xfe}"
    if broken == "empty":
        return b""
    if broken == "nul":
        return body.replace(b":", b":\x00", 1)
    return body


_LEGACY = {"Expected", "AttributesToGet", "KeyConditions", "QueryFilter", "ScanFilter", "AttributeUpdates",
           "ConditionalOperator"}
_ACTIONS = {"Put", "Update", "Delete", "ConditionCheck", "PutRequest", "DeleteRequest", "Get"}


def make_plausible(draw: Callable[..., Any], node: Any) -> None:
    """Mostly what a real client sends: one parameter style (legacy or expressions), one action per
    transaction or batch element, as many PartiQL Parameters as `?`s, no stale NextToken."""
    if isinstance(node, list):
        for element in node:
            make_plausible(draw, element)
        return
    if not isinstance(node, dict):
        return
    legacy = _LEGACY & node.keys()
    if legacy and draw(st.integers(0, 9)) < 9:
        modern = {k for k in node if k.endswith("Expression") or k.startswith("ExpressionAttribute")}
        for key in legacy if modern and draw(st.booleans()) else modern:
            del node[key]
    actions = sorted(_ACTIONS & node.keys())
    if len(actions) > 1 and draw(st.integers(0, 9)) < 9:
        keep = draw(st.sampled_from(actions))
        for key in actions:
            if key != keep:
                del node[key]
    if isinstance(node.get("Statement"), str) and draw(st.integers(0, 9)) < 8:
        node["Parameters"] = [draw(VALUES) for _ in range(node["Statement"].count("?"))]
        if not node["Parameters"]:
            del node["Parameters"]
    if "NextToken" in node and draw(st.integers(0, 9)) < 8:
        del node["NextToken"]
    for value in node.values():
        make_plausible(draw, value)


@st.composite
def cases(draw: Callable[..., Any], builder: RequestBuilder) -> tuple[str, str, bytes]:
    """(X-Amz-Target, operation, body) of one generated, possibly mutated, request."""
    service, operation = draw(st.sampled_from(OPERATIONS))
    table = draw(st.sampled_from(TABLES))
    request = copy.deepcopy(draw(builder.request(service, operation, table)))  # drawn objects may be shared
    make_plausible(draw, request)
    if operation == "Query" and not {"KeyConditions", "KeyConditionExpression"} & request.keys():
        request["KeyConditionExpression"] = draw(st.sampled_from(EXPRESSIONS["KeyConditionExpression"]))
    fill_placeholders(draw, request, table)
    request = copy.deepcopy(request)  # the values drawn above may be shared too
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        mutate(draw, request)
    return TARGETS[service] + operation, operation, encode(draw, request)


# -- sending and judging ------------------------------------------------------------------------------------

class Wire:
    """A keep-alive HTTP connection to the server (reopened when the server closes it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None

    def post(self, target: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            try:
                self.connection.request("POST", "/", body=body, headers={
                    "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
                response = self.connection.getresponse()
                answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.close()
                if attempt:
                    raise
                continue
            if answer[1].get("connection", "").lower() == "close":
                self.close()
            return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


KNOWN_GOOD = orjson.dumps({"TableName": SENTINEL, "Key": {"pk": {"S": "ok"}}})


def judge(status: int, headers: dict[str, str], body: bytes) -> str | None:
    """What is wrong with an answer (None: a result, or a DynamoDB-shaped client error)."""
    if status == 500:
        return "HTTP 500: " + body.decode(errors="replace")[:300]
    if status not in (200, 400, 413):
        return f"unexpected HTTP {status}"
    if status == 413:
        return None
    if "x-amz-crc32" in headers and int(headers["x-amz-crc32"]) != zlib.crc32(body):
        return "CRC32 mismatch"
    if status == 200 and body == b"":  # TagResource/UntagResource answer an empty body, as DynamoDB does
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "unparsable body"
    if not isinstance(payload, dict):
        return "body is not a JSON object"
    if status == 400 and not ("#" in str(payload.get("__type", "")) and
                              isinstance(payload.get("message", payload.get("Message")), str)):
        return f"400 without DynamoDB's error shape: {payload!r}"[:300]
    return None


def record(world: World, operation: str, body: bytes, problem: str | None, collect: bool) -> None:
    if problem is None:
        return
    report = f"{operation} {problem}\n  body: {body[:400]!r}"
    if not collect:
        raise AssertionError(report)
    print(f"\nwire fuzz failure {len(world.failures) + 1}: {report}", flush=True)
    world.failures.append(report)


# -- fixtures and tests -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Engine() as engine:
        made = start_world(engine)
        with Server(engine, port=0) as server:
            made.url, made.port = server.url, server.port
            yield made
        print(f"\nwire fuzz: {made.cases} cases, statuses {dict(made.statuses)}, {len(made.failures)} failures")


def _run_http(world: World, wire: Wire, case: tuple[str, str, bytes], collect: bool) -> None:
    target, operation, body = case
    world.cases += 1
    if world.cases % 250 == 0:
        reseed(world.engine)
        if collect and world.cases % 5000 == 0:
            print(f"\nwire fuzz: {world.cases} cases, {dict(world.statuses)}", flush=True)
    status, headers, answer = wire.post(target, body)
    world.statuses[status] += 1
    record(world, operation, body, judge(status, headers, answer), collect)
    status, headers, answer = wire.post(TARGETS["dynamodb"] + "GetItem", KNOWN_GOOD)
    if status != 200 or b'"ok"' not in answer:
        record(world, operation, body, f"known-good request failed afterwards: {status} {answer[:200]!r}", collect)


def _http_test(world: World, cases_run: int, collect: bool, derandomize: bool) -> None:
    builder, wire = RequestBuilder(world), Wire(world.port)

    @settings(max_examples=cases_run, deadline=None, database=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate] if collect else list(Phase))  # collecting: no shrinking
    @given(cases(builder))
    def run(case: tuple[str, str, bytes]) -> None:
        _run_http(world, wire, case, collect)

    try:
        run()
    finally:
        wire.close()
    assert not world.failures, "\n".join(world.failures[:20])


def test_wire_requests_never_answer_500(world: World) -> None:
    """Every generated request over HTTP: a 200 or a DynamoDB-shaped 400 within 5 s; the server survives."""
    _http_test(world, DEFAULT_CASES, collect=False, derandomize=True)


def test_in_process_requests_never_answer_500(world: World) -> None:
    """The same requests through the protocol code in-process (no HTTP): faster, so more of them."""
    builder = RequestBuilder(world)

    @settings(max_examples=DEFAULT_CASES * 2 // 3, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(cases(builder))
    def run(case: tuple[str, str, bytes]) -> None:
        target, operation, body = case
        status, headers, answer = protocol.handle(world.engine, target, body)
        record(world, operation, body, judge(status, {k.lower(): v for k, v in headers}, answer), False)

    run()


@pytest.mark.slow
@pytest.mark.timeout(4 * 3600)  # ~35 cases/s on a busy 2-core machine: about 50 minutes
def test_wire_fuzz_slow(world: World) -> None:
    """The long run (>= 100,000 cases over HTTP), reporting every failure found rather than the first."""
    _http_test(world, SLOW_CASES, collect=True, derandomize=False)


# -- regressions: every 500 found, over HTTP, with the error DynamoDB answers -----------------------------

def call(world: World, operation: str, request: dict[str, Any] | bytes) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of one request sent over HTTP (code "" for a 200)."""
    body = request if isinstance(request, bytes) else json.dumps(request).encode()
    wire = Wire(world.port)
    try:
        status, _, answer = wire.post(TARGETS["dynamodb"] + operation, body)
    finally:
        wire.close()
    payload = orjson.loads(answer)
    return status, str(payload.get("__type", "#")).rsplit("#", 1)[1], payload.get("message", "")


NULL_KEY = {"pk": {"S": None}}
_KEY_REQUESTS = {
    "GetItem": {"TableName": "fz_hash", "Key": NULL_KEY},
    "UpdateItem": {"TableName": "fz_hash", "Key": NULL_KEY, "UpdateExpression": "SET s = :v",
                   "ExpressionAttributeValues": {":v": {"S": "x"}}},
    "DeleteItem": {"TableName": "fz_hash", "Key": NULL_KEY},
    "TransactGetItems": {"TransactItems": [{"Get": {"TableName": "fz_hash", "Key": NULL_KEY}}]},
    "TransactWriteItems": {"TransactItems": [{"Delete": {"TableName": "fz_hash", "Key": NULL_KEY}}]},
    "BatchGetItem": {"RequestItems": {"fz_hash": {"Keys": [NULL_KEY]}}},
    "BatchWriteItem": {"RequestItems": {"fz_hash": [{"DeleteRequest": {"Key": NULL_KEY}}]}},
}


@pytest.mark.parametrize("operation", sorted(_KEY_REQUESTS))
def test_null_inside_key_is_serialization_exception(world: World, operation: str) -> None:
    """Finding: `{"pk": {"S": null}}` in a Key reached the key encoding (AttributeError -> 500)."""
    status, code, message = call(world, operation, _KEY_REQUESTS[operation])
    assert (status, code, message) == (400, "SerializationException", "NULL_VALUE cannot be converted to String")


@pytest.mark.parametrize("key", [{"pk": {"S": 5}}, {"pk": {"S": ["a"]}}, {"pk": {"S": {"S": "a"}}}])
def test_wrong_json_type_inside_key_is_serialization_exception(world: World, key: dict[str, Any]) -> None:
    status, code, _ = call(world, "GetItem", {"TableName": "fz_hash", "Key": key})
    assert (status, code) == (400, "SerializationException")


def test_null_in_expression_attribute_names_is_serialization_exception(world: World) -> None:
    """Finding: `{"#n": null}` in ExpressionAttributeNames was resolved as an attribute name (500)."""
    for operation, request in (
            ("GetItem", {"TableName": "fz_hash", "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "#n"}),
            ("UpdateItem", {"TableName": "fz_hash", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET #n = :v",
                            "ExpressionAttributeValues": {":v": {"S": "x"}}}),
            ("Scan", {"TableName": "fz_hash", "FilterExpression": "#n < :v",
                      "ExpressionAttributeValues": {":v": {"S": "x"}}})):
        status, code, _ = call(world, operation, {**request, "ExpressionAttributeNames": {"#n": None}})
        assert (status, code) == (400, "SerializationException"), operation


def test_empty_expression_attribute_name_is_validation_exception(world: World) -> None:
    """Found while fixing: `{"#n": ""}` made UpdateItem create an attribute named ""."""
    status, code, message = call(world, "UpdateItem", {
        "TableName": "fz_hash", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET #n = :v",
        "ExpressionAttributeNames": {"#n": ""}, "ExpressionAttributeValues": {":v": {"S": "x"}}})
    assert (status, code) == (400, "ValidationException")
    assert message.endswith("ExpressionAttributeNames contains invalid value: Empty attribute name for key #n")


@pytest.mark.parametrize(("value", "code"), [
    ({}, "ValidationException"), ({"S": "a", "N": "1"}, "ValidationException"), ({"N": None}, "SerializationException"),
    ({"N": ""}, "ValidationException"), ({"N": "x"}, "ValidationException"), ({"N": "1\x00"}, "ValidationException"),
])
@pytest.mark.parametrize("condition", ["pk = :p AND sk = :v", "pk = :p AND sk BETWEEN :v AND :v2",
                                       "pk = :p AND sk < :v"])
def test_invalid_key_condition_values(world: World, value: dict[str, Any], code: str, condition: str) -> None:
    """Finding: invalid Query key-condition values reached the placeholder checks (BETWEEN ordering, types)."""
    values = {":p": {"S": "a"}, ":v": value}
    if ":v2" in condition:
        values[":v2"] = {"N": "5"}
    status, got, _ = call(world, "Query", {"TableName": "fz_range", "KeyConditionExpression": condition,
                                           "ExpressionAttributeValues": values})
    assert (status, got) == (400, code)


@pytest.mark.parametrize("value", [None, {}])
def test_add_with_null_or_empty_value(world: World, value: Any) -> None:
    """Finding: `ADD c :one` with `:one` null or `{}` reached the ADD operand check (TypeError/ValueError)."""
    status, code, message = call(world, "UpdateItem", {
        "TableName": "fz_hash", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "ADD c :one",
        "ExpressionAttributeValues": {":one": value}})
    assert (status, code) == (400, "ValidationException")
    assert "Supplied AttributeValue is empty" in message


HUGE = "1" * 100_000


@pytest.mark.parametrize(("operation", "request_"), [
    ("PutItem", {"TableName": "fz_hash", "Item": {"pk": {"S": "h"}, "n": {"N": HUGE}}}),
    ("UpdateItem", {"TableName": "fz_hash", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "ADD c :one",
                    "ExpressionAttributeValues": {":one": {"N": HUGE}}}),
    ("GetItem", {"TableName": "fz_range", "Key": {"pk": {"S": "a"}, "sk": {"N": HUGE}}}),
    ("GetItem", {"TableName": "fz_num", "Key": {"id": {"N": "0." + "0" * 300 + HUGE}}}),
])
def test_hundred_thousand_digit_number(world: World, operation: str, request_: dict[str, Any]) -> None:
    """Finding: a 100,000-digit number raised decimal.Inexact while being normalized."""
    status, code, message = call(world, operation, request_)
    assert (status, code) == (400, "ValidationException")
    assert "Attempting to store more than 38 significant digits in a Number" in message


@pytest.mark.parametrize("text", ["١٢٣", "1_000", " 1", "0x10"])
def test_number_syntax_is_ascii_decimal(world: World, text: str) -> None:
    """Found while fixing: Python's Decimal accepts Arabic-Indic digits and underscores; DynamoDB does not."""
    status, code, message = call(world, "PutItem", {"TableName": "fz_hash",
                                                    "Item": {"pk": {"S": "h"}, "n": {"N": text}}})
    assert (status, code) == (400, "ValidationException")
    assert "A value provided cannot be converted into a number" in message


@pytest.mark.parametrize("table", ["fz_hash", "fz_bin"])
def test_malformed_base64_between_operand(world: World, table: str) -> None:
    """Finding: a bad base64 BETWEEN bound was decoded (binascii.Error) before the values were validated."""
    request: dict[str, Any] = {"TableName": table, "ExpressionAttributeValues": {":a": {"B": "A"}, ":b": {"B": "AA=="}}}
    if table == "fz_hash":
        status, code, _ = call(world, "Scan", {**request, "FilterExpression": "b BETWEEN :a AND :b"})
    else:
        request["ExpressionAttributeValues"][":p"] = {"B": "AAE="}
        status, code, _ = call(world, "Query", {**request, "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b"})
    assert (status, code) == (400, "SerializationException")


@pytest.mark.parametrize(("value_list", "code"), [(None, "ValidationException"), ("x", "SerializationException"),
                                                   ({"S": "a"}, "SerializationException")])
def test_legacy_attribute_value_list_null_or_not_a_list(world: World, value_list: Any, code: str) -> None:
    """Found by the fuzz suite after the legacy-condition work: `"AttributeValueList": null` reached len()
    (500). A JSON null is an absent member, so EQ has no argument; a value that is not a list is a wrong type."""
    condition = {"a": {"ComparisonOperator": "EQ", "AttributeValueList": value_list}}
    status, answered, _ = call(world, "Scan", {"TableName": "fz_hash", "ScanFilter": condition})
    assert (status, answered) == (400, code)


@pytest.mark.parametrize("start", [2**63, {"B": "A"}, ["a"]])
def test_list_tables_wrong_json_types(world: World, start: Any) -> None:
    """Found by the fuzz suite: a non-string ExclusiveStartTableName reached SQLite (OverflowError for a
    number beyond 64 bits, a binding error for a map or list) and answered 500."""
    status, code, _ = call(world, "ListTables", {"ExclusiveStartTableName": start})
    assert (status, code) == (400, "SerializationException")


def test_unpaired_surrogates_in_process(world: World) -> None:
    """Found while fixing: JSON parsing refuses unpaired surrogates, but in-process callers can send them."""
    for operation, request in (("PutItem", {"TableName": "fz_hash", "Item": {"pk": {"S": "\ud800"}}}),
                               ("PutItem", {"TableName": "fz_hash", "Item": {"pk": {"S": "a"}, "\udfff": {"S": "x"}}}),
                               ("GetItem", {"TableName": "fz_hash", "Key": {"pk": {"S": "a\ud83d"}}})):
        with pytest.raises(DynamoDBError) as caught:
            world.engine.call(operation, request)
        assert caught.value.code == "SerializationException"
    status, code, _ = call(world, "GetItem", b'{"TableName": "fz_hash", "Key": {"pk": {"S": "\\ud800"}}}')
    assert (status, code) == (400, "SerializationException")
