"""Pattern 4, true microservice: a write-side table whose stream feeds a reader service.

The posts service owns `ms_posts` (single-table, stream on) and keeps only what its own writes need. The
reader service is a `dynamokit.streams.StreamProcessor` (deployable to Lambda as is) fed by a `LocalRunner`
(Lambda's event source mapping, locally). Its handlers keep purpose-built views in its own table
`ms_views` with `View` — a post page with its exact comment count, author feeds and top posts (sparse GSIs
over the post cards), comments per day (exact counters), each one Query — plus full-text search
(`FtsSink`, SQLite FTS5) and analytics (`DuckDBSink`, when `dynamokit[analytics]` is installed). View writes are version-guarded by the stream
sequence number and counters count each stream event once, so redelivered or retried batches change
nothing. The reader never reads the posts service's table; reads lag writes by the view lag.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from dynamokit import Engine
from dynamokit.model import (
    GSI,
    App,
    Collection,
    Entity,
    Index,
    Keys,
    Options,
    Pattern,
    Table,
    Transport,
    create_tables,
    from_item,
)
from dynamokit.model.migrations import BuildView, Migration
from dynamokit.streams import (
    Change,
    FtsSink,
    LocalRunner,
    Metrics,
    StreamProcessor,
    StreamSource,
    View,
)

try:  # analytics needs DuckDB, an extra: pip install 'dynamokit[analytics]'
    from dynamokit.streams import DuckDBSink
except ImportError:
    DuckDBSink = None  # type: ignore[assignment,misc]

from . import data
from .api import (
    FEED_SIZE,
    Adapted,
    CommentView,
    PostPage,
    ProgressFn,
    Remnants,
    UserComment,
    migrate,
    newest_first,
)

POSTS_TABLE, VIEWS_TABLE = "ms_posts", "ms_views"


# -- the posts service: the write side -------------------------------------------------------------------
class Author(Entity):
    author_id: str
    name: str
    keys = Keys(pk="AUTHOR#{author_id}", sk="AUTHOR")
    options = Options(name="author")


class Post(Entity):
    post_id: str
    author_id: str
    author_name: str
    title: str
    body: str
    tags: frozenset[str] = frozenset()
    created: dt.datetime
    likes: int = 0
    keys = Keys(pk="POST#{post_id}", sk="POST")
    options = Options(name="post")


class Comment(Entity):
    comment_id: str
    post_id: str
    author_id: str
    author_name: str
    body: str
    created: dt.datetime
    day: str
    keys = Keys(pk="POST#{post_id}", sk="COMMENT#{created}#{comment_id}")
    options = Options(name="comment")


class Like(Entity):
    post_id: str
    user_id: str
    created: dt.datetime
    keys = Keys(pk="POST#{post_id}", sk="LIKE#{user_id}")
    options = Options(name="like")


POST_ITEMS = Collection("post_items", {"post": Post, "comments": list[Comment], "likes": list[Like]})


def posts_app(table: str = POSTS_TABLE) -> App:
    """The write model: no secondary indexes, every read the blog serves comes from the reader's views."""
    return App(
        Table(table, [Author, Post, Comment, Like], stream="NEW_AND_OLD_IMAGES"), collections=[POST_ITEMS]
    )


# -- the reader service: its own table of views ----------------------------------------------------------
class PostCard(Entity):
    """A live post as pages, feeds and the top list show it (a tombstone once the post is deleted, which
    carries no GSI keys, so deleted posts drop out of the feeds by themselves)."""

    post_id: str
    author_id: str
    author_name: str
    title: str
    tags: frozenset[str] = frozenset()
    created: dt.datetime
    likes: int
    keys = Keys(
        pk="POST#{post_id}",
        sk="POST",
        by_author=Index("gsi1", pk="FEED#{author_id}", sk="POST#{created}"),
        by_likes=Index("gsi2", pk="TOP", sk="{likes:8}#{post_id}"),
    )
    options = Options(name="post_card")


class CommentLine(Entity):
    """A comment on its post's page, in the post's partition of the view table."""

    post_id: str
    comment_id: str
    author_name: str
    body: str
    created: dt.datetime
    keys = Keys(pk="POST#{post_id}", sk="COMMENT#{created}#{comment_id}")
    options = Options(name="comment_line")


