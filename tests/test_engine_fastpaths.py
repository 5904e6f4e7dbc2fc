"""The write path's fast paths answer exactly as the general code they skip: canonical numbers and integer sums
without Decimal, string attributes checked inline, key encoding, requests without conditions, the write
transaction's context manager, and validation against the cached catalog (checked inside the transaction)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamokit import DynamoDBError, Engine
from dynamokit._engine import items, legacy, numbers, values
from dynamokit._engine.errors import invalid_parameter, validation
from dynamokit._engine.keys import MAX_HASH_KEY, MAX_RANGE_KEY, KeyAttr, KeySchema, encode_scalar
from dynamokit._engine.requests import prepare


def _outcome(function: Any, *args: Any) -> Any:
    """What a call answers: its result, the code and message of the DynamoDBError it raised, or the type of
    anything else it raised."""
    try:
        return "ok", function(*args)
    except DynamoDBError as error:
        return "error", error.code, error.message
    except Exception as error:  # noqa: BLE001 - a wrong JSON type: the engine names it from the request
        return "crash", type(error)


_digits = st.text("0123456789", min_size=1, max_size=45)
_number_texts = st.one_of(
    st.builds(lambda sign, whole, point, fraction, exponent: sign + whole + point + fraction + exponent,
              st.sampled_from(["", "-", "+", " "]), st.one_of(st.just(""), _digits), st.sampled_from(["", "."]),
              st.one_of(st.just(""), _digits), st.sampled_from(["", "e5", "E-3", "e+200", "e-140", " "])),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "-0", "00", "0.0", "-0.0", "1.", ".1", "1e2", "NaN", "Infinity", "", "٣", "1_000",
                     "1" * 38, "1" * 39, "9" * 38 + ".5", "0." + "0" * 36 + "1", "0." + "0" * 37 + "1"]),
    st.text(max_size=8),
)


@settings(max_examples=3000, deadline=None)
@given(_number_texts)
def test_canonical_number_text_as_decimal_renders_it(text: str) -> None:
    assert _outcome(numbers.canonical, text) == _outcome(lambda t: numbers.render(numbers.parse(t)), text)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_number_texts, st.integers(-10**19, 10**19).map(str)),
       st.one_of(_number_texts, st.integers(-10**19, 10**19).map(str)), st.booleans())
def test_integer_sums_as_decimal_computes_them(a: str, b: str, subtract: bool) -> None:
    assert _outcome(numbers.add, a, b, subtract) == _outcome(numbers.add_decimal, a, b, subtract)


def test_canonical_number_examples() -> None:
    assert numbers.canonical("-12.5") == "-12.5" and numbers.canonical("007") == "7"
    with pytest.raises(DynamoDBError, match="cannot be converted into a number"):
        numbers.canonical(5)


_attribute_values = st.recursive(
    st.one_of(st.builds(lambda s: {"S": s}, st.text(max_size=6)),
              st.builds(lambda n: {"N": n}, _number_texts),
              st.builds(lambda b: {"B": b}, st.sampled_from(["", "AAEC", "not base64", b"\x00raw"])),
              st.builds(lambda b: {"BOOL": b}, st.booleans()), st.just({"NULL": True}),
              st.builds(lambda s: {"SS": s}, st.lists(st.text(max_size=3), max_size=3)),
              st.builds(lambda s: {"NS": s}, st.lists(_number_texts, max_size=3)),
              st.sampled_from([{}, {"S": "a", "N": "1"}, {"S": 1}, {"S": None}, {"X": "1"}, "S", None])),
    lambda inner: st.one_of(st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
                            st.builds(lambda v: {"M": v}, st.dictionaries(st.text(max_size=3), inner, max_size=3))),
    max_leaves=8)


def _check_item_by_value(item: Any) -> tuple[dict[str, Any], int]:
    """check_item as it was: every attribute through check_value."""
    if not isinstance(item, dict):
        raise DynamoDBError("SerializationException", "Item must be a map of attribute values")
    out, size = {}, 0
    for name, value in item.items():
        if not name:
            raise invalid_parameter("An attribute name may not be empty")
        checked, n = values.check_value(value)
        out[name] = checked
        size += len(name.encode()) + n
    values.check_size(size)
    return out, size


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(st.text(max_size=4), _attribute_values, max_size=5))
def test_check_item_as_check_value_does(item: dict[str, Any]) -> None:
    assert _outcome(values.check_item, item) == _outcome(_check_item_by_value, item)


def _encode_attr_as_it_was(attr: KeyAttr, value: Any, is_hash: bool, index: str | None) -> bytes:
    kind = next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None
    if kind != attr.kind:
        actual = kind or "?"
        if index is not None:
            raise invalid_parameter(f"Type mismatch for Index Key {attr.name} Expected: {attr.kind} Actual: "
                                    f"{actual} IndexName: {index}")
        raise invalid_parameter(f"Type mismatch for key {attr.name} expected: {attr.kind} actual: {actual}")
    encoded = encode_scalar(kind, value[kind])
    if not encoded and kind != "N":
        empty = "string" if kind == "S" else "binary"
        if index is not None:
            raise validation("One or more parameter values are not valid. A value specified for a secondary index"
                             " key is not supported. The AttributeValue for a key attribute cannot contain an empty"
                             f" {empty} value. IndexName: {index}, IndexKey: {attr.name}")
        raise validation("One or more parameter values are not valid. The AttributeValue for a key attribute "
                         f"cannot contain an empty {empty} value. Key: {attr.name}")
    raw_len = len(value[kind].encode()) if kind == "S" else len(encoded)
    if is_hash and raw_len > MAX_HASH_KEY:
        raise invalid_parameter("Size of hashkey has exceeded the maximum size limit of2048 bytes")
    if not is_hash and raw_len > MAX_RANGE_KEY:
        raise invalid_parameter("Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
    return encoded


_key_values = st.one_of(
    _attribute_values,
    st.builds(lambda n, c: {"S": c * n}, st.sampled_from([0, 1, 1024, 1025, 2048, 2049]), st.sampled_from("aé")),
    st.builds(lambda n: {"B": "AAAA" * n}, st.sampled_from([0, 1, 341, 342, 682, 683])),
)


@settings(max_examples=800, deadline=None)
@given(st.sampled_from("SNB"), _key_values, st.booleans(), st.sampled_from([None, "by_x"]))
def test_key_encoding_as_it_was(kind: str, value: Any, is_hash: bool, index: str | None) -> None:
    attr = KeyAttr("k", kind)
    schema = KeySchema((attr,))
    assert _outcome(schema.encode_attr, attr, value, is_hash, index) == _outcome(_encode_attr_as_it_was, attr, value,
                                                                                 is_hash, index)


_CONDITION_PARAMETERS = ("ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues")


def test_condition_inputs_cover_everything_prepare_reads() -> None:
    """A Put or Delete naming none of these parameters has no expressions: `_condition` skips `prepare`."""
    legacy_inputs = {name for name, target in legacy._TARGETS.items() if target == "ConditionExpression"}
    assert legacy_inputs | set(_CONDITION_PARAMETERS) <= items._CONDITION_INPUTS
    request = {"TableName": "t", "Item": {"pk": {"S": "a"}}, "ReturnValues": "ALL_OLD",
               "UpdateExpression": "SET a = :v", "AttributeUpdates": {}}  # not read for a Put or Delete
    assert items._condition(request) == prepare(request, "ConditionExpression")
    asked = {**request, "ConditionExpression": "attribute_exists(a)"}
    assert items._condition(asked) == prepare(asked, "ConditionExpression")


# -- the write transaction ---------------------------------------------------------------------------------
def _count(engine: Engine) -> int:
    return engine.storage.connection().execute("SELECT COUNT(*) FROM counters WHERE name LIKE 'probe%'").fetchone()[0]


def test_write_transaction_commits_rolls_back_and_nests(tmp_path: Path) -> None:
    with Engine(str(tmp_path / "w.db")) as engine:
        storage = engine.storage
        with storage.write() as conn:
            storage.next_counter(conn, "probe1")
            with storage.write() as inner:  # joins the outer transaction
                assert inner is conn
                storage.next_counter(inner, "probe2")
            assert conn.in_transaction
        assert not conn.in_transaction and _count(engine) == 2
        with pytest.raises(RuntimeError), storage.write() as conn:
            storage.next_counter(conn, "probe3")
            with storage.write() as inner:
                storage.next_counter(inner, "probe4")
                raise RuntimeError
        assert not conn.in_transaction and _count(engine) == 2
        # The lock was released: another thread can write.
        done = threading.Event()

        def other() -> None:
            with storage.write() as conn:
                storage.next_counter(conn, "probe5")
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert done.is_set() and _count(engine) == 3


# -- validation against the cached catalog ------------------------------------------------------------------
def _create(engine: Engine, name: str, kind: str = "S") -> None:
    engine.call("CreateTable", {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": kind}]})


def _add_gsi(engine: Engine, name: str) -> None:
    engine.call("UpdateTable", {
        "TableName": name, "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}}]})
    engine.wait_for_backfills(timeout=60)


def _indexed(engine: Engine, name: str, g: str) -> list[str]:
    out = engine.call("Query", {"TableName": name, "IndexName": "by_g", "KeyConditionExpression": "g = :g",
                                "ExpressionAttributeValues": {":g": {"S": g}}})
    return sorted(i["pk"]["S"] for i in out["Items"])


def test_writes_validated_against_a_stale_catalog_are_validated_again(tmp_path: Path) -> None:
    """Another process adds an index after this one cached the catalog: single writes, batches and transactions
    are validated again inside their transaction, so the new index gets every item."""
    path = str(tmp_path / "race.db")
    with Engine(path) as first, Engine(path) as second:
        for name in ("put", "batch", "transaction"):
            _create(first, name)
        first.call("DescribeTable", {"TableName": "put"})  # the cache holds the tables without an index
        for name in ("put", "batch", "transaction"):
            _add_gsi(second, name)
        first.call("PutItem", {"TableName": "put", "Item": {"pk": {"S": "a"}, "g": {"S": "x"}}})
        first.call("BatchWriteItem", {"RequestItems": {"batch": [
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "g": {"S": "x"}}}}]}})
        first.call("TransactWriteItems", {"TransactItems": [
            {"Put": {"TableName": "transaction", "Item": {"pk": {"S": "a"}, "g": {"S": "x"}}}}]})
        for name in ("put", "batch", "transaction"):
            assert _indexed(second, name, "x") == ["a"], name


def test_errors_come_from_the_current_catalog(tmp_path: Path) -> None:
    """A table another process created, deleted or recreated with another key: a write answers as the current
    catalog says, never from the cache."""
    path = str(tmp_path / "catalog.db")
    with Engine(path) as first, Engine(path) as second:
        _create(first, "keep")
        first.call("DescribeTable", {"TableName": "keep"})
        _create(second, "new")
        first.call("PutItem", {"TableName": "new", "Item": {"pk": {"S": "a"}}})
        second.call("DeleteTable", {"TableName": "new"})
        with pytest.raises(DynamoDBError) as missing:
            first.call("PutItem", {"TableName": "new", "Item": {"pk": {"S": "a"}}})
        assert missing.value.code == "ResourceNotFoundException"
        _create(second, "new", kind="N")  # the same name, now with a number key
        first.call("PutItem", {"TableName": "new", "Item": {"pk": {"N": "1"}}})
        first.call("BatchWriteItem", {"RequestItems": {"new": [{"PutRequest": {"Item": {"pk": {"N": "2"}}}}]}})
        with pytest.raises(DynamoDBError) as wrong:
            first.call("PutItem", {"TableName": "new", "Item": {"pk": {"S": "a"}}})
        assert "expected: N actual: S" in wrong.value.message
        assert second.call("Scan", {"TableName": "new", "Select": "COUNT"})["Count"] == 2


def test_a_write_sees_a_table_another_thread_loaded(tmp_path: Path) -> None:
    """A write validated against the cache misses a table; meanwhile another thread has created it and reloaded
    the cache: the write is validated again against that cache."""
    with Engine(str(tmp_path / "threads.db")) as engine:
        _create(engine, "old")
        engine.call("GetItem", {"TableName": "old", "Key": {"pk": {"S": "x"}}})  # this thread checks the catalog
        attempts: list[int] = []

        def put(engine: Engine, request: dict[str, Any]) -> Any:
            def prepare() -> Any:
                attempts.append(1)
                if len(attempts) == 1:  # the lookup misses; before the catalog is checked, another thread ...
                    other = threading.Thread(target=lambda: (_create(engine, "new"),
                                                             engine.call("DescribeTable", {"TableName": "new"})))
                    other.start()
                    other.join(30)
                    raise DynamoDBError("ResourceNotFoundException", "Requested resource not found")
                return engine.table("new")
            return {"Table": engine.prepare_write(prepare).name}

        engine.operations["ProbeWrite"] = put
        assert engine.call("ProbeWrite", {}) == {"Table": "new"} and len(attempts) == 2


def test_threads_write_to_a_table_another_thread_created(tmp_path: Path) -> None:
    """Threads whose connections last looked at the catalog before a table existed all write to it, however
    their catalog checks interleave (one thread's reload serves the others)."""
    with Engine(str(tmp_path / "threads.db")) as engine:
        _create(engine, "old")
        ready, go = threading.Barrier(9), threading.Event()
        errors: list[Exception] = []

        def writer(n: int) -> None:
            engine.call("GetItem", {"TableName": "old", "Key": {"pk": {"S": "x"}}})  # this thread's catalog check
            ready.wait()
            go.wait()
            try:
                engine.call("PutItem", {"TableName": "new", "Item": {"pk": {"S": str(n)}}})
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                errors.append(error)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        ready.wait()
        _create(engine, "new")
        go.set()
        for thread in threads:
            thread.join(30)
        assert errors == []
        assert engine.call("Scan", {"TableName": "new", "Select": "COUNT"})["Count"] == 8
