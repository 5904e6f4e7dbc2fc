"""Live usage (/console/usage): operations, errors and consumed RCU/WCU per table and index, from the engine's
running totals (`Engine.usage`), each with its rate per second over the last few seconds. console.js refreshes
the rows from `?format=json` without reloading the page. A remote endpoint has no such totals: the page says so.
Under --auth only the tables whose DescribeTable the principal may call are shown."""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from typing import Any

from ..._errors import DynamoDBError
from .markup import Safe, html, join
from .tables import table_names
from .web import Request, Response, html_response, json_response

WINDOW = 5.0  # seconds: rates are over the last WINDOW seconds or a little more (since first asked, at first)
KEEP = 60.0
Totals = dict[tuple[str, ...], float]
_SAMPLES: weakref.WeakKeyDictionary[Any, deque[tuple[float, Totals]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_OTHER = "(no single table)"


def totals(usage: Any) -> Totals:
    """The engine's running totals, flat: (kind, table or table/index/name[, code]) -> total."""
    out: Totals = {(kind, key): units for kind, values in usage.snapshot().items() for key, units in values.items()}
    activity = usage.activity()
    for (table, operation), count in activity["operations"].items():
        for key in (("operations", table), ("operation", operation)):
            out[key] = out.get(key, 0) + count
    for (table, code), count in activity["errors"].items():
        out["errors", table] = out.get(("errors", table), 0) + count
        out["error", table, code] = count
    return out


def _since(usage: Any, now: float, current: Totals) -> tuple[float, Totals]:
    """The sample to measure rates from: the newest at least WINDOW old, else the oldest, else the start."""
    with _LOCK:
        samples = _SAMPLES.setdefault(usage, deque())
        base = next((s for s in reversed(samples) if now - s[0] >= WINDOW), samples[0] if samples else None)
        while len(samples) > 1 and now - samples[1][0] >= KEEP:
            samples.popleft()
        if not samples or now - samples[-1][0] >= 1.0:
            samples.append((now, current))
    return base if base is not None else (usage.started, {})


def report(request: Request, usage: Any) -> dict[str, Any]:
    """The page's rows (text cells: a name, then each total and its rate per second) and their time span."""
    now = time.time()
    current = totals(usage)
    then, before = _since(usage, now, current)
    elapsed = max(now - then, 1e-3)

    def pair(*key: str) -> list[str]:
        value = current.get(key, 0)
        return [f"{value:,.1f}" if isinstance(value, float) else f"{value:,}",
                f"{(value - before.get(key, 0)) / elapsed:,.2f}"]

    visible = _visible(request)
    names = {key[1].split("/index/")[0] for key in current if key[0] != "operation"}
    tables = []
    for name in sorted(n for n in names if visible is None or n in visible):
        tables.append([name or _OTHER, *pair("operations", name), *pair("errors", name), *pair("read", name),
                       *pair("write", name)])
        for index in sorted({k[1].split("/index/")[1] for k in current if k[1].startswith(name + "/index/")}):
            key = f"{name}/index/{index}"
            tables.append([f"{name} · {index}", "", "", "", "", *pair("read", key), *pair("write", key)])
    errors = [[key[1] or _OTHER, key[2], *pair(*key)] for key in sorted(current)
              if key[0] == "error" and (visible is None or key[1] in visible)]
    operations = [[key[1], *pair(*key)] for key in sorted(current) if key[0] == "operation"]
    return {"seconds": f"{elapsed:,.0f}", "since": time.strftime("%H:%M:%S", time.localtime(then)),
            "tables": tables, "errors": errors, "operations": operations if visible is None else []}


def _visible(request: Request) -> set[str] | None:
    """Under --auth, the tables whose DescribeTable the principal may call (None: every table, and the rest)."""
    if not request.user:
        return None
    names: set[str] = set()
    try:
        listed = table_names(request)
    except DynamoDBError:
        return names
    for name in listed:
        try:
            request.call("DescribeTable", {"TableName": name})
        except DynamoDBError:
            continue
        names.add(name)
    return names


def usage_page(request: Request) -> Response:
    usage = getattr(getattr(request.backend, "engine", request.backend), "usage", None)
    if usage is None:
        body = html('<h1>Live usage</h1><p class="empty" id="usage-unavailable">Unavailable: this console talks to a '
                    'remote endpoint, which does not publish running totals (on AWS, see the tables\' CloudWatch '
                    'metrics: ConsumedReadCapacityUnits, ConsumedWriteCapacityUnits, UserErrors). The explorer shows '
                    'the capacity each of its requests consumed.</p>')
        return html_response(request, "Live usage", body)
    data = report(request, usage)
    if request.query.get("format") == "json":
        return json_response(data)
    ps = Safe("<th>total</th><th>/s</th>")
    operations = html('<h2>Operations</h2><table class="grid usage" id="usage-operations"><thead><tr>'
                      '<th>operation</th>{}</tr></thead><tbody>{}</tbody></table>', ps, _rows(data["operations"])
                      ) if not request.user else Safe("")
    body = html(
        '<h1>Live usage</h1><p id="usage" data-refresh="/console/usage?format=json">Totals since the engine started '
        '(this process); rates per second over the last <span id="usage-seconds">{seconds}</span> s (since '
        '<span id="usage-since">{since}</span>). <span class="muted" id="usage-status"></span></p>'
        '<h2>Tables and indexes</h2><table class="grid usage" id="usage-tables"><thead><tr><th rowspan="2">table · '
        'index</th><th colspan="2">operations</th><th colspan="2">errors</th><th colspan="2">read units (RCU)</th>'
        '<th colspan="2">write units (WCU)</th></tr><tr>{ps}{ps}{ps}{ps}</tr></thead><tbody>{tables}</tbody>'
        '</table><h2>Errors</h2><table class="grid usage" id="usage-errors"><thead><tr><th>table</th><th>error</th>'
        '{ps}</tr></thead><tbody>{errors}</tbody></table>{operations}',
        seconds=data["seconds"], since=data["since"], ps=ps, tables=_rows(data["tables"]),
        errors=_rows(data["errors"], 2), operations=operations)
    return html_response(request, "Live usage", body)


def _rows(rows: list[list[str]], names: int = 1) -> Safe:
    """Rows of text cells, the first `names` of each a name, the rest numbers."""
    return join(html("<tr>{}{}</tr>", join(html("<td>{}</td>", c) for c in row[:names]),
                     join(html('<td class="num">{}</td>', c) for c in row[names:])) for row in rows)
