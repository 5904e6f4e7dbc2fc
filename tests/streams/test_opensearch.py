"""The OpenSearch sink against a local fake of the bulk API over real HTTP: external versions, redelivery,
per-item and whole-request failures, chunking, SigV4, and the local runner end to end."""

from __future__ import annotations

import json
import random
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dynamokit import Engine
from dynamokit.model._schema import create_tables
from dynamokit.model._values import from_item
from dynamokit.streams import Change, LocalRunner, OpenSearchSink, StreamProcessor, decode
from dynamokit.streams._sinks.opensearch import (
    ItemFailed,
    OpenSearchError,
    document_id,
    external_version,
    index_name,
)

from .blog import Comment, Post, blog
from .conftest import Clock
from .fake_opensearch import FakeOpenSearch

EVENTS = Path(__file__).parent / "events"
REAL_SEQUENCE = 4421584500000000017450439091  # a DynamoDB Streams sequence number: beyond 2**63 - 1


@pytest.fixture
def fake() -> Iterator[FakeOpenSearch]:
    state = FakeOpenSearch()
    server = state.serve()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def sink(fake: FakeOpenSearch) -> Iterator[OpenSearchSink]:
    made = OpenSearchSink(fake.url, index_prefix="t-")
    yield made
    made.close()


def change(kind: str, pk: str, version: int | Decimal, **fields: Any) -> Change[Any]:
    """A raw item's change in table `src` (type `item`)."""
    image = {"pk": pk, "_type": "item", **fields}
    old, new = (image, None) if kind in ("delete", "expire") else (None, image)
    return Change(kind, "item", old, new, {"pk": pk}, str(version), 1.0, f"e-{pk}-{version}", "src", version)


def http_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


def test_insert_update_delete(fake: FakeOpenSearch, sink: OpenSearchSink) -> None:
    raw = {"tags": {"y", "x"}, "price": Decimal("1.5"), "blob": b"\x01", "big": 10**30}
    sink.write([change("insert", "a", 1, n=1), change("insert", "b", 2, n=2, **raw)])
    sink.write([change("update", "a", 3, n=3)])
    doc = http_json(f"{fake.url}/t-item/_doc/a")
    assert doc["found"] and doc["_version"] == 6 and doc["_source"] == {"pk": "a", "_type": "item", "n": 3}
    assert fake.get("t-item", "b") == {"pk": "b", "_type": "item", "n": 2, "tags": ["x", "y"], "price": 1.5,
                                       "blob": "AQ==", "big": 1e30}
    sink.write([change("delete", "a", 4), change("expire", "b", 5)])
    assert not http_json(f"{fake.url}/t-item/_doc/a")["found"]
    assert http_json(f"{fake.url}/t-item/_count") == {"count": 0}
    assert fake.version("t-item", "a") == 8 and fake.version("t-item", "b") == 10  # tombstones
    sink.write([change("insert", "a", 6, n=6)])  # re-created by a newer change
    assert http_json(f"{fake.url}/t-item/_search", {"query": {"term": {"n": 6}}})["hits"]["total"]["value"] == 1


def test_redelivery_and_reordering_are_harmless(fake: FakeOpenSearch, sink: OpenSearchSink) -> None:
    history = [change("insert", "a", 1, n=1), change("update", "a", 2, n=2), change("update", "a", 3, n=3),
               change("insert", "b", 4, n=4), change("delete", "b", 5), change("insert", "c", 6, n=6)]
    rng = random.Random(7)
    for _ in range(5):
        batch = rng.sample(history, k=len(history)) + rng.sample(history, k=3)  # shuffled, duplicated
        for start in range(0, len(batch), 2):
            sink.write(batch[start:start + 2])  # version conflicts count as applied
    assert fake.live("t-item") == {"a": {"pk": "a", "_type": "item", "n": 3},
                                   "c": {"pk": "c", "_type": "item", "n": 6}}
    sink.write([change("insert", "b", 4, n=4)])
    assert fake.get("t-item", "b") is None  # the tombstone keeps the late insert out


