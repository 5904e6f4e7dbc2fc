"""Derived-key safety: no update may ever leave a stale GSI key."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from dynamokit import DynamoDBError
from dynamokit.model import App, MissingKeyInputs, ModelError, Transport

from .models import Post, Status, blog_app

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
KEY = {"pk": {"S": "POST#p1"}, "sk": {"S": "POST#p1"}}
DERIVED = ("gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")


def raw(app: App) -> dict[str, Any]:
    item: dict[str, Any] = app.transport.call(
        "GetItem", {"TableName": "blog", "Key": KEY, "ConsistentRead": True}
    )["Item"]
    return item


def assert_keys_fresh(app: App) -> None:
    """Every derived key equals what a full put of the stored entity would write (or is absent)."""
    item = raw(app)
    expected = app.bound(Post).item(Post.from_item(item))
    for name in DERIVED:
        assert item.get(name) == expected.get(name), name


def test_update_computes_keys_from_its_own_values(blog: App) -> None:
    blog.put(Post(post_id="p1", author="ann", title="t", created=T0)).run()
    request = blog.update(Post, post_id="p1").set(author="bob", status=Status.DRAFT, created=T0).params()
    assert "gsi1pk" in request["ExpressionAttributeNames"].values()
    with blog.counter() as counter:
        blog.update(Post, post_id="p1").set(author="bob", status=Status.PUBLISHED, created=T0).run()
    assert counter.requests == 1  # everything known: no read
    assert raw(blog)["gsi1pk"] == {"S": "AUTHOR#bob"}
    assert raw(blog)["gsi1sk"] == {"S": "POST#published#2024-01-01T00:00:00.000000Z"}
    assert [p.post_id for p in blog.posts_by_author(author="bob")] == ["p1"]
    assert list(blog.posts_by_author(author="ann")) == []


def test_missing_inputs_are_named_or_read(blog: App) -> None:
    blog.put(Post(post_id="p1", author="ann", title="t", created=T0)).run()
    with pytest.raises(MissingKeyInputs) as error:
        blog.update(Post, post_id="p1").set(status=Status.PUBLISHED).params()
    assert error.value.missing == ["author", "created"] and error.value.key == "by_author"
    with pytest.raises(MissingKeyInputs):
        blog.update(Post, reads=False, post_id="p1").set(status=Status.PUBLISHED).run()
    with blog.counter() as counter:
        blog.update(Post, post_id="p1").set(status=Status.PUBLISHED).run()
    assert counter.operations == {"GetItem": 1, "UpdateItem": 1}
    assert raw(blog)["gsi1sk"] == {"S": "POST#published#2024-01-01T00:00:00.000000Z"}
    assert_keys_fresh(blog)


def test_known_values_are_conditions(blog: App) -> None:
    blog.put(Post(post_id="p1", author="ann", title="t", created=T0)).run()
    request = (
        blog.update(Post, post_id="p1").set(status=Status.PUBLISHED).known(author="ann", created=T0).params()
    )
    assert "ConditionExpression" in request
    with pytest.raises(DynamoDBError):  # a wrong "known" value fails instead of writing a wrong key
        blog.update(Post, post_id="p1").set(status=Status.PUBLISHED).known(author="zed", created=T0).run()
    assert_keys_fresh(blog)
    assert raw(blog)["gsi1pk"] == {"S": "AUTHOR#ann"}


def test_removing_an_input_drops_the_sparse_key(blog: App) -> None:
    blog.put(Post(post_id="p1", author="ann", title="t", created=T0, featured_rank=2)).run()
    assert [p.post_id for p in blog.featured_posts()] == ["p1"]
    blog.update(Post, post_id="p1").remove("featured_rank").run()
    assert "gsi2pk" not in raw(blog) and list(blog.featured_posts()) == []
    blog.update(Post, post_id="p1").set(featured_rank=9).run()
    assert raw(blog)["gsi2sk"] == {"S": "000009#p1"}


def test_computed_changes_to_key_inputs_are_refused(blog: App) -> None:
    blog.put(Post(post_id="p1", author="ann", title="t", created=T0, featured_rank=2)).run()
    with pytest.raises(ModelError, match="feed key 'featured'"):
        blog.update(Post, post_id="p1").add(featured_rank=1).params()
    with pytest.raises(ModelError, match="feed key 'by_author'"):
        blog.update(Post, post_id="p1").if_not_exists(author="x").params()
    assert_keys_fresh(blog)


class Interfering:
    """Lets another writer change the item just before our first UpdateItem lands."""

    def __init__(self, inner: Transport, other: App) -> None:
        self.inner, self.other, self.done = inner, other, False

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation == "UpdateItem" and not self.done:
            self.done = True
            self.other.update(Post, post_id="p1").set(author="mallory").run()
        return self.inner.call(operation, request)


def test_concurrent_change_during_read_modify_write_is_retried(blog: App) -> None:
    blog.put(Post(post_id="p1", author="ann", title="t", created=T0)).run()
    inner = blog.transport.transport
    racing = blog_app().use(Interfering(inner, blog_app().use(inner)))
    with racing.counter() as counter:
        racing.update(Post, post_id="p1").set(status=Status.PUBLISHED).run()
    assert counter.operations["UpdateItem"] == 3  # ours failed once, then succeeded (plus the interloper's)
    assert raw(blog)["gsi1pk"] == {"S": "AUTHOR#mallory"}
    assert_keys_fresh(blog)


def test_random_updates_never_leave_stale_keys(blog: App) -> None:
    rng = random.Random(7)
    blog.put(Post(post_id="p1", author="ann", title="t", created=T0, featured_rank=1)).run()
    choices: list[Any] = [
        lambda: {"author": rng.choice(["ann", "bob", "cy"])},
        lambda: {"status": rng.choice(list(Status))},
        lambda: {"created": T0 + dt.timedelta(hours=rng.randint(0, 99))},
        lambda: {"featured_rank": rng.choice([None, 1, 42, 999])},
        lambda: {"title": f"t{rng.randint(0, 9)}"},
    ]
    for _ in range(30):
        changes: dict[str, Any] = {}
        for make in rng.sample(choices, rng.randint(1, 3)):
            changes.update(make())
        update = blog.update(Post, post_id="p1").set(changes)
        if rng.random() < 0.3:
            update.known(**{k: v for k, v in raw_values(blog).items() if k not in changes})
        update.run()
        assert_keys_fresh(blog)


def raw_values(app: App) -> dict[str, Any]:
    stored = Post.from_item(raw(app))
    return {"author": stored.author, "status": stored.status, "created": stored.created}
