"""Ordered partial-batch failures: stop at the first failure, or block only the failed key."""

from __future__ import annotations

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
