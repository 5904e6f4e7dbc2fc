"""Table pages: the list (counts, sizes, billing, indexes, stream/TTL/PITR), describe, create and delete."""

from __future__ import annotations

from typing import Any

from ..._errors import DynamoDBError
from .markup import EMPTY, Safe, code_block, csrf_field, error_box, html, join, pretty, segment
from .values import parse_json
from .web import Request, Response, breadcrumbs, html_response, redirect, status_of

KEY_TYPES = ("S", "N", "B")
STREAM_VIEWS = ("", "NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")


def table_names(request: Request) -> list[str]:
    names: list[str] = []
    start: str | None = None
    while True:
        answer = request.call("ListTables", {"ExclusiveStartTableName": start} if start else {})
        names += answer.get("TableNames", [])
        start = answer.get("LastEvaluatedTableName")
        if not start:
            return names


def _status(request: Request, name: str, operation: str, path: tuple[str, ...]) -> str:
    """One nested status field of a Describe* answer; '—' when the endpoint does not have the operation."""
    try:
        value: Any = request.call(operation, {"TableName": name})
    except DynamoDBError:
        return "—"
    for part in path:
        value = value.get(part, {}) if isinstance(value, dict) else {}
    return value if isinstance(value, str) else "—"


def size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def list_page(request: Request) -> Response:
    rows = []
    for name in table_names(request):
        try:
            table = request.call("DescribeTable", {"TableName": name})["Table"]
        except DynamoDBError:
            continue  # deleted meanwhile
        indexes = [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", []) + table.get(
            "LocalSecondaryIndexes", [])]
        stream = table.get("StreamSpecification", {})
        link = "/console/tables/" + segment(name)
        rows.append(html(
            '<tr><td><a href="{link}">{name}</a></td><td>{status}</td><td class="num">{count}</td>'
            '<td class="num">{size}</td><td>{billing}</td><td>{indexes}</td><td>{stream}</td><td>{ttl}</td>'
            '<td>{pitr}</td><td><a href="{link}/items">items</a> · <a href="{link}/stream">stream</a></td></tr>',
            link=link, name=name, status=table.get("TableStatus", ""), count=table.get("ItemCount", 0),
            size=size(table.get("TableSizeBytes", 0)),
            billing=table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
            indexes=", ".join(indexes) or "—",
            stream=stream.get("StreamViewType", "") if stream.get("StreamEnabled") else "off",
            ttl=_status(request, name, "DescribeTimeToLive", ("TimeToLiveDescription", "TimeToLiveStatus")),
            pitr=_status(request, name, "DescribeContinuousBackups", (
                "ContinuousBackupsDescription", "PointInTimeRecoveryDescription", "PointInTimeRecoveryStatus"))))
    body = html(
        '<h1>Tables</h1><p><a class="button" href="/console/tables/new">Create table</a></p>'
        '<table class="grid" id="tables"><thead><tr><th>name</th><th>status</th><th>items</th><th>size</th>'
        '<th>billing</th><th>indexes</th><th>stream</th><th>TTL</th><th>PITR</th><th></th></tr></thead>'
        '<tbody>{}</tbody></table>{}', join(rows),
        html('<p class="empty">No tables yet.</p>') if not rows else "")
    return html_response(request, "Tables", body)


def describe_page(request: Request, name: str) -> Response:
    link = "/console/tables/" + segment(name)
    try:
        table = request.call("DescribeTable", {"TableName": name})["Table"]
    except DynamoDBError as error:
        return html_response(request, name, error_box(error.code, error.message), status_of(error))
    keys = ", ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in table.get("KeySchema", []))
    body = html(
        '<h1>{name}</h1><p class="actions"><a class="button" href="{link}/items">Explore items</a> '
        '<a class="button" href="{link}/item">New item</a> <a class="button" href="{link}/stream">Stream</a> '
        '<a class="button danger" href="{link}/delete">Delete table</a></p>'
        '<p>Key: {keys} · {count} items · {size}</p>{json}',
        name=name, link=link, keys=keys, count=table.get("ItemCount", 0), size=size(table.get("TableSizeBytes", 0)),
        json=code_block(pretty(table), "DescribeTable"))
    return html_response(request, name, body, nav=breadcrumbs((link, name)))


