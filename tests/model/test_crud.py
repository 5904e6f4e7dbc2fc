"""Get, put (create-only / upsert), update operations, delete, versions, timestamps, TTL, conditions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dynamokit import DynamoDBError
from dynamokit.model import App, ModelError, attr

from .models import Address, Post, Status, User

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def post(**over: object) -> Post:
    values: dict[str, object] = {"post_id": "p1", "author": "ann", "title": "Hello", "created": T0}
    values.update(over)
    return Post.model_validate(values)


def test_put_get_round_trip(blog: App) -> None:
    stored = blog.put(post(tags={"a"}, data=b"\x01", rating=Decimal("2.5"), views=10**20)).run()
    got = blog.get(Post, post_id="p1").run()
    assert got == stored
    assert blog.get(Post, post_id="nope").run() is None


def test_create_only_refuses_to_overwrite(blog: App) -> None:
    blog.put(post(), create=True).run()
    with pytest.raises(DynamoDBError) as error:
        blog.put(post(title="again"), create=True).run()
    assert error.value.code == "ConditionalCheckFailedException"
    blog.put(post(title="upsert")).run()
    assert blog.get(Post, post_id="p1").run().title == "upsert"  # type: ignore[union-attr]


def test_params_without_io(blog: App) -> None:
    request = blog.put(post(), create=True).params()
    assert request["ConditionExpression"] == "attribute_not_exists(#n0)"
    assert request["Item"]["_type"] == {"S": "post"}
    assert blog.get(Post, post_id="p1").consistent().params() == {
        "TableName": "blog",
        "Key": {"pk": {"S": "POST#p1"}, "sk": {"S": "POST#p1"}},
        "ConsistentRead": True,
    }
    assert blog.delete(Post, post_id="p1").params()["Key"]["pk"] == {"S": "POST#p1"}
    assert blog.get(Post, post_id="p1").run() is None  # nothing was written


def test_version_and_timestamps(blog: App) -> None:
    user = blog.put(User(user_id="u1", email="a@x", name="Ann"), create=True).run()
    assert user.version == 1 and user.created_at is not None and user.updated_at == user.created_at
    saved = blog.put(user.model_copy(update={"name": "Anne"})).run()
    assert saved.version == 2 and saved.created_at == user.created_at
    with pytest.raises(DynamoDBError):  # a stale copy loses
        blog.put(user.model_copy(update={"name": "Stale"})).run()
    updated = blog.update(User, user_id="u1").set(name="Ann B").expect_version(2).run()
    assert updated.version == 3 and updated.updated_at is not None and updated.updated_at >= saved.updated_at  # type: ignore[operator]
    with pytest.raises(DynamoDBError):
        blog.update(User, user_id="u1").set(name="x").expect_version(2).run()


def test_update_operations(blog: App) -> None:
    blog.put(post(tags={"a", "b"}, views=5)).run()
    result = blog.update(Post, post_id="p1").set(title="New").add(views=3).delete(tags={"a"}).run()
    assert (result.title, result.views, result.tags) == ("New", 8, {"b"})
    result = blog.update(Post, post_id="p1").subtract(views=2).add(tags={"z"}).run()
    assert (result.views, result.tags) == (6, {"b", "z"})
    later = T0 + dt.timedelta(days=9)
    assert blog.update(Post, post_id="p1").if_not_exists(expires=later).run().expires == later
    assert blog.update(Post, post_id="p1").if_not_exists(expires=T0).run().expires == later
    assert blog.update(Post, post_id="p1").remove("expires").run().expires is None


def test_list_append_prepend_and_nested_paths(blog: App) -> None:
    blog.put(User(user_id="u1", email="e", name="n", address=Address(city="Oslo", zip="1"))).run()
    user = blog.update(User, user_id="u1").set({"address.city": "Bergen"}).run()
    assert user.address == Address(city="Bergen", zip="1")


def test_list_ops(blog: App) -> None:
    from pydantic import Field

    from dynamokit.model import GSI, Entity, Keys, Table

    class Log(Entity):
        log_id: str
        lines: list[str] = Field(default_factory=list)
        keys = Keys(pk="LOG#{log_id}", sk="LOG")

    app = App(Table("blog", [Log], indexes=[GSI("gsi1"), GSI("gsi2")])).use(blog.transport.transport)
    app.put(Log(log_id="l", lines=["b"])).run()
    app.update(Log, log_id="l").append(lines=["c"]).run()
    assert app.update(Log, log_id="l").prepend(lines=["a"]).run().lines == ["a", "b", "c"]


def test_conditional_writes_and_delete(blog: App) -> None:
    blog.put(post(views=1)).run()
    with pytest.raises(DynamoDBError):
        blog.update(Post, post_id="p1").set(title="x").condition(attr("views") > 5).run()
    blog.update(Post, post_id="p1").set(title="y").condition(attr("views") <= 5).run()
    with pytest.raises(DynamoDBError):
        blog.delete(Post, post_id="p1", condition=attr("title") == "nope").run()
    blog.delete(Post, post_id="p1", condition=attr("status") == Status.DRAFT).run()
    assert blog.get(Post, post_id="p1").run() is None


def test_update_requires_existing_item(blog: App) -> None:
    with pytest.raises(DynamoDBError) as error:
        blog.update(Post, post_id="ghost").set(title="x").run()
    assert error.value.code == "ConditionalCheckFailedException"


def test_ttl_attribute_stored_as_epoch(blog: App) -> None:
    expires = dt.datetime(2031, 5, 1, tzinfo=dt.UTC)
    blog.put(post(expires=expires)).run()
    raw = blog.transport.call(
        "GetItem", {"TableName": "blog", "Key": {"pk": {"S": "POST#p1"}, "sk": {"S": "POST#p1"}}}
    )["Item"]
    assert raw["expires"] == {"N": str(int(expires.timestamp()))}
    assert blog.get(Post, post_id="p1").run().expires == expires  # type: ignore[union-attr]
    later = expires + dt.timedelta(days=1)
    assert blog.update(Post, post_id="p1").set(expires=later).run().expires == later


def test_managed_and_primary_attributes_are_refused(blog: App) -> None:
    blog.put(post()).run()
    with pytest.raises(ModelError, match="primary key inputs"):
        blog.update(Post, post_id="p1").set(post_id="p2").params()
    with pytest.raises(ModelError, match="managed by the model"):
        blog.update(Post, post_id="p1").set(gsi1pk="x").params()
