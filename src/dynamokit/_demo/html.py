"""The comparison as one self-contained HTML page: tables and inline SVG bar charts (no scripts, no network)."""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from .report import READ_PRICE, WRITE_PRICE, Measure, Report, percentile

COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1")
STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}h3{font-size:1rem;margin:1rem 0 .3rem}
.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.3rem .6rem}
td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#2a7d2a}.bad{color:#b22}.note{color:#555}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;
margin-right:.3rem;vertical-align:middle}figure{margin:0 0 1.5rem}
svg.chart{display:block;width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#222}
svg .grid{stroke:#e3e3e3}svg .axis{stroke:#888}svg .tick{fill:#555}
.numbers table{min-width:min(100%,760px)}
"""
WIDTH, LABEL_W, RIGHT, BAR_H, GAP = 1000, 210, 110, 14, 12


def ticks(top: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least `top` (about `count` steps of 1, 2, 2.5 or 5 times a power of 10)."""
    top = top or 1.0
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [round(i * step, 12) for i in range(math.ceil(top / step - 1e-9) + 1)]


def bars(
    title: str,
    groups: list[str],
    series: dict[str, list[float]] | dict[str, list[tuple[float, ...]]],
    unit: str,
    colours: tuple[str, ...] = COLOURS,
    label: Callable[[tuple[float, ...]], str] | None = None,
) -> str:
    """A grouped horizontal bar chart as an inline <svg> that fills its container's width: one group per
    label, one bar per series, with an x axis in `unit` and gridlines. A value may be a tuple of parts,
    drawn stacked (the first solid, the next lighter); `label` writes the text after a bar."""
    names = list(series)
    values = {n: [v if isinstance(v, tuple) else (v,) for v in series[n]] for n in names}
    plot_h = len(groups) * (len(names) * BAR_H + GAP)
    height = plot_h + 48
    axis = ticks(max([sum(v) for vs in values.values() for v in vs] + [0.0]))
    scale = (WIDTH - LABEL_W - RIGHT) / axis[-1]
    show = label or (lambda v: f"{sum(v):.3g}")
    parts = [
        (
            f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
            f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        )
    ]
    top, bottom = 6, 6 + plot_h
    for t in axis:
        x = LABEL_W + t * scale
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{t:g}</text>')
    parts.append(f'<line class="axis" x1="{LABEL_W}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>')
    parts.append(f'<line class="axis" x1="{LABEL_W}" y1="{top}" x2="{LABEL_W}" y2="{bottom}"/>')
    y = top + GAP / 2
    for g, group in enumerate(groups):
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + len(names) * BAR_H / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(group)}</text>"
        )
        for s, name in enumerate(names):
            value, x = values[name][g], float(LABEL_W)
            for i, part in enumerate(value):
                w = max(part * scale, 1 if part else 0)
                opacity = "" if i == 0 else ' fill-opacity="0.4"'
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{BAR_H - 2}" '
                    f'fill="{colours[s % len(colours)]}"{opacity}><title>{escape(name)}: {escape(show(value))}'
                    f"</title></rect>"
                )
                x += w
            parts.append(f'<text x="{x + 4:.1f}" y="{y + BAR_H - 3:.1f}">{escape(show(value))}</text>')
            y += BAR_H
        y += GAP
    parts.append(
        f'<text x="{LABEL_W + (WIDTH - LABEL_W - RIGHT) / 2:.0f}" y="{height - 4}" text-anchor="middle">'
        f"{escape(unit)}</text></svg>"
    )
    return "".join(parts)


def _legend(report: Report) -> str:
    return (
        '<p class="legend">'
        + "".join(
            f'<span><i style="background:{COLOURS[i]}"></i>{escape(p.title)}</span>'
            for i, p in enumerate(report.patterns.values())
        )
        + "</p>"
    )


def _no_dynamodb(m: Measure) -> bool:
    return not (m.requests or m.rcu or m.wcu)


