"""Referential integrity kept atomically: reference counts, restrict, cascades several levels deep."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import ClassVar

import pytest

from dynamokit import DynamoDBError, Engine
from dynamokit.model import App, CascadeTooLarge, Entity, Index, IntegrityError, Keys, Ref, Table, Transport
from dynamokit.model._schema import create_tables

from .models import Article, Author, Note, sql_app


class Org(Entity):
    org_id: str
    keys = Keys(pk="{org_id}")


class User(Entity):
    user_id: str
    keys = Keys(pk="{user_id}")


class Team(Entity):
    team_id: str
    org_id: str
    keys = Keys(pk="{team_id}", by_org=Index("by_parent", pk="{org_id}", sk="{team_id}"))
    references: ClassVar[Mapping[str, Ref]] = {"org_id": Ref(Org, on_delete="cascade")}


class Member(Entity):
    member_id: str
    team_id: str
    user_id: str
    keys = Keys(
        pk="{member_id}",
        by_team=Index("by_parent", pk="{team_id}", sk="{member_id}"),
        by_user=Index("by_user", pk="{user_id}", sk="{member_id}"),
    )
    references: ClassVar[Mapping[str, Ref]] = {
        "team_id": Ref(Team, on_delete="cascade"),
        "user_id": Ref(User, on_delete="restrict"),
    }


class Badge(Entity):
    badge_id: str
    member_id: str
    keys = Keys(pk="{badge_id}", by_member=Index("by_parent", pk="{member_id}", sk="{badge_id}"))
    references: ClassVar[Mapping[str, Ref]] = {"member_id": Ref(Member, on_delete="restrict")}


def org_app() -> App:
    from dynamokit.model import GSI

    return App(
        Table("orgs", [Org], pk="org_id", sk=None),
        Table("users", [User], pk="user_id", sk=None),
        Table("teams", [Team], sk=None, indexes=[GSI("by_parent")]),
        Table("members", [Member], sk=None, indexes=[GSI("by_parent"), GSI("by_user")]),
        Table("badges", [Badge], sk=None, indexes=[GSI("by_parent")]),
    )


@pytest.fixture
def orgs(transport: Transport) -> App:
    app = org_app().use(transport)
    create_tables(app)
    return app


def seed_org(app: App, org: str = "o1", teams: int = 2, members: int = 3) -> None:
    app.put(Org(org_id=org), create=True).run()
    for u in range(members):
        app.put(User(user_id=f"u{u}")).run()
    for t in range(teams):
        app.put(Team(team_id=f"{org}-t{t}", org_id=org), create=True).run()
        for m in range(members):
            app.put(Member(member_id=f"{org}-t{t}-m{m}", team_id=f"{org}-t{t}", user_id=f"u{m}")).run()


def count(app: App, entity: type[Entity], table: str) -> int:
    items = app.transport.call("Scan", {"TableName": table})["Items"]
    return sum(1 for i in items if i["_type"]["S"] == app.bound(entity).name)


def test_cascade_three_levels_in_one_transaction(orgs: App) -> None:
    seed_org(orgs)
    seed_org(orgs, "o2", teams=1, members=1)
    with orgs.counter() as counter:
        orgs.delete(Org, org_id="o1").run()
    assert counter.operations["TransactWriteItems"] == 1
    assert orgs.get(Org, org_id="o1").run() is None
    assert count(orgs, Team, "teams") == 1 and count(orgs, Member, "members") == 1
    # users lost their members' references: deletable now, except u0 (still a member of o2)
    orgs.delete(User, user_id="u2").run()
    with pytest.raises(IntegrityError, match="Member.user_id"):
        orgs.delete(User, user_id="u0").run()


def test_restrict_anywhere_in_the_cascade_blocks_all_of_it(orgs: App) -> None:
    seed_org(orgs)
    orgs.put(Badge(badge_id="b1", member_id="o1-t1-m2"), create=True).run()
    with pytest.raises(IntegrityError, match=r"Badge\.member_id"):
        orgs.delete(Org, org_id="o1").run()
    assert orgs.get(Org, org_id="o1").run() is not None
    assert count(orgs, Member, "members") == 6  # nothing deleted
    orgs.delete(Badge, badge_id="b1").run()
    orgs.delete(Org, org_id="o1").run()
    assert count(orgs, Member, "members") == 0


def test_cascade_too_large_or_too_deep_is_refused(orgs: App) -> None:
    seed_org(orgs, teams=1, members=1)
    with pytest.raises(CascadeTooLarge, match="deeper than 1 levels"):
        orgs.delete(Org, org_id="o1", max_depth=1).run()
    for m in range(1, 60):
        orgs.put(Member(member_id=f"x{m}", team_id="o1-t0", user_id="u0"), create=True).run()
    with pytest.raises(CascadeTooLarge, match="transaction"):
        orgs.delete(Org, org_id="o1").run()
    assert count(orgs, Member, "members") == 60 and orgs.get(Org, org_id="o1").run() is not None


def test_counts_follow_upserts_updates_and_transactions(sql: App) -> None:
    sql.put(Author(author_id="a1", name="A"), create=True).run()
    sql.put(Author(author_id="a2", name="B"), create=True).run()
    sql.put(Article(article_id="x", author_id="a1", category="c", title="t")).run()
    sql.put(Article(article_id="x", author_id="a2", category="c", title="t2")).run()  # upsert moves it
    sql.delete(Author, author_id="a1").run()
    with pytest.raises(IntegrityError):
        sql.delete(Author, author_id="a2").run()
    sql.put(Author(author_id="a3", name="C"), create=True).run()
    sql.update(Article, article_id="x").set(author_id="a3").run()
    sql.delete(Author, author_id="a2").run()
    with pytest.raises(DynamoDBError), sql.transaction() as tx:  # the counter item's condition refuses it
        tx.delete(Author, author_id="a3")
    with sql.transaction() as tx:
        tx.delete(Article, article_id="x", current={"author_id": "a3"})
    sql.delete(Author, author_id="a3").run()
    assert sql.get(Author, author_id="a3").run() is None


def race(app: App, round_: int, errors: list[BaseException]) -> None:
    """Three writers at once: delete the author; move its article away and back; add a note to it."""
    author, article = f"a{round_}", f"x{round_}"
    start = threading.Barrier(3)

    def delete_author() -> None:
        start.wait()
        with contextlib.suppress(IntegrityError):
            app.delete(Author, author_id=author).run()

    def add_article() -> None:
        start.wait()
        try:
            app.delete(Article, article_id=article).run()  # frees the author...
            again = Article(article_id=f"{article}b", author_id=author, category="c", title="t")
            app.put(again, create=True).run()  # ...and references it again, racing the author's delete
        except DynamoDBError as error:
            if error.code != "TransactionCanceledException":
                errors.append(error)

    def add_note() -> None:
        start.wait()
        try:
            app.put(Note(note_id=f"n{round_}", article_id=article, body="b"), create=True).run()
        except DynamoDBError as error:
            if error.code != "TransactionCanceledException":
                errors.append(error)

    threads = [threading.Thread(target=f) for f in (delete_author, add_article, add_note)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_restrict_and_cascade_hold_under_concurrent_writers() -> None:
    """A child written while its parent is deleted either lands first (and blocks or joins the delete)
    or fails its reference check: never an orphan."""
    with Engine() as engine:
        app = sql_app().use(engine)
        create_tables(app)
        errors: list[BaseException] = []
        outcomes = set()
        for round_ in range(25):
            author, article = f"a{round_}", f"x{round_}"
            app.put(Author(author_id=author, name="n"), create=True).run()
            app.put(Article(article_id=article, author_id=author, category="c", title="t"), create=True).run()
            race(app, round_, errors)
            assert not errors
            author_exists = app.get(Author, author_id=author).consistent().run() is not None
            outcomes.add(author_exists)
            for name in (article, f"{article}b"):
                written = app.get(Article, article_id=name).consistent().run()
                assert written is None or author_exists, f"orphan article {name}"
            note = app.get(Note, note_id=f"n{round_}").consistent().run()
            if note is not None:
                assert app.get(Article, article_id=note.article_id).consistent().run() is not None
