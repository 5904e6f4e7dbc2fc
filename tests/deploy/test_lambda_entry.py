"""The blog's deployed Lambda entry point, unchanged, fed by its own event source mapping: boto3 inside the
handler is answered by the embedded engine (dynamokit.mock), as AWS would answer it."""

from __future__ import annotations

from pathlib import Path

import pytest

import dynamokit
from dynamokit.examples.blog import deploy, microservice
from dynamokit.model import create_tables
from dynamokit.streams import LocalRunner


def test_the_deployed_handler_writes_the_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("BLOG_SEARCH_DIR", str(tmp_path))
    deploy._reader.cache_clear()
    try:
        with dynamokit.mock() as engine:
            posts = microservice.posts_app().use(engine)
            create_tables(posts)
            create_tables(microservice.views_app().use(engine))
            post = microservice.Post(post_id="p1", author_id="a1", author_name="Ann", title="Hello", body="World",
                                     created="2024-05-01T10:00:00Z")
            posts.put(post).run()
            runner = LocalRunner.from_mapping(engine, deploy.READER)  # imports deploy:handler, as Lambda does
            assert runner.run_until_caught_up(30).parked == 0
            views = microservice.views_app().use(engine)
            assert [p.post_id for p in views.query(microservice.FEED, author_id="a1").all()] == ["p1"]
    finally:
        deploy._reader.cache_clear()
