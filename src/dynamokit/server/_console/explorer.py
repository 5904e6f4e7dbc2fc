"""The items explorer: Query (table or index, key condition, order) and Scan, with filter, projection,
paging on the real LastEvaluatedKey, consumed capacity, and the request as JSON, boto3 code and AWS CLI."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson

from ..._errors import DynamoDBError
from .codegen import request_blocks
from .grid import items_table
from .keys import Key, keys_of
from .markup import Safe, error_box, html, join, segment, url
from .values import parse_json
from .web import Request, Response, breadcrumbs, html_response, status_of

SORT_OPERATORS = ("", "=", "<", "<=", ">", ">=", "begins_with", "between")
MAX_LIMIT = 1000
EXPORT_ITEMS, EXPORT_BYTES = 10_000, 16 << 20  # the bound of an export of all pages
NOTICES = ("deleted", "unprocessed")  # the explorer's query after a bulk delete: its counts


def build(table: str, keys: list[Key], q: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The Query or Scan request the form's fields describe (raises DynamoDBError for bad input)."""
    mode = "Query" if q.get("mode") == "query" else "Scan"
    names = parse_json(q.get("names", ""), "ExpressionAttributeNames", {})
    values = parse_json(q.get("values", ""), "ExpressionAttributeValues", {})
    request: dict[str, Any] = {"TableName": table}
    index = q.get("index", "")
    if index:
        request["IndexName"] = index
    if mode == "Query":
        key = next((k for k in keys if k.index == index), None)
        if key is None:
            raise DynamoDBError("ValidationException", f"The table does not have the specified index: {index}")
        names["#k0"] = key.pk
        values[":k0"] = {key.types.get(key.pk, "S"): q.get("pk", "")}
        condition = "#k0 = :k0"
        op = q.get("sk_op", "")
        if op and key.sk:
            if op not in SORT_OPERATORS:
                raise DynamoDBError("ValidationException", f"Unknown sort key operator: {op}")
            names["#k1"] = key.sk
            sk_type = key.types.get(key.sk, "S")
            values[":k1"] = {sk_type: q.get("sk", "")}
            if op == "begins_with":
                condition += " AND begins_with(#k1, :k1)"
            elif op == "between":
                values[":k2"] = {sk_type: q.get("sk2", "")}
                condition += " AND #k1 BETWEEN :k1 AND :k2"
            else:
                condition += f" AND #k1 {op} :k1"
        request["KeyConditionExpression"] = condition
        if q.get("order") == "desc":
            request["ScanIndexForward"] = False
    for field, parameter in (("filter", "FilterExpression"), ("projection", "ProjectionExpression")):
        if q.get(field, "").strip():
            request[parameter] = q[field].strip()
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = values
    limit = q.get("limit", "").strip()
    if limit:
        if not limit.isdigit() or not 0 < int(limit) <= MAX_LIMIT:
            raise DynamoDBError("ValidationException", f"Limit must be a whole number from 1 to {MAX_LIMIT}")
        request["Limit"] = int(limit)
    if q.get("consistent") and not index:
        request["ConsistentRead"] = True
    start = parse_json(q.get("start", ""), "ExclusiveStartKey")
    if start:
        request["ExclusiveStartKey"] = start
    request["ReturnConsumedCapacity"] = "TOTAL"
    return mode, request


def explore_page(request: Request, name: str, failed: DynamoDBError | None = None) -> Response:
    """GET …/items: the form, and the result of the Query or Scan it describes; `failed`: a bulk delete's error."""
    link = "/console/tables/" + segment(name)
    nav = breadcrumbs((link, name), (link + "/items", "items"))
    try:
        table = request.call("DescribeTable", {"TableName": name})["Table"]
    except DynamoDBError as error:
        return html_response(request, name, error_box(error.code, error.message), status_of(error), nav=nav)
    keys = keys_of(table)
    q = {k: v for k, v in request.query.items() if k not in NOTICES}
    q.setdefault("limit", "50")
    results: Safe = Safe("")
    if q.get("mode") in ("query", "scan"):
        results = _run(request, name, keys, q)
    body = html('<h1>Items of {}</h1>{}{}{}', name, _notice(request.query, failed), _form(link, keys, q), results)
    return html_response(request, f"{name} items", body, 400 if failed else 200, nav=nav)


def _notice(query: dict[str, str], failed: DynamoDBError | None) -> Safe:
    """What the last bulk delete did."""
    deleted, unprocessed = query.get("deleted", ""), query.get("unprocessed", "")
    notice = html('<p class="notice" id="deleted">Deleted {} items{}.</p>', deleted,
                  f"; {unprocessed} still unprocessed after retries" if unprocessed.isdigit() else ""
                  ) if deleted.isdigit() else Safe("")
    return html("{}{}", notice, error_box(failed.code, failed.message) if failed else "")


