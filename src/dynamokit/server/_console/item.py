"""One item: view and edit it as DynamoDB JSON or plain JSON; put, update or delete it, each with an optional
condition expression (and its names and values); DynamoDB's error shown next to the field it is about."""

from __future__ import annotations

from typing import Any

import orjson

from ..._errors import DynamoDBError
from .keys import keys_of
from .markup import EMPTY, Safe, csrf_field, error_box, html, pretty, segment, url
from .values import from_plain, parse_json, plain_text
from .web import Request, Response, breadcrumbs, html_response, redirect

FORMATS = {"dynamodb": "DynamoDB JSON", "plain": "plain JSON"}
Errors = dict[str, Safe]  # field ("item", "update", "condition", "expressions") -> its error box


def _links(name: str) -> tuple[str, Safe]:
    link = "/console/tables/" + segment(name)
    return link, breadcrumbs((link, name), (link + "/items", "items"))


def item_page(request: Request, name: str) -> Response:
    """GET …/item?key={...}[&format=plain]: the item in an editor; without a key, an editor for a new item."""
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
    fmt, errors = _format(request.query.get("format")), {}
    try:
        text = plain_text(item) if fmt == "plain" else pretty(item)
    except DynamoDBError as error:  # sets or binary: shown as DynamoDB JSON, saying why
        fmt, text, errors = "dynamodb", pretty(item), {"item": error_box(error.code, error.message)}
    saved = html('<p class="notice" id="saved">Saved.</p>') if request.query.get("saved") else EMPTY
    return _editor(request, name, key, text, fmt, errors, notice=saved)


def _format(value: str | None) -> str:
    return value if value in FORMATS else "dynamodb"


def _parse(text: str, fmt: str, what: str) -> Any:
    return from_plain(text, what) if fmt == "plain" else parse_json(text, what)


def _editor(request: Request, name: str, key: dict[str, Any] | None, text: str, fmt: str, errors: Errors,
            status: int = 200, notice: Safe = EMPTY) -> Response:
    link, nav = _links(name)
    form = request.form

    def at(field: str) -> Safe:
        return errors.get(field, EMPTY)

    other = "dynamodb" if fmt == "plain" else "plain"
    formats = html('<input type="hidden" name="format" value="{}"><button type="submit" formaction="{}/item/convert"'
                   ' class="secondary" id="convert">Show as {}</button>', fmt, link, FORMATS[other])
    existing = html(
        '<label>Update expression (UpdateItem) <input name="update" size="60" value="{}" '
        'placeholder="SET #n = :v REMOVE old"></label>{}', form.get("update", ""), at("update")) if key else EMPTY
    buttons = html(
        '<button type="submit" formaction="{link}/item/update">Update (UpdateItem)</button> '
        '<button type="submit" formaction="{link}/item/delete" class="danger" data-confirm="Delete this item?">'
        'Delete (DeleteItem)</button><input type="hidden" name="key" value="{key}">',
        link=link, key=orjson.dumps(key).decode()) if key else EMPTY
    body = html(
        '<h1>{title}</h1>{notice}<form method="post" action="{link}/item" class="stack" id="item-form">{csrf}'
        '<p class="row">Editing as <strong id="format">{fmt}</strong></p>'
        '<label>Item <textarea name="item" rows="16" cols="90" spellcheck="false">{text}</textarea></label>{item_error}'
        '<p class="muted">Plain JSON is converted as the SDKs do: strings S, numbers N (exactly as typed), true and '
        'false BOOL, null NULL, arrays L, objects M. It has no sets (SS, NS, BS) and no binary (B): use DynamoDB JSON '
        'for those. Expression attribute values are written in the same format as the item.</p>'
        '<fieldset class="stack"><legend>Condition and expressions (optional)</legend>{existing}'
        '<label>Condition expression <input name="condition" size="60" value="{condition}" '
        'placeholder="attribute_not_exists(pk) OR #v = :v"></label>{condition_error}{expressions_error}'
        '<label>ExpressionAttributeNames <textarea name="names" rows="2" spellcheck="false" '
        'placeholder="{{&quot;#v&quot;: &quot;version&quot;}}">{names}</textarea></label>'
        '<label>ExpressionAttributeValues <textarea name="values" rows="2" spellcheck="false">{values}</textarea>'
        '</label></fieldset><p class="row"><button type="submit">Save (PutItem)</button> {buttons} {formats}</p></form>',
        title="Edit item" if key else "New item", notice=notice, link=link, csrf=csrf_field(request.token),
        fmt=FORMATS[fmt], formats=formats, item_error=at("item"), text=text, existing=existing,
        condition=form.get("condition", ""), condition_error=at("condition"), expressions_error=at("expressions"),
        names=form.get("names", ""), values=form.get("values", ""), buttons=buttons)
    return html_response(request, f"{name} item", body, status, nav=nav)


