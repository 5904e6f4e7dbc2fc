"""Model overhead vs the same raw engine.call (get, put, update, query of 20 items):
`PYTHONPATH=src python -m tests.model.bench_overhead`.

Raw and model calls run in alternating blocks and each side keeps its fastest block, measured in process
CPU time: on a shared machine wall-clock medians mostly measure the neighbours. `--wall` uses wall time.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable

from dynamokit import Engine
from dynamokit.model._schema import create_tables

from .models import Post, blog_app


def compare(
    raw: Callable[[], object],
    model: Callable[[], object],
    n: int,
    blocks: int = 15,
    clock: Callable[[], float] = time.process_time,
) -> tuple[float, float]:
    """Fastest block of each side, microseconds per call; the two sides alternate block by block."""
    best = [float("inf"), float("inf")]
    for _ in range(blocks):
        for side, fn in enumerate((raw, model)):
            start = clock()
            for _ in range(n):
                fn()
            best[side] = min(best[side], (clock() - start) / n * 1e6)
    return best[0], best[1]


def main() -> None:
    clock = time.perf_counter if "--wall" in sys.argv else time.process_time
    with Engine() as engine:
        app = blog_app().use(engine)
        create_tables(app)
        created = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        for i in range(20):
            app.put(
                Post(post_id=f"p{i}", author="ann", title="t" * 100, created=created, tags={"a", "b"})
            ).run()
        post = Post(post_id="p1", author="ann", title="t" * 100, created=created, tags={"a", "b"})
        put_request = {**app.put(post).params(), "ReturnConsumedCapacity": "TOTAL"}
        get_request = {**app.get(Post, post_id="p1").params(), "ReturnConsumedCapacity": "TOTAL"}
        query_request = {**app.posts_by_author(author="ann").params(), "ReturnConsumedCapacity": "TOTAL"}
        update_request = {
            **app.update(Post, post_id="p1").set(title="x").add(views=1).params(),
            "ReturnConsumedCapacity": "TOTAL",
        }
        cases = {
            "get": (
                lambda: engine.call("GetItem", dict(get_request)),
                lambda: app.get(Post, post_id="p1").run(),
                400,
            ),
            "put": (lambda: engine.call("PutItem", dict(put_request)), lambda: app.put(post).run(), 300),
            "update": (
                lambda: engine.call("UpdateItem", dict(update_request)),
                lambda: app.update(Post, post_id="p1").set(title="x").add(views=1).run(),
                300,
            ),
            "query (20 items)": (
                lambda: engine.call("Query", dict(query_request)),
                lambda: app.posts_by_author(author="ann").page(),
                100,
            ),
        }
        print(f"{'operation':<18}{'raw µs':>10}{'model µs':>10}{'added':>9}")
        for name, (raw, model, n) in cases.items():
            raw_us, model_us = compare(raw, model, n, clock=clock)
            print(f"{name:<18}{raw_us:>10.1f}{model_us:>10.1f}{(model_us / raw_us - 1) * 100:>8.0f}%")


if __name__ == "__main__":
    main()
