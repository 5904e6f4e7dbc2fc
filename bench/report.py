"""docs/benchmarks.md from a results dict (bench/results/benchmarks.json)."""

from __future__ import annotations

import re
import time
from typing import Any

from .run import DYNAMOKIT, FLOORS, PEERS
from .workload import ALL_OPS, POINT_OPS

HAND_WRITTEN = ("## serve on every core",)  # sections of the doc written by hand (bench/workers_bench.py)
NATIVE, INPROC, HTTP = DYNAMOKIT
STUB_INPROC, STUB_HTTP, RAW = FLOORS
FLOOR_OF = {NATIVE: RAW, INPROC: STUB_INPROC, HTTP: STUB_HTTP}
HTTP_PEERS = [name for name in PEERS if "HTTP" in name]
DESCRIBE = {
    "PutItem": "PutItem of a new ~300 B item (one thread: the 10k-item load; 4 threads: overwrites)",
    "GetItem": "GetItem of a random item",
    "Query": "Query, 50 items (`pk = :p AND sk < :n`, half of a 100-item partition)",
    "QueryGSI": "Query on the GSI, a whole 50-item GSI partition",
    "UpdateItem": "UpdateItem `SET #c = if_not_exists(#c, :z) + :one`",
    "CondPutFail": "PutItem with `attribute_not_exists(pk)` on an existing item: ConditionalCheckFailed",
    "BatchWrite25": "BatchWriteItem of 25 puts",
    "Transact4": "TransactWriteItems: 2 Put, 1 Update, 1 ConditionCheck",
    "Scan": "full paginated Scan of the table (1 MB pages)",
}


def _num(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}" if x >= 10 else f"{x:.2f}"


def _ok(table: dict[str, Any], name: str, op: str) -> bool:
    """Measured, and not mostly failed calls (dynalite has no TransactWriteItems)."""
    cell = table.get(name, {}).get(op)
    return cell is not None and cell["errors"] * 2 < cell["calls"]


def _ratio(table: dict[str, Any], a: str, b: str, op: str) -> float | None:
    if _ok(table, a, op) and _ok(table, b, op):
        return table[a][op]["ops"] / table[b][op]["ops"]
    return None


def _best_peer(table: dict[str, Any], op: str, names: list[str]) -> str | None:
    present = [name for name in names if _ok(table, name, op)]
    return max(present, key=lambda name: table[name][op]["ops"]) if present else None


