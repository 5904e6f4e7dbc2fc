"""Key hygiene: delimiters in values are escaped (sortably), and entities cannot share key spaces."""

from __future__ import annotations

import string
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamokit import Engine
from dynamokit.model import GSI, App, Entity, Index, Keys, ModelError, Pattern, Table, Template
from dynamokit.model._keys import Escaping
from dynamokit.model._schema import create_tables
from dynamokit.streams._changes import build


class OrderItem(Entity):
    order_id: str
    item_id: str
    keys = Keys(pk="ORDER#{order_id}#ITEM#{item_id}", sk="ITEM")


class Order(Entity):
    order_id: str
    customer: str
    keys = Keys(pk="ORDER#{order_id}", sk="ORDER", by_customer=Index("gsi1", pk="CUSTOMER#{customer}"))


def shop() -> App:
    return App(
        Table("shop", [OrderItem, Order], indexes=[GSI("gsi1", sk=None)], stream="NEW_IMAGE"),
        patterns=[Pattern("orders_of", Order, by=("customer",))],
    )


@pytest.fixture
def app() -> Iterator[App]:
    with Engine() as engine:
        built = shop().use(engine)
        create_tables(built)
        yield built


def test_values_holding_the_delimiter_do_not_overwrite_each_other(app: App) -> None:
    first = OrderItem(order_id="A", item_id="B#ITEM#C")
    second = OrderItem(order_id="A#ITEM#B", item_id="C")
    assert app.bound(OrderItem).key(first.__dict__) != app.bound(OrderItem).key(second.__dict__)
    app.put(first).run()
    app.put(second).run()
    assert app.get(OrderItem, order_id="A", item_id="B#ITEM#C").run() == first
    assert app.get(OrderItem, order_id="A#ITEM#B", item_id="C").run() == second


def test_identical_templates_are_refused_naming_both() -> None:
    class Twin(Entity):
        order_id: str
        item_id: str
        keys = Keys(pk="ORDER#{order_id}#ITEM#{item_id}", sk="ITEM")

    with pytest.raises(ModelError, match="OrderItem .*Twin .*same primary key"):
        App(Table("shop", [OrderItem, Twin]))


def test_templates_that_only_overlap_for_some_values_are_refused() -> None:
    class Loose(Entity):
        anything: str
        keys = Keys(pk="{anything}", sk="ITEM")  # anything="ORDER#A#ITEM#B" is OrderItem A/B

    with pytest.raises(ModelError, match="Loose"):
        App(Table("shop", [OrderItem, Loose]))


def test_labels_make_key_spaces_disjoint() -> None:
    class Customer(Entity):
        customer_id: str
        keys = Keys(pk="ORDER#{customer_id}#PROFILE", sk="ORDER")  # a field text never holds '#'

    App(Table("shop", [Order, Customer], indexes=[GSI("gsi1", sk=None)]))


def test_only_characters_next_to_fields_are_escaped() -> None:
    template = Template("USER-PROFILE#{id}#{at}")
    assert template.render({"id": "3f2a-b_c.d", "at": "2024-01-02T03:04:05Z"}) == (
        "USER-PROFILE#3f2a-b_c.d#2024-01-02T03:04:05Z"
    )
    assert template.render({"id": "a#b", "at": 'x"'}) == 'USER-PROFILE#a"1b#x"0'


def test_a_field_must_be_followed_by_a_delimiter() -> None:
    with pytest.raises(ModelError, match="followed by a delimiter"):
        Template("{a}{b}")
    with pytest.raises(ModelError, match="followed by a delimiter"):
        Template("X#{a}x{b}")


def test_escaped_keys_decode_in_reads_and_stream_changes(app: App) -> None:
    order = Order(order_id='7#"x"', customer="c#1")
    app.put(order).run()
    assert app.orders_of(customer="c#1").all() == [order]
    bound = app.bound(Order)
    item = bound.item(order)
    assert item["pk"] == {"S": 'ORDER#7"1"0x"0'}
    assert bound.key_values(item) == {"order_id": '7#"x"'}
    keys = {"pk": item["pk"], "sk": item["sk"]}
    change = build(
        "insert",
        "shop",
        keys,
        None,
        item,
        sequence_number="1",
        created_at=0,
        event_id="e",
        version=1,
        app=app,
    )
    assert change.new == order
    assert app.bound(OrderItem).key_values(keys) is None  # another entity's key


# -- properties ----------------------------------------------------------------------------------------------
TEXT = st.text(alphabet=st.sampled_from('#"!$|:-_aZ0 é\U0001f600'), max_size=6)
LITERALS = st.text(alphabet=st.sampled_from("#|:-AB"), min_size=1, max_size=3)


@st.composite
def templates(draw: st.DrawFn) -> Template:
    """A template of 1-3 fields, each followed by a literal starting with a delimiter (or ending it)."""
    count = draw(st.integers(1, 3))
    text = draw(st.sampled_from(["", "A", "AB#", "#"]))
    for index in range(count):
        text += "{f" + str(index) + "}"
        if index < count - 1 or draw(st.booleans()):
            text += draw(st.sampled_from("#|:-")) + draw(st.text(alphabet="AB#", max_size=2))
    return Template(text)


@settings(max_examples=300, deadline=None)
@given(templates(), st.data())
def test_rendering_is_injective_and_parses_back(template: Template, data: st.DataObject) -> None:
    first = {name: data.draw(TEXT) for name in template.fields}
    second = {name: data.draw(TEXT) for name in template.fields}
    text = template.render(first)
    assert text is not None
    assert template.parse(text) == first
    if first != second:
        assert template.render(second) != text


SMALL = st.text(alphabet=st.sampled_from('#|"AB'), max_size=3)  # collisions are likely, if possible


@settings(max_examples=500, deadline=None)
@given(templates(), templates(), st.data())
def test_templates_said_disjoint_never_collide(one: Template, two: Template, data: st.DataObject) -> None:
    first = one.render({name: data.draw(SMALL) for name in one.fields})
    second = two.render({name: data.draw(SMALL) for name in two.fields})
    if first == second:
        assert one.overlaps(two) and two.overlaps(one)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.sampled_from(string.punctuation), min_size=1, max_size=5), TEXT, TEXT)
def test_escaping_keeps_order_and_prefixes(delimiters: set[str], one: str, two: str) -> None:
    escaping = Escaping(frozenset(delimiters))
    a, b = escaping.escape(one), escaping.escape(two)
    assert not set(a) & delimiters
    assert escaping.unescape(a) == one
    assert (a < b) == (one.encode() < two.encode())  # DynamoDB compares S keys by UTF-8 bytes
    assert escaping.escape(one + two).startswith(a)


def test_keys_of_the_models_own_items_are_refused() -> None:
    class Free(Entity):
        free_id: str
        keys = Keys(pk="{free_id}", sk="FREE")

    with Engine() as engine:
        app = App(Table("free", [Free]), transport=engine)
        create_tables(app)
        with pytest.raises(ModelError, match="reserved"):
            app.put(Free(free_id="_unique#Free#free_id#x")).run()
        with pytest.raises(ModelError, match="reserved"):
            app.delete(Free, free_id="_refs#Other#1").run()
        app.put(Free(free_id="_other")).run()
