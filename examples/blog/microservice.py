"""Pattern 4, true microservice: a write-side table whose stream feeds a reader service.

The posts service owns `ms_posts` (single-table, stream on). The reader service follows that stream and
keeps purpose-built views in its own table — a post page with its comment count, an author feed, the top
posts — each answered by one GetItem, plus full-text search (FTS5) and analytics (DuckDB). Views are
rebuilt per batch from the latest state of what changed and written with a version guard (the stream
sequence number), so replays and retries are harmless. Reads lag writes by the view lag.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from pydantic import BaseModel

from dynamokit import DynamoDBError, Engine
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
    attr,
)
from dynamokit.model.schema import create_tables

from . import data
from .api import FEED_SIZE, CommentView, PostPage, ProgressFn, Remnants
from .sinks import Analytics, SearchIndex
from .tail import Tail


# -- the posts service: the write side -------------------------------------------------------------------
class Author(Entity):
    author_id: str
    name: str
    updated_at: dt.datetime | None = None
    keys = Keys(pk="AUTHOR#{author_id}", sk="AUTHOR")
    options = Options(name="author", updated="updated_at")  # views measure their lag from updated_at


class Post(Entity):
    post_id: str
    author_id: str
    author_name: str
    title: str
    body: str
    tags: frozenset[str] = frozenset()
    created: dt.datetime
    likes: int = 0
    updated_at: dt.datetime | None = None
    keys = Keys(
        pk="POST#{post_id}",
        sk="POST",
        by_author=Index("gsi1", pk="AUTHOR#{author_id}", sk="POST#{created}"),
        by_likes=Index("gsi2", pk="TOP", sk="{likes:8}#{post_id}"),
    )
    options = Options(name="post", updated="updated_at")


class Comment(Entity):
    comment_id: str
    post_id: str
    author_id: str
    author_name: str
    body: str
    created: dt.datetime
    day: str
    updated_at: dt.datetime | None = None
    keys = Keys(pk="POST#{post_id}", sk="COMMENT#{created}#{comment_id}")
    options = Options(name="comment", updated="updated_at")


class Like(Entity):
    post_id: str
    user_id: str
    created: dt.datetime
    updated_at: dt.datetime | None = None
    keys = Keys(pk="POST#{post_id}", sk="LIKE#{user_id}")
    options = Options(name="like", updated="updated_at")


POSTS_BY_AUTHOR = Pattern("posts_by_author", Post, by=("author_id",))
TOP_POSTS = Pattern("top_posts", Post, by=(), key="by_likes")
POST_ITEMS = Collection("post_items", {"post": Post, "comments": list[Comment], "likes": list[Like]})


def posts_app(table: str = "ms_posts") -> App:
    return App(
        Table(
            table,
            [Author, Post, Comment, Like],
            indexes=[GSI("gsi1"), GSI("gsi2")],
            stream="NEW_AND_OLD_IMAGES",
        ),
        patterns=[POSTS_BY_AUTHOR, TOP_POSTS],
        collections=[POST_ITEMS],
    )


# -- the reader service: views ---------------------------------------------------------------------------
class CommentLine(BaseModel):
    comment_id: str
    author_name: str
    body: str


class PostView(Entity):
    post_id: str
    title: str
    author_name: str
    likes: int
    tags: frozenset[str] = frozenset()
    comment_count: int
    comments: list[CommentLine]
    seq: int
    keys = Keys(pk="POST#{post_id}")


class FeedView(Entity):
    author_id: str
    posts: list[str]
    seq: int
    keys = Keys(pk="FEED#{author_id}")


class TopView(Entity):
    posts: list[str]
    seq: int
    keys = Keys(pk="TOP")


def views_app(table: str = "ms_views") -> App:
    return App(Table(table, [PostView, FeedView, TopView], sk=None))


class Reader:
    """Turns batches of posts-service changes into views, search documents and analytics rows."""

    def __init__(self, posts: App, views: App, search: SearchIndex, analytics: Analytics) -> None:
        self.posts, self.views, self.search, self.analytics = posts, views, search, analytics
        self.lags: list[float] = []  # seconds from a write to its views being written

    def handle(self, records: list[dict[str, Any]]) -> None:
        seq = max(int(r["dynamodb"]["SequenceNumber"]) for r in records)
        dirty_posts: set[str] = set()
        dirty_authors: set[str] = set()
        docs: dict[str, str] = {}
        gone: set[str] = set()
        comments: dict[str, tuple[str, str, str] | None] = {}
        written: list[dt.datetime] = []
        for record in records:
            new, old = record["dynamodb"].get("NewImage"), record["dynamodb"].get("OldImage")
            image = new or old
            kind = image["_type"]["S"]
            if kind == "post":
                post = Post.from_item(image)
                dirty_posts.add(post.post_id)
                dirty_authors.add(post.author_id)
                if new:
                    docs[post.post_id] = f"{post.title} {post.body}"
                else:
                    gone.add(post.post_id)
            elif kind == "comment":
                comment = Comment.from_item(image)
                dirty_posts.add(comment.post_id)
                comments[comment.comment_id] = (
                    (comment.comment_id, comment.post_id, comment.day) if new else None
                )
            if new and "updated_at" in new:
                written.append(dt.datetime.fromisoformat(new["updated_at"]["S"]))
        for post_id in dirty_posts:
            self._post_view(post_id, seq)
        for author_id in dirty_authors:
            feed = self.posts.query(POSTS_BY_AUTHOR, author_id=author_id).reverse().limit(FEED_SIZE).all()
            self._put(FeedView(author_id=author_id, posts=[p.post_id for p in feed], seq=seq))
        if dirty_authors:
            top = self.posts.query(TOP_POSTS).reverse().limit(FEED_SIZE).all()
            self._put(TopView(posts=[p.post_id for p in top], seq=seq))
        self.search.index({k: v for k, v in docs.items() if k not in gone})
        self.search.delete(gone)
        self.analytics.upsert(row for row in comments.values() if row is not None)
        self.analytics.delete(key for key, row in comments.items() if row is None)
        now = dt.datetime.now(dt.UTC)
        self.lags += [(now - moment).total_seconds() for moment in written]

    def _post_view(self, post_id: str, seq: int) -> None:
        items = self.posts.collection("post_items", post_id=post_id).run()
        post: Post | None = items["post"]
        if post is None:
            self.views.delete(PostView, post_id=post_id).run()
            return
        lines = [
            CommentLine(comment_id=c.comment_id, author_name=c.author_name, body=c.body)
            for c in items["comments"]
        ]
        self._put(
            PostView(
                post_id=post_id,
                title=post.title,
                author_name=post.author_name,
                likes=post.likes,
                tags=post.tags,
                comment_count=len(lines),
                comments=lines,
                seq=seq,
            )
        )

    def _put(self, view: PostView | FeedView | TopView) -> None:
        """Write a view unless a newer one is already there (replays and retries are no-ops)."""
        try:
            self.views.put(view, condition=attr("seq").not_exists() | (attr("seq") < view.seq)).run()
        except DynamoDBError as error:
            if error.code != "ConditionalCheckFailedException":
                raise


def comment_entity(comment: data.Comment) -> Comment:
    return Comment(**{**comment.__dict__, "day": comment.day})


class MicroserviceBlog:
    """The posts service and the reader service, wired by the posts table's stream."""

    name = "microservice"
    guarantees = (
        "The posts service writes atomically (a post and its comments and likes are deleted in one "
        "transaction). Views, search and analytics follow the stream: eventually consistent (see the lag), "
        "rebuilt idempotently and version-guarded, so a failed batch is simply retried."
    )

    def __init__(
        self, transport: Transport, engine: Engine, directory: str, reader_transport: Transport | None = None
    ) -> None:
        self.engine, self.directory = engine, directory
        self.posts = posts_app().use(transport)
        self.views = views_app().use(transport)
        self.reader = Reader(
            posts_app().use(reader_transport or transport),
            views_app().use(reader_transport or transport),
            SearchIndex(os.path.join(directory, "search.sqlite")),
            Analytics(os.path.join(directory, "analytics.duckdb")),
        )
        self.tail: Tail | None = None

    def create(self) -> None:
        create_tables(self.posts)
        create_tables(self.views)
        self.tail = Tail(self.engine, "ms_posts", self.reader.handle)

    def _tail(self) -> Tail:
        assert self.tail is not None, "create() first"
        return self.tail

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
        self._tail().run_until_caught_up()
        self.reader.lags.clear()  # load lag is backlog, not steady-state lag
        self._tail().start()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait for the reader to handle everything written so far."""
        tail = self._tail()
        tail.stop()
        deadline = time.monotonic() + timeout
        while tail.poll() and time.monotonic() < deadline:
            pass
        tail.start()

    def post_page(self, post_id: str) -> PostPage | None:
        view = self.views.get(PostView, post_id=post_id).run()
        if view is None:
            return None
        comments = tuple(CommentView(c.comment_id, c.author_name, c.body) for c in view.comments)
        return PostPage(
            view.post_id, view.title, view.author_name, view.likes, view.tags, view.comment_count, comments
        )

    def author_posts(self, author_id: str) -> list[str]:
        view = self.views.get(FeedView, author_id=author_id).run()
        return view.posts if view else []

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
        view = self.views.get(TopView).run()
        return view.posts if view else []

    def search(self, word: str) -> list[str]:
        return self.reader.search.search(word)

    def comments_per_day(self, days: list[dt.date]) -> dict[str, int]:
        return self.reader.analytics.per_day(days)

    def remnants(self, post_id: str) -> Remnants:
        items = self.posts.collection("post_items", post_id=post_id).run()
        return Remnants(items["post"] is not None, len(items["comments"]) + len(items["likes"]))

    def close(self) -> None:
        if self.tail is not None:
            self.tail.stop()
        self.reader.search.close()
        self.reader.analytics.close()
