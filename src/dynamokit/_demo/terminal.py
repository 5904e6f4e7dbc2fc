"""The comparison as rich tables in the terminal."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .report import Change, Measure, PatternReport, Report, percentile


def _grid(report: Report, title: str, cell: Callable[[Measure], str]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column("access pattern")
    for pattern in report.patterns.values():
        table.add_column(pattern.title, justify="right")
    for key, name in report.titles.items():
        table.add_row(name, *(cell(p.access[key]) for p in report.patterns.values()))
    return table


def _requests(m: Measure) -> str:
    units = f"{m.rcu:g} R" if m.rcu else ""
    units += (" + " if units and m.wcu else "") + (f"{m.wcu:g} W" if m.wcu else "")
    return f"{m.requests:g} [dim]({units or 'no DynamoDB'})[/dim]"


def _probe(p: PatternReport) -> str:
    probe = p.probe
    if not probe.partial:
        return f"[green]all or nothing[/green] ({probe.interruptions} failure point(s) tried)"
    return f"[red]{probe.partial} of {probe.interruptions} left it half done, {probe.orphans} orphans[/red]"


def _lag(p: PatternReport) -> str:
    if not p.lag_ms:
        return "none: reads see every acknowledged write"
    return f"{percentile(p.lag_ms, 0.5):.1f} / {percentile(p.lag_ms, 0.99):.1f} ms (p50 / p99)"


def _integrity(report: Report) -> Table:
    table = Table(
        title="Integrity and consistency", title_justify="left", title_style="bold", show_lines=True
    )
    table.add_column("pattern")
    table.add_column("delete interrupted by a failed write")
    table.add_column("view lag (eventual consistency)")
    table.add_column("guarantees", ratio=1)
    for p in report.patterns.values():
        table.add_row(p.title, _probe(p), _lag(p), p.guarantees)
    return table


HOW = {
    "simple": "new GSI on the live table (UpdateTable, backfilled by the engine)",
    "faux_sql": "new GSI on the comments table (UpdateTable, backfilled by the engine)",
    "single_table": "model migration v1 -> v2 (new key template + GSI), live migration runner",
    "microservice": "new view, built by the gapless backfill (stream + parallel Scan)",
}
CHANGE_ROWS: tuple[tuple[str, Callable[[Change], str]], ...] = (
    ("items rewritten", lambda c: f"{c.items_rewritten}"),
    ("entries the engine copied into the new GSI", lambda c: f"{c.index_items}"),
    ("write / read capacity units", lambda c: f"{c.wcu:g} W / {c.rcu:g} R"),
    ("on-demand cost, USD", lambda c: f"${c.cost:.6f}"),
    ("wall time", lambda c: f"{c.seconds:.2f} s"),
    ("until the new pattern is served", lambda c: f"{c.served_seconds:.2f} s"),
    (
        "writer's acknowledged writes",
        lambda c: f"{c.writes}" + (f" ({c.failed_writes} refused)" if c.failed_writes else ""),
    ),
    (
        "writes lost",
        lambda c: "[green]0[/green]" if not c.lost_writes else f"[red]{c.lost_writes}[/red]",
    ),
    ("new pattern: requests per call", lambda c: f"{c.access.requests:g} [dim]({c.access.rcu:g} R)[/dim]"),
    ("new pattern: p50 / p99 ms", lambda c: f"{c.access.p50_ms:.2f} / {c.access.p99_ms:.2f}"),
)


def _change(report: Report) -> Table:
    shown = [p for p in report.patterns.values() if p.change is not None]
    table = Table(
        title=f'Cost of change: a product change arrives, "{report.change_title}", while a writer keeps writing',
        title_justify="left",
        title_style="bold",
    )
    table.add_column("")
    for p in shown:
        table.add_column(p.title, justify="right")
    table.add_row("how", *(HOW.get(p.name, "") for p in shown))
    for label, cell in CHANGE_ROWS:
        table.add_row(label, *(cell(p.change) for p in shown if p.change is not None))
    return table


def _summary(report: Report) -> Text:
    d = report.dataset
    agreed = all(report.agreement.values())
    text = Text.from_markup(
        f"[bold]dynamokit demo[/bold]: {d['items']} items ({d['authors']} authors, {d['posts']} posts, "
        f"{d['comments']} comments, {d['likes']} likes) loaded into each pattern; every access pattern run "
        f"{report.repetitions} times; {report.seconds:.1f} s in all.\n"
        + (
            "[green]All four patterns gave the same answers.[/green]"
            if agreed
            else "[red]Patterns disagree on: "
            + ", ".join(k for k, ok in report.agreement.items() if not ok)
            + "[/red]"
        )
    )
    for p in report.patterns.values():
        text.append(f"\n  {p.title}: ", style="bold")
        text.append(f"{p.summary} (loaded in {p.load_seconds:.1f} s)")
    return text


def render(report: Report) -> Group:
    background = [
        f"{p.title}: the reader service spent {p.background.requests} requests, {p.background.rcu:g} RCU and "
        f"{p.background.wcu:g} WCU keeping views current during the run (not in the per-call numbers)."
        for p in report.patterns.values()
        if p.background is not None
    ]
    background += [
        f"{p.title}: view lag is measured end to end (write issued to reader caught up); the stream runner's "
        f"own lag (commit to handler done) over {p.runner['processed']:g} records in {p.runner['batches']:g} "
        f"batches: {p.runner['lag_p50_ms']:.1f} / {p.runner['lag_p99_ms']:.1f} ms (p50 / p99)."
        for p in report.patterns.values()
        if p.runner is not None
    ]
    return Group(
        _summary(report),
        _grid(
            report,
            f"Requests per call, mean of {report.repetitions} calls (read / write capacity units)",
            _requests,
        ),
        _grid(
            report,
            "Latency, ms (p50 / p99), local: the embedded engine on SQLite in this process, no network",
            lambda m: f"{m.p50_ms:.2f} / {m.p99_ms:.2f}",
        ),
        _grid(report, "On-demand cost, USD per million calls", lambda m: f"${m.cost_per_million:,.2f}"),
        _integrity(report),
        _change(report),
        Text(
            "Cost of change: GSI entries copied by the engine are billed by DynamoDB as writes; counted here as "
            "one write unit each (an estimate: the items are under 1 KB). The microservice's rewritten items are "
            "the new view's lines (the posts table is not touched); its Scan's read units are those of the same "
            "consistent Scan. Writes lost: the writer's acknowledged comments missing from the new pattern or "
            "their post's page afterwards.",
            style="dim",
        ),
        Text("\n".join(background), style="dim"),
    )


def show(report: Report, console: Console | None = None) -> None:
    (console or Console()).print(render(report))
