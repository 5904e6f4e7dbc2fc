"""`dynamokit model ...` commands (a click group the main CLI registers)."""

from __future__ import annotations

import importlib
import json

import click

from . import catalogue, schema
from .app import App


def load(target: str) -> App:
    """`package.module:name` -> the App it names (or that calling it returns)."""
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise click.BadParameter("expected module:app", param_hint="TARGET")
    found = getattr(importlib.import_module(module_name), attribute)
    app = found() if callable(found) and not isinstance(found, App) else found
    if not isinstance(app, App):
        raise click.BadParameter(f"{target} is not a dynamokit.model.App", param_hint="TARGET")
    return app


@click.group("model")
def model() -> None:
    """Inspect and export a dynamokit.model App."""


@model.command("show")
@click.argument("target")
@click.option("--markdown", is_flag=True, help="Print Markdown instead of rich tables.")
def show(target: str, markdown: bool) -> None:
    """Print the entity x key chart and the access patterns (key condition, estimated RCU per call)."""
    app = load(target)
    if markdown:
        click.echo(catalogue.markdown(app), nl=False)
    else:
        catalogue.show(app)


@model.command("export")
@click.argument("target")
@click.option(
    "--format",
    "kind",
    type=click.Choice(["cloudformation", "terraform", "create-table"]),
    default="cloudformation",
    show_default=True,
)
def export(target: str, kind: str) -> None:
    """Print the App's tables as CloudFormation/SAM JSON, Terraform HCL or CreateTable JSON."""
    app = load(target)
    if kind == "terraform":
        click.echo(schema.terraform(app), nl=False)
    elif kind == "create-table":
        click.echo(json.dumps(schema.create_table_requests(app), indent=2))
    else:
        click.echo(schema.cloudformation_json(app))
