"""Updates are checked before they are sent; reads survive items that no longer validate; typos are refused."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import BaseModel, Field

from dynamokit import Engine
from dynamokit.model import (
    GSI,
    App,
    Collection,
    Entity,
    Index,
    InvalidItems,
    InvalidItemWarning,
    InvalidUpdate,
    Keys,
    Options,
    Pattern,
    Table,
    UnknownAttribute,
    Update,
    attr,
)
from dynamokit.model._schema import create_tables


class Address(BaseModel):
    city: str
    zip: str = ""


class Order(Entity):
    customer: str
    order_id: str
    title: str
    amount: Decimal
    quantity: int = Field(default=1, ge=1)
    note: str | None = None
    tags: set[str] = Field(default_factory=set)
    lines: list[str] = Field(default_factory=list)
    address: Address | None = None
    keys = Keys(
        pk="CUSTOMER#{customer}",
        sk="ORDER#{order_id}",
        by_amount=Index("gsi1", pk="CUSTOMER#{customer}", sk="AMOUNT#{amount}"),
    )


class Loose(Entity):
    loose_id: str
    keys = Keys(pk="LOOSE#{loose_id}", sk="LOOSE")
    options = Options(extra=True)


class Legacy(Entity):
    legacy_id: str
    keys = Keys(pk="LEGACY#{legacy_id}", sk="LEGACY")
    options = Options(extra=("imported_from",))


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine() as engine:
        yield engine


@pytest.fixture
def app(engine: Engine) -> App:
    built = App(
        Table("shop", [Order, Loose, Legacy], indexes=[GSI("gsi1")]),
        patterns=[
            Pattern("orders", Order, by=("customer",)),
            Pattern("by_amount", Order, by=("customer",), key="gsi1"),
        ],
        collections=[Collection("customer", {"orders": list[Order]})],
        transport=engine,
    )
    create_tables(built)
    built.put(Order(customer="c", order_id="1", title="one", amount=Decimal(10))).run()
    built.put(Order(customer="c", order_id="2", title="two", amount=Decimal(20))).run()
    return built


def test_setting_a_required_field_to_none_is_refused_before_sending(app: App) -> None:
    with app.counter() as counter:
        with pytest.raises(InvalidUpdate, match=r"Order\.amount: a required field cannot be removed"):
            app.update(Order, customer="c", order_id="1").set(amount=None).run()
        with pytest.raises(InvalidUpdate, match=r"Order\.amount"):
            app.update(Order, customer="c", order_id="1").remove("amount")
        with pytest.raises(InvalidUpdate, match=r"Order\.amount"):
            app.transaction().update(Order, Update().set(amount=None), customer="c", order_id="1")
    assert counter.requests == 0
    assert [o.order_id for o in app.orders(customer="c").all()] == ["1", "2"]
    assert [o.order_id for o in app.by_amount(customer="c").all()] == ["1", "2"]  # GSI keys kept


def test_values_the_field_would_not_validate_are_refused(app: App) -> None:
    update = app.update(Order, customer="c", order_id="1")
    with pytest.raises(InvalidUpdate, match=r"Order\.amount: value 'lots' is invalid"):
        update.set(amount="lots")
    with pytest.raises(
        InvalidUpdate, match=r"Order\.quantity: value 0 is invalid: .*greater than or equal to 1"
    ):
        update.set(quantity=0)
    with pytest.raises(InvalidUpdate, match=r"Order\.quantity: add amount 1\.5"):
        update.add(quantity=1.5)
    # amounts are checked by type only: the result depends on the stored value
    app.update(Order, customer="c", order_id="1").subtract(quantity=-1)
    app.update(Order, customer="c", order_id="1").add(quantity=-1)
    with pytest.raises(InvalidUpdate, match=r"Order\.title: append needs a list field"):
        update.append(title=["x"])
    with pytest.raises(InvalidUpdate, match=r"Order\.tags: add elements"):
        update.add(tags={1.5})
    with pytest.raises(InvalidUpdate, match=r"Order\.address\.city: a required field"):
        update.remove("address.city")
    with pytest.raises(InvalidUpdate, match=r"Order\.address\.zip: value 5 is invalid"):
        update.set({"address.zip": 5})
    stored = update.set(note=None, title="uno").add(quantity=2, tags={"a"}).append(lines=["l1"]).run()
    assert (stored.title, stored.quantity, stored.tags, stored.lines, stored.note) == (
        "uno",
        3,
        {"a"},
        ["l1"],
        None,
    )


def _corrupt(engine: Engine) -> None:
    """An item another tool wrote: `amount` missing, `quantity` not a number."""
    engine.call(
        "PutItem",
        {
            "TableName": "shop",
            "Item": {
                "pk": {"S": "CUSTOMER#c"},
                "sk": {"S": "ORDER#3"},
                "_type": {"S": "Order"},
                "customer": {"S": "c"},
                "order_id": {"S": "3"},
                "title": {"S": "three"},
                "quantity": {"S": "many"},
            },
        },
    )


def test_lenient_reads_report_invalid_items_and_keep_the_rest(app: App, engine: Engine) -> None:
    _corrupt(engine)
    with pytest.warns(InvalidItemWarning, match="skipped 1 stored item"):
        page = app.orders(customer="c").page()
    assert [o.order_id for o in page.items] == ["1", "2"]
    assert [(i.entity, i.key) for i in page.invalid] == [("Order", {"pk": "CUSTOMER#c", "sk": "ORDER#3"})]
    assert "amount" in page.invalid[0].error
    query = app.orders(customer="c")
    with pytest.warns(InvalidItemWarning):
        assert len(query.all()) == 2
    assert len(query.invalid) == 1


def test_collections_are_lenient_or_strict_too(app: App, engine: Engine) -> None:
    _corrupt(engine)
    collection = app.collection("customer", customer="c")
    with pytest.warns(InvalidItemWarning):
        assert [o.order_id for o in collection.run()["orders"]] == ["1", "2"]
    assert [i.key["sk"] for i in collection.invalid] == ["ORDER#3"]
    with pytest.raises(InvalidItems):
        collection.strict().run()


def test_strict_reads_and_gets_raise_one_readable_error(app: App, engine: Engine) -> None:
    _corrupt(engine)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidItems, match=r"1 stored item\(s\) do not validate: Order .*ORDER#3"):
            app.orders(customer="c").strict().all()
    with pytest.raises(InvalidItems, match="ORDER#3"):
        app.get(Order, customer="c", order_id="3").run()


def test_unknown_names_are_refused_with_the_closest_field(app: App) -> None:
    update = app.update(Order, customer="c", order_id="1")
    with pytest.raises(UnknownAttribute, match="'titel' is not a field; did you mean 'title'"):
        update.set(titel="x")
    with pytest.raises(UnknownAttribute, match="'cty' is not a field; did you mean 'city'"):
        update.set({"address.cty": "Oslo"})
    with pytest.raises(UnknownAttribute, match="did you mean 'quantity'"):
        app.orders(customer="c").where(attr("quantty") > 1)
    with pytest.raises(UnknownAttribute, match="did you mean 'note'"):
        update.condition(attr("nte").not_exists())
    with pytest.raises(UnknownAttribute, match="did you mean 'amount'"):
        app.put(
            Order(customer="c", order_id="9", title="t", amount=Decimal(1)), condition=attr("amout").exists()
        ).run()
    assert update.set(title="fine").run().title == "fine"  # the refused actions were not kept


def test_free_form_attributes_are_explicit(app: App, engine: Engine) -> None:
    app.put(Loose(loose_id="1")).run()
    app.update(Loose, loose_id="1").set(anything="goes").run()
    app.put(Legacy(legacy_id="1")).run()
    app.update(Legacy, legacy_id="1").set(imported_from="v1").run()
    with pytest.raises(UnknownAttribute, match="Legacy"):
        app.update(Legacy, legacy_id="1").set(imported_form="v1")
    item = engine.call(
        "GetItem", {"TableName": "shop", "Key": {"pk": {"S": "LOOSE#1"}, "sk": {"S": "LOOSE"}}}
    )
    assert item["Item"]["anything"] == {"S": "goes"}