class UserCommentLine(Entity):
    """The product change's view: a comment in its author's timeline, newest last in the partition."""

    author_id: str
    comment_id: str
    post_id: str
    body: str
    created: dt.datetime
    keys = Keys(pk="USER#{author_id}", sk="COMMENT#{created}#{comment_id}")
    options = Options(name="user_comment_line")


FEED = Pattern("feed", PostCard, by=("author_id",))
TOP = Pattern("top", PostCard, by=(), key="by_likes")
COUNTER = "comments"  # the counter attribute of the comment-count and comments-per-day items


def timeline(transport: Transport) -> StreamProcessor:
    """The product change's view builder: the posts service's comments into users' timelines."""
    processor = StreamProcessor(posts_app(), ordering="per_key")
    processor.on(Comment)(Timeline(transport).comment_changed)
    return processor


MIGRATIONS = [
    Migration(1, 2, [BuildView(UserCommentLine, POSTS_TABLE, timeline, segments=2)], "a user's comments")
]


def views_app(table: str = VIEWS_TABLE, version: int = 1) -> App:
    """The reader's views as shipped (version 1), or after the product change adds users' timelines."""
    return App(
        Table(table, [PostCard, CommentLine, UserCommentLine], indexes=[GSI("gsi1"), GSI("gsi2")]),
        patterns=[FEED, TOP],
        migrations=MIGRATIONS if version == 2 else (),
    )


def post_count_key(post_id: str) -> dict[str, str]:
    """The exact comment count of a post: next to its card, so the post page is one Query."""
    return {"pk": f"POST#{post_id}", "sk": "COUNT"}


def day_count_key(day: str) -> dict[str, str]:
    """The number of comments written on a day (ISO date); the days of a range are one Query."""
    return {"pk": "STATS", "sk": f"DAY#{day}"}


class Reader:
    """The reader service's stream handlers: a StreamProcessor over the posts service's changes whose
    handlers write the views (View), the search index (FtsSink) and the analytics rows (DuckDBSink)."""

    def __init__(self, transport: Transport, search: FtsSink, analytics: DuckDBSink | None) -> None:
        self.views = views_app().use(transport)
        self.view = View(transport, VIEWS_TABLE)
        self.search, self.analytics = search, analytics
        self.processor = StreamProcessor(posts_app(), ordering="per_key")
        self.processor.on(Post)(self.post_changed)
        self.processor.on(Comment)(self.comment_changed)
        # What the analysts ask about: each batch's applied changes, in one DuckDB transaction (a failure
        # there fails the batch; the retry finds the views already written).
        if analytics is not None:
            self.processor.sink(analytics, Post, Comment)
        self.lambda_handler = self.processor.lambda_handler  # what the event source mapping invokes

    def _split(self, entity: Entity) -> tuple[dict[str, Any], dict[str, Any]]:
        """A view entity as View takes it: its primary key, and its attributes (GSI keys included)."""
        item = from_item(self.views.bound(type(entity)).item(entity))
        return {"pk": item.pop("pk"), "sk": item.pop("sk")}, item

    def post_changed(self, change: Change[Post]) -> None:
        post = change.item
        assert post is not None
        if change.new is None:  # deleted (or expired): tombstones, so a late upsert cannot bring it back
            self.view.delete({"pk": f"POST#{post.post_id}", "sk": "POST"}, change.version)
            self.search.delete(post.post_id, change.version)
            return
        card = PostCard(**post.model_dump(include=set(PostCard.model_fields)))
        self.view.upsert(*self._split(card), change.version)
        self.search.index(post.post_id, {"title": post.title, "body": post.body}, change.version)

    def comment_changed(self, change: Change[Comment]) -> None:
        comment = change.item
        assert comment is not None
        key, attributes = self._split(
            CommentLine(**comment.model_dump(include=set(CommentLine.model_fields)))
        )
        delta = {"insert": 1, "update": 0}.get(change.kind, -1)
        with self.view.transaction() as tx:  # the line and both counters, all or nothing
            if change.new is None:
                tx.delete(key, change.version)
            else:
                tx.upsert(key, attributes, change.version)
            if delta:
                tx.add(post_count_key(comment.post_id), COUNTER, delta, change.event_id)
                tx.add(day_count_key(comment.day), COUNTER, delta, change.event_id)


