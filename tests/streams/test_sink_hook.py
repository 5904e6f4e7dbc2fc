"""Sinks on a StreamProcessor: one call per batch with the changes applied, ordered partial failures kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dynamokit import Engine
from dynamokit.model._schema import create_tables
from dynamokit.streams import Change, DuckDBSink, FtsSink, LocalRunner, StreamProcessor, decode

from .blog import Comment, Post, blog
from .test_processor import record


class Batches:
    """A sink remembering the versions of each batch it is given; fails while `broken`."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.broken = False

    def write(self, changes: Sequence[Change[Any]]) -> None:
        if self.broken:
            raise RuntimeError("sink down")
        self.batches.append([int(c.version) for c in changes])


def image_record(image: dict[str, Any], seq: int) -> dict[str, Any]:
    keys = {"pk": image["pk"], "sk": image["sk"]}
    return {"eventID": f"e{seq}", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/blog/stream/x",
            "dynamodb": {"Keys": keys, "NewImage": image, "SequenceNumber": f"{seq:021d}",
                         "ApproximateCreationDateTime": 1795000000}}


def run(ordering: str, fail_on: set[int], sink: Batches) -> list[int]:
    processor = StreamProcessor(ordering=ordering, sinks=[sink])  # type: ignore[arg-type]

    @processor.on("thing")
    def handle(change: Change[Any]) -> None:
        if change.version in fail_on:
            raise RuntimeError("boom")

    event = {"Records": [record("a", 1), record("b", 2), record("a", 3), record("c", 4), record("b", 5)]}
    return [int(f["itemIdentifier"]) for f in processor.lambda_handler(event)["batchItemFailures"]]


def test_sinks_get_the_applied_changes_once_per_batch() -> None:
    sink = Batches()
    assert run("stop", set(), sink) == [] and sink.batches == [[1, 2, 3, 4, 5]]


def test_changes_after_a_failure_are_not_sent() -> None:
    stop, per_key = Batches(), Batches()
    assert run("stop", {2}, stop) == [2, 3, 4, 5] and stop.batches == [[1]]
    assert run("per_key", {2}, per_key) == [2, 5] and per_key.batches == [[1, 3, 4]]
    nothing = Batches()
    assert run("stop", {1}, nothing) == [1, 2, 3, 4, 5] and nothing.batches == []


def test_a_failing_sink_fails_the_whole_batch() -> None:
    sink = Batches()
    sink.broken = True
    assert run("per_key", set(), sink) == [1, 2, 3, 4, 5]
    sink.broken = False
    assert run("per_key", set(), sink) == [] and sink.batches == [[1, 2, 3, 4, 5]]


class Rejects:
    """A sink that applies every change but those of `versions`, and says which (as ItemFailed does)."""

    def __init__(self, versions: set[int]) -> None:
        self.versions = versions
        self.applied: list[int] = []

    def write(self, changes: Sequence[Change[Any]]) -> None:
        self.applied += [int(c.version) for c in changes if c.version not in self.versions]
        failed = [c for c in changes if c.version in self.versions]
        if failed:
            error = RuntimeError("some changes failed")
            error.changes = failed  # type: ignore[attr-defined]
            raise error


def failures(processor: StreamProcessor, event: dict[str, Any]) -> list[int]:
    return [int(f["itemIdentifier"]) for f in processor(event)["batchItemFailures"]]


def test_a_sink_failing_some_changes_fails_only_those_with_the_ordering_rules() -> None:
    # Records: a1 b2 a3 c4 b5. The sink fails change 3 (key a).
    per_key, after = Rejects({3}), Batches()
    processor = StreamProcessor(ordering="per_key", sinks=[per_key, after])
    event = {"Records": [record("a", 1), record("b", 2), record("a", 3), record("c", 4), record("b", 5)]}
    assert failures(processor, event) == [3]
    assert per_key.applied == [1, 2, 4, 5]
    assert after.batches == [[1, 2, 3, 4, 5]]  # a sink after the failing one still gets the batch
    stop = Rejects({3})
    processor = StreamProcessor(ordering="stop", sinks=[stop])
    assert failures(processor, event) == [3, 4, 5]
    # per key: a later change of the failed key fails too, the other keys' changes do not
    two = Rejects({2})
    processor = StreamProcessor(ordering="per_key", sinks=[two])
    assert failures(processor, event) == [2, 5]


