"""Pattern 4's reader service keeps the streams runtime's promises: a full replay of the stream changes
nothing, injected faults (late redelivery, reordering, duplicates, failures, crashes between effect and
checkpoint) leave the same answers as a strongly consistent blog, and the analytics copy (DuckDB) agrees
with the view counters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.examples.blog import access, data
from dynamokit.examples.blog import microservice as ms
from dynamokit.examples.blog import single_table as st
from dynamokit.streams import LocalRunner
from dynamokit.streams._faults import Crash, Faults

SIZE = 400
DAYS = [data.NOW.date() - dt.timedelta(days=n) for n in range(61, -1, -1)]


def write_some(blog: Any, items: Any) -> None:
    """Comments on a few posts, then a few posts deleted with their comments and likes."""
    for i, post in enumerate(items.posts[:6]):
        author = items.authors[i % len(items.authors)]
        blog.add_comment(
            data.Comment(f"new{i}", post.post_id, author.author_id, author.name, "stream view", data.NOW)
        )
    for post in items.posts[3:9]:
        blog.delete_post(post.post_id)


def answers(blog: Any, items: Any) -> Any:
    return (
        [blog.post_page(p.post_id) for p in items.posts],
        [blog.author_posts(a.author_id) for a in items.authors],
        blog.top_posts(),
        blog.comments_per_day(DAYS),
        [blog.search(word) for word in data.WORDS],
    )


def snapshot(blog: Any, engine: Engine) -> Any:
    """Everything the reader wrote: view items (tombstones and counter markers included), search, analytics."""
    scan = engine.call("Scan", {"TableName": ms.VIEWS_TABLE, "ConsistentRead": True})
    assert "LastEvaluatedKey" not in scan
    views = sorted(scan["Items"], key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
    rows = blog.analytics.query("SELECT entity, doc_id, version, data FROM current ORDER BY ALL")
    return views, [blog.search(word) for word in data.WORDS], rows


@pytest.fixture
def reference() -> Any:
    """The single-table blog (strongly consistent) after the same writes."""
    items = data.generate(SIZE, seed=2)
    with Engine() as engine:
        blog = st.SingleTableBlog(engine)
        blog.create()
        blog.load(items, 100, lambda n: None)
        write_some(blog, items)
        yield answers(blog, items)
        blog.close()


def test_a_replay_of_the_whole_stream_changes_nothing(tmp_path: Path, reference: Any) -> None:
    items = data.generate(SIZE, seed=2)
    with Engine() as engine:
        blog = ms.MicroserviceBlog(engine, engine, str(tmp_path))
        blog.create()
        blog.load(items, 100, lambda n: None)
        write_some(blog, items)
        blog.settle()
        assert answers(blog, items) == reference
        assert blog.comments_per_day_analytics(DAYS) == blog.comments_per_day(DAYS)
        before = snapshot(blog, engine)
        replay = LocalRunner(engine, ms.POSTS_TABLE, blog.reader.lambda_handler, name="replay")
        assert replay.run_until_caught_up(timeout=60).processed > len(items.posts)
        assert snapshot(blog, engine) == before
        blog.close()


@pytest.mark.parametrize("seed", [1, 2, 3])  # seeds that inject every kind of fault
def test_faults_leave_the_same_answers(tmp_path: Path, reference: Any, seed: int) -> None:
    items = data.generate(SIZE, seed=2)
    faults = Faults(seed, crash=0.1)
    with Engine() as engine:
        blog = ms.MicroserviceBlog(engine, engine, str(tmp_path))
        blog.create()
        handler = faults.wrap(blog.reader.lambda_handler)
        options: dict[str, Any] = {"name": f"faulty{seed}", "batch_size": 5 + 10 * seed}

        def catch_up() -> None:
            while True:
                try:
                    blog.runner.run_until_caught_up(timeout=60)
                    return
                except Crash:  # a restarted runner resumes from its checkpoints
                    blog.runner = LocalRunner(engine, ms.POSTS_TABLE, handler, **options)

        blog.runner = LocalRunner(engine, ms.POSTS_TABLE, handler, **options)
        try:
            blog.load(items, 100, lambda n: None)
        except Crash:  # a crashed runner is not reused: its undelivered batch is behind its iterators
            blog.runner = LocalRunner(engine, ms.POSTS_TABLE, handler, **options)
        catch_up()
        blog.runner.stop()
        write_some(blog, items)
        catch_up()
        assert answers(blog, items) == reference
        assert blog.comments_per_day_analytics(DAYS) == blog.comments_per_day(DAYS)
        assert all(faults.injected.values()), faults.injected  # every kind of fault happened
        blog.close()
