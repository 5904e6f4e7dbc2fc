"""The microservice blog as deployed: its tables, and the reader service as a Lambda function fed by the
posts table's stream. `MicroserviceBlog` runs the reader locally from the very same `READER` mapping, so
the local runner and the deployed event source mapping cannot drift.

    dynamokit model export --format sam dynamokit.examples.blog.deploy:deployment --out build/
"""

from __future__ import annotations

import functools
import os
from typing import Any

from dynamokit.deploy import READ, WRITE, Deployment, EventSourceMapping, Processor, TableSettings

from .microservice import POSTS_TABLE, VIEWS_TABLE, posts_app, views_app

READER = EventSourceMapping(
    table=POSTS_TABLE,
    handler="dynamokit.examples.blog.deploy:handler",
    batch_size=100,
    bisect_on_error=True,
    max_retries=-1,  # views never skip a change: a failing batch is retried...
    max_record_age=86_400,  # ...until it is a day old (the stream's retention), then parked
    on_failure="blog-reader-failures",
    report_batch_item_failures=True,  # the StreamProcessor reports ordered partial-batch failures
    starting_position="TRIM_HORIZON",
)

deployment = Deployment(
    posts_app(),
    views_app(),
    processors=[Processor("blog-reader", READER, tables={VIEWS_TABLE: READ + WRITE}, memory=512, timeout=120)],
    defaults=TableSettings(pitr=True, deletion_protection=True),
)


@functools.cache
def _reader() -> Any:
    """The reader service, built once per Lambda instance, over the function's own AWS credentials and
    region. Its search index is SQLite in the instance's /tmp (per instance: use OpenSearchSink to share one)."""
    import boto3  # type: ignore[import-untyped]

    from dynamokit.model import BotoTransport
    from dynamokit.streams import FtsSink

    from .microservice import Reader

    directory = os.environ.get("BLOG_SEARCH_DIR", "/tmp")
    search = FtsSink(os.path.join(directory, "search.sqlite"), index="posts")
    return Reader(BotoTransport(boto3.client("dynamodb")), search, None)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point of the reader service: `{"batchItemFailures": [...]}`."""
    return _reader().lambda_handler(event, context)  # type: ignore[no-any-return]
