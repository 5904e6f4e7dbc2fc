"""Patterns 2 and 4 through the same plan/run/status: faux-SQL's new GSI over attributes the items already
hold (DynamoDB backfills it, its WCU metered by the engine), and the microservice's new view built by the
gapless stream backfill while a writer goes on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from dynamokit import Engine
from dynamokit.model import GSI, App, Entity, Index, Keys, Options, Pattern, Table, Transport, from_item
from dynamokit.model._schema import create_tables
from dynamokit.model.migrations import (
    AddIndex,
    BuildView,
    ChangeIndex,
    Migration,
    MigrationError,
    plan,
    run,
    status,
)
from dynamokit.streams import Change, StreamProcessor, View, backfill


class CommentV1(Entity):
    comment_id: str
    post_id: str
    author_id: str
    created: str
    body: str
    keys = Keys(pk="{comment_id}", by_post=Index("by_post", pk="{post_id}", sk="{created}#{comment_id}"))
    options = Options(name="comment")


class Comment(CommentV1):
    keys = Keys(
        pk="{comment_id}",
        by_post=Index("by_post", pk="{post_id}", sk="{created}#{comment_id}"),
        by_user=Index("by_user", pk="{author_id}", sk="{created}"),
    )


def sql_v1() -> App:
    return App(Table("comments", [CommentV1], pk="comment_id", sk=None, indexes=[GSI("by_post")]))


def sql_v2() -> App:
    return App(
        Table(
            "comments",
            [Comment],
            pk="comment_id",
            sk=None,
            indexes=[GSI("by_post"), GSI("by_user", pk="author_id", sk="created")],
        ),
        patterns=[Pattern("user_comments", Comment, by=("author_id",), key="by_user")],
        migrations=[Migration(1, 2, [AddIndex(Comment, "by_user")], "a user's comments")],
    )


def comment(i: int, prefix: str = "c") -> CommentV1:
    return CommentV1(
        comment_id=f"{prefix}{i:05d}", post_id=f"p{i % 7}", author_id=f"u{i % 5}",
        created=f"2024-05-{1 + i % 28:02d}T00:00:{i % 60:02d}#{prefix}{i:05d}", body=f"comment {i}",
    )  # fmt: skip


def test_faux_sql_a_new_gsi_is_backfilled_by_dynamodb_nothing_rewritten(transport: Transport) -> None:
    old = sql_v1().use(transport)
    create_tables(old)
    old.batch_write([comment(i) for i in range(300)])
    app = sql_v2().use(transport)
    planned = str(plan(app, count=True))
    assert "items to rewrite: none (no stored item of this table changes)" in planned
    assert "UpdateTable: create GSI 'by_user' and wait until it is ACTIVE" in planned
    assert "GSI 'by_user' backfill by DynamoDB (nothing rewritten): 300 items (counted), ~300 WCU" in planned
    assert "access pattern 'user_comments' is incomplete until GSI 'by_user' is ACTIVE" in planned
    writer = app.use(transport)
    done = run(app, segments=2)
    writer.put(Comment(**comment(300).model_dump()), create=True).run()  # the new model writes meanwhile
    table = done.tables[0]
    assert table.indexes == ["by_user"] and table.progress is None  # nothing rewritten, no Scan
    if isinstance(transport, Engine):  # each comment < 1 KB: one write unit per entry the backfill copied
        assert table.index_wcu == {"by_user": 300.0}
        assert "GSI 'by_user' backfill by DynamoDB: 300 WCU (metered by the engine)" in str(done)
    else:
        assert table.index_wcu == {"by_user": None} and "OnlineIndexConsumedWriteCapacity" in str(done)
    for author in range(5):
        found = [c.comment_id for c in app.query("user_comments", author_id=f"u{author}").all()]
        expected = sorted((comment(i) for i in range(301) if i % 5 == author), key=lambda c: c.created)
        assert found == [c.comment_id for c in expected]
    assert str(status(app)[0]).startswith("comments: stored v2, App v2; run v1->v2 finished")
    assert "nothing to do" in str(run(app))


class Post(Entity):
    post_id: str
    title: str
    keys = Keys(pk="POST#{post_id}", sk="POST")
    options = Options(name="post")


class PostComment(Entity):
    post_id: str
    comment_id: str
    author_id: str
    body: str
    keys = Keys(pk="POST#{post_id}", sk="COMMENT#{comment_id}")
    options = Options(name="post_comment")


class Card(Entity):
    """The reader service's existing view."""

    post_id: str
    title: str
    keys = Keys(pk="CARD#{post_id}", sk="CARD")
    options = Options(name="card")


class UserLine(Entity):
    """The new view: a user's comments."""

    author_id: str
    comment_id: str
    post_id: str
    body: str
    keys = Keys(pk="USER#{author_id}", sk="COMMENT#{comment_id}")
    options = Options(name="user_line")


def posts_app() -> App:
    return App(Table("ms_posts", [Post, PostComment], stream="NEW_AND_OLD_IMAGES"))


