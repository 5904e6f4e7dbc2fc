"""/console/model: the design chart and access-pattern catalogue of the App given with `--app` (as
`dynamokit model show` prints them), each pattern linked to the explorer on its table and index, and a form
per access pattern and collection that runs it (POST, CSRF-checked) and shows the request, the items decoded
to entities, the consumed capacity and the estimated cost per call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..._errors import DynamoDBError
from .codegen import request_blocks
from .markup import EMPTY, Safe, code_block, csrf_field, error_box, html, join, pretty, segment, url
from .web import Request, Response, breadcrumbs, html_response, message_page

APP: Any = None  # the dynamokit.model.App shown, set by the command line (`configure`)
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000


def configure(app: Any) -> None:
    global APP
    APP = app


@dataclass(frozen=True)
class Input:
    """One input of an access pattern: a field of its entity that a key template needs."""

    name: str
    type: str  # the field's declared type, as people read it
    required: bool


@dataclass(frozen=True)
class Runnable:
    """An access pattern or a collection, as the console runs it."""

    name: str
    kind: str  # "pattern" or "collection"
    entities: str
    description: str
    inputs: tuple[Input, ...]


def _type_name(annotation: Any) -> str:
    """`int`, `date`, `Literal['a', 'b']`...: an optional field's type without its `None`."""
    args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    if type(None) in getattr(annotation, "__args__", ()) and len(args) == 1:
        annotation = args[0]
    name = getattr(annotation, "__name__", None)
    return name if isinstance(name, str) and not getattr(annotation, "__args__", None) else \
        str(annotation).replace("typing.", "").replace("datetime.", "")


def _input(entity: Any, name: str, required: bool) -> Input:
    field = entity.model_fields.get(name)
    return Input(name, _type_name(field.annotation) if field is not None else "str", required)


def runnables(app: Any) -> list[Runnable]:
    """Every access pattern (inputs: its `by`, then the sort-key fields it may be narrowed by) and every
    collection (inputs: its partition key fields)."""
    found = []
    for name, (pattern, key) in app.patterns.items():
        entity = app.bound(pattern.entity).entity
        optional = [f for f in getattr(pattern, "parameters", ()) if f not in pattern.by] or \
            [f for f in (key.sk.fields if key.sk else ()) if f not in pattern.by]
        inputs = tuple(_input(entity, f, True) for f in pattern.by) + tuple(
            _input(entity, f, False) for f in dict.fromkeys(optional))
        found.append(Runnable(name, "pattern", app.bound(pattern.entity).name, pattern.description, inputs))
    for name, (collection, key) in app.collections.items():
        entities = list(collection.entities.values())
        owner = next((e for e in entities if all(f in e.model_fields for f in key.pk.fields)), entities[0])
        found.append(Runnable(name, "collection", ", ".join(e.entity_name() for e in entities), "",
                              tuple(_input(owner, f, True) for f in dict.fromkeys(key.pk.fields))))
    return found


def design_page(request: Request, ran: str = "", result: Safe = EMPTY, status: int = 200) -> Response:
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
    estimates = {}
    for row in catalogue.patterns(APP):
        plain = row.name.split(" (in ", 1)[0]
        estimates[plain] = row
        table = tables.get(plain, "")
        explore = html('<a href="{}">explore</a>', url(f"/console/tables/{segment(table)}/items", mode="query",
                                                        index="" if row.index == "table" else row.index)) \
            if table else ""
        lines.append(html("<tr><td><a href=\"#run-{}\">{}</a></td><td>{}</td><td>{}</td><td><code>{}</code></td>"
                          "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                          segment(plain), row.name, row.entities, row.index, row.condition, f"{row.rcu:g}",
                          dollars(row.rcu), row.reads, explore))
    patterns = html('<table class="grid" id="patterns"><thead><tr><th>pattern</th><th>entities</th><th>index</th>'
                    '<th>key condition</th><th>est. RCU/call</th><th>est. cost/call (on demand)</th><th>reads</th>'
                    '<th></th></tr></thead><tbody>{}</tbody></table>', join(lines))
    found = runnables(APP)
    forms = join(_run_form(request, r, estimates.get(r.name), result if r.name == ran else EMPTY) for r in found)
    if result and ran not in {r.name for r in found}:
        forms = Safe(result + forms)
    body = html("<h1>Model</h1><h2>Entities × keys</h2>{}<h2>Access patterns</h2>{}"
                '<p class="muted">Costs: read request units at ${} per million (on demand, us-east-1, standard '
                "table class), from the estimated RCU of each call.</p><h2>Run an access pattern</h2>{}",
                chart, patterns, f"{_read_price():g}", forms)
    return html_response(request, "Model", body, status, nav=breadcrumbs(("/console/model", "model")))


