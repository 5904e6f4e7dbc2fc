"""DynamoDB Streams over time, on a fake clock: shard rollover and lineage, retention and trimming, iterator
expiry, a consumer that follows lineage, and the in-process tail (`StreamLog.wait`)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dynamokit
from dynamokit import Engine
from dynamokit._engine.commit import commit, load, locate

from .conftest import Caller
from .test_streams import Clock, Env, describe, drain, error_of, put, read_shard, stream_table, summary

PERIOD = 60.0


@pytest.fixture
def env() -> Iterator[Env]:
    """An engine on a fake clock whose stream shards roll over every minute, through in-process boto3."""
    clock = Clock()
    with Engine(clock=clock) as engine:
        engine.streams.shard_period = PERIOD
        yield Env(engine, clock, Caller("boto3", engine, dynamokit.client(engine)),
                  dynamokit.client(engine, "dynamodbstreams"))


def shard_of(env: Env, arn: str, key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The listed shard holding the records of partition key `key` (and those records)."""
    for shard in describe(env.streams, arn)["Shards"]:
        records = [r for r in read_shard(env.streams, arn, shard["ShardId"])[0]
                   if r["dynamodb"]["Keys"]["pk"]["S"] == key]
        if records:
            return shard, records
    raise AssertionError(f"no records of {key}")


def test_shards_roll_over_with_lineage(env: Env) -> None:
    """Rule: shards close and are replaced over time; a closed shard has an EndingSequenceNumber, its child
    names it as ParentShardId and starts after it; a key's later records go to the child."""
    arn = stream_table(env, "NEW_IMAGE")
    put(env, "a", v=1)
    before = describe(env.streams, arn)["Shards"]
    env.clock.advance(PERIOD + 1)
    put(env, "a", v=2)
    shards = describe(env.streams, arn)["Shards"]
    assert shards[:len(before)] == [
        {**s, "SequenceNumberRange": {**s["SequenceNumberRange"], "EndingSequenceNumber": shards[i]
                                      ["SequenceNumberRange"]["EndingSequenceNumber"]}}
        for i, s in enumerate(before)]
    children = shards[len(before):]
    assert [c["ParentShardId"] for c in children] == [s["ShardId"] for s in before]
    for parent, child in zip(shards, children, strict=False):  # each child after its parent
        assert "EndingSequenceNumber" not in child["SequenceNumberRange"]
        assert (int(child["SequenceNumberRange"]["StartingSequenceNumber"])
                > int(parent["SequenceNumberRange"]["EndingSequenceNumber"]))
    by_id = {s["ShardId"]: s for s in shards}
    holder = by_id[next(s["ShardId"] for s in before if read_shard(env.streams, arn, s["ShardId"])[0])]
    old, finished = read_shard(env.streams, arn, holder["ShardId"])
    assert summary(old) == [("INSERT", None, "1")] and finished is None  # closed and fully read
    ending = holder["SequenceNumberRange"]["EndingSequenceNumber"]
    assert int(old[0]["dynamodb"]["SequenceNumber"]) <= int(ending)
    child = next(c for c in children if c["ParentShardId"] == holder["ShardId"])
    new, open_iterator = read_shard(env.streams, arn, child["ShardId"])
    assert summary(new) == [("MODIFY", None, "2")] and open_iterator is not None


def test_rollover_follows_the_clock_without_writes(env: Env) -> None:
    """Rule: shards are replaced over time even when nothing is written; an iterator taken on the open shard
    before it closed reads to its end, and the page that finishes a closed shard has no NextShardIterator."""
    arn = stream_table(env, "KEYS_ONLY")
    put(env, "a")
    shard, _ = shard_of(env, arn, "a")
    iterator = env.streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    env.clock.advance(PERIOD)
    shards = describe(env.streams, arn)["Shards"]
    assert len(shards) == 2 * env.engine.streams.shard_count
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in shards[:len(shards) // 2])
    page = env.streams.get_records(ShardIterator=iterator, Limit=1)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]] == ["a"]
    assert "NextShardIterator" not in page


def test_latest_on_a_closed_shard_is_finished(env: Env) -> None:
    """Rule: a closed shard read to its end (LATEST on it) returns no records and no NextShardIterator."""
    arn = stream_table(env, "KEYS_ONLY")
    put(env, "a")
    env.clock.advance(PERIOD)
    closed = describe(env.streams, arn)["Shards"][0]
    iterator = env.streams.get_shard_iterator(StreamArn=arn, ShardId=closed["ShardId"],
                                              ShardIteratorType="LATEST")["ShardIterator"]
    page = env.streams.get_records(ShardIterator=iterator)
    assert page["Records"] == [] and "NextShardIterator" not in page


