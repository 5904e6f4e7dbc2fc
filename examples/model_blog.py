"""A single-table blog with dynamokit.model on the embedded engine (type-checked with mypy --strict)."""

from __future__ import annotations

import datetime as dt

from dynamokit import Engine
from dynamokit.model import GSI, App, Collection, Entity, Index, Keys, Options, Pattern, Table, create_tables
from dynamokit.model.catalogue import markdown


class Post(Entity):
    post_id: str
    author: str
    title: str
    created: dt.datetime
    views: int = 0
    keys = Keys(
        pk="POST#{post_id}",
        sk="POST#{post_id}",
        by_author=Index("gsi1", pk="AUTHOR#{author}", sk="POST#{created}"),
    )
    options = Options(name="post")


class Comment(Entity):
    post_id: str
    comment_id: str
    body: str
    keys = Keys(pk="POST#{post_id}", sk="COMMENT#{comment_id}")


POSTS_BY_AUTHOR = Pattern("posts_by_author", Post, by=("author",))

blog = App(
    Table("blog", [Post, Comment], indexes=[GSI("gsi1")]),
    patterns=[POSTS_BY_AUTHOR],
    collections=[Collection("post_with_comments", {"post": Post, "comments": list[Comment]})],
)


def main() -> None:
    with Engine() as engine:
        blog.use(engine)
        create_tables(blog)
        now = dt.datetime.now(dt.UTC)
        post: Post = blog.put(Post(post_id="p1", author="ann", title="Hello", created=now), create=True).run()
        blog.put(Comment(post_id="p1", comment_id="c1", body="Nice")).run()
        updated: Post = blog.update(Post, post_id="p1").set(author="bob").add(views=1).run()  # gsi1 rewritten
        mine: list[Post] = blog.query(POSTS_BY_AUTHOR, author="bob").all()
        with blog.counter() as counter:
            thread = blog.collection("post_with_comments", post_id="p1").run()
        print(
            post.title,
            updated.author,
            [p.post_id for p in mine],
            len(thread["comments"]),
            f"{counter.requests} request, {counter.capacity} RCU",
        )
        print(markdown(blog))


if __name__ == "__main__":
    main()
