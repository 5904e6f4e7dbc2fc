"""One item: view and edit it as DynamoDB JSON, put it, delete it."""

from __future__ import annotations

from typing import Any

import orjson

from ...errors import DynamoDBError
from .explorer import keys_of
from .markup import EMPTY, Safe, csrf_field, error_box, html, pretty, segment, url
from .values import parse_json
from .web import Request, Response, breadcrumbs, html_response, redirect


def _links(name: str) -> tuple[str, Safe]:
    link = "/console/tables/" + segment(name)
    return link, breadcrumbs((link, name), (link + "/items", "items"))


def item_page(request: Request, name: str) -> Response:
    """GET …/item?key={...}: the item in an editor; without a key, an editor for a new item."""
    nav = _links(name)[1]
    try:
        table = request.call("DescribeTable", {"TableName": name})["Table"]
        key = parse_json(request.query.get("key", ""), "key")
        item = request.call("GetItem", {"TableName": name, "Key": key}).get("Item") if key else None
    except DynamoDBError as error:
        return html_response(request, name, error_box(error.code, error.message), 400, nav=nav)
    if key and item is None:
        return html_response(request, name, error_box("Not found", "No item has this key: "
                                                      + orjson.dumps(key).decode()), 404, nav=nav)
    if item is None:
        primary = keys_of(table)[0]
        item = {a: {primary.types.get(a, "S"): ""} for a in (primary.pk, primary.sk) if a}
    return _editor(request, name, pretty(item), key)


def _editor(request: Request, name: str, text: str, key: dict[str, Any] | None,
            error: Safe = EMPTY, status: int = 200) -> Response:
    link, nav = _links(name)
    delete = html(
        '<form method="post" action="{}/item/delete" data-confirm="Delete this item?">{}'
        '<input type="hidden" name="key" value="{}"><button type="submit" class="danger">Delete item</button></form>',
        link, csrf_field(request.token), orjson.dumps(key).decode()) if key else Safe("")
    body = html(
        '<h1>{title}</h1>{error}<form method="post" action="{link}/item" class="stack" id="item-form">{csrf}'
        '<label>Item (DynamoDB JSON) <textarea name="item" rows="20" cols="90" spellcheck="false">{text}</textarea>'
        '</label><button type="submit">Save (PutItem)</button></form>{delete}',
        title="Edit item" if key else "New item", error=error, link=link, csrf=csrf_field(request.token), text=text,
        delete=delete)
    return html_response(request, f"{name} item", body, status, nav=nav)


def put(request: Request, name: str) -> Response:
    text = request.form.get("item", "")
    try:
        item = parse_json(text, "The item")
        if item is None:
            raise DynamoDBError("ValidationException", "The item is empty")
        table = request.call("DescribeTable", {"TableName": name})["Table"]
        request.call("PutItem", {"TableName": name, "Item": item})
    except DynamoDBError as error:
        return _editor(request, name, text, None, error_box(error.code, error.message), 400)
    primary = keys_of(table)[0]
    key = {a: item[a] for a in (primary.pk, primary.sk) if a}
    return redirect(url("/console/tables/" + segment(name) + "/item", key=orjson.dumps(key).decode(), saved=1))


def delete(request: Request, name: str) -> Response:
    try:
        key = parse_json(request.form.get("key", ""), "key")
        request.call("DeleteItem", {"TableName": name, "Key": key})
    except DynamoDBError as error:
        return html_response(request, name, error_box(error.code, error.message), 400, nav=_links(name)[1])
    return redirect("/console/tables/" + segment(name) + "/items")
