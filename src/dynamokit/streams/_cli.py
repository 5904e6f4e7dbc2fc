"""`dynamokit streams run module:processor`: the local event-source runner from the command line."""

from __future__ import annotations

import threading
from contextlib import ExitStack

import click

from .._engine import Engine
from .._targets import load as load_target
from ._mapping import MappingError
from ._runner import LocalRunner
from ._sources import RemoteSource, StreamSource


def load(target: str) -> object:
    """The object named by `module:attribute`."""
    return load_target(target, "processor")


@click.group()
def streams() -> None:
    """The streams runtime: run stream handlers locally.

    \b
    Example:
      dynamokit streams run reader:processor --db app.db --table posts
    """


@streams.command()
@click.argument("target")
@click.option("--db", "db_path", help="SQLite database file of the engine (or use --endpoint-url).")
@click.option("--endpoint-url", help="A DynamoDB endpoint whose Streams API is read (AWS, dynamokit serve, ...).")
@click.option("--region", help="AWS region of --endpoint-url (default: the AWS configuration's).")
@click.option("--table", required=True, help="Table whose stream feeds the handler.")
@click.option("--name", help="Runner name (checkpoints are kept per name).")
@click.option("--batch-size", default=100, show_default=True, type=int)
@click.option("--batching-window", default=0.0, show_default=True, type=float)
@click.option("--max-retries", default=-1, show_default=True, type=int)
@click.option("--bisect/--no-bisect", default=False, show_default=True)
@click.option("--max-record-age", default=-1.0, show_default=True, type=float)
@click.option("--starting-position", default="TRIM_HORIZON", show_default=True,
              type=click.Choice(["TRIM_HORIZON", "LATEST"]))
@click.option("--parallelization-factor", default=1, show_default=True, type=int,
              help="Concurrent batches per shard (records of a partition key stay in order).")
@click.option("--tumbling-window", default=0, show_default=True, type=int,
              help="Seconds per tumbling window (0: none); the handler then returns {'state': ...}.")
@click.option("--on-failure-table", help="Table that receives records given up on.")
@click.option("--every", default=5.0, show_default=True, help="Seconds between progress lines.")
def run(target: str, db_path: str | None, endpoint_url: str | None, region: str | None, table: str,
        name: str | None, batch_size: int, batching_window: float, max_retries: int, bisect: bool,
        max_record_age: float, starting_position: str, parallelization_factor: int, tumbling_window: int,
        on_failure_table: str | None, every: float) -> None:
    """Feed TABLE's stream to TARGET (module:processor, a StreamProcessor or a Lambda handler) until
    interrupted, printing a progress line (throughput, lag, watermark). The stream is read from the engine
    in --db, or from any DynamoDB Streams endpoint with --endpoint-url (checkpoints are kept there too).

    \b
    Example:
      dynamokit streams run reader:processor --db app.db --table posts
      dynamokit streams run reader:handler --endpoint-url http://127.0.0.1:8000 --table posts --bisect
    """
    if (db_path is None) == (endpoint_url is None):
        raise click.UsageError("give exactly one of --db and --endpoint-url")
    handler = load(target)
    with ExitStack() as stack:
        source: Engine | StreamSource = (stack.enter_context(Engine(db_path)) if db_path is not None
                                         else RemoteSource(endpoint_url=endpoint_url, region_name=region))
        try:
            runner = LocalRunner(source, table, handler, batch_size=batch_size,  # type: ignore[arg-type]
                                 batching_window=batching_window, max_retries=max_retries,
                                 bisect_on_error=bisect, max_record_age=max_record_age,
                                 starting_position=starting_position,
                                 parallelization_factor=parallelization_factor, tumbling_window=tumbling_window,
                                 on_failure_table=on_failure_table, name=name).start()
        except MappingError as error:  # the settings are checked in one place: the mapping
            raise click.UsageError(str(error)) from None
        halt = threading.Event()
        try:
            while not halt.wait(every):
                click.echo(runner.metrics.line())
        except KeyboardInterrupt:
            pass
        finally:
            runner.stop()
            click.echo(runner.metrics.line())
