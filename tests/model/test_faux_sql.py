"""Faux-SQL: one table per entity, references with integrity, batched includes (no N+1), delete rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest

from dynamokit import DynamoDBError
from dynamokit.model import App, Entity, IntegrityError, Keys, ModelError, Ref, Table

from .models import Article, Author, Note


def seed(app: App) -> None:
    for i in range(10):
        app.put(Author(author_id=f"a{i}", name=f"Author {i}"), create=True).run()
        app.put(
            Article(article_id=f"x{i}", author_id=f"a{i}", category="db", title=f"T{i}"), create=True
        ).run()


def test_ten_posts_with_their_authors_cost_two_requests(sql: App) -> None:
    seed(sql)
    with sql.counter() as counter:
        page = sql.articles_in_category(category="db").include("author_id").page()
    assert counter.requests == 2 and counter.operations == {"Query": 1, "BatchGetItem": 1}
    assert len(page.items) == 10
    for article in page.items:
        author = page.ref(article, "author_id")
        assert isinstance(author, Author) and author.author_id == article.author_id


def test_references_are_checked_in_the_same_write(sql: App) -> None:
    seed(sql)
    with sql.counter() as counter:
        sql.put(Note(note_id="n1", article_id="x1", body="ok")).run()
    assert counter.operations == {"TransactWriteItems": 1}
    with pytest.raises(DynamoDBError) as error:
        sql.put(Note(note_id="n2", article_id="ghost", body="dangling")).run()
    assert error.value.code == "TransactionCanceledException"
    assert sql.get(Note, note_id="n2").run() is None
    with pytest.raises(DynamoDBError):
        sql.update(Article, article_id="x1").set(author_id="nobody").run()
    moved = sql.update(Article, article_id="x1").set(author_id="a2").run()
    assert moved.author_id == "a2"


def test_delete_restrict_and_cascade(sql: App) -> None:
    seed(sql)
    sql.put(Note(note_id="n1", article_id="x1", body="a")).run()
    sql.put(Note(note_id="n2", article_id="x1", body="b")).run()
    with pytest.raises(IntegrityError, match="Article.author_id|article.author_id|Article"):
        sql.delete(Author, author_id="a1").run()
    sql.delete(Article, article_id="x1").run()  # cascades to its notes
    assert sql.get(Note, note_id="n1").run() is None and sql.get(Note, note_id="n2").run() is None
    sql.delete(Author, author_id="a1").run()  # no longer referenced
    assert sql.get(Author, author_id="a1").run() is None
    assert sql.notes_on_article(article_id="x1").all() == []


def test_reference_that_needs_a_scan_is_rejected() -> None:
    class Owner(Entity):
        owner_id: str
        keys = Keys(pk="{owner_id}")

    class Pet(Entity):
        pet_id: str
        owner_id: str
        keys = Keys(pk="{pet_id}")
        references: ClassVar[Mapping[str, Ref]] = {"owner_id": Ref(Owner)}

    with pytest.raises(ModelError, match="without a Scan"):
        App(Table("owners", [Owner], pk="owner_id", sk=None), Table("pets", [Pet], pk="pet_id", sk=None))
