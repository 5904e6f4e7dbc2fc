"""The async flavour: the same App and definitions, awaited over the embedded engine (in worker threads) and
over HTTP with aiobotocore (AsyncBotoTransport against dynamokit's own server)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from dynamokit import DynamoDBError, Engine
from dynamokit.model import App, AsyncBotoTransport, IntegrityError, ModelError, ThreadTransport
from dynamokit.model._schema import acreate_tables
from dynamokit.server._http import Server

from .models import Article, Author, Comment, Note, Post, User, blog_app, sql_app

WHEN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@asynccontextmanager
async def engine_app(make: Callable[[], App]) -> AsyncIterator[App]:
    with Engine() as engine:
        yield make().use(engine)  # a sync transport: .arun() runs each call in a worker thread


@asynccontextmanager
async def http_app(make: Callable[[], App]) -> AsyncIterator[App]:
    from aiobotocore.session import get_session

    with Engine() as engine, Server(engine, host="127.0.0.1", port=0) as server:
        session = get_session()
        async with session.create_client(
            "dynamodb",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
        ) as client:
            yield make().use(AsyncBotoTransport(client))


FLAVOURS = {"engine": engine_app, "http": http_app}


def run(flavour: str, make: Callable[[], App], body: Callable[[App], Awaitable[None]]) -> None:
    async def main() -> None:
        async with FLAVOURS[flavour](make) as app:
            await acreate_tables(app)
            await body(app)

    asyncio.run(main())


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_single_table_reads_and_writes(flavour: str) -> None:
    async def body(blog: App) -> None:
        post = await blog.put(Post(post_id="p1", author="ann", title="Hi", created=WHEN), create=True).arun()
        await blog.put(Comment(post_id="p1", comment_id="c1", author="bob", body="x", created=WHEN)).arun()
        assert await blog.get(Post, post_id="p1").arun() == post
        moved = await blog.update(Post, post_id="p1").set(author="cat").add(views=2).arun()
        assert (moved.author, moved.views) == ("cat", 2)
        assert [p.post_id for p in await blog.query("posts_by_author", author="cat").aall()] == ["p1"]
        assert await blog.query("posts_by_author", author="ann").aall() == []  # the GSI key was rewritten
        with blog.counter() as counter:
            thread = await blog.collection("post_with_comments", post_id="p1").arun()
        assert thread["post"] == moved and len(thread["comments"]) == 1 and counter.requests == 1
        async with blog.transaction() as tx:
            tx.put(User(user_id="u1", email="u@x", name="U"), create=True)
        found, left = await blog.abatch_get(User, [{"user_id": "u1"}, {"user_id": "nobody"}])
        assert [u.user_id for u in found] == ["u1"] and left == []
        assert (
            await blog.abatch_write(
                puts=[Post(post_id=f"q{i}", author="z", title="t", created=WHEN) for i in range(30)]
            )
            == []
        )
        pages = [page async for page in blog.query("posts_by_author", author="z").limit(7).apages()]
        assert sum(len(p.items) for p in pages) == 30 and len(pages) == 5
        assert len([p async for p in blog.query("posts_by_author", author="z")]) == 30
        await blog.delete(Post, post_id="p1").arun()
        assert await blog.get(Post, post_id="p1").arun() is None
        with pytest.raises(DynamoDBError) as error:
            await blog.put(Post(post_id="q1", author="z", title="t", created=WHEN), create=True).arun()
        assert error.value.code == "ConditionalCheckFailedException"

    run(flavour, blog_app, body)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_faux_sql_integrity_and_includes(flavour: str) -> None:
    async def body(sql: App) -> None:
        await asyncio.gather(
            *(sql.put(Author(author_id=f"a{i}", name=f"A{i}"), create=True).arun() for i in range(10))
        )
        await asyncio.gather(
            *(
                sql.put(Article(article_id=f"x{i}", author_id=f"a{i}", category="db", title="t")).arun()
                for i in range(10)
            )
        )
        with sql.counter() as counter:
            page = await sql.query("articles_in_category", category="db").include("author_id").apage()
        assert counter.requests == 2 and all(page.ref(a, "author_id") for a in page.items)
        await sql.put(Note(note_id="n1", article_id="x1", body="b")).arun()
        with pytest.raises(IntegrityError):
            await sql.delete(Author, author_id="a1").arun()
        await sql.delete(Article, article_id="x1").arun()  # cascades to the note
        assert await sql.get(Note, note_id="n1").arun() is None
        await sql.delete(Author, author_id="a1").arun()

    run(flavour, sql_app, body)


def test_sync_run_on_an_async_transport_says_what_to_do() -> None:
    async def body(blog: App) -> None:
        with pytest.raises(ModelError, match="arun"):
            blog.get(Post, post_id="p1").run()

    run("http", blog_app, body)


def test_thread_transport_keeps_the_event_loop_free() -> None:
    async def main() -> None:
        with Engine() as engine:
            blog = blog_app().use(ThreadTransport(engine))
            await acreate_tables(blog)
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0)

            task = asyncio.create_task(ticker())
            await asyncio.gather(
                *(
                    blog.put(Post(post_id=f"p{i}", author="a", title="t", created=WHEN)).arun()
                    for i in range(50)
                )
            )
            task.cancel()
            assert ticks > 0
            assert len(await blog.query("posts_by_author", author="a").aall()) == 50

    asyncio.run(main())
