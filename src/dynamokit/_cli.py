"""The `dynamokit` command line. Commands are added to the `main` group with `@main.command()`.

An unexpected error ends a command with one line on stderr and exit status 1; `dynamokit --debug ...`
shows its traceback instead. Every command's --help has an example, and every command is in the docs
(tests/test_cli.py checks both)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import sqlite3
import sys
import threading
from typing import Any

import click

from . import __version__
from ._demo.cli import demo
from ._engine import Engine
from ._engine.faults import Fault
from ._engine.storage import scratch_dir
from ._errors import DynamoDBError
from ._protocol import Backend
from ._transfer_cli import export_command, import_command
from .model._cli import model as model_cli
from .model.migrations._cli import migrate as migrate_cli
from .server._auth import Authenticator, AuthorizingBackend, CredentialsError
from .server._console.security import CONSOLE_SECRET
from .server._http import Server, endpoint_url
from .server._workers import Pool, cpu_count, reserve_port
from .streams._cli import streams as streams_cli


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
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Server processes sharing the port and the database [default: the CPU count; 1 with "
                   "--throttling or --fault-seed, whose state is per process]; above 1, a supervisor restarts any "
                   "that dies, and one of them at a time runs the background work.")
@click.option("--worker-of", "worker_of", hidden=True, is_flag=True,
              help="Internal: run as a worker of a `serve --workers` supervisor (ends when its stdin closes).")
@click.option("--app", "app_target", metavar="MODULE:APP",
              help="A dynamokit.model App whose design chart and access patterns (run from a form) the web console "
                   "shows at /console/model.")
@click.option("--s3-endpoint-url", "s3_endpoint_url", default=None, envvar="DYNAMOKIT_S3_ENDPOINT_URL",
              help="S3-compatible endpoint holding the buckets of exports and imports.")
@click.option("--s3-dir", "s3_dir", default=None, type=click.Path(file_okay=False),
              help="Without --s3-endpoint-url: a folder per bucket under this directory (default: <db>.s3).")
@click.option("--s3-api", "s3_api", is_flag=True,
              help="Also answer S3 API calls (path-style) from the local bucket folders, at the same URL.")
@click.option("--throttling", is_flag=True,
              help="Provisioned tables throttle at their capacity, with 300 s of burst (per process).")
@click.option("--fault", "fault_specs", multiple=True, metavar="OPERATION:ERROR[:RATE[:TABLE]]",
              help="Inject ERROR (e.g. ThrottlingException) into OPERATION ('*': any) with probability RATE "
                   "(default 1); repeatable.")
@click.option("--fault-seed", type=int, default=None, help="Seed of the faults' random source.")
def serve(host: str, port: int, db_path: str, region: str, auth_path: str | None, workers: int | None,
          worker_of: bool, app_target: str | None, s3_endpoint_url: str | None, s3_dir: str | None,
          s3_api: bool, throttling: bool, fault_specs: tuple[str, ...], fault_seed: int | None) -> None:
    """Serve the DynamoDB API over HTTP until interrupted (Ctrl-C or SIGTERM), and the web console at /console/.

    One process per CPU by default (--workers), all on one port and one database file (:memory: too: a
    throwaway file in RAM they share), so every process sees every change at once; one of them at a time
    runs the background work (TTL deletions, index backfills, ...), another taking over if it dies.

    \b
    Examples:
      dynamokit serve --port 8000 --db app.db
      aws dynamodb list-tables --endpoint-url http://127.0.0.1:8000
      dynamokit serve --port 8000 --db app.db --workers 1    # one process (the same data either way)
      open http://127.0.0.1:8000/console/          # the web console (docs/console.md)
    """
    if s3_api and (auth_path or s3_endpoint_url):
        raise click.UsageError("--s3-api serves the local bucket folders without authentication: it cannot be "
                               "combined with --auth or --s3-endpoint-url")
    if workers is None:  # throttling buckets, a seeded fault sequence and console logins are per process
        workers = 1 if throttling or fault_seed is not None or auth_path else cpu_count()
    elif workers > 1 and auth_path and not worker_of:
        click.echo("warning: console logins (--auth) are kept per process: with --workers above 1 a login holds "
                   "only on the worker that made it (the API is unaffected)", err=True)
    if worker_of or workers == 1:
        serve_here(host, port, db_path, region, auth_path, worker_of, app_target, s3_endpoint_url, s3_dir, s3_api,
                   throttling, fault_specs, fault_seed)
        return
    options = (["--auth", auth_path] if auth_path else []) + (["--app", app_target] if app_target else []) + (
        ["--s3-endpoint-url", s3_endpoint_url] if s3_endpoint_url else []) + (
        ["--s3-dir", s3_dir] if s3_dir else []) + (["--s3-api"] if s3_api else []) + (
        ["--throttling"] if throttling else []) + [f"--fault={spec}" for spec in fault_specs]
    configure_console(app_target)  # the options are checked here once, not once per worker
    for spec in fault_specs:
        parse_fault(spec)
    scratch = scratch_dir() if db_path == ":memory:" else None  # named after us: removed even if we are killed
    shared = os.path.join(scratch, "engine.db") if scratch else db_path  # the workers share one file
    try:
        engine = open_engine(shared, region, s3_endpoint_url, s3_dir, resume=False)  # the database and --auth
        try:  # are checked once, here, so a mistake is one error, not one per worker
            backend_for(engine, auth_path)
        finally:
            engine.close()
        try:
            port = reserve_port(host, port)
        except OSError as error:
            raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None

        def command(n: int) -> list[str]:  # each worker throttles and draws its faults on its own
            seed = [f"--fault-seed={fault_seed + n}"] if fault_seed is not None else []
            return [sys.executable, "-m", "dynamokit", "serve", "--host", host, "--port", str(port), "--db", shared,
                    "--region", region, "--worker-of", *options, *seed]

        stop = stop_on_signals()
        pool = Pool(command, workers, env={CONSOLE_SECRET: secrets.token_urlsafe(32)})  # one console secret
        try:
            try:
                pool.start()
            except RuntimeError as error:
                raise click.ClickException(str(error)) from None
            announce(endpoint_url(host, port), host, db_path, region, auth_path, workers)
            pool.supervise(stop)
        finally:
            pool.stop()
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    click.echo("dynamokit: stopped")


def serve_here(host: str, port: int, db_path: str, region: str, auth_path: str | None, worker_of: bool,
               app_target: str | None, s3_endpoint_url: str | None, s3_dir: str | None, s3_api: bool,
               throttling: bool, fault_specs: tuple[str, ...], fault_seed: int | None) -> None:
    """`serve` in this process: alone, or as one worker of a `--workers` supervisor (`worker_of`)."""
    configure_console(app_target)
    faults = [parse_fault(spec) for spec in fault_specs]
    engine = open_engine(db_path, region, s3_endpoint_url, s3_dir, throttling)
    for fault in faults:
        engine.faults.add(fault)
    engine.faults.seed(fault_seed)
    stop = stop_on_signals()
    if worker_of:
        threading.Thread(target=stop_at_end_of_input, args=(stop,), daemon=True).start()
    try:
        server = start_server(backend_for(engine, auth_path), host, port, region, reuse_port=worker_of, s3_api=s3_api)
    except click.ClickException:
        engine.close()
        raise
    try:
        engine.leadership.start()  # TTL sweeps and the like, in one process of those sharing the database
        if worker_of:
            click.echo("listening")
            sys.stdout.flush()
        else:
            announce(server.url, host, db_path, region, auth_path)
        stop.wait()
    finally:
        server.stop()
        engine.close()
    if not worker_of:
        click.echo("dynamokit: stopped")


def stop_at_end_of_input(stop: threading.Event) -> None:
    """Set `stop` once stdin closes (a worker's stdin is a pipe from its supervisor)."""
    sys.stdin.read()
    stop.set()


@main.command("console")
@click.option("--endpoint-url", default=None, help="DynamoDB endpoint; without it, AWS (boto3's configuration).")
@click.option("--region", default=None, help="Region (default: boto3's configuration, else us-east-1).")
@click.option("--profile", default=None, help="AWS profile of boto3's credential chain.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the console listens on.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535),
              help="Port the console listens on (0: any free port).")
@click.option("--app", "app_target", metavar="MODULE:APP", help="A dynamokit.model App: its design chart, its access patterns to run.")
def console_command(endpoint_url: str | None, region: str | None, profile: str | None, host: str, port: int,
                    app_target: str | None) -> None:
    """Serve the web console for any DynamoDB endpoint, AWS included, until interrupted.

    Requests are made with boto3's default credential chain (environment, profile, SSO, instance role).

    \b
    Example:
      dynamokit console --endpoint-url http://127.0.0.1:8000
      dynamokit console --region eu-west-1 --profile staging   # AWS itself
    """
    from .server._console.remote import RemoteBackend

    configure_console(app_target)
    backend = RemoteBackend(endpoint_url, region, profile)
    stop = stop_on_signals()
    server = start_server(backend, host, port, backend.region)
    try:
        if not is_loopback(host):
            click.secho(f"WARNING: listening on {host}, not loopback: anyone who can reach it acts with your AWS "
                        f"credentials.", fg="red", bold=True, err=True)
        click.echo(f"dynamokit: console at {server.url}/console/ for {endpoint_url or 'AWS'} "
                   f"(region: {backend.region})")
        stop.wait()
    finally:
        server.stop()
    click.echo("dynamokit: stopped")


def configure_console(app_target: str | None) -> None:
    """The model App the console shows (`--app`), loaded before anything starts."""
    if app_target is not None:
        from .model._cli import load
        from .server._console import configure

        configure(load(app_target))


def parse_fault(spec: str) -> Fault:
    """A `--fault OPERATION:ERROR[:RATE[:TABLE]]` option's Fault."""
    parts = spec.split(":")
    if not 2 <= len(parts) <= 4:
        raise click.BadParameter(f"{spec!r}: expected OPERATION:ERROR[:RATE[:TABLE]]", param_hint="--fault")
    try:
        return Fault(None if parts[0] in ("*", "") else parts[0], parts[1],
                     float(parts[2]) if len(parts) > 2 else 1.0, parts[3] if len(parts) > 3 else None)
    except ValueError as error:
        raise click.BadParameter(f"{spec!r}: {error}", param_hint="--fault") from None


def open_engine(db_path: str, region: str, s3_endpoint_url: str | None = None, s3_dir: str | None = None,
                throttling: bool = False, resume: bool = True) -> Engine:
    try:
        return Engine(db_path, region=region, s3_endpoint_url=s3_endpoint_url, s3_dir=s3_dir, throttling=throttling,
                      resume_backfills=resume)
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


def start_server(backend: Backend, host: str, port: int, region: str, reuse_port: bool = False,
                 s3_api: bool = False) -> Server:
    server = Server(backend, host, port, region=region, reuse_port=reuse_port)
    if s3_api:
        from ._engine.objectstore import LocalStore
        from .server._s3 import S3Api

        store = backend.object_store() if isinstance(backend, Engine) else None
        if not isinstance(store, LocalStore):
            raise click.UsageError("--s3-api needs the local bucket folders (no S3 endpoint configured)")
        server.s3 = S3Api(store)
    try:
        server.start()
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return server


def announce(url: str, host: str, db_path: str, region: str, auth_path: str | None = None,
             workers: int = 1) -> None:
    if auth_path is None and not is_loopback(host):
        click.secho(f"WARNING: listening on {host}, not loopback: there is NO authentication, anyone who can "
                    f"reach this address can read, change and delete every table.", fg="red", bold=True, err=True)
    processes = f", {workers} processes" if workers > 1 else ""
    click.echo(f"dynamokit: DynamoDB endpoint at {url} (db: {db_path}, region: {region}{processes})")
    keys = f"keys from {auth_path}" if auth_path else "any credentials"
    click.echo(f"  use it with: boto3.client('dynamodb', endpoint_url='{url}', region_name='{region}') "
               f"or: aws dynamodb list-tables --endpoint-url {url}  ({keys})")
    click.echo(f"  web console: {url}/console/" + ("  (log in with a key of the credentials file)" if auth_path else ""))


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
main.add_command(export_command)
main.add_command(import_command)

if __name__ == "__main__":
    main()