def _anchor(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split()[:3])


def _units(v: tuple[float, ...]) -> str:
    """`0.5 RCU + 15.4 WCU`, leaving out a zero part."""
    return " + ".join(f"{n:.3g} {unit}" for n, unit in zip(v, ("RCU", "WCU"), strict=True) if n)


def _chart(
    report: Report,
    title: str,
    value: Callable[[Measure], tuple[float, ...]],
    unit: str,
    label: Callable[[tuple[float, ...]], str],
    note: str = "",
    free: str = " (no DynamoDB)",
) -> str:
    """One chart of a measure over every access pattern and pattern; `free` follows a zero bar (a call
    that made no DynamoDB request)."""
    series = {p.title: [value(p.access[k]) for k in report.titles] for p in report.patterns.values()}

    def shown(v: tuple[float, ...]) -> str:
        return label(v) if any(v) else "0" + free

    return (
        f'<figure><h2 id="{_anchor(title)}">{escape(title)}</h2>{_legend(report)}'
        f"{bars(title, list(report.titles.values()), series, unit, label=shown)}"
        + (f'<figcaption class="note">{note}</figcaption>' if note else "")
        + "</figure>"
    )


def _table(report: Report) -> str:
    """The numbers, one table per pattern (one table of 25 columns is wider than a laptop's page)."""
    head = (
        "<tr><th>access pattern</th><th>requests (mean)</th><th>RCU (mean)</th><th>WCU (mean)</th>"
        "<th>p50 ms</th><th>p99 ms</th><th>USD / M calls</th></tr>"
    )
    tables = []
    for p in report.patterns.values():
        rows = []
        for key, title in report.titles.items():
            m: Measure = p.access[key]
            requests = f"{m.requests:.3g}" + (" (no DynamoDB)" if _no_dynamodb(m) else "")
            cells = [requests, f"{m.rcu:.3g}", f"{m.wcu:.3g}", f"{m.p50_ms:.2f}", f"{m.p99_ms:.2f}"]
            cells.append(f"{m.cost_per_million:.2f}")
            rows.append(
                f"<tr><td>{escape(title)}</td>" + "".join(f'<td class="n">{c}</td>' for c in cells) + "</tr>"
            )
        tables.append(
            f'<div class="wide"><h3>{escape(p.title)}</h3><table>{head}{"".join(rows)}</table></div>'
        )
    return f'<div class="numbers">{"".join(tables)}</div>'


def _background(report: Report) -> str:
    """Work a pattern's stream reader does outside the measured calls (it is not free)."""
    rows = []
    for p in report.patterns.values():
        if p.background is None:
            continue
        b = p.background
        cost = (b.rcu * READ_PRICE + b.wcu * WRITE_PRICE) / 1e6
        runner = (
            f"{p.runner['processed']:g} records in {p.runner['batches']:g} batches, "
            f"lag {p.runner['lag_p50_ms']:.1f} / {p.runner['lag_p99_ms']:.1f} ms (p50 / p99)"
            if p.runner is not None
            else ""
        )
        rows.append(
            f'<tr><td>{escape(p.title)}</td><td class="n">{b.requests:g}</td><td class="n">{b.rcu:g}</td>'
            f'<td class="n">{b.wcu:g}</td><td class="n">{cost:.3g}</td><td>{escape(runner)}</td></tr>'
        )
    if not rows:
        return ""
    return (
        '<h2 id="background">Background work (not in the per-call numbers)</h2>'
        '<p class="note">A stream reader keeps views, search and analytics current. Its requests and capacity '
        "units during the run after loading are billed too, though no measured call waits for them.</p>"
        '<div class="wide"><table><tr><th>pattern</th><th>requests</th><th>RCU</th><th>WCU</th>'
        "<th>on-demand USD for the run</th><th>stream runner (after loading)</th></tr>"
        + "".join(rows)
        + "</table></div>"
    )


