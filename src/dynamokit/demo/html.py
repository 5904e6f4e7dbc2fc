"""The comparison as one self-contained HTML page: tables and inline SVG bar charts (no scripts, no network)."""

from __future__ import annotations

from html import escape

from .report import Measure, Report, percentile

COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1")
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.3rem .6rem}
td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#2a7d2a}.bad{color:#b22}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;
margin-right:.3rem;vertical-align:middle}figure{margin:0 0 1.5rem}svg text{font:11px system-ui,sans-serif}
"""


def bars(
    title: str,
    groups: list[str],
    series: dict[str, list[float]],
    unit: str,
    colours: tuple[str, ...] = COLOURS,
) -> str:
    """A grouped horizontal bar chart as an inline <svg>: one group per label, one bar per series."""
    width, label_w, bar_h, gap = 900, 210, 9, 10
    names = list(series)
    height = len(groups) * (len(names) * bar_h + gap) + 30
    top = max([v for values in series.values() for v in values] + [0.0]) or 1.0
    scale = (width - label_w - 90) / top
    parts = [
        (
            f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        )
    ]
    y = 10
    for g, group in enumerate(groups):
        parts.append(f'<text x="0" y="{y + len(names) * bar_h / 2 + 4}">{escape(group)}</text>')
        for s, name in enumerate(names):
            value = series[name][g]
            w = max(value * scale, 1 if value else 0)
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 1}" '
                f'fill="{colours[s % len(colours)]}"><title>{escape(name)}: {value:g} {unit}</title></rect>'
            )
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 1}">{value:.3g}</text>')
            y += bar_h
        y += gap
    parts.append(f'<text x="{label_w}" y="{height - 4}">{escape(unit)}</text></svg>')
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


def _chart(report: Report, title: str, value: str, unit: str) -> str:
    series = {
        p.title: [float(getattr(p.access[k], value)) for k in report.titles] for p in report.patterns.values()
    }
    return (
        f"<figure><h2>{escape(title)}</h2>{_legend(report)}"
        f"{bars(title, list(report.titles.values()), series, unit)}</figure>"
    )


def _table(report: Report) -> str:
    head = "".join(f"<th colspan=6>{escape(p.title)}</th>" for p in report.patterns.values())
    sub = "<th>req</th><th>RCU</th><th>WCU</th><th>p50 ms</th><th>p99 ms</th><th>$/M</th>" * len(
        report.patterns
    )
    rows = []
    for key, title in report.titles.items():
        cells = []
        for p in report.patterns.values():
            m: Measure = p.access[key]
            cells += [
                f"{m.requests:g}",
                f"{m.rcu:g}",
                f"{m.wcu:g}",
                f"{m.p50_ms:.2f}",
                f"{m.p99_ms:.2f}",
                f"{m.cost_per_million:.2f}",
            ]
        rows.append(
            f"<tr><td>{escape(title)}</td>" + "".join(f'<td class="n">{c}</td>' for c in cells) + "</tr>"
        )
    return f"<table><tr><th rowspan=2>access pattern</th>{head}</tr><tr>{sub}</tr>{''.join(rows)}</table>"


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
        "<table><tr><th>pattern</th><th>delete interrupted by a failed write</th>"
        "<th>view lag p50 / p99</th><th>guarantees</th></tr>" + "".join(rows) + "</table>"
    )


def _lag(report: Report) -> str:
    lagging = [(i, p) for i, p in enumerate(report.patterns.values()) if p.lag_ms]
    if not lagging:
        return ""
    series = {p.title: [percentile(p.lag_ms, 0.5), percentile(p.lag_ms, 0.99)] for _, p in lagging}
    colours = tuple(COLOURS[i] for i, _ in lagging)
    return (
        "<figure><h2>View lag: write to view, ms</h2>"
        + bars("view lag", ["p50", "p99"], series, "ms", colours)
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
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dynamokit demo: four DynamoDB patterns</title>
<style>{STYLE}</style></head><body>
<h1>The same blog in four DynamoDB patterns</h1>
<p>{d["items"]} items ({d["authors"]} authors, {d["posts"]} posts, {d["comments"]} comments,
{d["likes"]} likes), every access pattern run {report.repetitions} times on the embedded engine
(seed {report.seed}, {report.seconds:.1f} s).</p>{verdict}<ul>{patterns}</ul>
{_chart(report, "Requests per call", "requests", "requests")}
{_chart(report, "On-demand cost per million calls", "cost_per_million", "USD")}
{_chart(report, "Latency p50", "p50_ms", "ms")}
{_chart(report, "Latency p99", "p99_ms", "ms")}
{_lag(report)}
<h2>All numbers</h2>{_table(report)}
<h2>Integrity and consistency</h2>{_integrity(report)}
</body></html>
"""
