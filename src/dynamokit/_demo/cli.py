"""The `dynamokit demo` command."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import html, runner, terminal


@click.command("demo")
@click.option(
    "--size",
    default=3000,
    show_default=True,
    type=click.IntRange(min=500),
    help="Items in the data set (authors, posts, comments, likes).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="Keep the engine's files here (default: a temporary directory).",
)
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write an HTML report.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write a JSON report.")
@click.option("--seed", default=7, show_default=True, help="Seed of the generated data and inputs.")
def demo(size: int, directory: str | None, html_path: str | None, json_path: str | None, seed: int) -> None:
    """Build the same blog in all four DynamoDB patterns on the embedded engine and compare them.

    \b
    Example:
      dynamokit demo
      dynamokit demo --size 10000 --html report.html --json report.json
    """
    console = Console()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        report = runner.run(size=size, directory=directory, seed=seed, progress=progress)
    terminal.show(report, console)
    if html_path:
        Path(html_path).write_text(html.page(report), encoding="utf-8")
        console.print(f"HTML report: {html_path}")
    if json_path:
        Path(json_path).write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
        console.print(f"JSON report: {json_path}")
