"""User code that must pass `mypy --strict`: the types reach the call site through every chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_type

from models import THREAD, Comment, Post, Thread, posts_by_author

from dynamokit.model import App, CollectionPage, Delete, Get, Page, Put, Query, UpdateOp, attr


def reads(app: App) -> None:
    query = app.query(posts_by_author, author="ann")
    assert_type(query, Query[Post])
    chained = query.where(attr("views") > 1).reverse().limit(3).start(None).consistent().strict()
    assert_type(chained, Query[Post])
    assert_type(chained.ge(created=datetime(2024, 1, 1)).all(), list[Post])
    typed_filter = query.where(lambda p: (p.views > 1) & (p.title != "") | ~(p.author == "bob"))
    assert_type(typed_filter, Query[Post])
    assert_type(app.query(posts_by_author, "ann", created=datetime(2024, 1, 1)), Query[Post])
    assert_type(query.page(), Page[Post])
    assert_type(query.project("title").all(), list[dict[str, Any]])
    for post in query:
        assert_type(post, Post)
    get = app.get(Post, post_id="p1").consistent()
    assert_type(get, Get[Post])
    assert_type(get.run(), Post | None)


def collections(app: App) -> None:
    thread = app.collection(THREAD, post_id="p1").reverse().limit(5).where(attr("body").exists()).run()
    assert_type(thread, Thread)
    assert_type(thread.comments, list[Comment])
    assert_type(thread.post, Post | None)
    page = app.collection(THREAD, post_id="p1").start(None).page()
    assert_type(page, CollectionPage[Thread])
    assert_type(page.cursor, str | None)
    assert_type(app.collection("thread", post_id="p1").run(), Any)


def writes(app: App, post: Post) -> None:
    assert_type(app.put(post, create=True), Put[Post])
    update = app.update(Post, post_id="p1").set(title="new").add(views=1).expect_version(3)
    assert_type(update, UpdateOp[Post])
    assert_type(update.run(), Post)
    assert_type(app.delete(Post, post_id="p1").known(author="ann"), Delete[Post])


async def asynchronous(app: App) -> None:
    assert_type(await app.query(posts_by_author, author="ann").reverse().aall(), list[Post])
    assert_type(await app.collection(THREAD, post_id="p1").arun(), Thread)
    assert_type(await app.get(Post, post_id="p1").arun(), Post | None)
