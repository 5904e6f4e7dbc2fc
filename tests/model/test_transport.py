"""The Transport: BotoTransport over dynamokit.client(engine), error conversion, request counting."""

from __future__ import annotations

import datetime as dt

import pytest

import dynamokit
from dynamokit import DynamoDBError, Engine
from dynamokit.model import BotoTransport
from dynamokit.model._schema import create_tables

from .models import Post, blog_app


def test_boto_transport_round_trips_binary_and_errors() -> None:
    with Engine() as engine:
        app = blog_app().use(BotoTransport(dynamokit.client(engine)))
        create_tables(app)
        post = Post(post_id="p", author="a", title="t", created=dt.datetime(2024, 1, 1), data=b"\x00\xff")
        app.put(post).run()
        assert app.get(Post, post_id="p").run() == post
        raw = engine.call(
            "GetItem", {"TableName": "blog", "Key": {"pk": {"S": "POST#p"}, "sk": {"S": "POST#p"}}}
        )
        assert raw["Item"]["data"] == {"B": "AP8="}
        with pytest.raises(DynamoDBError) as error:
            app.put(post, create=True).run()
        assert error.value.code == "ConditionalCheckFailedException"
        with pytest.raises(DynamoDBError) as error:
            app.transport.call("DescribeTable", {"TableName": "nope"})
        assert error.value.code == "ResourceNotFoundException"


def test_counters_nest_and_record_capacity() -> None:
    with Engine() as engine:
        app = blog_app().use(engine)
        create_tables(app)
        with app.counter() as outer:
            app.put(Post(post_id="p", author="a", title="t", created=dt.datetime(2024, 1, 1))).run()
            with app.counter() as inner:
                app.get(Post, post_id="p").run()
        assert (outer.requests, inner.requests) == (2, 1)
        assert inner.capacity == 0.5 and outer.capacity == 2.5  # the put writes the table and 2 GSIs
