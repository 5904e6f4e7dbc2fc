"""Typed change decoding: kinds, TTL expiry, routing by the entity marker, unknown items, record shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from dynamokit.streams import Change, decode
from dynamokit.streams._changes import epoch_seconds

from .blog import Comment, Post, blog

EVENTS = Path(__file__).parent / "events"
RECORDS = json.loads((EVENTS / "dynamodb.json").read_text())["Records"]


def test_kinds_and_entities() -> None:
    changes = [decode(r, blog) for r in RECORDS]
    assert [(c.kind, c.entity_type) for c in changes] == [
        ("insert", "post"), ("insert", "comment"), ("update", "post"), ("insert", "post"),
        ("insert", "comment"), ("delete", "comment"), ("delete", "post")]
    update = changes[2]
    assert isinstance(update.old, Post) and isinstance(update.new, Post)
    assert (update.old.title, update.new.title) == ("Hello streams", "Hello again, streams")
    assert update.keys == {"pk": "POST#p1", "sk": "POST#p1"} and update.table == "blog"
    assert update.version == int(update.sequence_number or 0) and update.created_at == 1795000001
    assert isinstance(changes[5].old, Comment) and changes[5].new is None


def test_ttl_deletions_are_expiries() -> None:
    record = copy.deepcopy(RECORDS[-1])
    record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert decode(record, blog).kind == "expire"
    record["userIdentity"] = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}  # GetRecords shape
    assert decode(record, blog).kind == "expire"


def test_unknown_and_raw_items() -> None:
    record = copy.deepcopy(RECORDS[0])
    record["dynamodb"]["NewImage"]["_type"] = {"S": "_unique"}
    unknown = decode(record, blog)
    assert not unknown.known and unknown.entity_type == "_unique" and unknown.new["post_id"] == "p1"
    raw = decode(RECORDS[0])
    assert raw.known and raw.entity_type == "post" and raw.new["title"] == "Hello streams"


def test_images_decode_on_first_access() -> None:
    """Rule: each image is decoded when first read; one that does not validate raises there, and only there."""
    record = copy.deepcopy(RECORDS[2])  # an update of post p1
    del record["dynamodb"]["OldImage"]["title"]
    change = decode(record, blog)
    assert isinstance(change.new, Post) and change.new.title == "Hello again, streams"
    assert change.keys == {"pk": "POST#p1", "sk": "POST#p1"} and change.item is change.new
    with pytest.raises(ValidationError):
        change.old  # noqa: B018


def test_decoded_changes_compare_and_print_by_value() -> None:
    """Rule: a decoded change equals the Change built from its values, and prints them."""
    change = decode(RECORDS[2], blog)
    built = Change("update", "post", Post(post_id="p1", title="Hello streams"),
                   Post(post_id="p1", title="Hello again, streams"), {"pk": "POST#p1", "sk": "POST#p1"},
                   change.sequence_number, 1795000001.0, change.event_id, "blog", change.version)
    assert decode(RECORDS[2], blog) == built and decode(RECORDS[3], blog) != built
    assert repr(decode(RECORDS[2], blog)) == repr(built) and "title='Hello streams'" in repr(built)


def test_kinesis_and_sqs_shapes_decode_alike() -> None:
    for source in ("kinesis", "sqs"):
        records = json.loads((EVENTS / f"{source}.json").read_text())["Records"]
        changes = [decode(r, blog) for r in records]
        assert [(c.kind, c.entity_type, c.keys) for c in changes] == [
            (c.kind, c.entity_type, c.keys) for c in (decode(r, blog) for r in RECORDS)]
        assert all(isinstance(c.item, (Post, Comment)) for c in changes)


def test_creation_times_in_any_unit() -> None:
    assert epoch_seconds(1795000000) == epoch_seconds(1795000000000) == epoch_seconds(1795000000000000)
