"""Model overhead vs the same raw engine.call: `PYTHONPATH=src python -m tests.model.bench_overhead`."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable

from dynamokit import Engine
from dynamokit.model.schema import create_tables

from .models import Post, blog_app


def per_call(fn: Callable[[], object], n: int = 2000) -> float:
    """Median of 5 runs, microseconds per call."""
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    with Engine() as engine:
        app = blog_app().use(engine)
        create_tables(app)
        created = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        for i in range(20):
            app.put(
                Post(post_id=f"p{i}", author="ann", title="t" * 100, created=created, tags={"a", "b"})
            ).run()
        post = Post(post_id="p1", author="ann", title="t" * 100, created=created, tags={"a", "b"})
        put_request = {**app.put(post).params(), "ReturnConsumedCapacity": "TOTAL"}
        get_request = {**app.get(Post, post_id="p1").params(), "ReturnConsumedCapacity": "TOTAL"}
        query_request = {**app.posts_by_author(author="ann").params(), "ReturnConsumedCapacity": "TOTAL"}
        cases = {
            "get": (
                lambda: engine.call("GetItem", dict(get_request)),
                lambda: app.get(Post, post_id="p1").run(),
            ),
            "put": (lambda: engine.call("PutItem", dict(put_request)), lambda: app.put(post).run()),
            "query (20 items)": (
                lambda: engine.call("Query", dict(query_request)),
                lambda: app.posts_by_author(author="ann").page(),
            ),
        }
        print(f"{'operation':<18}{'raw µs':>10}{'model µs':>10}{'added':>9}")
        for name, (raw, model) in cases.items():
            raw_us, model_us = (
                per_call(raw, 500 if "query" in name else 2000),
                per_call(model, 500 if "query" in name else 2000),
            )
            print(f"{name:<18}{raw_us:>10.1f}{model_us:>10.1f}{(model_us / raw_us - 1) * 100:>8.0f}%")


if __name__ == "__main__":
    main()
