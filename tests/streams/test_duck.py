"""DuckDBSink: single-table items normalised into typed relations per entity, extended as fields appear."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from dynamokit.model import GSI, App, Entity, Index, Keys, Options, Table
from dynamokit.streams import DuckDBSink
from dynamokit.streams._changes import Change, Kind, build
from dynamokit.streams._sinks.duck import column_type, safe_name


class Author(Entity):
    author_id: str
    name: str
    keys = Keys(pk="AUTHOR#{author_id}", sk="AUTHOR", by_name=Index("gsi1", pk="NAME#{name}", sk="{author_id}"))
    options = Options(name="author")


class Post(Entity):
    post_id: str
    title: str
    likes: int = 0
    score: float = 0.0
    price: Decimal = Decimal(0)
    live: bool = True
    created: dt.datetime
    day: dt.date
    tags: frozenset[str] = frozenset()
    meta: dict[str, Any] = Field(default_factory=dict)
    rank: int | None = None
    keys = Keys(pk="POST#{post_id}", sk="POST")
    options = Options(name="post")


blog = App(Table("blog", [Author, Post], indexes=[GSI("gsi1")]))
CREATED = dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def post(post_id: str = "p1", **values: Any) -> Post:
    return Post(post_id=post_id, title=values.pop("title", "Hello"), created=CREATED, day=dt.date(2025, 3, 1),
                **values)


def change(entity: Entity, version: int, kind: Kind = "insert", plain: bool = False) -> Change[Any]:
    """The change a stream record of `entity` decodes to: with the entity, or (plain) its wire image alone."""
    bound = blog.bound(type(entity))
    item = bound.item(entity)
    keys = {name: item[name] for name in ("pk", "sk")}
    old, new = (item, None) if kind == "delete" else (None, item)
    return build(kind, "blog", keys, old, new, sequence_number=None, created_at=1.0, event_id=f"e{version}",
                 version=version, app=None if plain else blog)


def columns(sink: DuckDBSink, relation: str) -> dict[str, str]:
    return {name: kind for name, kind, *_ in sink.query(f"DESCRIBE {relation}")}


def test_entities_get_typed_relations_from_their_model() -> None:
    sink = DuckDBSink()
    rich = post(likes=3, score=0.5, price=Decimal("1.25"), tags=frozenset({"a"}), meta={"k": [1]})
    sink.write([change(rich, 1), change(Author(author_id="a1", name="Ann"), 2)])
    assert columns(sink, "current_post") == {
        "_doc_id": "VARCHAR", "_version": "DECIMAL(38,1)", "_created_at": "DOUBLE", "post_id": "VARCHAR",
        "title": "VARCHAR", "likes": "BIGINT", "score": "DOUBLE", "price": "DECIMAL(38,10)",
        "live": "BOOLEAN", "created": "TIMESTAMP", "day": "DATE", "tags": "JSON", "meta": "JSON",
        "rank": "BIGINT"}
    row = sink.query("SELECT post_id, title, likes, score, price, live, created, day, tags, meta, rank "
                     "FROM current_post")
    assert row == [("p1", "Hello", 3, 0.5, Decimal("1.25"), True, dt.datetime(2025, 3, 1, 10, 30),
                    dt.date(2025, 3, 1), '["a"]', '{"k":[1]}', None)]
    # pk, sk, the GSI keys and the type marker are not columns
    assert list(columns(sink, "current_author"))[3:] == ["author_id", "name"]
    assert list(columns(sink, "changes_author"))[:4] == ["_doc_id", "_version", "_kind", "_created_at"]
    assert sink.entities() == {"post": "post", "author": "author"}


def test_an_app_types_plain_images_and_hides_key_attributes() -> None:
    sink = DuckDBSink(app=blog)
    sink.write([change(post(likes=7), 1, plain=True), change(Author(author_id="a1", name="Ann"), 2, plain=True)])
    assert list(columns(sink, "current_author"))[3:] == ["author_id", "name"]
    assert sink.query("SELECT likes, created FROM current_post") == [(7, dt.datetime(2025, 3, 1, 10, 30))]
    untyped = DuckDBSink()  # without the App: columns inferred from the image, keys and marker included
    untyped.write([change(Author(author_id="a1", name="Ann"), 2, plain=True)])
    assert set(columns(untyped, "current_author")) >= {"pk", "sk", "gsi1pk", "_type", "name"}
    assert columns(untyped, "current_author")["name"] == "VARCHAR"


def test_history_deletes_and_redelivery() -> None:
    sink = DuckDBSink()
    first, second = post(title="one"), post(title="two")
    assert sink.write([change(first, 1), change(second, 2, "update"), change(post("p2"), 3)]) == 3
    assert sink.write([change(second, 2, "update"), change(post("p2"), 4, "delete")]) == 1
    assert sink.query("SELECT post_id, title FROM current_post") == [("p1", "two")]
    assert sink.query("SELECT _kind, post_id, title FROM changes_post ORDER BY _version") == [
        ("insert", "p1", "one"), ("update", "p1", "two"), ("insert", "p2", "Hello"), ("delete", "p2", "Hello")]


def test_inferred_columns_extend_and_persist(tmp_path: Path) -> None:
    path = str(tmp_path / "a.duckdb")
    sink = DuckDBSink(path)
    event = Change("insert", "click", None, {"page": "/", "n": 1}, {"pk": "c1"}, None, 1.0, "e1", "log", 1)
    sink.write([event])
    assert list(columns(sink, "current_click"))[3:] == ["page", "n"]
    later = Change("insert", "click", None, {"page": "/a", "tags": ["x"], "N": 5}, {"pk": "c2"}, None, 2.0,
                   "e2", "log", 2)
    sink.write([later])  # a new field extends the relations; "N" clashes with "n" (DuckDB folds case)
    assert columns(sink, "current_click") == {"_doc_id": "VARCHAR", "_version": "DECIMAL(38,1)",
                                                    "_created_at": "DOUBLE", "page": "VARCHAR", "n": "VARCHAR",
                                                    "tags": "JSON"}
    assert sink.query("SELECT page, n, tags FROM current_click ORDER BY page") == [("/", "1", None),
                                                                                   ("/a", None, '["x"]')]
    sink.close()
    reopened = DuckDBSink(path)
    reopened.write([Change("insert", "click", None, {"page": "/b", "ref": "mail"}, {"pk": "c3"}, None, 3.0,
                           "e3", "log", 3)])
    assert list(columns(reopened, "changes_click"))[4:] == ["page", "n", "tags", "ref"]
    assert reopened.query("SELECT count(*) FROM changes_click") == [(3,)]
    reopened.close()


def test_entity_names_that_are_not_identifiers() -> None:
    assert safe_name("post") == "post"
    assert safe_name("Blog Post") != safe_name("blog_post") and safe_name("Blog Post").startswith("blog_post_")
    sink = DuckDBSink()
    for n, name in enumerate(["Blog Post", "blog-post", "x'; DROP TABLE changes; --"]):
        sink.write([Change("insert", name, None, {"n": n}, {"pk": "k"}, None, 1.0, f"e{n}", "t", 1)])
    names = sink.entities()
    assert len(set(names.values())) == 3
    for n, name in enumerate(["Blog Post", "blog-post", "x'; DROP TABLE changes; --"]):
        assert sink.query(f"SELECT n FROM current_{names[name]}") == [(str(n),)]
    assert sink.query("SELECT count(*) FROM changes") == [(3,)]


def test_entity_view_declares_fields() -> None:
    sink = DuckDBSink()
    sink.write([Change("insert", "post", None, {"title": "a"}, {"pk": "p1"}, None, 1.0, "e1", "blog", 1)])
    assert sink.entity_view("post", ["title", "views"]) == "current_post"
    assert sink.query("SELECT title, views FROM current_post") == [("a", None)]


def test_export_parquet_one_file_per_entity(tmp_path: Path) -> None:
    sink = DuckDBSink()
    sink.write([change(post(), 1), change(post("p2"), 2), change(Author(author_id="a1", name="Ann"), 3)])
    out = tmp_path / "export"
    out.mkdir()
    files = sink.export_parquet(str(out))
    assert sorted(Path(f).name for f in files) == ["author.parquet", "post.parquet"]
    assert sink.query(f"SELECT count(*), max(likes) FROM '{out / 'post.parquet'}'") == [(2, 0)]
    single = str(tmp_path / "current.parquet")
    assert sink.export_parquet(single) == [single]
    assert sink.query(f"SELECT count(*) FROM '{single}'") == [(3,)]
    with pytest.raises(ValueError):
        sink.export_parquet(single, "current; DROP TABLE changes")


@pytest.mark.parametrize(("annotation", "expected"), [
    (str, "VARCHAR"), (int, "BIGINT"), (bool, "BOOLEAN"), (float, "DOUBLE"), (Decimal, "DECIMAL(38, 10)"),
    (dt.datetime, "TIMESTAMP"), (dt.date, "DATE"), (int | None, "BIGINT"), (list[str], "JSON"),
    (dict[str, int], "JSON"), (Author, "JSON"), (int | str, "JSON")])
def test_column_types(annotation: Any, expected: str) -> None:
    assert column_type(annotation) == expected