def test_one_action_per_document_and_chunking(fake: FakeOpenSearch) -> None:
    changes = [change("insert", f"k{n}", n + 1, n=n) for n in range(7)] + [change("update", "k0", 20, n=20)]
    with OpenSearchSink(fake.url, max_actions=3) as sink:
        sink.write(changes)
    assert [r.body.count(b"version_type") for r in fake.requests] == [3, 3, 1]  # k0's two changes: one action
    assert fake.get("item", "k0") == {"pk": "k0", "_type": "item", "n": 20} and len(fake.live("item")) == 7
    with OpenSearchSink(fake.url, max_bytes=60) as tiny:  # every action is larger: each goes alone
        tiny.write([change("update", f"k{n}", 30 + n, n=n) for n in range(3)])
    assert [r.body.count(b"version_type") for r in fake.requests[3:]] == [1, 1, 1]


def test_item_failure_maps_back_to_its_changes(fake: FakeOpenSearch, sink: OpenSearchSink) -> None:
    changes = [change("insert", pk, n, n=n) for n, pk in enumerate("abcde", start=1)]
    changes.insert(4, change("update", "c", 9, n=9))
    fake.reject("c")  # 429 es_rejected_execution_exception on every item of document c
    with pytest.raises(ItemFailed) as raised:
        sink.write(changes)
    failures = raised.value.failures
    assert raised.value.changes == [changes[2], changes[4]]  # both changes of c, in input order
    assert {(f.status, f.error.split(":")[0]) for f in failures} == {(429, "es_rejected_execution_exception")}
    assert sorted(fake.live("t-item")) == ["a", "b", "d", "e"]
    with pytest.raises(ItemFailed) as single:
        sink.apply(changes[2])
    assert single.value.failures[0].status == 429
    fake.accept("c")
    sink.write(changes)
    assert fake.get("t-item", "c") == {"pk": "c", "_type": "item", "n": 9}


def test_mapping_clash_is_a_400_for_that_change_only(fake: FakeOpenSearch, sink: OpenSearchSink) -> None:
    good, bad = change("insert", "a", 1, n=1), change("insert", "b", 2, n="not a number")
    with pytest.raises(ItemFailed) as raised:
        sink.write([good, bad, change("insert", "c", 3, n=3)])
    failures = raised.value.failures
    assert len(failures) == 1 and failures[0].change is bad and failures[0].status == 400
    assert failures[0].error.startswith("mapper_parsing_exception")
    assert sorted(fake.live("t-item")) == ["a", "c"]


def test_whole_request_failures_raise(fake: FakeOpenSearch, sink: OpenSearchSink) -> None:
    fake.fail_requests(1, status=503)
    with pytest.raises(OpenSearchError, match="HTTP 503") as raised:
        sink.write([change("insert", "a", 1, n=1)])
    assert raised.value.status == 503 and fake.live("t-item") == {}
    sink.write([change("insert", "a", 1, n=1)])  # the retry goes through
    fake.drop_connections()  # the pooled keep-alive connection is gone: reconnect, once
    sink.write([change("update", "a", 2, n=2)])
    assert fake.get("t-item", "a") == {"pk": "a", "_type": "item", "n": 2}
    closed = OpenSearchSink(fake.url.rsplit(":", 1)[0] + ":1", timeout=2)  # nothing listens on port 1
    with pytest.raises(OpenSearchError) as refused:
        closed.write([change("insert", "a", 2, n=2)])
    assert refused.value.status is None


def test_versions_map_to_external_longs(fake: FakeOpenSearch, sink: OpenSearchSink) -> None:
    values = [0, 5, Decimal("5.5"), 6, 2**62 - 1]
    mapped = [external_version(v) for v in values]
    assert mapped == sorted(set(mapped)) and mapped[:4] == [0, 10, 11, 12] and mapped[-1] < 2**63
    refused: int | Decimal
    for refused in (REAL_SEQUENCE, 2**62, -1, Decimal("5.25")):
        with pytest.raises(ValueError):
            external_version(refused)
    base = REAL_SEQUENCE - 1000
    assert external_version(REAL_SEQUENCE, base) == 2000
    assert external_version(REAL_SEQUENCE + 1, base) == 2002
    assert external_version(Decimal(f"{REAL_SEQUENCE}.5"), base) == 2001  # 28+ digits: no rounding
    with pytest.raises(ItemFailed) as raised:
        sink.write([change("insert", "a", REAL_SEQUENCE, n=1)])
    (failure,) = raised.value.failures
    assert failure.status is None and "version_base" in failure.error
    assert fake.requests == []  # refused before sending: an out-of-range version would fail the whole bulk
    with OpenSearchSink(fake.url, version_base=base) as based:
        based.write([change("insert", "a", REAL_SEQUENCE, n=1)])
    assert fake.version("item", "a") == 2000