def _cost_note(report: Report) -> str:
    """What the per-call cost leaves out: calls answered without DynamoDB and the readers' background work."""
    notes = []
    for p in report.patterns.values():
        free = [report.titles[k] for k, m in p.access.items() if _no_dynamodb(m)]
        if free:
            notes.append(f"{escape(p.title)} answers {escape(', '.join(free))} without DynamoDB requests.")
        if p.background is not None:
            b = p.background
            notes.append(
                f"{escape(p.title)}'s stream reader also spent {b.requests:g} requests, {b.rcu:g} RCU and "
                f"{b.wcu:g} WCU during the run, not counted per call (see Background work)."
            )
    return " ".join(notes)


def _integrity(report: Report) -> str:
    rows = []
    for p in report.patterns.values():
        probe = p.probe
        outcome = (
            f'<span class="ok">all or nothing</span> ({probe.interruptions} failure point(s))'
            if not probe.partial
            else f'<span class="bad">{probe.partial} of {probe.interruptions} half done, '
            f"{probe.orphans} orphans</span>"
        )
        lag = f"{percentile(p.lag_ms, 0.5):.1f} / {percentile(p.lag_ms, 0.99):.1f} ms" if p.lag_ms else "none"
        rows.append(
            f"<tr><td>{escape(p.title)}</td><td>{outcome}</td><td>{lag}</td>"
            f"<td>{escape(p.guarantees)}</td></tr>"
        )
    return (
        '<div class="wide"><table><tr><th>pattern</th><th>delete interrupted by a failed write</th>'
        "<th>view lag p50 / p99</th><th>guarantees</th></tr>" + "".join(rows) + "</table></div>"
    )


def _change(report: Report) -> str:
    """The cost of change section: one column per pattern, and a chart of its write units."""
    from .terminal import HOW

    shown = [(i, p) for i, p in enumerate(report.patterns.values()) if p.change is not None]
    if not shown:
        return ""
    rows: list[tuple[str, list[str]]] = [
        ("how", [escape(HOW.get(p.name, "")) for _, p in shown]),
        ("items rewritten", [f"{p.change.items_rewritten}" for _, p in shown if p.change]),
        (
            "entries the engine copied into the new GSI",
            [f"{p.change.index_items}" for _, p in shown if p.change],
        ),
        ("WCU / RCU", [f"{p.change.wcu:g} / {p.change.rcu:g}" for _, p in shown if p.change]),
        ("on-demand cost, USD", [f"${p.change.cost:.6f}" for _, p in shown if p.change]),
        ("wall time", [f"{p.change.seconds:.2f} s" for _, p in shown if p.change]),
        (
            "until the new pattern is served",
            [f"{p.change.served_seconds:.2f} s" for _, p in shown if p.change],
        ),
        ("writer's acknowledged writes", [f"{p.change.writes}" for _, p in shown if p.change]),
        (
            "writes lost",
            [
                f'<span class="{"bad" if p.change.lost_writes else "ok"}">{p.change.lost_writes}</span>'
                for _, p in shown
                if p.change
            ],
        ),
        (
            "new pattern: requests (RCU) per call",
            [f"{p.change.access.requests:g} ({p.change.access.rcu:g})" for _, p in shown if p.change],
        ),
        (
            "new pattern: p50 / p99 ms",
            [f"{p.change.access.p50_ms:.2f} / {p.change.access.p99_ms:.2f}" for _, p in shown if p.change],
        ),
    ]
    head = "".join(f"<th>{escape(p.title)}</th>" for _, p in shown)
    body = "".join(
        f"<tr><td>{escape(label)}</td>" + "".join(f'<td class="n">{c}</td>' for c in cells) + "</tr>"
        for label, cells in rows
    )
    series = {p.title: [p.change.wcu] for _, p in shown if p.change}
    chart = bars(
        "write units of the change",
        ["write units"],
        series,
        "write capacity units",
        tuple(COLOURS[i] for i, _ in shown),
        label=lambda v: f"{v[0]:g}",
    )
    return (
        f'<h2 id="change">Cost of change: &ldquo;{escape(report.change_title)}&rdquo;</h2>'
        "<p>After the comparison a product change arrives: a new access pattern. Each pattern adapts while a "
        "writer keeps adding comments; every acknowledged write must be in the final data.</p>"
        f'<div class="wide"><table><tr><th></th>{head}</tr>{body}</table></div><figure>{chart}</figure>'
        '<p class="note">GSI entries copied by the engine are billed by DynamoDB as writes: counted as one write '
        "unit each (an estimate, the items are under 1 KB). The microservice's rewritten items are the new "
        "view's lines (the posts table is not touched).</p>"
    )


