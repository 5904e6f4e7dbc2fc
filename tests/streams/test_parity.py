"""The same handler code and the same event JSON run unchanged under the local runner and as a Lambda handler
with recorded event shapes of all three sources (DynamoDB Streams, Kinesis, SQS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.model._schema import create_tables
from dynamokit.streams import FtsSink, LocalRunner, View
from dynamokit.streams._tables import ensure_table

from .blog import Comment, Post, blog, make_processor
from .conftest import Clock

EVENTS = Path(__file__).parent / "events"


def outcome(view: View, search: FtsSink) -> tuple[Any, ...]:
    items = sorted((v["pk"], v["sk"], v.get("title"), v.get("count")) for v in view.items())
    return items, [h.doc_id for h in search.search("streams")], search.count()


def fresh_views(engine: Engine) -> tuple[View, FtsSink]:
    ensure_table(engine, "views")
    return View(engine, "views"), FtsSink(":memory:")


def run_locally() -> tuple[Any, ...]:
    """The writes the recorded events came from, fed to the handler by the local runner."""
    clock = Clock()
    with Engine(clock=clock) as engine:
        blog.use(engine)
        create_tables(blog)
        view, search = fresh_views(engine)
        runner = LocalRunner(engine, "blog", make_processor(view, search))
        blog.put(Post(post_id="p1", title="Hello streams")).run()
        clock.advance(1)
        blog.put(Comment(post_id="p1", comment_id="c1", body="Nice")).run()
        blog.update(Post, post_id="p1").set(title="Hello again, streams").run()
        clock.advance(1)
        blog.put(Post(post_id="p2", title="Second post", author="bob")).run()
        blog.put(Comment(post_id="p1", comment_id="c2", body="Agreed")).run()
        blog.delete(Comment, post_id="p1", comment_id="c1").run()
        blog.delete(Post, post_id="p2").run()
        runner.run_until_caught_up(10)
        assert runner.metrics.processed == 7
        return outcome(view, search)


@pytest.mark.parametrize("source", ["dynamodb", "kinesis", "sqs"])
def test_lambda_handler_matches_local_runner(source: str) -> None:
    expected = run_locally()
    assert expected[0] == [("comments", "p1", None, 1), ("post", "POST#p1", "Hello again, streams", None)]
    event = json.loads((EVENTS / f"{source}.json").read_text())
    with Engine() as engine:
        view, search = fresh_views(engine)
        handler = make_processor(view, search).lambda_handler
        assert handler(event, None) == {"batchItemFailures": []}
        assert handler(event, None) == {"batchItemFailures": []}  # a redelivered batch changes nothing
        assert outcome(view, search) == expected


def test_sqs_reports_failed_and_later_messages() -> None:
    """SQS retries each reported message: a failure reports it and every later message (ordered)."""
    event = json.loads((EVENTS / "sqs.json").read_text())
    with Engine() as engine:
        view, search = fresh_views(engine)
        processor = make_processor(view, search)
        event["Records"][2]["body"] = "{}"  # a message that cannot be decoded
        failures = processor.lambda_handler(event, None)["batchItemFailures"]
        assert [f["itemIdentifier"] for f in failures] == [r["messageId"] for r in event["Records"][2:]]
