"""GET /console/model: the design chart and access-pattern catalogue of the App given with `--app`
(as `dynamokit model show` prints them), each pattern linked to the explorer on its table and index."""

from __future__ import annotations

from typing import Any

from .markup import html, join, segment, url
from .web import Request, Response, breadcrumbs, html_response, message_page

APP: Any = None  # the dynamokit.model.App shown, set by the command line (`configure`)


def configure(app: Any) -> None:
    global APP
    APP = app


def design_page(request: Request) -> Response:
    if APP is None:
        return message_page(request, 404, "No model", "Start the console with --app module:app to see a model.")
    from ...model import catalogue

    header, rows = catalogue.chart(APP)
    chart = html('<table class="grid" id="chart"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
                 join(html("<th>{}</th>", h) for h in header),
                 join(html("<tr>{}</tr>", join(html("<td><code>{}</code></td>", c) for c in row)) for row in rows))
    tables = {name: APP.bound(pattern.entity).table.name for name, (pattern, _) in APP.patterns.items()}
    tables.update({name: next(iter(APP.tables)) if len(APP.tables) == 1 else "" for name in APP.collections})
    lines = []
    for row in catalogue.patterns(APP):
        table = tables.get(row.name.split(" (in ", 1)[0], "")
        explore = html('<a href="{}">explore</a>', url(f"/console/tables/{segment(table)}/items", mode="query",
                                                        index="" if row.index == "table" else row.index)) \
            if table else ""
        lines.append(html("<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td>"
                          "<td>{}</td><td>{}</td></tr>", row.name, row.entities, row.index, row.condition,
                          f"{row.rcu:g}", row.reads, explore))
    patterns = html('<table class="grid" id="patterns"><thead><tr><th>pattern</th><th>entities</th><th>index</th>'
                    '<th>key condition</th><th>est. RCU/call</th><th>reads</th><th></th></tr></thead>'
                    '<tbody>{}</tbody></table>', join(lines))
    body = html("<h1>Model</h1><h2>Entities × keys</h2>{}<h2>Access patterns</h2>{}", chart, patterns)
    return html_response(request, "Model", body, nav=breadcrumbs(("/console/model", "model")))