def timeline(transport: Transport) -> StreamProcessor:
    """The new view's handler: version-guarded upserts, so scan and stream merge."""
    view, lines = View(transport, "ms_views"), views_app(1)
    processor = StreamProcessor(posts_app(), ordering="per_key")

    @processor.on(PostComment)
    def changed(change: Change[PostComment]) -> None:
        assert change.item is not None
        line = UserLine(**change.item.model_dump(include=set(UserLine.model_fields)))
        item = from_item(lines.bound(UserLine).item(line))
        key = {"pk": item.pop("pk"), "sk": item.pop("sk")}
        if change.new is None:
            view.delete(key, change.version)
        else:
            view.upsert(key, item, change.version)

    return processor


def views_app(version: int) -> App:
    if version == 1:
        return App(Table("ms_views", [Card, UserLine]))
    return App(
        Table("ms_views", [Card, UserLine]),
        patterns=[Pattern("user_comments", UserLine, by=("author_id",))],
        migrations=[
            Migration(1, 2, [BuildView(UserLine, "ms_posts", timeline, segments=2)], "user comments")
        ],
    )


def test_microservice_a_new_view_is_built_by_the_stream_backfill_while_a_writer_goes_on() -> None:
    with Engine() as engine:
        source = posts_app().use(engine)
        create_tables(source)
        create_tables(views_app(1).use(engine))
        source.batch_write([Post(post_id=f"p{n}", title=f"post {n}") for n in range(10)])
        source.batch_write([
            PostComment(post_id=f"p{i % 10}", comment_id=f"c{i:05d}", author_id=f"u{i % 4}", body=f"b{i}")
            for i in range(600)
        ])  # fmt: skip
        app = views_app(2).use(engine)
        planned = str(plan(app))
        assert "ms_views: model version 1 -> 2" in planned and "items to rewrite: none" in planned
        assert "view 'user_line' from table 'ms_posts': read 610 items" in planned
        assert "up to 610 view writes" in planned
        assert "access pattern 'user_comments' is incomplete until the view is built" in planned
        assert "view 'user_line' not started" in str(status(app)[0])
        written: list[PostComment] = []
        stop = threading.Event()

        def writer() -> None:
            n = 0
            while not stop.is_set() or n < 50:
                new = PostComment(
                    post_id=f"p{n % 10}", comment_id=f"w{n:05d}", author_id=f"u{n % 4}", body="new"
                )
                source.put(new).run()
                written.append(new)
                n += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            done = run(app)
        finally:
            stop.set()
            thread.join()
        built = done.tables[0].views[0]
        assert built.name == "user_line" and built.scanned >= 610 and built.writes >= 600
        assert "view 'user_line' ready" in str(done) and "view 'user_line' ready" in str(status(app)[0])
        backfill(
            engine, "ms_posts", timeline(engine), name="ms_posts->user_line"
        )  # the live reader catches up
        for author in range(4):
            expected = sorted(
                [f"c{i:05d}" for i in range(600) if i % 4 == author]
                + [c.comment_id for c in written if c.author_id == f"u{author}"]
            )
            found = [line.comment_id for line in app.query("user_comments", author_id=f"u{author}").all()]
            assert found == expected
        assert "nothing to do" in str(run(app))


def test_building_a_view_needs_the_embedded_engine(moto_url: str) -> None:
    from dynamokit.model import BotoTransport

    from .conftest import boto_client

    transport = BotoTransport(boto_client(moto_url))
    create_tables(posts_app().use(transport))
    create_tables(views_app(1).use(transport))
    with pytest.raises(Exception, match="building view 'user_line' reads table 'ms_posts''s stream"):
        run(views_app(2).use(transport))
    for name in ("ms_posts", "ms_views", "dynamokit_migrations"):
        transport.call("DeleteTable", {"TableName": name})


class Stamped(Entity):
    comment_id: str
    author_id: str
    created: datetime
    keys = Keys(pk="{comment_id}")
    options = Options(name="stamped")


class StampedV2(Stamped):
    keys = Keys(pk="{comment_id}", by_user=Index("by_user", pk="{author_id}", sk="{created}"))
    options = Options(name="stamped")


def test_a_new_gsi_over_attributes_stored_in_another_form_is_refused_naming_the_fix() -> None:
    """A datetime field is stored as '...+00:00' but written as a key in '...Z': DynamoDB would index both."""
    with Engine() as engine:
        old = App(Table("stamps", [Stamped], pk="comment_id", sk=None)).use(engine)
        create_tables(old)
        old.put(Stamped(comment_id="c1", author_id="u1", created=datetime(2024, 5, 1, 12, tzinfo=UTC))).run()

        def v2(*changes: AddIndex | ChangeIndex) -> App:
            table = Table("stamps", [StampedV2], pk="comment_id", sk=None,
                          indexes=[GSI("by_user", pk="author_id", sk="created")])  # fmt: skip
            return App(table, migrations=[Migration(1, 2, list(changes))]).use(engine)

        with pytest.raises(MigrationError, match=r"stamped.by_user: stored items hold .* another form .* "
                                                 r"declare ChangeIndex\(StampedV2, 'by_user'\) too"):  # fmt: skip
            plan(v2(AddIndex(StampedV2, "by_user")))
        both = v2(AddIndex(StampedV2, "by_user"), ChangeIndex(StampedV2, "by_user"))
        assert run(both).tables[0].progress.migrated == 1  # type: ignore[union-attr]