def _run(request: Request, name: str, keys: list[Key], q: dict[str, str]) -> Safe:
    try:
        operation, call = build(name, keys, q)
    except DynamoDBError as error:
        return error_box(error.code, error.message)
    shown = request_blocks(operation, call, request.endpoint(), request.region())
    try:
        answer = request.call(operation, call)
    except DynamoDBError as error:
        return html('{}{}', error_box(error.code, error.message), shown)
    items = answer.get("Items", [])
    consumed = answer.get("ConsumedCapacity", {}).get("CapacityUnits", "—")
    summary = html('<p class="summary" id="summary">{} items · {} scanned · {} capacity units consumed</p>',
                   answer.get("Count", len(items)), answer.get("ScannedCount", "—"), consumed)
    here = "/console/tables/" + segment(name) + "/items"
    paging = [html('<a href="{}">first page</a>', url(here, **{**q, "start": ""}))] if q.get("start") else []
    last = answer.get("LastEvaluatedKey")
    if last:
        paging.append(html('<a id="next-page" href="{}">next page →</a>', url(
            here, **{**q, "start": orjson.dumps(last).decode()})))
        paging.append(html('<span class="muted">LastEvaluatedKey: {}</span>', orjson.dumps(last).decode()))
    return html('{}<p class="paging">{}</p>{}{}{}', summary, join(paging, " · "), export_links(here, q),
                items_table(name, keys[0], items, request.token, urlencode(q)), shown)


def export_links(here: str, q: dict[str, str]) -> Safe:
    """Links that download this page of the result, or all its pages (up to the export's bound), as JSON or CSV."""
    def link(fmt: str, pages: str) -> Safe:
        return html('<a href="{}" download>{}</a>', url(here + "/export", **q, format=fmt, pages=pages), fmt.upper())

    return html('<p class="row" id="export">Export this page: {} {} · all pages (at most {} items or {} MB): {} {}'
                '</p>', link("json", ""), link("csv", ""), f"{EXPORT_ITEMS:,}", EXPORT_BYTES >> 20, link("json", "all"),
                link("csv", "all"))


def _form(link: str, keys: list[Key], q: dict[str, str]) -> Safe:
    def selected(on: bool) -> Safe:
        return Safe(" selected" if on else "")

    indexes = join(html('<option value="{}" data-pk="{}" data-sk="{}"{}>{}</option>', k.index, k.pk, k.sk or "",
                        selected(q.get("index", "") == k.index),
                        f"table ({k.pk}{', ' + k.sk if k.sk else ''})" if not k.index
                        else f"{k.index} ({k.pk}{', ' + k.sk if k.sk else ''})") for k in keys)
    operators = join(html('<option value="{}"{}>{}</option>', op, selected(q.get("sk_op", "") == op), op or "any")
                     for op in SORT_OPERATORS)
    current = next((k for k in keys if k.index == q.get("index", "")), keys[0])
    return html(
        '<form method="get" action="{link}/items" class="explorer" id="explorer">'
        '<div class="row"><label><input type="radio" name="mode" value="query"{query}> Query</label>'
        '<label><input type="radio" name="mode" value="scan"{scan}> Scan</label>'
        '<label>Table or index <select name="index" id="index">{indexes}</select></label></div>'
        '<div class="row query-only"><label><span id="pk-name">{pk}</span> = <input name="pk" value="{pk_value}">'
        '</label><label><span id="sk-name">{sk}</span> <select name="sk_op">{operators}</select></label>'
        '<input name="sk" value="{sk_value}" placeholder="value"> <input name="sk2" value="{sk2}" '
        'placeholder="and (between)"><label>Order <select name="order"><option value="asc">ascending</option>'
        '<option value="desc"{desc}>descending</option></select></label></div>'
        '<div class="row"><label>Filter <input name="filter" size="40" value="{filter}" '
        'placeholder="#n = :v AND size(tags) > :two"></label><label>Projection <input name="projection" '
        'value="{projection}" placeholder="pk, title"></label></div>'
        '<div class="row"><label>ExpressionAttributeNames <textarea name="names" rows="2" cols="36" '
        'placeholder="{{&quot;#n&quot;: &quot;name&quot;}}">{names}</textarea></label>'
        '<label>ExpressionAttributeValues <textarea name="values" rows="2" cols="36" '
        'placeholder="{{&quot;:v&quot;: {{&quot;S&quot;: &quot;x&quot;}}}}">{values}</textarea></label></div>'
        '<div class="row"><label>Limit <input name="limit" size="5" value="{limit}"></label>'
        '<label><input type="checkbox" name="consistent" value="1"{consistent}> consistent read</label>'
        '<button type="submit">Run</button></div></form>',
        link=link, query=Safe(" checked" if q.get("mode") == "query" else ""),
        scan=Safe(" checked" if q.get("mode") != "query" else ""), indexes=indexes, pk=current.pk,
        pk_value=q.get("pk", ""), sk=current.sk or "(no sort key)", operators=operators, sk_value=q.get("sk", ""),
        sk2=q.get("sk2", ""), desc=selected(q.get("order") == "desc"), filter=q.get("filter", ""),
        projection=q.get("projection", ""), names=q.get("names", ""), values=q.get("values", ""),
        limit=q.get("limit", ""), consistent=Safe(" checked" if q.get("consistent") else ""))