class Timeline:
    """The handler of the product change's view (users' comments): version-guarded like every view, so the
    live reader and a backfill may both write a line and the newest version wins."""

    def __init__(self, transport: Transport) -> None:
        self.views = views_app().use(transport)
        self.view = View(transport, VIEWS_TABLE)

    def comment_changed(self, change: Change[Comment]) -> None:
        comment = change.item
        assert comment is not None
        line = UserCommentLine(**comment.model_dump(include=set(UserCommentLine.model_fields)))
        item = from_item(self.views.bound(UserCommentLine).item(line))
        key = {"pk": item.pop("pk"), "sk": item.pop("sk")}
        if change.new is None:
            self.view.delete(key, change.version)
        else:
            self.view.upsert(key, item, change.version)


def comment_entity(comment: data.Comment) -> Comment:
    return Comment(**{**comment.__dict__, "day": comment.day})


def _items(transport: Transport, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a Query on the view table (following pages), tombstones left out."""
    request = {**request, "TableName": VIEWS_TABLE, "ReturnConsumedCapacity": "TOTAL"}
    items: list[dict[str, Any]] = []
    while True:
        page = transport.call("Query", request)
        items += [item for item in page["Items"] if "_deleted" not in item]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class MicroserviceBlog:
    """The posts service and the reader service, wired by the posts table's stream."""

    name = "microservice"
    eventually_consistent = True  # the demo measures the view lag
    guarantees = (
        "The posts service writes atomically (a post and its comments and likes are deleted in one "
        "transaction). Views, search and analytics follow the stream: eventually consistent (see the lag). "
        "Views are version-guarded and counters count each stream event once, so redelivered and retried "
        "batches change nothing."
    )

    def __init__(
        self,
        transport: Transport,
        engine: Engine | StreamSource,
        directory: str,
        reader_transport: Transport | None = None,
    ) -> None:
        """`engine` is where the reader reads the posts table's stream: the embedded Engine, or any
        StreamSource (e.g. `RemoteSource` for AWS or another DynamoDB-compatible endpoint)."""
        self.engine = engine
        self.posts = posts_app().use(transport)
        self.views = views_app().use(transport)
        self.search_index = FtsSink(os.path.join(directory, "search.sqlite"), index="posts")
        self.analytics = DuckDBSink(os.path.join(directory, "analytics.duckdb")) if DuckDBSink else None
        self._reader_transport = reader_transport or transport
        self._reader: Reader | None = None
        self._runner: LocalRunner | None = None

    def create(self) -> None:
        """Create both services' tables and wire the reader to the posts table's stream."""
        create_tables(self.posts)
        create_tables(self.views)
        self._reader = Reader(self._reader_transport, self.search_index, self.analytics)
        from .deploy import READER  # the deployed event source mapping's settings, exactly

        self._runner = LocalRunner.from_mapping(self.engine, READER, self._reader.lambda_handler, name="blog-reader")

    @property
    def reader(self) -> Reader:
        assert self._reader is not None, "create() first"
        return self._reader

    @property
    def runner(self) -> LocalRunner:
        """The event source mapping feeding the reader (replace it to feed the reader differently)."""
        assert self._runner is not None, "create() first"
        return self._runner

    @runner.setter
    def runner(self, runner: LocalRunner) -> None:
        self._runner = runner

    def load(self, items: data.Dataset, step: int, progress: ProgressFn) -> None:
        """Write in batches, then let the reader catch up (in the foreground: it is part of loading)."""
        todo: list[Entity] = [
            *(Author(**a.__dict__) for a in items.authors),
            *(Post(**{**p.__dict__, "tags": p.tags}) for p in items.posts),
            *(comment_entity(c) for c in items.comments),
            *(Like(**like.__dict__) for like in items.likes),
        ]
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            if self.posts.batch_write(puts=chunk):
                raise RuntimeError("batch write left items unprocessed")
            progress(len(chunk))
        self.runner.run_until_caught_up()
        self.runner.metrics = Metrics()  # the load's lag is backlog, not steady-state lag
        self.runner.start()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait for the reader to handle everything written so far."""
        self.runner.run_until_caught_up(timeout)

    def post_page(self, post_id: str) -> PostPage | None:
        card: PostCard | None = None
        count, lines = 0, []
        for item in _items(
            self.views.transport,
            {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"POST#{post_id}"}},
            },
        ):
            kind = item["sk"]["S"]
            if kind == "POST":
                card = PostCard.from_item(item)
            elif kind == "COUNT":
                count = int(item[COUNTER]["N"])
            else:
                line = CommentLine.from_item(item)
                lines.append(CommentView(line.comment_id, line.author_name, line.body))
        if card is None:
            return None
        return PostPage(
            card.post_id, card.title, card.author_name, card.likes, card.tags, count, tuple(lines)
        )

    def author_posts(self, author_id: str) -> list[str]:
        feed = self.views.query(FEED, author_id=author_id).reverse().limit(FEED_SIZE).all()
        return [p.post_id for p in feed]

    def comments(self, post_id: str) -> list[CommentView]:
        page = self.post_page(post_id)
        return list(page.comments) if page else []

    def add_comment(self, comment: data.Comment) -> None:
        self.posts.put(comment_entity(comment), create=True).run()

    def delete_post(self, post_id: str) -> None:
        items = self.posts.collection("post_items", post_id=post_id).run()
        if items["post"] is None:
            return
        with self.posts.transaction() as tx:
            tx.delete(Post, post_id=post_id)
            for c in items["comments"]:
                tx.delete(Comment, post_id=post_id, created=c.created, comment_id=c.comment_id)
            for like in items["likes"]:
                tx.delete(Like, post_id=post_id, user_id=like.user_id)

    def top_posts(self) -> list[str]:
        return [p.post_id for p in self.views.query(TOP).reverse().limit(FEED_SIZE).all()]

    def search(self, word: str) -> list[str]:
        phrase = '"' + word.replace('"', '""') + '"'
        hits = self.search_index.search(phrase, limit=max(1, self.search_index.count()))
        return sorted(hit.doc_id for hit in hits)

    def comments_per_day(self, days: list[dt.date]) -> dict[str, int]:
        texts = [d.isoformat() for d in days]
        low, high = day_count_key(texts[0])["sk"], day_count_key(texts[-1])["sk"]
        found = _items(
            self.views.transport,
            {
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
                "ExpressionAttributeValues": {
                    ":pk": {"S": "STATS"},
                    ":low": {"S": low},
                    ":high": {"S": high},
                },
            },
        )
        counts = {item["sk"]["S"].removeprefix("DAY#"): int(item[COUNTER]["N"]) for item in found}
        return {day: counts.get(day, 0) for day in texts}

    def comments_per_day_analytics(self, days: list[dt.date]) -> dict[str, int]:
        """The same question asked of the analytics copy (DuckDB, the live comments' newest state)."""
        if self.analytics is None:
            raise RuntimeError("no analytics copy without DuckDB: pip install 'dynamokit[analytics]'")
        self.analytics.entity_view("comment", ["day"])
        rows = self.analytics.query(
            'SELECT "day", count(*) FROM current_comment WHERE "day" BETWEEN ? AND ? GROUP BY "day"',
            [days[0].isoformat(), days[-1].isoformat()],
        )
        counts = {str(day): int(n) for day, n in rows}
        return {d.isoformat(): counts.get(d.isoformat(), 0) for d in days}

    def adapt(self, transport: Transport) -> Adapted:
        """The product change as a new view (`BuildView`, a model migration of the reader's views): deploy
        the reader with the timeline handler (new changes land in it at once), then the migration run
        builds the view from the existing comments with the gapless backfill (stream position first, then a
        parallel Scan of the posts table, merged by version). Nothing is rewritten in the posts service's
        table; `items_rewritten` counts the view lines the backfill wrote."""
        started = time.perf_counter()
        self.reader.processor.on(Comment)(Timeline(self._reader_transport).comment_changed)
        return migrate(views_app(version=2).use(self._reader_transport), transport, started)

    def user_comments(self, author_id: str) -> list[UserComment]:
        found = _items(
            self.views.transport,
            {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"USER#{author_id}"}},
                "ScanIndexForward": False,
            },
        )
        lines = [UserCommentLine.from_item(item) for item in found]
        return newest_first([(c.created, c.comment_id, c.post_id, c.body) for c in lines])

    def remnants(self, post_id: str) -> Remnants:
        items = self.posts.collection("post_items", post_id=post_id).run()
        return Remnants(items["post"] is not None, len(items["comments"]) + len(items["likes"]))

    def close(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        self.search_index.close()
        if self.analytics is not None:
            self.analytics.close()