class Consumer:
    """A stream reader that finishes every parent shard before its children and keeps its iterators."""

    def __init__(self, streams: Any, arn: str) -> None:
        self.streams, self.arn = streams, arn
        self.iterators: dict[str, str] = {}
        self.done: set[str] = set()
        self.records: list[dict[str, Any]] = []

    def poll(self) -> None:
        shards = describe(self.streams, self.arn)["Shards"]
        listed = {s["ShardId"] for s in shards}
        for shard in shards:  # listed parents first
            shard_id, parent = shard["ShardId"], shard.get("ParentShardId")
            if shard_id in self.done or (parent in listed and parent not in self.done):
                continue
            iterator = self.iterators.get(shard_id) or self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            records, iterator = drain(self.streams, iterator, limit=7)
            self.records += records
            if iterator is None:
                self.done.add(shard_id)
            else:
                self.iterators[shard_id] = iterator


def test_consumer_reads_every_record_exactly_once_across_rollovers(env: Env) -> None:
    """Rule: each change appears exactly once, in per-item order, for a reader that finishes a parent shard
    before its children, while shards roll over under it."""
    arn = stream_table(env, "NEW_AND_OLD_IMAGES")
    rng = random.Random(7)
    state: dict[str, int] = {}
    expected: dict[str, list[tuple[str, str | None, str | None]]] = {}
    consumer = Consumer(env.streams, arn)
    for step in range(400):
        key = f"k{rng.randrange(10)}"
        old = state.get(key)
        if rng.random() < 0.2:
            env.ddb("DeleteItem", TableName="tbl", Key={"pk": {"S": key}})
            if old is not None:
                expected.setdefault(key, []).append(("REMOVE", str(old), None))
                del state[key]
        else:
            value = rng.randrange(5)
            put(env, key, v=value)
            if old != value:
                expected.setdefault(key, []).append(("INSERT" if old is None else "MODIFY",
                                                     None if old is None else str(old), str(value)))
                state[key] = value
        env.clock.advance(rng.uniform(0, 4))
        if step % 25 == 0:
            consumer.poll()
    consumer.poll()
    assert len(describe(env.streams, arn)["Shards"]) > 3 * env.engine.streams.shard_count  # several rollovers
    assert len({r["eventID"] for r in consumer.records}) == len(consumer.records)
    got: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for record in consumer.records:
        got.setdefault(record["dynamodb"]["Keys"]["pk"]["S"], []).extend(summary([record]))
    assert got == expected


def test_expired_records_are_trimmed(env: Env) -> None:
    """Rule: records are kept for the retention period (24 h); reading a trimmed position gives
    TrimmedDataAccessException, and TRIM_HORIZON starts at the oldest record still kept."""
    env.engine.streams.shard_period = 1e9
    env.engine.streams.retention = 100
    arn = stream_table(env, "NEW_IMAGE")
    put(env, "a", v=1)
    shard, (first,) = shard_of(env, arn, "a")
    stale = env.streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    env.clock.advance(60)
    put(env, "a", v=2)
    env.clock.advance(50)  # the first record is now 110 s old, the second 50 s
    assert error_of(env.streams.get_records, ShardIterator=stale)[0] == "TrimmedDataAccessException"
    assert summary(read_shard(env.streams, arn, shard["ShardId"])[0]) == [("MODIFY", None, "2")]
    at_first = {"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                "SequenceNumber": first["dynamodb"]["SequenceNumber"]}
    iterator = env.streams.get_shard_iterator(**at_first)["ShardIterator"]
    assert error_of(env.streams.get_records, ShardIterator=iterator)[0] == "TrimmedDataAccessException"
    env.engine.streams.trim()  # physically delete what retention expired
    assert error_of(env.streams.get_shard_iterator, **at_first)[0] == "TrimmedDataAccessException"
    count = env.engine.storage.connection().execute("SELECT COUNT(*) FROM stream_records").fetchone()[0]
    assert count == 1


def test_trimming_is_bounded(env: Env) -> None:
    """Rule: records older than the retention period do not accumulate (trimmed lazily, every few writes)."""
    env.engine.streams.retention = 100
    env.engine.streams.trim_every = 16
    stream_table(env, "KEYS_ONLY")
    for n in range(100):
        put(env, f"k{n}")
    env.clock.advance(200)
    for n in range(40):
        put(env, f"k{n}", v=1)
    count = env.engine.storage.connection().execute("SELECT COUNT(*) FROM stream_records").fetchone()[0]
    assert count == 40


def test_closed_shards_disappear_after_retention(env: Env) -> None:
    """Rule: a shard closed longer than the retention period is no longer listed (all its records expired)."""
    env.engine.streams.retention = 1000
    arn = stream_table(env, "KEYS_ONLY")
    first = {s["ShardId"] for s in describe(env.streams, arn)["Shards"]}
    env.clock.advance(PERIOD)
    assert first < {s["ShardId"] for s in describe(env.streams, arn)["Shards"]}
    env.clock.advance(1001)
    shards = describe(env.streams, arn)["Shards"]
    assert not first & {s["ShardId"] for s in shards}
    assert all(s["ParentShardId"] not in first or s["ParentShardId"] in first for s in shards)


def test_iterators_expire_after_15_minutes(env: Env) -> None:
    """Rule: a shard iterator expires 15 minutes after it was issued (ExpiredIteratorException); every
    GetRecords issues a fresh NextShardIterator."""
    env.engine.streams.shard_period = 1e9
    arn = stream_table(env, "KEYS_ONLY")
    shard = describe(env.streams, arn)["Shards"][0]["ShardId"]
    iterator = env.streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="LATEST")["ShardIterator"]
    env.clock.advance(900)
    fresh = env.streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    env.clock.advance(1)
    code, message = error_of(env.streams.get_records, ShardIterator=iterator)
    assert code == "ExpiredIteratorException" and "900000 milliseconds" in message
    assert env.streams.get_records(ShardIterator=fresh)["Records"] == []


