"""`dynamokit model ...` commands (a click group the main CLI registers)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table as RichTable

from .._targets import load as load_target
from . import catalogue
from ._app import App


def load(target: str) -> App:
    """`package.module:name` -> the App it names (or that calling it returns)."""
    found = load_target(target, "app")
    app = found() if callable(found) and not isinstance(found, (App, type)) else found
    if not isinstance(app, App):
        raise click.BadParameter(f"{target} is not a dynamokit.model.App", param_hint="TARGET")
    return app


@click.group("model")
def model() -> None:
    """Inspect and export a dynamokit.model App.

    TARGET is module:app, an App or a function returning one; modules in the current directory are found
    first.

    \b
    Example:
      dynamokit model show blog:app
      dynamokit model export blog:app --format terraform > tables.tf
    """


def show_tables(app: App, console: Console | None = None) -> None:
    """Print the chart and the pattern table as rich tables. Key templates and conditions are never cut
    short: a terminal folds long cells onto more lines; other output (a pipe, a file) is as wide as needed."""
    console = console or Console()
    header, rows = catalogue.chart(app)
    keys = RichTable(title="Entities x keys")
    for column in header:
        keys.add_column(column, overflow="fold")
    for row in rows:
        keys.add_row(*row)
    table = RichTable(title="Access patterns")
    for column in ("pattern", "entities", "index", "key condition", "est. RCU/call", "reads"):
        table.add_column(column, overflow="fold")
    for r in catalogue.patterns(app):
        table.add_row(r.name, r.entities, r.index, r.condition, f"{r.rcu:g}", r.reads)
    if not console.is_terminal:
        wide = console.options.update_width(1 << 16)
        needed = max(Measurement.get(console, wide, t).maximum for t in (keys, table))
        console.width = max(console.width, needed)
    console.print(keys)
    console.print(table)


@model.command("show")
@click.argument("target")
@click.option("--markdown", is_flag=True, help="Print Markdown instead of rich tables.")
def show(target: str, markdown: bool) -> None:
    """Print the entity x key chart and the access patterns (key condition, estimated RCU per call).

    \b
    Example:
      dynamokit model show blog:app              # blog.py in the current directory, app = App(...)
      dynamokit model show myservice.models:make_app --markdown > docs/access-patterns.md
    """
    app = load(target)
    if markdown:
        click.echo(catalogue.markdown(app), nl=False)
    else:
        show_tables(app)


@model.command("export")
@click.argument("target")
@click.option(
    "--format",
    "kind",
    type=click.Choice(["sam", "cloudformation", "terraform", "create-table"]),
    default="cloudformation",
    show_default=True,
)
@click.option("--out", type=click.Path(file_okay=False), help="Write into this folder instead of printing.")
def export(target: str, kind: str, out: str | None) -> None:
    """Print (or write to --out) the tables of an App, or everything of a dynamokit.deploy.Deployment
    (tables, stream processors' functions, event source mappings, roles, on-failure queues), as SAM or
    CloudFormation JSON, Terraform HCL or CreateTable JSON.

    \b
    Example:
      dynamokit model export blog:app > template.json
      dynamokit model export blog:app --format terraform > tables.tf
      dynamokit model export myservice.deploy:deployment --format sam --out build/
    """
    from ..deploy._export import as_deployment, render, write

    deployment = as_deployment(load_target(target, "app"))
    if deployment is None:
        raise click.BadParameter(f"{target} is not a dynamokit.model.App or dynamokit.deploy.Deployment",
                                 param_hint="TARGET")
    if out is not None:
        click.echo(f"wrote {write(deployment, kind, out)}")
    else:
        click.echo(render(deployment, kind), nl=False)
