"""Time to live: UpdateTimeToLive / DescribeTimeToLive rules and the sweeper (with a fake clock, no sleeps)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dynamokit import DynamoDBError, Engine

from .conftest import Caller, create

NOW = 1_700_000_000.0
YEAR = 365 * 24 * 3600


def _error(call: Any, operation: str, **request: Any) -> DynamoDBError:
    with pytest.raises(DynamoDBError) as caught:
        call(operation, **request)
    return caught.value


def _spec(enabled: bool, attribute: str = "exp") -> dict[str, Any]:
    return {"Enabled": enabled, "AttributeName": attribute}


# -- UpdateTimeToLive / DescribeTimeToLive ---------------------------------------------------------------
def test_ttl_disabled_by_default(ddb: Caller) -> None:
    """Rule: a new table's TimeToLiveStatus is DISABLED."""
    create(ddb, "ttl")
    assert ddb("DescribeTimeToLive", TableName="ttl") == {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}


def test_enable_and_disable(ddb: Caller) -> None:
    """Rule: enabling answers the specification and describes ENABLED with the attribute; disabling DISABLED."""
    create(ddb, "ttl")
    assert ddb("UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True)) == \
        {"TimeToLiveSpecification": _spec(True)}
    assert ddb("DescribeTimeToLive", TableName="ttl")["TimeToLiveDescription"] == \
        {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert "_ttl" not in str(ddb("DescribeTable", TableName="ttl"))
    assert ddb("UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(False)) == \
        {"TimeToLiveSpecification": _spec(False)}
    assert ddb("DescribeTimeToLive", TableName="ttl")["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}


def test_transition_rules(ddb: Caller) -> None:
    """Rule: enabling an enabled TTL (any attribute) and disabling a disabled one are ValidationExceptions."""
    create(ddb, "ttl")
    assert _error(ddb, "UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(False)).message == \
        "TimeToLive is already disabled"
    ddb("UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True))
    for attribute in ("exp", "other"):
        error = _error(ddb, "UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True, attribute))
        assert (error.code, error.message) == ("ValidationException", "TimeToLive is already enabled")
    error = _error(ddb, "UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(False, "other"))
    assert error.message == "TimeToLive is active on a different AttributeName: current AttributeName is exp"


def test_specification_checks(engine: Engine) -> None:
    """Rule: the specification, Enabled and a 1-255 character AttributeName are required."""
    native = Caller("native", engine)  # boto3 refuses most of these client-side
    create(native, "ttl")
    assert _error(native, "UpdateTimeToLive", TableName="ttl").message == (
        "1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: "
        "Member must not be null")
    assert "'timeToLiveSpecification.enabled'" in _error(
        native, "UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification={"AttributeName": "x"}).message
    assert "Member must have length greater than or equal to 1" in _error(
        native, "UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True, "")).message
    assert "Member must have length less than or equal to 255" in _error(
        native, "UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True, "a" * 256)).message
    assert _error(native, "DescribeTimeToLive", TableName="nope").code == "ResourceNotFoundException"


# -- the sweeper ------------------------------------------------------------------------------------------
@pytest.fixture
def clock() -> list[float]:
    return [NOW]


@pytest.fixture
def db(clock: list[float]) -> Iterator[Caller]:
    with Engine(clock=lambda: clock[0]) as engine:
        native = Caller("native", engine)
        create(native, "ttl", GlobalSecondaryIndexes=[{"IndexName": "byg", "KeySchema": [
            {"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}])
        native("UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True))
        yield native


def _put(ddb: Caller, pk: str, exp: dict[str, Any] | None, **attrs: Any) -> None:
    item = {"pk": {"S": pk}, "g": {"S": "gsi"}, **attrs}
    if exp is not None:
        item["exp"] = exp
    ddb("PutItem", TableName="ttl", Item=item)


def _keys(ddb: Caller) -> list[str]:
    return sorted(i["pk"]["S"] for i in ddb("Scan", TableName="ttl", ConsistentRead=True)["Items"])


def _gsi_keys(ddb: Caller) -> list[str]:
    out = ddb("Query", TableName="ttl", IndexName="byg", KeyConditionExpression="g = :g",
              ExpressionAttributeValues={":g": {"S": "gsi"}})
    return sorted(i["pk"]["S"] for i in out["Items"])


def _sweep(ddb: Caller, batch: int = 500) -> int:
    return ddb.engine.ttl.sweep(batch)


def test_sweep_deletes_expired_items_only(db: Caller) -> None:
    """Rule: items whose TTL (top-level N, epoch seconds) is <= now are deleted, from the table and its indexes."""
    _put(db, "past", {"N": str(int(NOW) - 10)})
    _put(db, "now", {"N": str(int(NOW))})
    _put(db, "future", {"N": str(int(NOW) + 10)})
    _put(db, "none", None)
    assert _sweep(db) == 2
    assert _keys(db) == _gsi_keys(db) == ["future", "none"]


@pytest.mark.parametrize(("pk", "exp"), [
    ("string", {"S": str(int(NOW) - 10)}),
    ("nested", {"M": {"N": {"N": str(int(NOW) - 10)}}}),
    ("list", {"L": [{"N": "1"}]}),
    ("ancient", {"N": str(int(NOW) - 5 * YEAR - 10)}),
])
def test_ignored_ttl_values(db: Caller, pk: str, exp: dict[str, Any]) -> None:
    """Rule: non-N TTL values and values more than five years in the past are ignored."""
    _put(db, pk, exp)
    assert _sweep(db) == 0 and _keys(db) == [pk]


def test_expired_items_stay_readable_until_swept(db: Caller, clock: list[float]) -> None:
    """Rule: deletion is asynchronous: an expired item is returned by reads until the sweeper removes it."""
    _put(db, "soon", {"N": str(int(NOW) + 60)})
    clock[0] += 120
    assert db("GetItem", TableName="ttl", Key={"pk": {"S": "soon"}}).get("Item") is not None
    assert _sweep(db) == 1
    assert db("GetItem", TableName="ttl", Key={"pk": {"S": "soon"}}).get("Item") is None


def test_rewriting_the_ttl_reschedules(db: Caller) -> None:
    """Rule: the stored value decides: updating the TTL into the future, or removing it, keeps the item."""
    _put(db, "moved", {"N": str(int(NOW) - 10)})
    _put(db, "cleared", {"N": str(int(NOW) - 10)})
    db("UpdateItem", TableName="ttl", Key={"pk": {"S": "moved"}}, UpdateExpression="SET exp = :e",
       ExpressionAttributeValues={":e": {"N": str(int(NOW) + 100)}})
    db("UpdateItem", TableName="ttl", Key={"pk": {"S": "cleared"}}, UpdateExpression="REMOVE exp")
    assert _sweep(db) == 0 and _keys(db) == ["cleared", "moved"]


def test_enabling_indexes_existing_items_and_disabling_stops(clock: list[float]) -> None:
    """Rule: TTL applies to items written before it was enabled; after disabling nothing is deleted."""
    with Engine(clock=lambda: clock[0]) as engine:
        native = Caller("native", engine)
        create(native, "ttl")
        native("PutItem", TableName="ttl", Item={"pk": {"S": "old"}, "exp": {"N": str(int(NOW) - 1)}})
        native("UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True))
        native("PutItem", TableName="ttl", Item={"pk": {"S": "kept"}, "exp": {"N": str(int(NOW) - 1)}})
        native("UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(False))
        assert _sweep(native) == 0
        native("UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True))
        assert _sweep(native) == 2


def test_deletions_cost_nothing_and_are_service_records(db: Caller, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule: TTL deletions consume no capacity and reach the stream as service (not user) removals."""
    engine = db.engine
    create(db, "streamed", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    db("UpdateTimeToLive", TableName="streamed", TimeToLiveSpecification=_spec(True))
    db("PutItem", TableName="streamed", Item={"pk": {"S": "x"}, "exp": {"N": "1"}})
    db("PutItem", TableName="streamed", Item={"pk": {"S": "y"}, "exp": {"N": str(int(NOW) - 1)}})
    records: list[tuple[Any, Any, bool]] = []
    monkeypatch.setattr(engine.streams, "record", lambda conn, table, old, new, service, sizes=None: records.append(
        (old["pk"]["S"] if old else None, new, service)))
    usage = engine.usage.snapshot()
    assert _sweep(db) == 1
    assert engine.usage.snapshot() == usage
    assert records == [("y", None, True)]


def test_sweep_works_in_bounded_batches(db: Caller) -> None:
    """Rule: a sweep deletes everything expired, one bounded write transaction at a time."""
    db("BatchWriteItem", RequestItems={"ttl": [{"PutRequest": {"Item": {
        "pk": {"S": f"k{n:02}"}, "exp": {"N": str(int(NOW) - n)}}}} for n in range(25)]})
    assert _sweep(db, batch=4) == 25
    assert _keys(db) == []


def test_sweep_reads_only_the_expiry_index(db: Caller) -> None:
    """Efficiency: the sweep's query is a range of the (tid, expires) index, not a scan of the items."""
    conn = db.engine.storage.connection()
    plan = " ".join(row[-1] for row in conn.execute(
        "EXPLAIN QUERY PLAN SELECT phash, hk, rk FROM ttl_index WHERE tid = 1 AND expires BETWEEN 0 AND 1 LIMIT 5"))
    assert "ttl_index_expiry" in plan and "items" not in plan


def test_writes_from_another_engine_are_indexed(tmp_path: Path, clock: list[float]) -> None:
    """Rule: the expiry index follows writes made by any connection or process on the same file."""
    path = str(tmp_path / "shared.db")
    with Engine(path, clock=lambda: clock[0]) as first, Engine(path, clock=lambda: clock[0]) as second:
        one, two = Caller("native", first), Caller("native", second)
        create(one, "ttl")
        one("UpdateTimeToLive", TableName="ttl", TimeToLiveSpecification=_spec(True))
        two("PutItem", TableName="ttl", Item={"pk": {"S": "x"}, "exp": {"N": str(int(NOW) - 1)}})
        assert first.ttl.sweep() == 1


def test_delete_table_drops_its_ttl_state(db: Caller) -> None:
    """Rule: a deleted table leaves no TTL configuration or index entries behind."""
    _put(db, "a", {"N": str(int(NOW) + 5)})
    db("DeleteTable", TableName="ttl")
    conn = db.engine.storage.connection()
    assert conn.execute("SELECT (SELECT COUNT(*) FROM ttl_config), (SELECT COUNT(*) FROM ttl_index)"
                        ).fetchone() == (0, 0)


def test_background_sweeper(db: Caller, clock: list[float]) -> None:
    """The leader's loop deletes expired items on its own, and stops when asked."""
    _put(db, "bg", {"N": str(int(NOW) + 30)})
    db.engine.leadership.start(interval=0.01)
    clock[0] += 60
    deadline = time.monotonic() + 10
    while _keys(db) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _keys(db) == []
    db.engine.leadership.stop()
    _put(db, "after", {"N": str(int(NOW))})
    time.sleep(0.05)
    assert _keys(db) == ["after"]