def create_form(request: Request, error: Safe = EMPTY) -> Response:
    form = request.form

    def types(field: str, default: str) -> Safe:
        return join(html('<option{}>{}</option>', Safe(" selected") if form.get(field, default) == t else "", t)
                    for t in KEY_TYPES)

    views = join(html('<option value="{}"{}>{}</option>', v, Safe(" selected") if form.get("stream") == v else "",
                      v or "no stream") for v in STREAM_VIEWS)
    body = html(
        '<h1>Create table</h1>{error}<form method="post" action="/console/tables/new" class="stack">{csrf}'
        '<label>Table name <input name="name" required value="{name}"></label>'
        '<fieldset><legend>Partition key</legend><input name="pk" required placeholder="pk" value="{pk}">'
        '<select name="pk_type">{pk_types}</select></fieldset>'
        '<fieldset><legend>Sort key (optional)</legend><input name="sk" placeholder="sk" value="{sk}">'
        '<select name="sk_type">{sk_types}</select></fieldset>'
        '<fieldset><legend>Global secondary index (optional)</legend>'
        '<input name="gsi" placeholder="index name" value="{gsi}"> <input name="gsi_pk" placeholder="partition key" '
        'value="{gsi_pk}"><select name="gsi_pk_type">{gsi_pk_types}</select> <input name="gsi_sk" '
        'placeholder="sort key" value="{gsi_sk}"><select name="gsi_sk_type">{gsi_sk_types}</select></fieldset>'
        '<label>Billing <select name="billing"><option value="PAY_PER_REQUEST">on demand</option>'
        '<option value="PROVISIONED"{prov}>provisioned (5 RCU / 5 WCU)</option></select></label>'
        '<label>Stream <select name="stream">{views}</select></label>'
        '<details><summary>…or the whole CreateTable request as JSON</summary>'
        '<textarea name="json" rows="12" cols="80" placeholder="{{&quot;TableName&quot;: ...}}">{json}</textarea>'
        '</details><button type="submit">Create</button></form>',
        error=error, csrf=csrf_field(request.token), name=form.get("name", ""), pk=form.get("pk", ""),
        pk_types=types("pk_type", "S"), sk=form.get("sk", ""), sk_types=types("sk_type", "S"),
        gsi=form.get("gsi", ""), gsi_pk=form.get("gsi_pk", ""), gsi_pk_types=types("gsi_pk_type", "S"),
        gsi_sk=form.get("gsi_sk", ""), gsi_sk_types=types("gsi_sk_type", "S"),
        prov=Safe(" selected") if form.get("billing") == "PROVISIONED" else "", views=views,
        json=form.get("json", ""))
    return html_response(request, "Create table", body, 400 if error else 200,
                         nav=breadcrumbs(("/console/tables/new", "new table")))


def create_request(form: dict[str, str]) -> dict[str, Any]:
    """The CreateTable request the form describes (or the JSON pasted instead)."""
    if form.get("json", "").strip():
        pasted: dict[str, Any] = parse_json(form["json"], "The CreateTable request")
        return pasted
    definitions: dict[str, str] = {}

    def key(prefix: str) -> list[dict[str, str]]:
        schema = []
        for field, kind in ((prefix + "pk", "HASH"), (prefix + "sk", "RANGE")):
            attribute = form.get(field, "").strip()
            if attribute:
                definitions[attribute] = form.get(field + "_type", "S")
                schema.append({"AttributeName": attribute, "KeyType": kind})
        return schema

    request: dict[str, Any] = {"TableName": form.get("name", "").strip(), "KeySchema": key("")}
    gsi = form.get("gsi", "").strip()
    if gsi:
        request["GlobalSecondaryIndexes"] = [{"IndexName": gsi, "KeySchema": key("gsi_"),
                                              "Projection": {"ProjectionType": "ALL"}}]
    request["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()]
    if form.get("billing") == "PROVISIONED":
        throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        request["ProvisionedThroughput"] = throughput
        for index in request.get("GlobalSecondaryIndexes", []):
            index["ProvisionedThroughput"] = throughput
    else:
        request["BillingMode"] = "PAY_PER_REQUEST"
    if form.get("stream"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": form["stream"]}
    return request


def create(request: Request) -> Response:
    try:
        create_table = create_request(request.form)
        name = create_table.get("TableName")
        request.call("CreateTable", create_table)
    except DynamoDBError as error:
        return create_form(request, error_box(error.code, error.message))
    return redirect("/console/tables/" + segment(str(name)))


def delete_form(request: Request, name: str, error: Safe = EMPTY) -> Response:
    link = "/console/tables/" + segment(name)
    body = html(
        '<h1>Delete table {name}?</h1>{error}<p>This deletes the table and every item in it. It cannot be undone.'
        '</p><form method="post" action="{link}/delete" class="stack" data-confirm="Delete table {name}?">{csrf}'
        '<label>Type the table name to confirm <input name="confirm" autocomplete="off" required></label>'
        '<button type="submit" class="danger">Delete table</button> <a href="{link}">Cancel</a></form>',
        name=name, error=error, link=link, csrf=csrf_field(request.token))
    return html_response(request, f"Delete {name}", body, 400 if error else 200,
                         nav=breadcrumbs((link, name), (link + "/delete", "delete")))


def delete(request: Request, name: str) -> Response:
    if request.form.get("confirm") != name:
        return delete_form(request, name, error_box("Not confirmed", "Type the table's name to delete it."))
    try:
        request.call("DeleteTable", {"TableName": name})
    except DynamoDBError as error:
        return delete_form(request, name, error_box(error.code, error.message))
    return redirect("/console/")
