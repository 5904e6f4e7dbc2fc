"""Numeric GSI sort keys: `GSI(..., sk_type="N")` stores an int field as N, so it sorts as a number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dynamokit.model import GSI, App, Entity, Index, Keys, ModelError, Pattern, Table, Transport
from dynamokit.model._schema import create_table_request, create_tables, terraform


class Score(Entity):
    player: str
    game: str
    points: int | None = None
    keys = Keys(
        pk="PLAYER#{player}", sk="GAME#{game}", by_points=Index("ranked", pk="GAME#{game}", sk="{points}")
    )


class Bonus(Entity):
    bonus_id: str
    game: str
    amount: Decimal
    keys = Keys(pk="BONUS#{bonus_id}", sk="BONUS", by_amount=Index("ranked", pk="GAME#{game}", sk="{amount}"))


def scores_app() -> App:
    return App(
        Table("scores", [Score, Bonus], indexes=[GSI("ranked", sk_type="N")]),
        patterns=[Pattern("leaderboard", Score, by=("game",)), Pattern("bonuses", Bonus, by=("game",))],
    )


def test_numeric_sort_keys_sort_and_range_as_numbers(transport: Transport) -> None:
    app = scores_app().use(transport)
    create_tables(app)
    for player, points in [("a", -5), ("b", 100), ("c", 9), ("d", 10**20), ("e", 0)]:
        app.put(Score(player=player, game="g", points=points)).run()
    app.put(Score(player="f", game="g")).run()  # no points: not in the sparse index
    ranked = app.query("leaderboard", game="g").all()
    assert [s.points for s in ranked] == [-5, 0, 9, 100, 10**20]
    assert [s.player for s in app.query("leaderboard", game="g").reverse().limit(2).all()] == ["d", "b"]
    assert [s.points for s in app.query("leaderboard", game="g").gt(points=0).all()] == [9, 100, 10**20]
    assert [s.points for s in app.query("leaderboard", game="g").le(points=9).all()] == [-5, 0, 9]
    assert [
        s.points for s in app.query("leaderboard", game="g").between({"points": 0}, {"points": 100}).all()
    ] == [
        0,
        9,
        100,
    ]
    assert [s.player for s in app.query("leaderboard", game="g").eq(points=9).all()] == ["c"]
    app.update(Score, player="c", game="g").set(points=1000).run()  # the N key is rewritten as a number
    assert [s.points for s in app.query("leaderboard", game="g").all()][-2:] == [1000, 10**20]
    app.update(Score, player="c", game="g").set(points=None).run()  # and removed
    assert "c" not in {s.player for s in app.query("leaderboard", game="g").all()}
    app.put(Bonus(bonus_id="x", game="g", amount=Decimal("2.5"))).run()
    app.put(Bonus(bonus_id="y", game="g", amount=Decimal("-0.25"))).run()
    assert [b.amount for b in app.query("bonuses", game="g").all()] == [Decimal("-0.25"), Decimal("2.5")]


def test_numeric_sort_key_definitions() -> None:
    request = create_table_request(scores_app().tables["scores"])
    assert {"AttributeName": "rankedsk", "AttributeType": "N"} in request["AttributeDefinitions"]
    assert 'name = "rankedsk"\n    type = "N"' in terraform(scores_app())

    class Bad(Entity):
        player: str
        name: str
        keys = Keys(pk="{player}", sk="X", by_name=Index("ranked", pk="{player}", sk="N#{name}"))

    with pytest.raises(ModelError, match="numeric sort key"):
        App(Table("t", [Bad], indexes=[GSI("ranked", sk_type="N")]))