def _read_price() -> float:
    from ...model.migrations._plan import READ_PRICE

    return READ_PRICE


def dollars(rcu: float) -> str:
    """The on-demand price of `rcu` read request units, in USD."""
    return f"${rcu * _read_price() / 1e6:.10f}".rstrip("0")


def _run_form(request: Request, runnable: Runnable, estimate: Any, result: Safe) -> Safe:
    form = request.form if request.form.get("pattern") == runnable.name else {}
    fields = join(html('<label>{name} <span class="muted">({type}{optional})</span> <input name="in.{name}" '
                       'value="{value}"{required}{number}></label>', name=i.name, type=i.type,
                       optional=", optional" if not i.required else "", value=form.get("in." + i.name, ""),
                       required=Safe(" required") if i.required else EMPTY,
                       number=Safe(' inputmode="numeric"') if i.type in ("int", "float", "Decimal") else EMPTY)
                  for i in runnable.inputs)
    about = html('<p class="muted">{} of {}{}{}</p>', runnable.kind, runnable.entities,
                 f" · est. {estimate.rcu:g} RCU, ~{dollars(estimate.rcu)} per call" if estimate else "",
                 f" · {runnable.description}" if runnable.description else "")
    return html(
        '<section class="run" id="run-{anchor}"><h3>{name}</h3>{about}'
        '<form method="post" action="/console/model#run-{anchor}" class="explorer pattern-run" '
        'data-pattern="{name}">{csrf}<input type="hidden" name="pattern" value="{name}"><div class="row">{fields}'
        '<label>Limit <input name="limit" size="5" value="{limit}"></label>'
        '<label><input type="checkbox" name="reverse" value="1"{reverse}> descending</label>'
        '<button type="submit">Run</button></div></form>{result}</section>',
        anchor=segment(runnable.name), name=runnable.name, about=about, csrf=csrf_field(request.token), fields=fields,
        limit=form.get("limit", str(DEFAULT_LIMIT)), reverse=Safe(" checked") if form.get("reverse") else EMPTY,
        result=result)


def run(request: Request) -> Response:
    """POST /console/model: run one access pattern or collection with the form's inputs."""
    if APP is None:
        return message_page(request, 404, "No model", "Start the console with --app module:app to see a model.")
    name = request.form.get("pattern", "")
    runnable = next((r for r in runnables(APP) if r.name == name), None)
    if runnable is None:
        return design_page(request, "", error_box("ModelError", f"no access pattern {name!r}"), 400)
    from ...model._errors import ModelError

    try:
        operation, call = _build(runnable, request.form)
    except (ModelError, ValueError, TypeError) as error:  # the model's own error (a ValidationError is a ValueError)
        return design_page(request, name, error_box(type(error).__name__, str(error)), 400)
    shown = request_blocks(operation, call, request.endpoint(), request.region())
    try:
        answer = request.call(operation, call)
    except DynamoDBError as error:
        return design_page(request, name, html("{}{}", error_box(error.code, error.message), shown), 400)
    return design_page(request, name, _results(answer, call, shown))


def _build(runnable: Runnable, form: dict[str, str]) -> tuple[str, dict[str, Any]]:
    values = {i.name: form.get("in." + i.name, "") for i in runnable.inputs}
    values = {k: v for k, v in values.items() if v != ""}
    missing = [i.name for i in runnable.inputs if i.required and i.name not in values]
    if missing:
        raise _model_error(f"{runnable.kind} '{runnable.name}' needs {missing}")
    read = APP.query(runnable.name, **values) if runnable.kind == "pattern" else \
        APP.collection(runnable.name, **values)
    limit = form.get("limit", "").strip()
    if limit:
        if not limit.isdigit() or not 0 < int(limit) <= MAX_LIMIT:
            raise _model_error(f"Limit must be a whole number from 1 to {MAX_LIMIT}")
        read = read.limit(int(limit))
    if form.get("reverse"):
        read = read.reverse()
    call = dict(read.params())
    call["ReturnConsumedCapacity"] = "TOTAL"
    return "Query", call


