"""Pattern 4 on the embedded engine: a stream feeds a read view, a search index and analytics; a new view is
backfilled while the old one keeps serving."""

from __future__ import annotations

import tempfile

from dynamokit import Engine
from dynamokit.model import App, Entity, Keys, Options, Table, create_tables
from dynamokit.streams import (
    Change,
    DuckDBSink,
    FtsSink,
    LocalRunner,
    StreamProcessor,
    View,
    backfill,
    ensure_table,
    wait_for_version,
)


class Post(Entity):
    post_id: str
    author: str
    title: str
    keys = Keys(pk="POST#{post_id}", sk="POST#{post_id}")
    options = Options(name="post")


blog = App(Table("blog", [Post], stream="NEW_AND_OLD_IMAGES"))


def main() -> None:
    folder = tempfile.mkdtemp()
    with Engine(f"{folder}/blog.db") as engine:
        blog.use(engine)
        create_tables(blog)
        ensure_table(engine, "views")
        by_author = View(engine, "views")
        search, analytics = FtsSink(f"{folder}/search.db"), DuckDBSink(f"{folder}/analytics.duckdb")
        processor = StreamProcessor(blog, ordering="per_key", sinks=[analytics])  # rows per batch

        @processor.on(Post)
        def post_changed(change: Change[Post]) -> None:
            key = {"pk": "post", "sk": change.keys["pk"]}
            if change.new is None:
                by_author.delete(key, change.version)
                search.delete(change.keys["pk"], change.version)
            else:
                by_author.upsert(key, {"author": change.new.author, "title": change.new.title}, change.version)
                search.index(change.keys["pk"], {"title": change.new.title}, change.version)

        runner = LocalRunner(engine, "blog", processor, batching_window=0.01).start()
        blog.put(Post(post_id="p1", author="ann", title="Streams in practice")).run()
        blog.put(Post(post_id="p2", author="bob", title="Views that never go stale")).run()
        blog.update(Post, post_id="p1").set(title="Streams, in practice").run()
        runner.run_until_caught_up(5)
        print(wait_for_version(by_author, {"pk": "post", "sk": "POST#p1"}, 1, timeout=1).item)
        print([hit.doc_id for hit in search.search("streams")])
        print(analytics.query("SELECT count(*) FROM changes"), analytics.query("SELECT count(*) FROM current"))
        print(runner.metrics.line())
        runner.stop()

        ensure_table(engine, "titles")
        titles = View(engine, "titles")

        def project_title(change: Change[Post]) -> None:
            key = {"pk": "title", "sk": change.keys["pk"]}
            if change.new is None:
                titles.delete(key, change.version)
            else:
                titles.upsert(key, {"title": change.new.title}, change.version)

        result = backfill(engine, "blog", project_title, app=blog)  # rebuild a new view, gapless
        print(result, sorted(v["title"] for v in titles.items()))


if __name__ == "__main__":
    main()