def test_document_ids_and_index_names() -> None:
    assert document_id({"sk": "POST#p1", "pk": "POST#p1"}) == "POST_23p1.POST_23p1"
    assert document_id({"pk": "a.b", "sk": Decimal("1.50")}) == "a_2Eb.1_2E5"
    assert document_id({"pk": "é_", "sk": b"\x00"}) == "_C3_A9_5F._00"
    long = document_id({"pk": "x" * 600})
    assert re.fullmatch(r"~[0-9a-f]{64}", long) and long == document_id({"pk": "x" * 600})
    assert all(re.fullmatch(r"[A-Za-z0-9._~-]+", document_id({"pk": s})) for s in ("a/b?c#d", "..", "%20", " "))
    assert index_name("Blog-", "Post") == "blog-post"
    assert index_name("", "_Order Item#1") == "order_item_1"
    for prefix, entity in (("", "__"), ("", "-"), ("x", "y" * 255)):
        with pytest.raises(ValueError):
            index_name(prefix, entity)


def test_headers_auth_refresh_and_sigv4(fake: FakeOpenSearch) -> None:
    with OpenSearchSink(fake.url, auth=("user", "pw"), refresh="wait_for") as basic:
        basic.write([change("insert", "a", 1, n=1)])
    first = fake.requests[-1]
    assert first.path == "/_bulk?refresh=wait_for" and first.headers["Authorization"] == "Basic dXNlcjpwdw=="
    assert first.headers["Content-Type"] == "application/x-ndjson"
    credentials = Credentials("AKIDEXAMPLE", "secret", "token")
    with OpenSearchSink(fake.url, aws_region="eu-west-1", aws_credentials=credentials) as signed:
        signed.write([change("insert", "b", 2, n=2)])
    sent = fake.requests[-1]
    authorization = sent.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in authorization and sent.headers["X-Amz-Security-Token"] == "token"
    # The signature checks out against what actually arrived (host, path, signed headers, body).
    signed_names = re.search(r"SignedHeaders=([^,]+)", authorization).group(1).split(";")  # type: ignore[union-attr]
    arrived = {k.lower(): v for k, v in sent.headers.items()}
    request = AWSRequest("POST", f"http://{arrived['host']}{sent.path}", data=sent.body,
                         headers={name: arrived[name] for name in signed_names})
    request.context["timestamp"] = arrived["x-amz-date"]
    auth = SigV4Auth(credentials, "es", "eu-west-1")
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    assert authorization.endswith(f"Signature={expected}")
    assert "host" in signed_names and "x-amz-content-sha256" in signed_names


def test_bulk_handler_reports_exactly_the_failed_records(fake: FakeOpenSearch) -> None:
    event = json.loads((EVENTS / "sqs.json").read_text())
    with OpenSearchSink(fake.url) as sink:
        handler = sink.bulk_handler(blog)
        p2 = document_id({"pk": "POST#p2", "sk": "POST#p2"})
        fake.reject(p2)
        failed = [f["itemIdentifier"] for f in handler(event, None)["batchItemFailures"]]
        about_p2 = [r["messageId"] for r in event["Records"] if document_id(decode(r, blog).keys) == p2]
        assert failed == about_p2 and len(failed) == 2
        fake.accept(p2)
        assert handler(event, None) == {"batchItemFailures": []}
        assert handler(event, None) == {"batchItemFailures": []}  # redelivered: all version conflicts
    assert fake.live("post") == {"POST_23p1.POST_23p1": {"post_id": "p1", "title": "Hello again, streams",
                                                         "author": "ann"}}
    assert fake.live("comment") == {"POST_23p1.COMMENT_23c2": {"post_id": "p1", "comment_id": "c2",
                                                               "body": "Agreed"}}


