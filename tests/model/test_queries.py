"""Access patterns, sort-key conditions, collections, paging cursors, projections and scans."""

from __future__ import annotations

import datetime as dt

import pytest

from dynamokit.model import App, ModelError, ScanWarning, UnboundedFilterWarning, attr

from .models import Comment, Post, Status, User

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def seed(app: App) -> None:
    app.batch_write(
        puts=[
            *[
                Post(
                    post_id=f"p{i}",
                    author="ann" if i % 2 else "bob",
                    title=f"T{i}",
                    created=T0 + dt.timedelta(days=i),
                    status=Status.PUBLISHED if i < 6 else Status.DRAFT,
                    featured_rank=i if i % 3 == 0 else None,
                )
                for i in range(10)
            ],
            *[
                Comment(
                    post_id="p1",
                    comment_id=f"c{i}",
                    author="cy",
                    body="b",
                    created=T0 + dt.timedelta(hours=i),
                )
                for i in range(5)
            ],
        ]
    )
    for user in (User(user_id="u1", email="e1", name="Zed"), User(user_id="u2", email="e2", name="Amy")):
        app.put(user, create=True).run()


def ids(items: list[Post]) -> list[str]:
    return [p.post_id for p in items]


def test_pattern_with_sort_key_conditions(blog: App) -> None:
    seed(blog)
    assert ids(blog.posts_by_author(author="ann").all()) == [
        "p7",
        "p9",
        "p1",
        "p3",
        "p5",
    ]  # draft < published
    published = blog.posts_by_author(author="ann").begins_with(status=Status.PUBLISHED).all()
    assert ids(published) == ["p1", "p3", "p5"]
    ranged = (
        blog.query("posts_by_author", author="ann")
        .between(
            {"status": Status.PUBLISHED, "created": T0 + dt.timedelta(days=2)},
            {"status": Status.PUBLISHED, "created": T0 + dt.timedelta(days=5)},
        )
        .all()
    )
    assert ids(ranged) == ["p3", "p5"]
    newer = (
        blog.posts_by_author(author="ann")
        .gt(status=Status.PUBLISHED, created=T0 + dt.timedelta(days=3))
        .all()
    )
    assert ids(newer) == ["p5"]
    assert ids(blog.posts_by_author(author="ann").lt(status=Status.PUBLISHED).all()) == ["p7", "p9"]
    assert ids(blog.posts_by_author(author="ann").reverse().limit(2).all()) == ["p5", "p3"]
    with pytest.warns(UnboundedFilterWarning):  # the filter reads every post of the author
        filtered = blog.posts_by_author(author="ann").where(attr("title").is_in("T1", "T9")).all()
    assert ids(filtered) == ["p9", "p1"]


def test_overloaded_index_returns_only_the_patterns_entity(blog: App) -> None:
    seed(blog)
    comments = blog.comments_by_author(author="cy").all()
    assert [c.comment_id for c in comments] == [f"c{i}" for i in range(5)]
    assert [u.name for u in blog.users_by_org(org="acme")] == ["Amy", "Zed"]


def test_sparse_index(blog: App) -> None:
    seed(blog)
    assert ids(blog.featured_posts().all()) == ["p0", "p3", "p6", "p9"]


def test_collection_is_one_query_grouped_and_typed(blog: App) -> None:
    seed(blog)
    with blog.counter() as counter:
        result = blog.post_with_comments(post_id="p1")
    assert counter.requests == 1 and counter.capacity > 0
    assert isinstance(result["post"], Post) and result["post"].post_id == "p1"
    assert [c.comment_id for c in result["comments"]] == [f"c{i}" for i in range(5)]
    assert all(isinstance(c, Comment) for c in result["comments"])
    activity = blog.author_activity(author="cy")
    assert activity["posts"] == [] and len(activity["comments"]) == 5
    empty = blog.collection("post_with_comments", post_id="nope").run()
    assert empty == {"post": None, "comments": []}


def test_paging_with_opaque_cursors(blog: App) -> None:
    seed(blog)
    query = blog.posts_by_author(author="bob").limit(2)
    seen: list[str] = []
    cursor = None
    while True:
        page = blog.posts_by_author(author="bob").limit(2).start(cursor).page()
        seen += ids(page.items)
        cursor = page.cursor
        if cursor is None:
            break
        assert isinstance(cursor, str) and "{" not in cursor
    assert sorted(seen) == ["p0", "p2", "p4", "p6", "p8"]
    assert len(query.all()) == 2
    with pytest.raises(ModelError, match="cursor"):
        blog.posts_by_author(author="bob").start("not-a-cursor!")


def test_projection_returns_plain_fields(blog: App) -> None:
    seed(blog)
    rows = blog.posts_by_author(author="bob").project("post_id", "title").all()
    assert rows[0] == {"post_id": "p6", "title": "T6"}


def test_scan_is_explicit_and_warned(blog: App) -> None:
    seed(blog)
    with pytest.warns(ScanWarning):
        users = blog.scan(User).all()
    assert sorted(u.user_id for u in users) == ["u1", "u2"]
    with pytest.warns(ScanWarning):
        assert [p.post_id for p in blog.scan(Post).where(attr("title") == "T3")] == ["p3"]


def test_query_params_without_io(blog: App) -> None:
    request = blog.posts_by_author(author="ann").begins_with(status=Status.DRAFT).params()
    assert request["IndexName"] == "gsi1"
    assert request["KeyConditionExpression"] == "#n0 = :v0 AND begins_with(#n1, :v1)"
    assert request["ExpressionAttributeValues"][":v1"] == {"S": "POST#draft#"}
    with pytest.raises(ModelError, match="needs"):
        blog.query("posts_by_author")
    with pytest.raises(ModelError, match="in order"):
        blog.posts_by_author(author="ann").begins_with(created=T0)
