"""Ordered partial-batch failures: stop at the first failure, or block only the failed key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from dynamokit.streams import Change, StreamProcessor, UnknownEntity, decode

from .blog import blog


def record(pk: str, seq: int, n: int = 0) -> dict[str, Any]:
    image = {"pk": {"S": pk}, "n": {"N": str(n)}, "_type": {"S": "thing"}}
    return {"eventID": f"e{seq}", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {"pk": {"S": pk}}, "NewImage": image, "SequenceNumber": f"{seq:021d}",
                         "ApproximateCreationDateTime": 1795000000}}


def run(ordering: str, fail_on: set[int]) -> tuple[list[int], list[int]]:
    processor = StreamProcessor(ordering=ordering)  # type: ignore[arg-type]
    applied: list[int] = []

    @processor.on("thing")
    def handle(change: Change[Any]) -> None:
        if change.version in fail_on:
            raise RuntimeError("boom")
        applied.append(int(change.version))

    event = {"Records": [record("a", 1), record("b", 2), record("a", 3), record("c", 4), record("b", 5)]}
    failures = processor.lambda_handler(event, None)["batchItemFailures"]
    return applied, [int(f["itemIdentifier"]) for f in failures]


def test_stop_at_first_failure() -> None:
    assert run("stop", {2}) == ([1], [2, 3, 4, 5])


def test_per_key_blocks_only_the_failed_key() -> None:
    assert run("per_key", {2}) == ([1, 3, 4], [2, 5])
    assert run("per_key", {1, 4}) == ([2, 5], [1, 3, 4])


def test_unknown_policy() -> None:
    rec = record("a", 1)
    assert StreamProcessor(blog).lambda_handler({"Records": [rec]}) == {"batchItemFailures": []}
    strict = StreamProcessor(blog, unknown="fail")
    assert strict.lambda_handler({"Records": [rec]})["batchItemFailures"] == [{"itemIdentifier": f"{1:021d}"}]
    with pytest.raises(UnknownEntity):
        strict.handle(decode(rec, blog))


def post_record(post_id: str, seq: int, title: str | None = "t") -> dict[str, Any]:
    keys = {"pk": {"S": f"POST#{post_id}"}, "sk": {"S": f"POST#{post_id}"}}
    image = {**keys, "_type": {"S": "post"}, "post_id": {"S": post_id}}
    if title is not None:
        image["title"] = {"S": title}
    return {"eventID": f"e{seq}", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": keys, "NewImage": image, "SequenceNumber": f"{seq:021d}",
                         "ApproximateCreationDateTime": 1795000000}}


BAD_P2 = [post_record("p1", 1), post_record("p2", 2, title=None), post_record("p1", 3), post_record("p2", 4)]


def failures(processor: StreamProcessor) -> list[int]:
    return [int(f["itemIdentifier"]) for f in processor.lambda_handler({"Records": BAD_P2})["batchItemFailures"]]


def test_an_image_that_does_not_validate_fails_its_record_where_it_is_read() -> None:
    """Rule: images decode when read; a handler reading one that does not validate fails that record (and,
    under per_key, the later ones of its key only); a handler that never reads it is not failed by it."""
    reading = StreamProcessor(blog, ordering="per_key")
    titles: list[str] = []
    reading.on("post")(lambda change: titles.append(change.new.title))
    assert failures(reading) == [2, 4] and titles == ["t", "t"]
    keys_only = StreamProcessor(blog, ordering="per_key")
    seen: list[int] = []
    keys_only.on("post")(lambda change: seen.append(int(change.version)))
    assert failures(keys_only) == [] and seen == [1, 2, 3, 4]


def test_an_image_that_does_not_validate_fails_its_record_before_the_sinks() -> None:
    """Rule: with sinks, each applied change's item is decoded before them: a bad one fails its own record,
    not the sink's whole batch."""

    class Collect:
        def __init__(self) -> None:
            self.got: list[int] = []

        def write(self, changes: Sequence[Change[Any]]) -> None:
            self.got += [int(c.version) for c in changes]

    sink = Collect()
    assert failures(StreamProcessor(blog, ordering="per_key", sinks=[sink])) == [2, 4] and sink.got == [1, 3]
