"""The async flavour of dynamokit.model: the same definitions, awaited (type-checked with mypy --strict).

Over the embedded engine each call runs in a worker thread; over HTTP use aiobotocore with
`AsyncBotoTransport` (AWS, `dynamokit serve`, any DynamoDB-compatible endpoint).
"""

from __future__ import annotations

import asyncio
import datetime as dt

from dynamokit import Engine
from dynamokit.model import GSI, App, Collection, Entity, Index, Keys, Pattern, Table, acreate_tables


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


async def main() -> None:
    with Engine() as engine:
        blog.use(engine)  # or blog.use(AsyncBotoTransport(aiobotocore_client))
        await acreate_tables(blog)
        now = dt.datetime.now(dt.UTC)
        await asyncio.gather(
            *(
                blog.put(Post(post_id=f"p{i}", author="ann", title=f"Post {i}", created=now)).arun()
                for i in range(5)
            )
        )
        await blog.put(Comment(post_id="p1", comment_id="c1", body="Nice")).arun()
        updated: Post = await blog.update(Post, post_id="p1").set(author="bob").add(views=1).arun()
        mine: list[Post] = await blog.query(POSTS_BY_AUTHOR, author="ann").aall()
        async for post in blog.query(POSTS_BY_AUTHOR, author="bob"):
            print("bob wrote", post.title)
        thread = await blog.collection("post_with_comments", post_id="p1").arun()
        print(updated.author, len(mine), len(thread["comments"]))


if __name__ == "__main__":
    asyncio.run(main())
