"""The product change scene: each pattern adapts to a new access pattern while a writer keeps writing."""

from __future__ import annotations

from typing import Any

from dynamokit import Engine
from dynamokit._demo import change, source
from dynamokit._demo.meter import Meter
from dynamokit._demo.report import PATTERNS
from dynamokit._demo.runner import _build, _measure

from .conftest import DemoRun

KEYS = ("items_rewritten", "wcu", "cost_usd", "seconds", "lost_writes")


def test_json_has_the_cost_of_change_of_every_pattern(demo_run: DemoRun) -> None:
    patterns = demo_run.json["patterns"]
    for name in PATTERNS:
        spent = patterns[name]["change"]
        assert set(KEYS) <= set(spent), name
        assert spent["lost_writes"] == 0 and spent["failed_writes"] == 0, name
        assert spent["writer_acknowledged"] >= change.MIN_WRITES, name
        assert spent["wcu"] > 0 and spent["cost_usd"] > 0 and spent["seconds"] > 0, name
        assert 0 < spent["served_seconds"] <= spent["seconds"] + 1e-3, name
        assert spent["access"]["requests"] == 1 and spent["access"]["rcu"] > 0, name
    # GSIs on attributes the items already have: DynamoDB backfills them (metered WCU); the old comments are
    # rewritten too, since their stored `created` is not the form the model writes a datetime key in
    for name in ("simple", "faux_sql"):
        spent = patterns[name]["change"]
        assert spent["index_items"] > 0 and spent["items_rewritten"] > 0, name
        assert spent["wcu"] >= spent["index_items"], name
    assert patterns["single_table"]["change"]["items_rewritten"] > 0
    assert patterns["microservice"]["change"]["items_rewritten"] > 0
    assert demo_run.json["agreement"]["user_comments"] is True


def test_reports_show_the_cost_of_change(demo_run: DemoRun) -> None:
    assert "Cost of change" in demo_run.output and "writes lost" in demo_run.output
    page = demo_run.html.read_text(encoding="utf-8")
    assert '<h2 id="change">Cost of change' in page and "writes lost" in page


def test_new_pattern_gives_the_same_comments_in_the_same_order(tmp_path: Any) -> None:
    """Every pattern lists every user's comments identically, newest first, the writer's included."""
    data, access = source.module("data"), source.module("access")
    items = data.generate(500, seed=5)
    work = access.workload(items, 10, seed=5)
    answers: dict[str, list[Any]] = {}
    with Engine(str(tmp_path / "db.sqlite")) as engine:
        for name in PATTERNS:
            meter, background = Meter(engine), Meter(engine)
            blog = _build(name, engine, meter, background, tmp_path)
            try:
                blog.create()
                blog.load(items, 100, lambda n: None)
                spent, _ = change.run(blog, work, meter, _measure)
                assert spent.lost_writes == 0 and spent.failed_writes == 0, name
                authors = sorted({a.author_id for a in items.authors})
                # the writer's comments are in too; compare up to the fewest the writers managed
                answers[name] = [
                    [c for c in blog.user_comments(a) if not c.comment_id.startswith("chg")] for a in authors
                ]
                mine = [c for a in authors for c in blog.user_comments(a) if c.comment_id.startswith("chg")]
                assert len(mine) == spent.writes, name
            finally:
                blog.close()
    first = answers[PATTERNS[0]]
    assert sum(len(a) for a in first) == len(items.comments)
    created = {c.comment_id: c.created for c in items.comments}
    for listed in first:  # newest first
        stamps = [(created[c.comment_id], c.comment_id) for c in listed]
        assert stamps == sorted(stamps, reverse=True)
    for name in PATTERNS[1:]:
        assert answers[name] == first, name