def _lag(report: Report) -> str:
    lagging = [(i, p) for i, p in enumerate(report.patterns.values()) if p.lag_ms]
    if not lagging:
        return ""
    series = {p.title: [percentile(p.lag_ms, 0.5), percentile(p.lag_ms, 0.99)] for _, p in lagging}
    colours = tuple(COLOURS[i] for i, _ in lagging)
    return (
        "<figure><h2>View lag: write to view, ms</h2>"
        + bars(
            "view lag",
            ["p50", "p99"],
            series,
            "ms (write issued to view current)",
            colours,
            label=lambda v: f"{v[0]:.1f} ms",
        )
        + "</figure>"
    )


def page(report: Report) -> str:
    d = report.dataset
    agreed = all(report.agreement.values())
    verdict = (
        '<p class="ok">All four patterns gave the same answers.</p>'
        if agreed
        else '<p class="bad">Patterns disagree on: '
        + escape(", ".join(k for k, ok in report.agreement.items() if not ok))
        + "</p>"
    )
    patterns = "".join(
        f"<li><b>{escape(p.title)}</b>: {escape(p.summary)}</li>" for p in report.patterns.values()
    )
    mean = f"mean of {report.repetitions} calls"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>dynamokit demo: four DynamoDB patterns</title>
<style>{STYLE}</style></head><body>
<h1>The same blog in four DynamoDB patterns</h1>
<p>{d["items"]} items ({d["authors"]} authors, {d["posts"]} posts, {d["comments"]} comments,
{d["likes"]} likes), every access pattern run {report.repetitions} times on the embedded engine
(seed {report.seed}, {report.seconds:.1f} s). Requests and capacity units are means over those calls: a value
such as 3.96 requests is an average, not a count. Costs are on-demand us-east-1 prices.</p>
<p class="note">Latencies are local: the embedded engine on SQLite in this process, with no network. Compare the
patterns with each other; DynamoDB over the network adds milliseconds to every request.</p>{verdict}
<ul>{patterns}</ul>
{_chart(report, f"Capacity units per call ({mean})", lambda m: (m.rcu, m.wcu), "capacity units per call (solid: RCU, light: WCU)", _units)}
{_chart(report, f"Requests per call ({mean})", lambda m: (m.requests,), "requests per call", lambda v: f"{v[0]:.3g}")}
{_chart(report, "On-demand cost per million calls", lambda m: (m.cost_per_million,), "USD per million calls", lambda v: f"${v[0]:.2f}", _cost_note(report))}
{_chart(report, "Latency p50 (local SQLite)", lambda m: (m.p50_ms,), "ms, local engine (no network)", lambda v: f"{v[0]:.2f} ms", free="")}
{_chart(report, "Latency p99 (local SQLite)", lambda m: (m.p99_ms,), "ms, local engine (no network)", lambda v: f"{v[0]:.2f} ms", free="")}
{_lag(report)}
{_background(report)}
<h2 id="numbers">All numbers</h2>{_table(report)}
<h2>Integrity and consistency</h2>{_integrity(report)}
{_change(report)}
</body></html>
"""
