"""Batches with backoff, transactions across entities, unique constraints."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dynamokit import DynamoDBError, Engine
from dynamokit.model import App, Backoff, Update, attr
from dynamokit.model._schema import create_tables

from .models import Comment, Post, User, blog_app

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def posts(n: int) -> list[Post]:
    return [Post(post_id=f"p{i}", author="ann", title="t", created=T0) for i in range(n)]


def test_batch_write_and_get_in_chunks(blog: App) -> None:
    with blog.counter() as counter:
        assert blog.batch_write(puts=posts(60)) == []
    assert counter.operations["BatchWriteItem"] == 3
    found, left = blog.batch_get(Post, [{"post_id": f"p{i}"} for i in range(60)] + [{"post_id": "missing"}])
    assert len(found) == 60 and left == []
    assert blog.batch_write(deletes=[(Post, {"post_id": f"p{i}"}) for i in range(60)]) == []
    assert blog.batch_get(Post, [{"post_id": "p1"}])[0] == []


class Throttling:
    """Leaves all but one key/write unprocessed on every call."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        items = request["RequestItems"]
        ((table, entry),) = items.items()
        if operation == "BatchGetItem":
            first, rest = entry["Keys"][:1], entry["Keys"][1:]
            out = self.inner.call(operation, {"RequestItems": {table: {**entry, "Keys": first}}})
            out["UnprocessedKeys"] = {table: {**entry, "Keys": rest}} if rest else {}
            return out
        first, rest = entry[:1], entry[1:]
        out = self.inner.call(operation, {"RequestItems": {table: first}})
        out["UnprocessedItems"] = {table: rest} if rest else {}
        return out


def test_backoff_with_jitter_and_cap() -> None:
    sleeps: list[float] = []
    with Engine() as engine:
        create_tables(blog_app().use(engine))
        app = blog_app().use(Throttling(engine))
        app.backoff = Backoff(base=0.1, cap=0.3, attempts=3, sleep=sleeps.append, jitter=lambda: 1.0)
        left = app.batch_write(puts=posts(6))
        assert len(left) == 2  # 1 + 3 retries wrote 4 of 6; the rest is returned
        assert sleeps == [0.1, 0.2, 0.3]  # exponential, capped
        found, unprocessed = app.batch_get(Post, [{"post_id": f"p{i}"} for i in range(6)])
        assert (
            len(found) == 4
            and len(unprocessed) == 2
            and unprocessed[0] in [{"post_id": "p4"}, {"post_id": "p5"}]
        )
    assert 0 <= Backoff(jitter=lambda: 0.5).base


def test_transaction_of_mixed_entities(blog: App) -> None:
    blog.put(Post(post_id="p1", author="ann", title="t", created=T0)).run()
    blog.put(Post(post_id="p2", author="ann", title="t", created=T0)).run()
    with blog.transaction() as tx:
        tx.put(Comment(post_id="p1", comment_id="c1", author="bob", body="hi", created=T0), create=True)
        tx.update(Post, Update().set(title="commented").add(views=1), post_id="p1")
        tx.check(Post, attr("author") == "ann", post_id="p2")
    assert blog.get(Post, post_id="p1").run().views == 1  # type: ignore[union-attr]
    assert len(tx.params()["TransactItems"]) == 3
    with pytest.raises(DynamoDBError) as error, blog.transaction() as tx:
        tx.put(Comment(post_id="p1", comment_id="c2", author="bob", body="x", created=T0))
        tx.check(Post, attr("author") == "nobody", post_id="p2")
    assert error.value.code == "TransactionCanceledException"
    assert blog.get(Comment, post_id="p1", created=T0, comment_id="c2").run() is None
    got = blog.transact_get(
        [
            (Post, {"post_id": "p1"}),
            (Comment, {"post_id": "p1", "created": T0, "comment_id": "c1"}),
            (Post, {"post_id": "zz"}),
        ]
    )
    assert [type(g).__name__ for g in got] == ["Post", "Comment", "NoneType"]


def test_unique_constraints(blog: App) -> None:
    blog.put(User(user_id="u1", email="a@x", name="A"), create=True).run()
    with pytest.raises(DynamoDBError):
        blog.put(User(user_id="u2", email="a@x", name="B"), create=True).run()
    blog.put(User(user_id="u2", email="b@x", name="B"), create=True).run()
    with pytest.raises(DynamoDBError):  # changing to a taken value fails
        blog.update(User, user_id="u2").set(email="a@x").run()
    blog.update(User, user_id="u1").set(email="c@x").run()  # frees a@x
    blog.update(User, user_id="u2").set(email="a@x").run()
    blog.delete(User, user_id="u2").run()  # frees a@x again
    blog.put(User(user_id="u3", email="a@x", name="C"), create=True).run()
    sentinels = [
        i["pk"]["S"]
        for i in blog.transport.call("Scan", {"TableName": "blog"})["Items"]
        if i["_type"]["S"] == "_unique"
    ]
    assert sorted(sentinels) == ["_unique#user#email#a@x", "_unique#user#email#c@x"]
