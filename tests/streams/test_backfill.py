"""Gapless backfill while writes continue: 0 divergent keys, also after killing and resuming it."""

from __future__ import annotations

import random
import threading
from typing import Any

from dynamokit import Engine
from dynamokit.streams import Change, View
from dynamokit.streams._backfilling import backfill
from dynamokit.streams._faults import Crash
from dynamokit.streams._tables import ensure_table

from .conftest import create_source, source_items


class Writer(threading.Thread):
    """Puts, updates and deletes random keys until stopped."""

    def __init__(self, engine: Engine, seed: int) -> None:
        super().__init__(daemon=True)
        self.engine, self.rng, self.halt = engine, random.Random(seed), threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            pk = f"k{self.rng.randrange(400)}"
            if self.rng.random() < 0.2:
                self.engine.call("DeleteItem", {"TableName": "src", "Key": {"pk": {"S": pk}}})
            else:
                self.engine.call("PutItem", {"TableName": "src", "Item": {
                    "pk": {"S": pk}, "n": {"N": str(self.rng.randint(0, 99))}, "grp": {"S": "g"}}})


def mirror(view: View, crash_after: int | None = None) -> Any:
    calls = [0]

    def project(change: Change[Any]) -> None:
        calls[0] += 1
        if crash_after is not None and calls[0] == crash_after:
            raise Crash("killed mid-backfill")
        key = {"pk": change.keys["pk"], "sk": "-"}
        if change.new is None:
            view.delete(key, change.version)
        else:
            view.upsert(key, {"n": change.new["n"]}, change.version)

    return project


def divergent(engine: Engine, view: View) -> int:
    source = {k: v["n"] for k, v in source_items(engine).items()}
    mirrored = {v["pk"]: v["n"] for v in view.items()}
    return len(set(source.items()) ^ set(mirrored.items()))


def test_backfill_while_writing_then_kill_and_resume() -> None:
    with Engine() as engine:
        create_source(engine)
        ensure_table(engine, "views")
        for i in range(300):
            engine.call("PutItem", {"TableName": "src", "Item": {"pk": {"S": f"k{i}"}, "n": {"N": "1"}}})
        view = View(engine, "views")
        writer = Writer(engine, 1)
        writer.start()
        try:
            try:
                backfill(engine, "src", mirror(view, crash_after=150), segments=4, page_size=20)
                raise AssertionError("the backfill should have been killed")
            except Crash:
                pass
            result = backfill(engine, "src", mirror(view), segments=4, page_size=20, timeout=30)
            assert result.ready and result.scanned < 300 + 400  # resumed, not restarted from scratch
        finally:
            writer.halt.set()
            writer.join()
        backfill(engine, "src", mirror(view), timeout=30)  # ready: only catches the stream up
        assert divergent(engine, view) == 0
