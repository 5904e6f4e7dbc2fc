"""`dynamokit export` and `dynamokit import`: a table to and from local files in DynamoDB's S3 export layout."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from ._engine import Engine

_FORMATS = click.Choice(["DYNAMODB_JSON", "ION", "CSV"], case_sensitive=False)


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (nothing when stderr is not a terminal); yields its `advance`."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _open(db: str) -> Engine:
    if not os.path.exists(db):
        raise click.ClickException(f"no database at {db}")
    return Engine(db, resume_backfills=False)


@click.command("export")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite database file.")
@click.option("--table", "table", required=True, help="Table to export.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory to write the export into.")
@click.option("--format", "export_format", type=click.Choice(["DYNAMODB_JSON", "ION"], case_sensitive=False),
              default="DYNAMODB_JSON", show_default=True, help="Format of the data files.")
def export_command(db: str, table: str, out: str, export_format: str) -> None:
    """Export a table's items into DIR as DynamoDB exports to S3 (DIR/AWSDynamoDB/<id>/manifest-summary.json,
    manifest-files.json, data/*.json.gz). Point-in-time recovery is not needed: the current items are read
    from one snapshot while writers go on.

    \b
    Example:
      dynamokit export --db app.db --table orders --out ./orders-export
    """
    from ._engine.exports import export_table

    with _open(db) as engine:
        count = engine.call("DescribeTable", {"TableName": table})["Table"]["ItemCount"]
        with _progress(f"export {table}", count) as advance:
            summary = export_table(engine, table, out, export_format.upper(), advance)
    click.echo(f"dynamokit: exported {summary['ItemCount']} items of {table} to "
               f"{os.path.join(out, os.path.dirname(summary['ExportManifest']))}")


@click.command("import")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="SQLite database file (created if missing).")
@click.option("--table", "table", required=True, help="Table to write into (created with --key if missing).")
@click.option("--from", "source", required=True, type=click.Path(exists=True, file_okay=False),
              help="Directory holding an export, or data files (gzip, zstd or plain).")
@click.option("--format", "input_format", type=_FORMATS, default=None,
              help="Format of the files (default: by extension, .ion ION, .csv CSV, else DYNAMODB_JSON).")
@click.option("--key", default=None, help="Key of a table to create: HASH:TYPE[,RANGE:TYPE], e.g. pk:S,sk:N.")
@click.option("--delimiter", default=",", show_default=True, help="CSV field delimiter.")
@click.option("--header", default=None, help="CSV column names, comma-separated (default: the first line).")
def import_command(db: str, table: str, source: str, input_format: str | None, key: str | None,
                   delimiter: str, header: str | None) -> None:
    """Write the items of an export (or of data files in DynamoDB JSON, Ion or CSV) into a table. Unusable
    lines are counted and skipped.

    \b
    Example:
      dynamokit import --db copy.db --table orders --from ./orders-export --key pk:S,sk:S
    """
    from ._engine.imports import import_files

    with Engine(db, resume_backfills=False) as engine:
        if table not in engine.call("ListTables", {})["TableNames"]:
            if key is None:
                raise click.ClickException(f"table {table} does not exist: give its key with --key pk:S[,sk:N]")
            engine.call("CreateTable", _create_request(table, key))
        files = [os.path.join(folder, f) for folder, _, names in os.walk(source) for f in names]
        total = sum(os.path.getsize(f) for f in files)
        csv_options = {"Delimiter": delimiter, **({"HeaderList": header.split(",")} if header else {})}
        with _progress(f"import {table}", total) as advance:
            counts = import_files(engine, table, source, input_format and input_format.upper(), csv_options,
                                  advance)
    click.echo(f"dynamokit: imported {counts['ImportedItemCount']} of {counts['ProcessedItemCount']} items into "
               f"{table} ({counts['ErrorCount']} errors)")
    if counts["ErrorCount"]:
        raise SystemExit(1)


def _create_request(table: str, key: str) -> dict[str, object]:
    schema, definitions = [], []
    for part, kind in zip(key.split(","), ("HASH", "RANGE"), strict=False):
        name, _, attribute_type = part.partition(":")
        if not name or attribute_type not in ("S", "N", "B"):
            raise click.BadParameter(f"{part!r}: expected NAME:S, NAME:N or NAME:B", param_hint="--key")
        schema.append({"AttributeName": name, "KeyType": kind})
        definitions.append({"AttributeName": name, "AttributeType": attribute_type})
    return {"TableName": table, "KeySchema": schema, "AttributeDefinitions": definitions,
            "BillingMode": "PAY_PER_REQUEST"}


__all__ = ["export_command", "import_command"]
