"""`dynamokit demo` end to end: every reported number is measured, the patterns agree, the claims hold."""

from __future__ import annotations

import math
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit._demo import source
from dynamokit._demo.report import PATTERNS

from .conftest import SIZE, DemoRun

ACCESS = (
    "post_page",
    "author_posts",
    "comments",
    "add_comment",
    "delete_post",
    "top_posts",
    "search",
    "comments_per_day",
)
NOT_DYNAMODB = {("microservice", "search")}  # FTS5


def numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers(v)]
    assert value is None or isinstance(value, str), value
    return []


def test_json_has_every_measure_computed(demo_run: DemoRun) -> None:
    report = demo_run.json
    assert report["size"] == SIZE and report["dataset"]["items"] == SIZE
    assert set(report["patterns"]) == set(PATTERNS)
    assert all(math.isfinite(n) and n >= 0 for n in numbers(report))
    for name, pattern in report["patterns"].items():
        assert set(pattern["access_patterns"]) == set(ACCESS)
        for key, m in pattern["access_patterns"].items():
            assert set(m) >= {"requests", "rcu", "wcu", "p50_ms", "p99_ms"}
            assert 0 < m["p50_ms"] <= m["p99_ms"], (name, key)
            if (name, key) in NOT_DYNAMODB:
                assert m["requests"] == m["rcu"] == m["wcu"] == 0
                continue
            assert m["requests"] >= 1 and m["rcu"] + m["wcu"] > 0, (name, key)
            writes = key in ("add_comment", "delete_post")
            assert (m["wcu"] > 0) is writes and m["cost_per_million_usd"] > 0, (name, key)
    micro = report["patterns"]["microservice"]
    assert 0 < micro["lag_p50_ms"] <= micro["lag_p99_ms"]
    assert micro["background"]["requests"] > 0 and micro["background"]["wcu"] > 0
    assert micro["background"]["rcu"] == 0  # the reader writes its views, never reads the posts table
    assert micro["runner"]["processed"] > 0 and micro["runner"]["parked"] == 0
    assert not any("lag_p50_ms" in report["patterns"][n] for n in PATTERNS[:3])


def test_patterns_agree(demo_run: DemoRun) -> None:
    assert demo_run.json["agreement"] == {
        "post_page": True,
        "author_posts": True,
        "comments": True,
        "top_posts": True,
        "search": True,
        "comments_per_day": True,
        "after_writes": True,
        "user_comments": True,
    }


def test_request_counts_match_the_claims(demo_run: DemoRun) -> None:
    patterns = demo_run.json["patterns"]
    page = {name: patterns[name]["access_patterns"]["post_page"]["requests"] for name in PATTERNS}
    assert page["single_table"] == 1
    assert page["faux_sql"] > 2
    for key in ("post_page", "author_posts", "comments", "top_posts", "comments_per_day"):
        assert patterns["microservice"]["access_patterns"][key]["requests"] == 1
    assert patterns["faux_sql"]["access_patterns"]["comments_per_day"]["requests"] == 7


def test_integrity_probe(demo_run: DemoRun) -> None:
    probes = {n: p["integrity"]["interrupted_delete"] for n, p in demo_run.json["patterns"].items()}
    assert probes["simple"]["partial_states"] >= 1 and probes["simple"]["orphans"] > 0
    for name in ("faux_sql", "single_table", "microservice"):
        assert probes[name]["partial_states"] == 0 and probes[name]["orphans"] == 0


def test_terminal_report(demo_run: DemoRun) -> None:
    out = demo_run.output
    assert "All four patterns gave the same answers." in out
    for text in (
        "Requests per call, mean of 25 calls",
        "Latency, ms (p50 / p99), local",
        "USD per million calls",
        "Integrity and consistency",
        "get post page",
        "4 microservice",
    ):
        assert text in out
    assert (demo_run.directory / "demo.sqlite").exists()


@pytest.mark.parametrize(
    ("name", "operations"),
    [
        ("single_table", {"Query": 1}),
        ("microservice", {"Query": 1}),
    ],
)
def test_post_page_requests_by_the_model_counter(
    name: str, operations: dict[str, int], tmp_path: Any
) -> None:
    """The model's own request counter agrees: one Query of an item collection, of the posts table
    (single-table) or of the reader's view table (microservice: card, comment count and comments)."""
    data, blog_module = source.module("data"), source.module(name)
    items = data.generate(400, seed=1)
    with Engine() as engine:
        blog = (
            blog_module.MicroserviceBlog(engine, engine, str(tmp_path))
            if name == "microservice"
            else blog_module.SingleTableBlog(engine)
        )
        blog.create()
        blog.load(items, 100, lambda n: None)
        app = blog.views if name == "microservice" else blog.app
        with app.counter() as counter:
            page = blog.post_page(items.posts[0].post_id)
        blog.close()
    assert page is not None and page.post_id == items.posts[0].post_id
    assert dict(counter.operations) == operations
