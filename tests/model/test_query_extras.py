"""Partial sort-key values, batch loads keeping timestamps, the catalogue at any width, filter warnings."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from dynamokit import Engine
from dynamokit.model import (
    GSI,
    App,
    Entity,
    Index,
    Keys,
    Options,
    Pattern,
    Table,
    UnboundedFilterWarning,
    attr,
)
from dynamokit.model._cli import model
from dynamokit.model._schema import create_tables


class Member(Entity):
    team: str
    first_name: str
    member_id: str
    role: str = "dev"
    updated_at: dt.datetime | None = None
    keys = Keys(
        pk="TEAM#{team}",
        sk="MEMBER#{first_name}#{member_id}",
        by_role=Index("gsi1", pk="ROLE#{role}"),
    )
    options = Options(updated="updated_at")


def long_app() -> App:
    class Shipment(Entity):
        warehouse_region: str
        warehouse_id: str
        shipment_id: str
        carrier: str
        keys = Keys(
            pk="WAREHOUSE#{warehouse_region}#{warehouse_id}",
            sk="SHIPMENT#{carrier}#{shipment_id}",
            by_carrier=Index(
                "gsi1",
                pk="CARRIER#{carrier}#REGION#{warehouse_region}",
                sk="WAREHOUSE#{warehouse_id}#SHIPMENT#{shipment_id}",
            ),
        )

    return App(
        Table("logistics", [Shipment], indexes=[GSI("gsi1")]),
        patterns=[Pattern("by_carrier", Shipment, by=("carrier", "warehouse_region"))],
    )


@pytest.fixture
def app() -> Iterator[App]:
    with Engine() as engine:
        built = App(
            Table("teams", [Member], indexes=[GSI("gsi1", sk=None)]),
            patterns=[Pattern("members", Member, by=("team",)), Pattern("by_role", Member, by=("role",))],
            transport=engine,
        )
        create_tables(built)
        for number, name in enumerate(["John", "Joan", "Jo", "Mary", "J#o"]):
            built.put(Member(team="t", first_name=name, member_id=str(number))).run()
        yield built


def test_begins_takes_a_partial_value(app: App) -> None:
    names = lambda query: sorted(m.first_name for m in query.all())
    assert names(app.members(team="t").begins(first_name="Jo")) == ["Jo", "Joan", "John"]
    assert names(app.members(team="t").begins_with(first_name="Jo")) == ["Jo"]  # a whole value
    assert names(app.members(team="t").begins(first_name="J#")) == ["J#o"]  # escaped like stored keys
    assert names(app.members(team="t").begins(first_name="Jo", member_id="2")) == [
        "Jo"
    ]  # whole, then partial
    assert names(app.members(team="t").begins(first_name="Jo", member_id="1")) == []  # Joan is not "Jo"
    assert app.members(team="t").begins(first_name="Jo").params()["ExpressionAttributeValues"][":v1"] == {
        "S": "MEMBER#Jo"
    }


def test_batch_write_keeps_an_explicit_updated_at(app: App) -> None:
    then = dt.datetime(2020, 5, 1, tzinfo=dt.UTC)
    app.batch_write(
        [
            Member(team="u", first_name="Old", member_id="9", updated_at=then),
            Member(team="u", first_name="New", member_id="8"),
        ]
    )
    assert app.get(Member, team="u", first_name="Old", member_id="9").run().updated_at == then
    fresh = app.get(Member, team="u", first_name="New", member_id="8").run().updated_at
    assert fresh is not None and fresh > then


def test_model_show_prints_whole_templates() -> None:
    result = CliRunner().invoke(model, ["show", "tests.model.test_query_extras:long_app"])
    assert result.exit_code == 0, result.output
    for text in (
        "WAREHOUSE#{warehouse_region}#{warehouse_id}",
        "CARRIER#{carrier}#REGION#{warehouse_region} / WAREHOUSE#{warehouse_id}#SHIPMENT#{shipment_id}",
        'gsi1pk = "CARRIER#{carrier}#REGION#{warehouse_region}" AND begins_with(gsi1sk, "WAREHOUSE#")',
    ):
        assert text in result.output
    assert "…" not in result.output


def test_a_filter_over_an_unbounded_sort_key_warns(app: App) -> None:
    with pytest.warns(UnboundedFilterWarning, match="reads the whole partition 'TEAM#t'"):
        app.members(team="t").where(attr("role") == "dev").all()
    with pytest.warns(UnboundedFilterWarning):
        app.by_role(role="dev").where(attr("team") == "t").page()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app.members(team="t").begins(first_name="Jo").where(attr("role") == "dev").all()
        app.members(team="t").between({"first_name": "A"}, {"first_name": "K"}).where(
            attr("role") == "dev"
        ).all()
        app.members(team="t").all()  # no filter