def test_a_partial_failure_naming_changes_it_was_not_given_fails_them_all() -> None:
    class Confused:
        def write(self, changes: Sequence[Change[Any]]) -> None:
            error = RuntimeError("?")
            error.changes = [decode(record("z", 9))]  # type: ignore[attr-defined]
            raise error

    processor = StreamProcessor(sinks=[Confused()])
    event = {"Records": [record("a", 1), record("b", 2)]}
    assert failures(processor, event) == [1, 2]


def test_sinks_filter_entities_and_skip_unknown_items() -> None:
    posts, everything = Batches(), Batches()
    processor = StreamProcessor(blog, sinks=[everything])
    assert processor.sink(posts, Post) is posts
    post = {"pk": {"S": "POST#p1"}, "sk": {"S": "POST#p1"}, "_type": {"S": "post"}, "post_id": {"S": "p1"},
            "title": {"S": "Hi"}}
    comment = {"pk": {"S": "POST#p1"}, "sk": {"S": "COMMENT#c1"}, "_type": {"S": "comment"},
               "post_id": {"S": "p1"}, "comment_id": {"S": "c1"}, "body": {"S": "Yes"}}
    records = [image_record(post, 1), image_record(comment, 2), record("x", 3)]  # the last: unknown type
    assert processor.lambda_handler({"Records": records})["batchItemFailures"] == []
    assert posts.batches == [[1]] and everything.batches == [[1, 2]]
    processor.handle(decode(image_record(post, 4), blog))  # one change at a time, as a backfill does
    assert posts.batches == [[1], [4]]


def test_fts_writer_indexes_a_batch(tmp_path: Path) -> None:
    search = FtsSink(str(tmp_path / "search.db"))
    writer = search.writer(fields=["title"])  # documents named by their keys (`key_text`)
    hi = Post(post_id="p1", title="Hello streams")
    bye = Post(post_id="p2", title="Other streams")
    p1, p2 = {"pk": "POST#p1", "sk": "POST"}, {"pk": "POST#p2", "sk": "POST"}
    assert writer.write([Change("insert", "post", None, hi, p1, None, 0, "e1", "blog", 1),
                         Change("insert", "post", None, bye, p2, None, 0, "e2", "blog", 2),
                         Change("delete", "post", bye, None, p2, None, 0, "e3", "blog", 3)]) == 3
    assert [h.doc_id for h in search.search("streams")] == ["POST#p1|POST"]
    assert search.search("streams")[0].fields == {"title": "Hello streams"}
    stale = Change("insert", "post", None, bye, p2, None, 0, "e2", "blog", 2)
    assert search.write([stale]) == 0  # redelivered after the delete: the tombstone wins
    assert search.index("p3", {"title": "direct streams"}, 1) and search.count() == 2
    search.close()


def test_runner_feeds_duckdb_and_search(tmp_path: Path) -> None:
    with Engine() as engine:
        blog.use(engine)
        create_tables(blog)
        analytics = DuckDBSink(str(tmp_path / "analytics.duckdb"))
        search = FtsSink(str(tmp_path / "search.db"))
        processor = StreamProcessor(blog, ordering="per_key")
        processor.sink(analytics)
        processor.sink(search.writer(fields=["title"]), Post)
        blog.put(Post(post_id="p1", title="Streams in practice")).run()
        blog.put(Comment(post_id="p1", comment_id="c1", body="Nice")).run()
        blog.update(Post, post_id="p1").set(title="Streams, in practice").run()
        blog.put(Post(post_id="p2", title="Gone soon")).run()
        blog.delete(Post, post_id="p2").run()
        runner = LocalRunner(engine, "blog", processor)
        runner.run_until_caught_up(5)
        assert analytics.query("SELECT post_id, title, author FROM current_post") == [
            ("p1", "Streams, in practice", "ann")]
        assert analytics.query("SELECT count(*) FROM changes_post") == [(4,)]
        assert analytics.query("SELECT comment_id, body FROM current_comment") == [("c1", "Nice")]
        assert [h.doc_id for h in search.search("streams")] == ["POST#p1|POST#p1"]
        assert search.search("gone") == []
        analytics.close()
        search.close()