def test_kinesis_sequence_numbers_need_a_version_base(fake: FakeOpenSearch) -> None:
    event = json.loads((EVENTS / "kinesis.json").read_text())
    numbers = [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]
    with OpenSearchSink(fake.url) as sink:
        assert len(sink.bulk_handler(blog)(event, None)["batchItemFailures"]) == len(numbers)
    with OpenSearchSink(fake.url, version_base=min(numbers) - 1) as sink:
        assert sink.bulk_handler(blog)(event, None) == {"batchItemFailures": []}
    assert sorted(fake.live("post")) == ["POST_23p1.POST_23p1"]


def projection(engine: Engine) -> dict[str, dict[str, dict[str, Any]]]:
    """The source table as the sink should index it: per entity type, id -> attributes without keys."""
    out: dict[str, dict[str, dict[str, Any]]] = {"post": {}, "comment": {}}
    for item in engine.call("Scan", {"TableName": "blog", "ConsistentRead": True})["Items"]:
        plain = from_item(item)
        keys = {"pk": plain.pop("pk"), "sk": plain.pop("sk")}
        out[plain.pop("_type")][document_id(keys)] = plain
    return out


def write_blog(rng: random.Random, rounds: int) -> None:
    for n in range(rounds):
        post_id = f"p{rng.randrange(8)}"
        roll = rng.random()
        if roll < 0.5:
            blog.put(Post(post_id=post_id, title=f"title {n}", author=rng.choice(["ann", "bob"]))).run()
        elif roll < 0.8:
            blog.put(Comment(post_id=post_id, comment_id=f"c{rng.randrange(4)}", body=f"body {n}")).run()
        elif roll < 0.9:
            blog.delete(Post, post_id=post_id).run()
        else:
            blog.delete(Comment, post_id=post_id, comment_id=f"c{rng.randrange(4)}").run()


def blog_handler(sink: OpenSearchSink, mode: str) -> Any:
    if mode == "bulk-handler":
        return sink.bulk_handler(blog)
    if mode == "processor-sink":
        return StreamProcessor(blog, sinks=[sink])  # one write per batch
    processor = StreamProcessor(blog)
    processor.on("*")(sink.apply)  # one write per change
    return processor


@pytest.mark.parametrize("mode", ["processor-handler", "processor-sink", "bulk-handler"])
def test_end_to_end_runner_to_index(fake: FakeOpenSearch, mode: str) -> None:
    """Engine table with a stream -> LocalRunner -> handler -> sink: the index equals the table's projection,
    also after injected per-item failures (retried by the runner) and a replay from the start."""
    with Engine(clock=Clock()) as engine, OpenSearchSink(fake.url, index_prefix="blog-") as sink:
        blog.use(engine)
        create_tables(blog)
        handler = blog_handler(sink, mode)
        runner = LocalRunner(engine, "blog", handler, batch_size=25)
        rng = random.Random(3)
        write_blog(rng, 150)
        runner.run_until_caught_up(20)
        p1 = document_id({"pk": "POST#p1", "sk": "POST#p1"})
        fake.reject(p1, status=500, kind="internal_error", times=2)
        write_blog(rng, 10)
        blog.put(Post(post_id="p1", title="after the outage")).run()
        runner.run_until_caught_up(20)
        assert runner.metrics.retries == 2 and p1 not in fake.rejections
        expected = projection(engine)
        assert fake.live("blog-post") == expected["post"] and fake.live("blog-comment") == expected["comment"]
        assert expected["post"][p1]["title"] == "after the outage"
        replay = LocalRunner(engine, "blog", handler, batch_size=25, name="replay")  # everything again
        replay.run_until_caught_up(20)
        assert fake.live("blog-post") == expected["post"] and fake.live("blog-comment") == expected["comment"]
