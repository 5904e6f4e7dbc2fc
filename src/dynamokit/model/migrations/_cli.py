"""`dynamokit migrate plan|run|status TARGET`: migrations of a dynamokit.model App against a database."""

from __future__ import annotations

from typing import Any

import click

from .._transport import BotoTransport, Transport
from ._changes import MigrationError
from ._limits import Progress
from ._plan import plan as plan_migration
from ._plan import status as table_status
from ._runner import run as run_migration

_where = [
    click.option("--db", "db_path", help="A dynamokit database file (the embedded engine)."),
    click.option("--endpoint-url", help="A DynamoDB endpoint (AWS, `dynamokit serve`, moto_server, ...)."),
    click.option("--region", default="us-east-1", show_default=True, help="Region for --endpoint-url."),
]


def where(function: Any) -> Any:
    for option in reversed(_where):
        function = option(function)
    return function


def connect(db_path: str | None, endpoint_url: str | None, region: str) -> tuple[Transport, Any]:
    """The transport named by --db or --endpoint-url, and what to close afterwards."""
    if bool(db_path) == bool(endpoint_url):
        raise click.UsageError("give exactly one of --db FILE or --endpoint-url URL")
    if db_path:
        from ..._engine import Engine

        engine = Engine(db_path)
        return engine, engine
    import boto3  # type: ignore[import-untyped]

    return BotoTransport(boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)), None


def _app(target: str) -> Any:
    from .._cli import load

    return load(target)


@click.group("migrate")
def migrate() -> None:
    """Plan, run and follow the migrations an App declares (App(..., migrations=[Migration(...)])).

    \b
    Example:
      dynamokit migrate plan blog:app --db app.db
      dynamokit migrate run blog:app --db app.db --rate 500
      dynamokit migrate status blog:app --endpoint-url http://127.0.0.1:8000
    """


@migrate.command("plan")
@click.argument("target")
@where
@click.option("--count", is_flag=True, help="Count the items to rewrite (a Scan) instead of estimating.")
@click.option("--rate", type=float, help="The WCU/s the run will use (to estimate its duration).")
def plan_command(
    target: str, db_path: str | None, endpoint_url: str | None, region: str, count: bool, rate: float | None
) -> None:
    """Print what a run would change: items, RCU/WCU, on-demand cost, patterns incomplete until it ends.

    \b
    Example:
      dynamokit migrate plan blog:app --db app.db --count --rate 500
    """
    transport, closing = connect(db_path, endpoint_url, region)
    try:
        click.echo(str(plan_migration(_app(target), transport=transport, count=count, rate=rate)))
    except MigrationError as error:
        raise click.ClickException(f"refused: {error}") from None
    finally:
        if closing is not None:
            closing.close()


@migrate.command("run")
@click.argument("target")
@where
@click.option(
    "--segments", default=4, show_default=True, type=click.IntRange(1, 1000), help="Parallel Scan segments."
)
@click.option("--rate", type=float, help="Write capacity units per second, all segments together.")
@click.option(
    "--chunk",
    default=100,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="Items per Scan page (a checkpoint after each).",
)
@click.option("--retry-parked", is_flag=True, help="Migrate parked items again (after fixing the migration).")
def run_command(
    target: str,
    db_path: str | None,
    endpoint_url: str | None,
    region: str,
    segments: int,
    rate: float | None,
    chunk: int,
    retry_parked: bool,
) -> None:
    """Migrate live data to the App's model version; a stopped run resumes where it stopped.

    \b
    Example:
      dynamokit migrate run blog:app --db app.db --segments 8 --rate 1000
      dynamokit migrate run blog:app --db app.db --retry-parked
    """
    transport, closing = connect(db_path, endpoint_url, region)
    shown = [0.0]

    def report(progress: Progress) -> None:
        if progress.elapsed - shown[0] >= 2:
            shown[0] = progress.elapsed
            click.echo(f"  {progress}", err=True)

    try:
        done = run_migration(
            _app(target),
            transport,
            segments=segments,
            rate=rate,
            chunk=chunk,
            retry_parked=retry_parked,
            on_chunk=report,
        )
        click.echo(str(done))
    except MigrationError as error:
        raise click.ClickException(f"refused: {error}") from None
    except KeyboardInterrupt:
        click.echo("dynamokit: stopped at the last checkpoints; run again to resume", err=True)
        raise SystemExit(130) from None
    finally:
        if closing is not None:
            closing.close()
    if any(t.parked for t in done.tables):
        raise SystemExit(3)


@migrate.command("status")
@click.argument("target")
@where
def status_command(target: str, db_path: str | None, endpoint_url: str | None, region: str) -> None:
    """Print each table's stored model version and the progress of its latest run.

    \b
    Example:
      dynamokit migrate status blog:app --db app.db
    """
    transport, closing = connect(db_path, endpoint_url, region)
    try:
        for line in table_status(_app(target), transport):
            click.echo(str(line))
    finally:
        if closing is not None:
            closing.close()