# -- the in-process tail -----------------------------------------------------------------------------------
def test_wait_wakes_on_commit_without_polling(env: Env) -> None:
    """`StreamLog.wait` returns as soon as a record newer than `after` commits, woken by the writer (its
    poll interval here is a minute), and never before the record is readable."""
    env.engine.streams.poll_interval = 60
    arn = stream_table(env, "NEW_IMAGE")
    put(env, "a", v=1)
    assert env.engine.streams.wait(arn, timeout=0.05) is None  # nothing newer than now
    first = env.engine.streams.wait(arn, after="0" * 21, timeout=0)
    assert first is not None
    seen: list[Any] = []

    def waiter() -> None:
        newest = env.engine.streams.wait(arn, after=first, timeout=10)
        records = [r for s in describe(env.streams, arn)["Shards"]
                   for r in read_shard(env.streams, arn, s["ShardId"])[0]]
        seen.append((newest, records, time.monotonic()))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)
    table = env.engine.table("tbl")
    with env.engine.storage.write() as conn:  # a slow transaction: the waiter must not run ahead of COMMIT
        key = locate(table, *table.key.of_key({"pk": {"S": "b"}}))
        commit(env.engine, conn, table, key, load(conn, table, key), {"pk": {"S": "b"}, "v": {"N": "2"}}, 10)
        time.sleep(0.2)
        committed = time.monotonic()
    thread.join(10)
    newest, records, woke = seen[0]
    assert woke >= committed and woke - committed < 2
    assert newest == max(r["dynamodb"]["SequenceNumber"] for r in records)
    assert sorted(summary(records)) == [("INSERT", None, "1"), ("INSERT", None, "2")]
    env.ddb("UpdateTable", TableName="tbl", StreamSpecification={"StreamEnabled": False})
    started = time.monotonic()
    assert env.engine.streams.wait(arn, timeout=30) is None  # an ended stream: nothing newer will come
    assert time.monotonic() - started < 1


def test_wait_notices_writes_of_other_processes(tmp_path: Path) -> None:
    """`StreamLog.wait` sees records committed through another Engine on the same file within its poll
    interval (no in-process notification reaches it)."""
    path = str(tmp_path / "shared.db")
    with Engine(path) as reader, Engine(path) as writer:
        reader.streams.poll_interval = 0.02
        out = reader.call("CreateTable", {
            "TableName": "tbl", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}})
        arn = out["TableDescription"]["LatestStreamArn"]
        request = {"TableName": "tbl", "Item": {"pk": {"S": "x"}}}
        timer = threading.Timer(0.1, writer.call, ("PutItem", request))
        timer.start()
        assert reader.streams.wait(arn, timeout=10) is not None
        timer.join()


def test_concurrent_writers_each_change_once_in_order(env: Env) -> None:
    """Rule: each change appears exactly once, in per-item order, with several threads writing at once
    while shards roll over."""
    arn = stream_table(env, "NEW_IMAGE")

    def writer(name: str) -> None:
        for n in range(60):
            env.engine.call("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": f"{name}{n % 3}"},
                                                                      "v": {"N": str(n)}}})
            if n % 20 == 0:
                env.clock.advance(PERIOD / 2)

    threads = [threading.Thread(target=writer, args=(f"w{i}-",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    consumer = Consumer(env.streams, arn)
    consumer.poll()
    got: dict[str, list[str]] = {}
    for record in consumer.records:
        data = record["dynamodb"]
        got.setdefault(data["Keys"]["pk"]["S"], []).append(data["NewImage"]["v"]["N"])
    assert got == {f"w{i}-{k}": [str(n) for n in range(k, 60, 3)] for i in range(4) for k in range(3)}
