"""Wire conversion, key templates and expression builders (no I/O)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dynamokit.model import ModelError, Template, Update, attr
from dynamokit.model._builders import Placeholders
from dynamokit.model._values import from_av, to_av, to_item

from .models import Address, Post, Status, User


def test_entity_round_trip_is_lossless() -> None:
    post = Post(
        post_id="p1",
        author="ann",
        title="t",
        created=dt.datetime(2024, 5, 6, 7, 8, 9, 123456),
        status=Status.PUBLISHED,
        views=2**70,
        rating=Decimal("12345678901234567890.123456789"),
        tags={"x", "y"},
        data=b"\x00\xff",
        featured_rank=5,
        expires=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    item = post.attributes()
    assert item["views"] == {"N": str(2**70)}
    assert item["rating"] == {"N": "12345678901234567890.123456789"}
    assert item["tags"] == {"SS": ["x", "y"]}
    assert item["data"] == {"B": "AP8="}
    assert item["status"] == {"S": "published"}
    assert item["expires"] == {"N": "1893456000"}  # TTL as epoch seconds
    again = Post.from_item(item)
    assert again == post
    assert type(again.views) is int


def test_nested_models_sets_and_lists() -> None:
    user = User(user_id="u", email="e", name="n", address=Address(city="Oslo", zip="0150"))
    assert user.attributes()["address"] == {"M": {"city": {"S": "Oslo"}, "zip": {"S": "0150"}}}
    assert User.from_item(user.attributes()).address == Address(city="Oslo", zip="0150")
    assert to_av({1, 2}) == {"NS": ["1", "2"]}
    assert to_av({b"a"}) == {"BS": ["YQ=="]}
    assert to_av([1, "a", None, True]) == {"L": [{"N": "1"}, {"S": "a"}, {"NULL": True}, {"BOOL": True}]}
    assert from_av({"NS": ["1", "2.5"]}) == {1, Decimal("2.5")}
    assert to_item({"a": None, "b": set(), "c": 1}) == {"c": {"N": "1"}}
    assert to_av(0.1) == {"N": "0.1"}
    with pytest.raises(ValueError):
        to_av(float("nan"))


def test_template_render_prefix_parse() -> None:
    template = Template("ORDER#{org}#{count:6}#{at}")
    at = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    text = template.render({"org": "acme", "count": 42, "at": at})
    assert text == "ORDER#acme#000042#2024-01-02T01:04:05.000000Z"
    assert template.parse(text) == {"org": "acme", "count": "000042", "at": "2024-01-02T01:04:05.000000Z"}
    assert template.parse("OTHER#x") is None
    assert template.prefix({"org": "acme"}) == "ORDER#acme#"
    assert template.prefix({}) == "ORDER#"
    assert template.render({"org": "acme"}) is None
    assert template.fields == ("org", "count", "at")
    with pytest.raises(ModelError):
        template.leading({"count": 1})


def test_padded_numbers_and_datetimes_sort_as_text() -> None:
    template = Template("{n:8}")
    values = [0, 7, 10, 99, 12345]
    assert sorted(template.render({"n": v}) or "" for v in values) == [
        template.render({"n": v}) for v in values
    ]
    days = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 2, 10)]
    rendered = [Template("{d}").render({"d": d}) or "" for d in days]
    assert sorted(rendered) == rendered
    with pytest.raises(ModelError):
        template.render({"n": -1})


def test_placeholders_never_splice_names_or_values() -> None:
    ph = Placeholders()
    condition = (attr("a.b[1]") == "x; DROP") & ~attr("size").exists() | attr("n").between(1, 5)
    text = condition.render(ph, lambda _, v: to_av(v))
    assert text == "((#n0.#n1[1] = :v0 AND (NOT attribute_exists(#n2))) OR #n3 BETWEEN :v1 AND :v2)"
    assert ph.names == {"#n0": "a", "#n1": "b", "#n2": "size", "#n3": "n"}
    assert ph.values[":v0"] == {"S": "x; DROP"}


def test_update_expression_clauses() -> None:
    update = (
        Update()
        .set(title="t")
        .remove("old")
        .add(views=1)
        .subtract(stock=2)
        .append(log=["a"])
        .prepend(log2=["b"])
        .delete(tags={"x"})
        .if_not_exists(first="f")
        .set({"a.b": 1})
    )
    ph = Placeholders()
    text = update.render(ph, lambda _, v: to_av(v))
    assert text == (
        "SET #n0 = :v0, #n3 = #n3 - :v2, #n4 = list_append(#n4, :v3), #n5 = list_append(:v4, #n5), "
        "#n7 = if_not_exists(#n7, :v6), #n8.#n9 = :v7 REMOVE #n1 ADD #n2 :v1 DELETE #n6 :v5"
    )
    assert update.assigned() == {"title": "t", "old": None}
    assert update.touched() == {"title", "old", "views", "stock", "log", "log2", "tags", "first", "a"}