def results_table(table: dict[str, Any]) -> list[str]:
    names = [name for name in DYNAMOKIT + PEERS + FLOORS if name in table]
    lines = ["| target | " + " | ".join(ALL_OPS) + " |", "|---|" + "---:|" * len(ALL_OPS)]
    for name in names:
        cells = []
        for op in ALL_OPS:
            cell = table[name].get(op)
            if cell is not None and not _ok(table, name, op):
                error = cell["error"] or "?"
                code = error[error.index("(") + 1:error.index(")")] if "(" in error else error.split(":")[0]
                cells.append(f"fails: {code}"[:60])
                continue
            cells.append("" if cell is None else f"**{_num(cell['ops'])}**<br>{_num(cell['p50'])} / "
                         f"{_num(cell['p99'])}" + (f"<br>{cell['errors']} errors" if cell["errors"] else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def ratio_table(table: dict[str, Any]) -> list[str]:
    lines = ["| dynamokit target | against | " + " | ".join(ALL_OPS) + " |", "|---|---|" + "---:|" * len(ALL_OPS)]
    for name in DYNAMOKIT:
        if name not in table:
            continue
        against = [("its floor: " + FLOOR_OF[name], lambda op, n=name: FLOOR_OF[n])]
        against.append(("best peer", lambda op: _best_peer(table, op, PEERS)))
        if name == INPROC:
            against.append(("moto in-process", lambda op: "moto in-process"))
        if name == HTTP:
            against.append(("best dynalite", lambda op: _best_peer(table, op, PEERS[2:])))
        for label, other in against:
            cells = []
            for op in ALL_OPS:
                peer = other(op)
                ratio = _ratio(table, name, peer, op) if peer else None
                cells.append("" if ratio is None else f"{ratio:.2f}x")
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return lines


def bar(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(check, measured, met) for every target of the issue's bar (single client thread)."""
    table = results.get("table", {}).get("1", {})
    checks: list[tuple[str, str, bool | None]] = []

    def ratio_check(label: str, a: str, b: str, ops: list[str], at_least: float) -> None:
        for op in ops:
            ratio = _ratio(table, a, b, op)
            checks.append((f"{label}: {op} >= {at_least}x", "n/a" if ratio is None else f"{ratio:.2f}x",
                           None if ratio is None else ratio >= at_least))

    ratio_check("native / raw sqlite3 (within 4x)", NATIVE, RAW, ["PutItem", "GetItem", "UpdateItem"], 0.25)
    query = table.get(NATIVE, {}).get("Query")
    checks.append(("native Query of 50 items >= 1,000/s", "n/a" if not query else f"{query['ops']:,.0f}/s",
                   None if not query else query["ops"] >= 1000))
    ratio_check("boto3 in-process / in-process floor", INPROC, STUB_INPROC, ALL_OPS, 0.8)
    ratio_check("HTTP / HTTP floor", HTTP, STUB_HTTP, POINT_OPS, 0.9)
    for op in ["Query", "QueryGSI", "Scan"]:
        peer = _best_peer(table, op, PEERS[2:])
        ratio = _ratio(table, HTTP, peer, op) if peer else None
        checks.append((f"HTTP / best dynalite: {op} >= 1.2x", "n/a" if ratio is None else f"{ratio:.2f}x",
                       None if ratio is None else ratio >= 1.2))
    capacity = results.get("capacity", {})
    ours, theirs = capacity.get("dynamokit serve"), capacity.get("dynalite memory")
    if ours and theirs:
        checks.append(("wrk capacity per server core >= dynalite's",
                       f"{ours['per_core']:,.0f} vs {theirs['per_core']:,.0f} req/s per core",
                       ours["per_core"] >= theirs["per_core"]))
        checks.append(("wrk capacity (absolute, 2-core box shared with wrk) >= dynalite's",
                       f"{ours['rps']:,.0f} vs {theirs['rps']:,.0f} req/s", ours["rps"] >= theirs["rps"]))
    rows = results.get("scale") or []
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        for key, label in [("http_query_p50_ms", "HTTP"), ("native_query_p50_ms", "native")]:
            ratio = last[key] / first[key]
            checks.append((f"{label} Query p50 at {last['items']:,} within 1.3x of {first['items']:,}",
                           f"{ratio:.2f}x", ratio <= 1.3))
        checks.append((f"server peak RSS at {last['items']:,} items < 200 MB (target is at 1M)",
                       f"{last['rss_peak_mib']:.0f} MiB", last["rss_peak_mib"] * 1.048576 < 200))
    return checks


def markdown(results: dict[str, Any], chart: str | None) -> str:
    load = results.get("load", [])
    out = ["# Benchmarks", "",
           "dynamokit against every peer and against the floors, in one run on one machine. Regenerate everything "
           "(peers install themselves into `bench/.peers/`, gitignored) with:", "",
           "```sh", results["command"].replace("--no-setup", "").strip(), "```", "",
           f"- Machine: {results['machine']}.",
           f"- Run: {results.get('finished') or time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
           f"{results['seconds']:.0f} s. Load average "
           "(1/5/15 min) at start, after the comparison, after capacity and after scaling: "
           + "; ".join("/".join(f"{x:.2f}" for x in avg) for avg in load) + ". The machine was shared with "
           "other test runs: numbers are noisy, which is why rounds are interleaved and medians taken.",
           f"- Workload: table with a GSI, {results['items']:,} items of ~300 B loaded by PutItem into "
           f"{max(1, results['items'] // 100)} partitions; {results['rounds']} interleaved rounds, each cell "
           f"capped at {results['budget']} s per round; calls per op over all rounds: "
           + ", ".join(f"{op} {n:,}" for op, n in results["counts"].items()) + ".", ""]
    for op in ALL_OPS:
        out.append(f"  - `{op}`: {DESCRIBE[op]}")
    out += ["", "Each target runs in its own process (`bench/worker.py`); HTTP targets talk to a server process. "
            "boto3 and botocore are the same version for every target. Floors: `boto3 stub in-process` is a boto3 "
            "client whose sending step returns canned bodies of the workload's shape (the fastest any endpoint "
            "behind botocore's HTTP step can be; dynamokit's in-process client answers one step earlier, at "
            "`before-call` as botocore's Stubber does, skips serializing item operations' parameters when that "
            "would change nothing, and parses the response with botocore's rules compiled per shape, so it can "
            "beat this floor), `HTTP stub` is a do-nothing keep-alive HTTP server doing the same over "
            "loopback, `raw sqlite3` does the equivalent inserts/selects directly (WAL, JSON blobs, a SQL index for "
            "the GSI).", ""]
    if chart:
        out += [f"![ops/s per operation and target]({chart})", ""]
    for threads, rows in sorted(results.get("table", {}).items(), key=lambda kv: int(kv[0])):
        out += [f"## Results, {threads} client thread{'s' if threads != '1' else ''}", "",
                "Each cell: **ops/s** (median over rounds, all threads together)<br>p50 / p99 latency in ms. "
                "A Scan op is a whole paginated scan of the table.", ""]
        out += results_table(rows) + ["", "Throughput ratios (dynamokit ops/s ÷ the other's ops/s; above 1 is "
                                          "faster):", ""] + ratio_table(rows) + [""]
    out += ["## The bar (issue 8, one client thread)", "", "| target | measured | met |", "|---|---:|:---:|"]
    for check, measured, met in bar(results):
        out.append(f"| {check} | {measured} | {'yes' if met else 'n/a' if met is None else '**no**'} |")
    out.append("")
    if results.get("rss"):
        out += ["## Server memory after the comparison", "", "Peak RSS (VmHWM) of each server process after the "
                f"whole comparison ({results['items']:,} items plus overwrites):", "",
                "| server | peak RSS MiB |", "|---|---:|"]
        out += [f"| {name} | {rss:.0f} |" for name, rss in results["rss"].items() if rss is not None] + [""]
    capacity = results.get("capacity")
    if capacity:
        out += ["## Server capacity (wrk, not boto3)", "",
                f"`wrk -t1 -c{capacity.get('connections')}` for {capacity.get('seconds')} s, "
                f"median of {capacity.get('rounds')} interleaved runs, replaying 200 signed GetItem and 200 PutItem "
                "requests alternately (keep-alive) against a 1,000-item table. Per core = requests ÷ the server "
                "process's CPU seconds during the run (user + system, all threads); wrk takes the other core.", ""]
        if "missing" in capacity or "error" in capacity:
            out += [f"Not measured: {capacity.get('missing') or capacity.get('error')}", ""]
        out += ["| server | requests/s | p50 ms | server CPU (cores) | requests/s per server core | non-2xx |",
                "|---|---:|---:|---:|---:|---:|"]
        for name, row in capacity.items():
            if isinstance(row, dict):
                out.append(f"| {name} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | {row['cpu_share']:.2f} | "
                           f"{row['per_core']:,.0f} | {row['non2xx']} |")
        out.append("")
    rows = results.get("scale")
    if rows:
        out += ["## Scaling", "", "Table loaded natively with BatchWriteItem of 25 (100-item partitions, 50-item GSI "
                "partitions), then served by `dynamokit serve --db FILE --workers 1` as a subprocess; Query/GSI p50 over boto3 "
                f"HTTP and natively, in {results.get('scale_rounds', 5)} rounds interleaved over the sizes (medians "
                f"of the rounds' p50); Scan throughput over a paginated scan of up to {200_000:,} items; peak RSS "
                "(VmHWM) of each server process at the end."]
        if results.get("scale_rerun"):
            rerun = results["scale_rerun"]
            out += [f"Re-measured on its own at {rerun['finished']} (load average "
                    + "; ".join("/".join(f"{x:.2f}" for x in avg) for avg in rerun["load"])
                    + f") by the same code (`bench/scale.py`): {rerun['why']}"]
        out += ["",
                "| items | load s | db MiB | HTTP Query p50 ms | HTTP GSI p50 ms | native Query p50 ms | "
                "native GSI p50 ms | Scan items/s (HTTP) | server RSS at start MiB | server peak RSS MiB |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in rows:
            out.append(f"| {row['items']:,} | {row['load_s']:.1f} | {row['db_mib']:.0f} | "
                       f"{row['http_query_p50_ms']:.2f} | {row['http_gsi_p50_ms']:.2f} | "
                       f"{row['native_query_p50_ms']:.3f} | {row['native_gsi_p50_ms']:.3f} | "
                       f"{row['scan_items_per_s']:,.0f} | {row['rss_start_mib']:.0f} | {row['rss_peak_mib']:.0f} |")
        out.append("")
    if results.get("missing"):
        out += ["## Missing targets", ""] + [f"- {name}: {why}" for name, why in results["missing"].items()] + [""]
    if results.get("check"):
        out += ["## Sanity check", "", "Items answered after the load (every target must agree):", "",
                "| target | Query | QueryGSI | Scan items | Scan pages |", "|---|---:|---:|---:|---:|"]
        out += [f"| {name} | {c['Query']} | {c['QueryGSI']} | {c['Scan']} | {c['ScanPages']} |"
                for name, c in results["check"].items()] + [""]
    out += ["Other tools: `python -m bench.profile OP` profiles one op natively and through the in-process boto3 "
            "client (cProfile); `python bench/http_floor.py` splits the HTTP server's own cost from the engine's.",
            ""]
    return "\n".join(out)


def keep_hand_written(text: str, previous: str) -> str:
    """`text` with the HAND_WRITTEN sections of the doc at `previous` (if any) put back before its last section."""
    try:
        with open(previous) as f:
            old = f.read()
    except OSError:
        return text
    kept = "".join(part for part in re.split(r"(?m)^(?=## )", old) if part.startswith(HAND_WRITTEN))
    if not kept:
        return text
    parts = re.split(r"(?m)^(?=## )", text)
    return "".join(parts[:-1]) + kept + parts[-1]