def _field(error: DynamoDBError) -> str:
    """The form field an error is about."""
    if error.code == "ConditionalCheckFailedException" or "ConditionExpression" in error.message:
        return "condition"
    if "UpdateExpression" in error.message:
        return "update"
    if "ExpressionAttribute" in error.message or "expression attribute" in error.message:
        return "expressions"
    return "item"


def _expressions(form: dict[str, str], fmt: str, update: bool) -> dict[str, Any]:
    """The condition (and update) expression with its names and values, as request parameters."""
    out: dict[str, Any] = {}
    if update:
        if not form.get("update", "").strip():
            raise DynamoDBError("ValidationException", "Type an UpdateExpression to update the item")
        out["UpdateExpression"] = form["update"].strip()
    if form.get("condition", "").strip():
        out["ConditionExpression"] = form["condition"].strip()
    names = parse_json(form.get("names", ""), "ExpressionAttributeNames")
    values = _parse(form.get("values", ""), fmt, "ExpressionAttributeValues")
    if names:
        out["ExpressionAttributeNames"] = names
    if values:
        out["ExpressionAttributeValues"] = values
    return out


def _failed(request: Request, name: str, fmt: str, error: DynamoDBError) -> Response:
    """The editor again, with what was typed and DynamoDB's error next to its field."""
    key = _key_field(request)
    return _editor(request, name, key, request.form.get("item", ""), fmt,
                   {_field(error): error_box(error.code, error.message)}, 400)


def _key_field(request: Request) -> dict[str, Any] | None:
    try:
        key: dict[str, Any] | None = parse_json(request.form.get("key", ""), "key")
    except DynamoDBError:
        return None
    return key


def _saved(name: str, key: dict[str, Any], fmt: str) -> Response:
    return redirect(url("/console/tables/" + segment(name) + "/item", key=orjson.dumps(key).decode(), saved=1,
                        format="plain" if fmt == "plain" else ""))


def put(request: Request, name: str) -> Response:
    fmt = _format(request.form.get("format"))
    try:
        item = _parse(request.form.get("item", ""), fmt, "The item")
        if not item:
            raise DynamoDBError("ValidationException", "The item is empty")
        table = request.call("DescribeTable", {"TableName": name})["Table"]
        request.call("PutItem", {"TableName": name, "Item": item, **_expressions(request.form, fmt, False)})
    except DynamoDBError as error:
        return _failed(request, name, fmt, error)
    primary = keys_of(table)[0]
    return _saved(name, {a: item[a] for a in (primary.pk, primary.sk) if a and a in item}, fmt)


def update(request: Request, name: str) -> Response:
    fmt = _format(request.form.get("format"))
    try:
        key = parse_json(request.form.get("key", ""), "key", {})
        request.call("UpdateItem", {"TableName": name, "Key": key, **_expressions(request.form, fmt, True)})
    except DynamoDBError as error:
        return _failed(request, name, fmt, error)
    return _saved(name, key, fmt)


def delete(request: Request, name: str) -> Response:
    fmt = _format(request.form.get("format"))
    try:
        key = parse_json(request.form.get("key", ""), "key", {})
        request.call("DeleteItem", {"TableName": name, "Key": key, **_expressions(request.form, fmt, False)})
    except DynamoDBError as error:
        return _failed(request, name, fmt, error)
    return redirect("/console/tables/" + segment(name) + "/items")


def convert(request: Request, name: str) -> Response:
    """The item (and the expression values) typed in one format, shown in the other; nothing is written."""
    fmt = _format(request.form.get("format"))
    target = "dynamodb" if fmt == "plain" else "plain"
    try:
        item = _parse(request.form.get("item", ""), fmt, "The item") or {}
        values = _parse(request.form.get("values", ""), fmt, "ExpressionAttributeValues")
        text = plain_text(item) if target == "plain" else pretty(item)
        shown = (plain_text(values) if target == "plain" else pretty(values)) if values else ""
    except DynamoDBError as error:
        return _failed(request, name, fmt, error)
    request.form = {**request.form, "values": shown}
    return _editor(request, name, _key_field(request), text, target, {})
