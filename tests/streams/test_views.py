"""View writers: version guards, tombstones, exact counters, transactions, read-your-writes; and sinks."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest

from dynamokit.streams import DuckDBSink, FtsSink, View, wait_for_version
from dynamokit.streams._changes import Change
from dynamokit.streams._views import decode_version, encode_version

KEY = {"pk": "a", "sk": "-"}


def test_version_guard_and_tombstones(view: View) -> None:
    assert view.upsert(KEY, {"n": 1}, 5)
    assert not view.upsert(KEY, {"n": 0}, 4) and not view.upsert(KEY, {"n": 9}, 5)
    assert view.get(KEY) == {"pk": "a", "sk": "-", "n": 1, "_version": 5}
    assert view.delete(KEY, 7) and view.get(KEY) is None
    assert not view.upsert(KEY, {"n": 2}, 6)  # a late upsert cannot resurrect it
    assert view.version(KEY) == 7 and list(view.items()) == []


def test_versions_keep_numeric_order_beyond_38_digits() -> None:
    values = [5, Decimal("5.5"), 6, 10**55, 10**55 + 1]
    assert sorted(values, key=encode_version) == values
    assert [decode_version(encode_version(v)) for v in values] == values


def test_counters_are_exact_under_redelivery(view: View) -> None:
    assert view.add(KEY, "count", 2, "e1") and not view.add(KEY, "count", 2, "e1")
    assert view.add(KEY, "count", -1, "e2")
    assert view.get(KEY) == {"pk": "a", "sk": "-", "count": 1}


def test_transaction_applies_fresh_parts_only(view: View) -> None:
    view.upsert({"pk": "b", "sk": "-"}, {"n": 1}, 10)
    with view.transaction() as tx:
        tx.upsert(KEY, {"n": 1}, 3)
        tx.upsert({"pk": "b", "sk": "-"}, {"n": 0}, 9)  # stale: dropped
        tx.add({"pk": "t", "sk": "-"}, "total", 5, "e1")
    with view.transaction() as tx:
        tx.add({"pk": "t", "sk": "-"}, "total", 5, "e1")  # redelivered: dropped
    assert view.get(KEY)["n"] == 1 and view.get({"pk": "b", "sk": "-"})["n"] == 1
    assert view.get({"pk": "t", "sk": "-"})["total"] == 5


def test_wait_for_version(view: View) -> None:
    threading.Timer(0.05, lambda: view.upsert(KEY, {"n": 1}, 3)).start()
    read = wait_for_version(view, KEY, 3, timeout=2)
    assert read.from_view and read.item["n"] == 1
    late = wait_for_version(view, KEY, 4, timeout=0.05, fallback=lambda: {"n": "base"})
    assert not late.from_view and late.item == {"n": "base"}
    with pytest.raises(TimeoutError):
        wait_for_version(view, KEY, 4, timeout=0.01)


def test_fts_sink(tmp_path: Path) -> None:
    sink = FtsSink(str(tmp_path / "search.db"))
    assert sink.index("p1", {"title": "Hello streams"}, 2)
    assert not sink.index("p1", {"title": "stale text"}, 1)
    sink.index("p2", {"title": "Other streams post"}, 3)
    assert {h.doc_id for h in sink.search("streams")} == {"p1", "p2"}
    assert sink.search("stale") == []
    assert sink.delete("p2", 4) and not sink.index("p2", {"title": "back"}, 3)
    assert [h.doc_id for h in sink.search("streams")] == ["p1"] and sink.count() == 1
    sink.close()


def test_duckdb_sink(tmp_path: Path) -> None:
    sink = DuckDBSink(str(tmp_path / "analytics.duckdb"))
    first = Change("insert", "post", None, {"title": "a", "views": 1}, {"pk": "p1"}, None, 1.0, "e1", "blog", 1)
    second = Change("update", "post", None, {"title": "b", "views": 2}, {"pk": "p1"}, None, 2.0, "e2", "blog", 2)
    gone = Change("delete", "post", {"title": "x"}, None, {"pk": "p2"}, None, 2.0, "e3", "blog", 3)
    assert sink.write([first, second, gone]) == 3 and sink.write([second]) == 0
    assert sink.query("SELECT count(*) FROM current") == [(1,)]
    view = sink.entity_view("post", ["title", "views"])
    assert sink.query(f"SELECT title, views FROM {view}") == [("b", "2")]
    sink.export_parquet(str(tmp_path / "current.parquet"))
    assert sink.query(f"SELECT count(*) FROM '{tmp_path / 'current.parquet'}'") == [(1,)]
    sink.close()
