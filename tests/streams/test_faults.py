"""Correctness under injected faults: duplicates, reordering across keys, transient failures, crashes between
effect and checkpoint, and shard rollovers. Every view must end equal to the projection of the final source
table (0 lost, 0 duplicated effects), and no record of a key may be applied before an earlier one."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.streams import Change, LocalRunner, StreamProcessor, View
from dynamokit.streams._faults import Crash, Faults, InjectedFailure
from dynamokit.streams._tables import ensure_table

from .conftest import Clock, create_source, source_items


class Projection:
    """A mirror view of each item plus a per-group total, both written in one view transaction."""

    def __init__(self, view: View, rng: random.Random) -> None:
        self.view, self.rng = view, rng
        self.first_applied: dict[str, list[int]] = defaultdict(list)
        self._applied: set[tuple[str, int]] = set()

    def __call__(self, change: Change[Any]) -> None:
        if self.rng.random() < 0.05:
            raise InjectedFailure("handler failed before its effect")
        pk = change.keys["pk"]
        with self.view.transaction() as tx:
            if change.new is not None:
                tx.upsert({"pk": f"item#{pk}", "sk": "-"}, {"n": change.new["n"], "grp": change.new["grp"]},
                          change.version)
            else:
                tx.delete({"pk": f"item#{pk}", "sk": "-"}, change.version)
            deltas: dict[str, int] = defaultdict(int)
            if change.old is not None:
                deltas[change.old["grp"]] -= change.old["n"]
            if change.new is not None:
                deltas[change.new["grp"]] += change.new["n"]
            for group, delta in deltas.items():
                if delta:
                    tx.add({"pk": f"group#{group}", "sk": "total"}, "total", delta, change.event_id)
        if (pk, int(change.version)) not in self._applied:
            self._applied.add((pk, int(change.version)))
            self.first_applied[pk].append(int(change.version))


def write_some(engine: Engine, rng: random.Random, keys: int) -> None:
    for _ in range(rng.randint(1, 25)):
        pk = f"k{rng.randrange(keys)}"
        roll = rng.random()
        item = {"pk": {"S": pk}, "n": {"N": str(rng.randint(1, 9))}, "grp": {"S": f"g{rng.randrange(3)}"}}
        if roll < 0.6:
            engine.call("PutItem", {"TableName": "src", "Item": item})
        elif roll < 0.8:
            engine.call("DeleteItem", {"TableName": "src", "Key": {"pk": {"S": pk}}})
        else:
            other = f"k{rng.randrange(keys)}"
            if other == pk:
                continue
            engine.call("TransactWriteItems", {"TransactItems": [
                {"Put": {"TableName": "src", "Item": item}},
                {"Update": {"TableName": "src", "Key": {"pk": {"S": other}},
                            "UpdateExpression": "SET n = :n, grp = if_not_exists(grp, :g)",
                            "ExpressionAttributeValues": {":n": {"N": str(rng.randint(1, 9))},
                                                          ":g": {"S": "g0"}}}}]})


def run_seed(seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    clock = Clock()
    with Engine(clock=clock) as engine:
        engine.streams.shard_period = 60.0
        engine.streams.shard_count = rng.choice([1, 2, 4])
        create_source(engine)
        ensure_table(engine, "views")
        view = View(engine, "views")
        projection = Projection(view, random.Random(seed + 1))
        processor = StreamProcessor(ordering=rng.choice(["stop", "per_key"]))
        processor.on("*")(projection)
        faults = Faults(seed)
        handler = faults.wrap(processor.lambda_handler)
        options: dict[str, Any] = {"batch_size": rng.choice([1, 3, 10, 100]),
                                   "bisect_on_error": rng.random() < 0.5, "name": f"r{seed}"}
        runner = LocalRunner(engine, "src", handler, **options)
        restarts = 0

        def catch_up() -> None:
            nonlocal runner, restarts
            while True:
                try:
                    runner.run_until_caught_up(timeout=30)
                    return
                except Crash:
                    restarts += 1
                    runner = LocalRunner(engine, "src", handler, **options)  # resumes from checkpoints

        for _ in range(rng.randint(3, 8)):
            write_some(engine, rng, keys=rng.choice([3, 8, 20]))
            if rng.random() < 0.4:
                clock.advance(rng.uniform(30, 150))  # shard rollovers
            if rng.random() < 0.7:
                catch_up()
        catch_up()

        final = source_items(engine)
        items = {v["pk"][5:]: {"n": v["n"], "grp": v["grp"]} for v in view.items() if v["pk"].startswith("item#")}
        assert items == final, f"seed {seed}: mirror view differs"
        totals = {v["pk"][6:]: v["total"] for v in view.items() if v["pk"].startswith("group#")}
        expected: dict[str, int] = defaultdict(int)
        for item in final.values():
            expected[item["grp"]] += item["n"]
        assert {g: t for g, t in totals.items() if t} == {g: t for g, t in expected.items() if t}, (
            f"seed {seed}: totals differ (lost or duplicated effects)")
        for pk, versions in projection.first_applied.items():
            assert versions == sorted(versions), f"seed {seed}: {pk} applied out of order"
        return {**faults.injected, "restarts": restarts}


@pytest.mark.parametrize("seed", range(40))
def test_views_match_source_under_faults(seed: int) -> None:
    run_seed(seed)


@pytest.mark.slow
def test_views_match_source_under_faults_1000_seeds() -> None:
    totals: dict[str, int] = defaultdict(int)
    for seed in range(1000):
        for fault, count in run_seed(seed).items():
            totals[fault] += count
    assert all(totals.values()), totals  # every kind of fault was exercised
