"""GET …/items/export: the explorer's current result as a JSON or CSV download, this page or all pages (the
same Query or Scan, continued on LastEvaluatedKey up to EXPORT_ITEMS items or EXPORT_BYTES of items)."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from ..._errors import DynamoDBError
from .explorer import EXPORT_BYTES, EXPORT_ITEMS, build
from .grid import columns
from .keys import keys_of
from .markup import error_box, segment
from .security import HEADERS
from .values import cell
from .web import Request, Response, breadcrumbs, html_response, status_of

_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so as a formula


def export(request: Request, name: str) -> Response:
    q, fmt = request.query, request.query.get("format")
    link = "/console/tables/" + segment(name)
    try:
        if fmt not in ("json", "csv"):
            raise DynamoDBError("ValidationException", "format must be json or csv")
        table = request.call("DescribeTable", {"TableName": name})["Table"]
        keys = keys_of(table)
        every = q.get("pages") == "all"
        operation, call = build(name, keys, {k: v for k, v in q.items() if not every or k not in ("start", "limit")})
        items, last = _read(request, operation, dict(call), every)
    except DynamoDBError as error:
        return html_response(request, name, error_box(error.code, error.message), status_of(error),
                             nav=breadcrumbs((link, name), (link + "/items", "items")))
    if fmt == "json":
        data = orjson.dumps({"TableName": name, "Request": call, "Count": len(items), "Items": items,
                             **({"LastEvaluatedKey": last} if last else {})}, option=orjson.OPT_INDENT_2)
        kind = "application/json"
    else:
        data = _csv(columns(keys[0], items), items).encode()
        kind = "text/csv; charset=utf-8"
    filename = f"{table['TableName']}-{operation.lower()}" + ("-all" if every else "") + ("-cut" if every and last else "")
    return 200, [("Content-Type", kind), ("Content-Length", str(len(data))),
                 ("Content-Disposition", f'attachment; filename="{filename}.{fmt}"'), *HEADERS], data


def _read(request: Request, operation: str, call: dict[str, Any], every: bool
          ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The items of one request, or (`every`) of the pages that follow it up to the bound, and the key to go on."""
    items: list[dict[str, Any]] = []
    size = 0
    while True:
        if every:
            call["Limit"] = EXPORT_ITEMS - len(items)  # never more than the bound, and LastEvaluatedKey stays exact
        answer = request.call(operation, call)
        page = answer.get("Items", [])
        items += page
        size += len(orjson.dumps(page))
        last = answer.get("LastEvaluatedKey")
        if not every or not last or len(items) >= EXPORT_ITEMS or size >= EXPORT_BYTES:
            return items, last
        call["ExclusiveStartKey"] = last


def _csv(header: list[str], items: list[dict[str, Any]]) -> str:
    """One row per item: strings and numbers as they are, other values as DynamoDB JSON; a string that a
    spreadsheet would take for a formula gets a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for item in items:
        writer.writerow([_text(item[c]) if c in item else "" for c in header])
    return out.getvalue()


def _text(value: dict[str, Any]) -> str:
    text = cell(value, limit=None)
    return "'" + text if "S" in value and text.startswith(_FORMULA) else text
