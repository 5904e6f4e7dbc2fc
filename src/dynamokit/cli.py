"""The `dynamokit` command line. Commands are added to the `main` group with `@main.command()`.

An unexpected error ends a command with one line on stderr and exit status 1; `dynamokit --debug ...`
shows its traceback instead. Every command's --help has an example, and every command is in the docs
(tests/test_cli.py checks both)."""

from __future__ import annotations

import ipaddress
import signal
import sqlite3
import threading
from typing import Any

import click

from . import __version__
from .demo.cli import demo
from .engine import Engine
from .errors import DynamoDBError
from .model.cli import model as model_cli
from .model.migrations.cli import migrate as migrate_cli
from .server.auth import Authenticator, AuthorizingBackend, CredentialsError
from .server.http import Server
from .server.protocol import Backend
from .streams.cli import streams as streams_cli


class Main(click.Group):
    """The top-level group: an unexpected error is one line on stderr and exit status 1, unless --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            click.echo(f"dynamokit: error: {describe(error)} (--debug shows the traceback)", err=True)
            ctx.exit(1)


def describe(error: Exception) -> str:
    """An exception as one line: its kind (DynamoDB's error code for a DynamoDBError) and its message."""
    kind = error.code if isinstance(error, DynamoDBError) else type(error).__name__
    message = " ".join(str(error).split())
    return f"{kind}: {message}" if message else kind


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dynamokit")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
def main(debug: bool) -> None:
    """dynamokit: serverless data layers on Amazon DynamoDB, with an embedded DynamoDB-compatible engine.

    \b
    Examples:
      dynamokit demo --html report.html          # the blog in four DynamoDB patterns, compared
      dynamokit serve --port 8000 --db app.db    # a DynamoDB endpoint for any SDK or the AWS CLI
      dynamokit model show blog:app              # the access patterns of an App in ./blog.py
      dynamokit migrate plan blog:app --db app.db  # what a model migration would change and cost
      dynamokit streams run reader:processor --db app.db --table posts
    """


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--db", "db_path", default=":memory:", show_default=True,
              help="SQLite database file; :memory: keeps data only while the server runs.")
@click.option("--region", default="us-east-1", show_default=True, help="Region the endpoint reports.")
@click.option("--auth", "auth_path", type=click.Path(dir_okay=False),
              help="Credentials file: verify SigV4 signatures and enforce IAM policies (see docs/auth.md).")
def serve(host: str, port: int, db_path: str, region: str, auth_path: str | None) -> None:
    """Serve the DynamoDB API over HTTP until interrupted (Ctrl-C or SIGTERM).

    \b
    Example:
      dynamokit serve --port 8000 --db app.db
      aws dynamodb list-tables --endpoint-url http://127.0.0.1:8000
    """
    engine = open_engine(db_path, region)
    stop = stop_on_signals()
    try:
        server = start_server(backend_for(engine, auth_path), host, port, region)
    except click.ClickException:
        engine.close()
        raise
    try:
        engine.ttl.start()  # expired items are deleted in the background, as DynamoDB does
        announce(server.url, host, db_path, region, auth_path)
        stop.wait()
    finally:
        server.stop()
        engine.close()
    click.echo("dynamokit: stopped")


def open_engine(db_path: str, region: str) -> Engine:
    try:
        return Engine(db_path, region=region)
    except (sqlite3.Error, OSError) as error:
        raise click.ClickException(f"cannot open database {db_path!r}: {error}") from None


def backend_for(engine: Engine, auth_path: str | None) -> Backend:
    """The engine itself, or with --auth the engine behind signature checks and IAM policies."""
    if auth_path is None:
        return engine
    try:
        return AuthorizingBackend(engine, Authenticator.from_file(auth_path, engine.region, engine.account_id))
    except CredentialsError as error:
        raise click.ClickException(str(error)) from None


def start_server(backend: Backend, host: str, port: int, region: str) -> Server:
    server = Server(backend, host, port, region=region)
    try:
        server.start()
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return server


def announce(url: str, host: str, db_path: str, region: str, auth_path: str | None = None) -> None:
    if auth_path is None and not is_loopback(host):
        click.secho(f"WARNING: listening on {host}, not loopback: there is NO authentication, anyone who can "
                    f"reach this address can read, change and delete every table.", fg="red", bold=True, err=True)
    click.echo(f"dynamokit: DynamoDB endpoint at {url} (db: {db_path}, region: {region})")
    keys = f"keys from {auth_path}" if auth_path else "any credentials"
    click.echo(f"  use it with: boto3.client('dynamodb', endpoint_url='{url}', region_name='{region}') "
               f"or: aws dynamodb list-tables --endpoint-url {url}  ({keys})")


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (which then no longer end the process abruptly)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    return stop


main.add_command(demo)
main.add_command(model_cli)
main.add_command(migrate_cli)
main.add_command(streams_cli, "streams")

if __name__ == "__main__":
    main()
