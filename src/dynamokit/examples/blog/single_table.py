"""Pattern 3, all-in single-table: item collections, overloaded GSIs, counters in the same transaction.

A post and its comments share a partition, so the post page is one Query. GSI1 serves an author's posts,
GSI2 the most liked posts; daily comment counts are items kept up to date by the write that adds a comment.
Reads are cheap and fast, but every question must be designed in up front: search is still a Scan.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections import Counter

from dynamokit.model import (
    GSI,
    App,
    Collection,
    Entity,
    Index,
    Keys,
    Options,
    Pattern,
    ScanWarning,
    Table,
    Transport,
    Update,
    create_tables,
)
from dynamokit.model.migrations import AddIndex, Migration

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
    words,
)


class Author(Entity):
    author_id: str
    name: str
    keys = Keys(pk="AUTHOR#{author_id}", sk="AUTHOR")


class Post(Entity):
    post_id: str
    author_id: str
    author_name: str
    title: str
    body: str
    tags: frozenset[str] = frozenset()
    created: dt.datetime
    likes: int = 0
    comment_count: int = 0
    keys = Keys(
        pk="POST#{post_id}",
        sk="POST",
        by_author=Index("gsi1", pk="AUTHOR#{author_id}", sk="POST#{created}"),
        by_likes=Index("gsi2", pk="TOP", sk="{likes:8}#{post_id}"),
    )


class Comment(Entity):
    comment_id: str
    post_id: str
    author_id: str
    author_name: str
    body: str
    created: dt.datetime
    day: str
    keys = Keys(
        pk="POST#{post_id}",
        sk="COMMENT#{created}#{comment_id}",
        by_author=Index("gsi1", pk="AUTHOR#{author_id}", sk="COMMENT#{created}"),
    )


class CommentV2(Comment):
    """The product change (model version 2): a comment also carries its author's timeline key, on a new
    GSI. The same items (type name "Comment"), one more key template."""

    keys = Keys(
        pk="POST#{post_id}",
        sk="COMMENT#{created}#{comment_id}",
        by_author=Index("gsi1", pk="AUTHOR#{author_id}", sk="COMMENT#{created}"),
        by_user=Index("gsi3", pk="USER#{author_id}", sk="COMMENT#{created}#{comment_id}"),
    )
    options = Options(name="Comment")


class Like(Entity):
    post_id: str
    user_id: str
    created: dt.datetime
    keys = Keys(
        pk="POST#{post_id}",
        sk="LIKE#{user_id}",
        by_user=Index("gsi1", pk="AUTHOR#{user_id}", sk="LIKE#{created}"),
    )


class DailyComments(Entity):
    day: str
    comments: int = 0
    keys = Keys(pk="STATS", sk="DAY#{day}")


POSTS_BY_AUTHOR = Pattern("posts_by_author", Post, by=("author_id",))
TOP_POSTS = Pattern("top_posts", Post, by=(), key="by_likes")
COMMENTS_OF_POST = Pattern("comments_of_post", Comment, by=("post_id",))
DAILY = Pattern("daily_comments", DailyComments, by=())
POST_PAGE = Collection("post_page", {"post": Post, "comments": list[Comment]})
POST_ITEMS = Collection("post_items", {"post": Post, "comments": list[Comment], "likes": list[Like]})


MIGRATIONS = [Migration(1, 2, [AddIndex(CommentV2, "by_user")], "a user's comments, newest first")]


def app(table: str = "blog", version: int = 1) -> App:
    """The blog's model as it shipped (version 1), or after the product change (version 2)."""
    if version == 1:
        return App(
            Table(table, [Author, Post, Comment, Like, DailyComments], indexes=[GSI("gsi1"), GSI("gsi2")]),
            patterns=[POSTS_BY_AUTHOR, TOP_POSTS, COMMENTS_OF_POST, DAILY],
            collections=[POST_PAGE, POST_ITEMS],
        )
    return App(
        Table(
            table,
            [Author, Post, CommentV2, Like, DailyComments],
            indexes=[GSI("gsi1"), GSI("gsi2"), GSI("gsi3")],
        ),
        patterns=[
            POSTS_BY_AUTHOR,
            TOP_POSTS,
            Pattern("comments_of_post", CommentV2, by=("post_id",)),
            DAILY,
            Pattern("user_comments", CommentV2, by=("author_id",), key="by_user"),
        ],
        collections=[
            Collection("post_page", {"post": Post, "comments": list[CommentV2]}),
            Collection("post_items", {"post": Post, "comments": list[CommentV2], "likes": list[Like]}),
        ],
        migrations=MIGRATIONS,
    )


def comment_entity(comment: data.Comment) -> Comment:
    return Comment(**{**comment.__dict__, "day": comment.day})