def _model_error(message: str) -> Exception:
    from ...model._errors import ModelError

    return ModelError(message)


def _results(answer: dict[str, Any], call: dict[str, Any], shown: Safe) -> Safe:
    items = answer.get("Items", [])
    consumed = answer.get("ConsumedCapacity", {}).get("CapacityUnits")
    rows, columns, invalid = entities(call["TableName"], items)
    summary = html('<p class="summary" id="pattern-summary">{} items · {} scanned · <span id="pattern-rcu">{}</span> '
                   'read capacity units consumed{}</p>', answer.get("Count", len(items)),
                   answer.get("ScannedCount", "—"), "—" if consumed is None else f"{consumed:g}",
                   f" (~{dollars(consumed)} on demand)" if isinstance(consumed, (int, float)) else "")
    more = html('<p class="muted">More items follow (LastEvaluatedKey: {}).</p>',
                orjson.dumps(answer["LastEvaluatedKey"]).decode()) if answer.get("LastEvaluatedKey") else EMPTY
    head = join(html("<th>{}</th>", c) for c in columns)
    body = join(html("<tr><td>{}</td>{}</tr>", entity, join(
        html('<td title="{}">{}</td>', cells[c][0], cells[c][1]) if c in cells else Safe("<td></td>")
        for c in columns)) for entity, cells in rows)
    table = html('<table class="grid" id="entities"><thead><tr><th>entity</th>{}</tr></thead><tbody>{}</tbody>'
                 '</table>', head, body)
    problems = join(html('<div class="error" role="alert"><strong>{}</strong>: {}</div>', "Not an entity", p)
                    for p in invalid)
    raw = html("<details><summary>Items as DynamoDB JSON</summary>{}</details>", code_block(pretty(items), "Items"))
    return html('<div id="pattern-result">{}{}{}{}{}{}</div>', summary, more, problems, table, raw, shown)


def entities(table: str, items: list[dict[str, Any]]) -> tuple[
        list[tuple[str, dict[str, tuple[str, str]]]], list[str], list[str]]:
    """Items decoded by their type marker: (entity name, {field: (type, text)}) rows, the field columns in
    order of first appearance, and a line for each item that is not a valid entity of the model."""
    from pydantic import ValidationError

    bounds = {b.name: b for b in APP.bounds.values() if b.table.name == table}
    marker = APP.tables[table].type_attribute if table in APP.tables else "_type"
    rows: list[tuple[str, dict[str, tuple[str, str]]]] = []
    columns: dict[str, None] = {}
    invalid = []
    for item in items:
        tag = item.get(marker, {}).get("S", "") if isinstance(item.get(marker), dict) else ""
        bound = bounds.get(tag)
        if bound is None:
            invalid.append(f"item {_key_text(table, item)} has no entity type of this model ({marker}={tag!r})")
            continue
        try:
            entity = bound.decode(item)
        except ValidationError as error:
            invalid.append(f"{tag} {_key_text(table, item)}: {error.errors()[0].get('msg')}")
            continue
        cells = {}
        for field in type(entity).model_fields:
            value = getattr(entity, field)
            cells[field] = (type(value).__name__, _text(entity, field, value))
            columns[field] = None
        rows.append((bound.name, cells))
    return rows, list(columns), invalid


def _text(entity: Any, field: str, value: Any) -> str:
    """A field's value as JSON text (strings as they are); its repr when it has no JSON form."""
    if value is None:
        return ""
    try:
        dumped = entity.model_dump(mode="json", include={field}).get(field)
    except (ValueError, TypeError):  # e.g. bytes that are not UTF-8 (PydanticSerializationError)
        return repr(value)
    return dumped if isinstance(dumped, str) else orjson.dumps(dumped).decode()


def _key_text(table: str, item: dict[str, Any]) -> str:
    model = APP.tables.get(table)
    names = (model.pk, model.sk) if model is not None else ("pk", "sk")
    text = orjson.dumps({k: v for k, v in item.items() if k in names} or item).decode()
    return text if len(text) <= 200 else text[:199] + "…"