def entities(items: data.Dataset) -> list[Entity]:
    """Every item, with the counters the writes keep: comments per post and per day."""
    per_post = Counter(c.post_id for c in items.comments)
    first = min(p.created for p in items.posts).date()
    per_day = Counter(c.day for c in items.comments)
    days = [first + dt.timedelta(days=n) for n in range((data.NOW.date() - first).days + 1)]
    return [
        *(Author(**a.__dict__) for a in items.authors),
        *(Post(**{**p.__dict__, "tags": p.tags}, comment_count=per_post[p.post_id]) for p in items.posts),
        *(comment_entity(c) for c in items.comments),
        *(Like(**like.__dict__) for like in items.likes),
        *(DailyComments(day=d.isoformat(), comments=per_day[d.isoformat()]) for d in days),
    ]


class SingleTableBlog:
    """The blog in one table."""

    name = "single_table"
    guarantees = (
        "Adding a comment writes the comment, the post's count and the day's count in one transaction. "
        "Deleting a post removes the post, its comments and likes and adjusts the counts in one "
        "transaction (up to 100 items). No references are checked."
    )

    def __init__(self, transport: Transport) -> None:
        self.deployed: tuple[App, type[Comment]] = (app().use(transport), Comment)  # swapped in one step

    @property
    def app(self) -> App:
        return self.deployed[0]

    def create(self) -> None:
        create_tables(self.app)

    def load(self, items: data.Dataset, step: int, progress: ProgressFn) -> None:
        todo = entities(items)
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            if self.app.batch_write(puts=chunk):
                raise RuntimeError("batch write left items unprocessed")
            progress(len(chunk))

    def settle(self, timeout: float = 30.0) -> None:
        """Nothing to wait for: every read sees every acknowledged write."""

    def post_page(self, post_id: str) -> PostPage | None:
        page = self.app.collection("post_page", post_id=post_id).run()
        post: Post | None = page["post"]
        if post is None:
            return None
        comments = tuple(CommentView(c.comment_id, c.author_name, c.body) for c in page["comments"])
        return PostPage(
            post.post_id, post.title, post.author_name, post.likes, post.tags, post.comment_count, comments
        )

    def author_posts(self, author_id: str) -> list[str]:
        posts = self.app.query(POSTS_BY_AUTHOR, author_id=author_id).reverse().limit(FEED_SIZE).all()
        return [p.post_id for p in posts]

    def comments(self, post_id: str) -> list[CommentView]:
        found = self.app.query(COMMENTS_OF_POST, post_id=post_id).all()
        return [CommentView(c.comment_id, c.author_name, c.body) for c in found]

    def add_comment(self, comment: data.Comment) -> None:
        blog, comment_class = self.deployed  # the model deployed when the request arrived
        with blog.transaction() as tx:
            tx.put(comment_class(**comment_entity(comment).model_dump()), create=True)
            tx.update(Post, Update().add(comment_count=1), post_id=comment.post_id)
            tx.update(DailyComments, Update().add(comments=1), day=comment.day)

    def delete_post(self, post_id: str) -> None:
        blog, comment_class = self.deployed
        items = blog.collection("post_items", post_id=post_id).run()
        if items["post"] is None:
            return
        with blog.transaction() as tx:
            tx.delete(Post, post_id=post_id)
            for c in items["comments"]:
                tx.delete(comment_class, post_id=post_id, created=c.created, comment_id=c.comment_id)
            for like in items["likes"]:
                tx.delete(Like, post_id=post_id, user_id=like.user_id)
            for day, count in Counter(c.day for c in items["comments"]).items():
                tx.update(DailyComments, Update().subtract(comments=count), day=day)

    def top_posts(self) -> list[str]:
        return [p.post_id for p in self.app.query(TOP_POSTS).reverse().limit(FEED_SIZE).all()]

    def search(self, word: str) -> list[str]:
        with warnings.catch_warnings():  # deliberate: no index answers full-text search
            warnings.simplefilter("ignore", ScanWarning)
            posts = self.app.scan(Post).all()
        return sorted(p.post_id for p in posts if word in words(f"{p.title} {p.body}"))

    def comments_per_day(self, days: list[dt.date]) -> dict[str, int]:
        texts = [d.isoformat() for d in days]
        found = self.app.query(DAILY).between({"day": texts[0]}, {"day": texts[-1]}).all()
        counts = {d.day: d.comments for d in found}
        return {day: counts.get(day, 0) for day in texts}

    def adapt(self, transport: Transport) -> Adapted:
        """The product change as a model migration: deploy model version 2 (new comments carry the new key
        at once, reads upgrade old ones), then run the live migration runner, which adds GSI gsi3 and
        rewrites every older comment with its new key, each write guarded against the writes going on."""
        started = time.perf_counter()
        self.deployed = (app(version=2).use(self.app.transport), CommentV2)
        return migrate(self.app, transport, started)

    def user_comments(self, author_id: str) -> list[UserComment]:
        found = self.app.query("user_comments", author_id=author_id).reverse().all()
        return newest_first([(c.created, c.comment_id, c.post_id, c.body) for c in found])

    def remnants(self, post_id: str) -> Remnants:
        items = self.app.collection("post_items", post_id=post_id).run()
        return Remnants(items["post"] is not None, len(items["comments"]) + len(items["likes"]))

    def close(self) -> None:
        """Nothing runs in the background."""
