"""Bulk delete of the items selected in the explorer's grid: BatchWriteItem in batches of 25, the
UnprocessedItems of each retried with backoff (the model layer's `batch_write`), the count deleted shown."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson

from ..._errors import DynamoDBError
from .explorer import MAX_LIMIT, NOTICES, explore_page
from .markup import segment, url
from .values import parse_json
from .web import Request, Response, redirect

BATCH = 25  # BatchWriteItem's limit


def selected_keys(request: Request) -> list[dict[str, Any]]:
    """The keys of the checked rows (each `key` field), duplicates dropped, at most MAX_LIMIT."""
    raw = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).get("key", [])
    if len(raw) > MAX_LIMIT:
        raise DynamoDBError("ValidationException", f"At most {MAX_LIMIT} items can be deleted at once")
    keys: dict[bytes, dict[str, Any]] = {}
    for text in raw:
        key = parse_json(text, "A selected key")
        if not key:
            raise DynamoDBError("ValidationException", "A selected key is empty")
        keys.setdefault(orjson.dumps(key, option=orjson.OPT_SORT_KEYS), key)
    return list(keys.values())


def delete_selected(request: Request, name: str) -> Response:
    """POST …/items/delete: delete the selected keys, then back to the same result with the counts."""
    from ...model._batches import Backoff, batch_write  # on first use: the model layer costs pydantic
    from ...model._steps import run_sync

    back = parse_qs(request.form.get("back", ""), keep_blank_values=True)
    query = {k: v[-1] for k, v in back.items() if k not in NOTICES}
    deleted = unprocessed = 0
    try:
        keys = selected_keys(request)
        if not keys:
            raise DynamoDBError("ValidationException", "No items are selected")
        for start in range(0, len(keys), BATCH):
            writes = [(name, {"DeleteRequest": {"Key": key}}) for key in keys[start:start + BATCH]]
            left = run_sync(request, batch_write(writes, Backoff(attempts=5)))
            deleted, unprocessed = deleted + len(writes) - len(left), unprocessed + len(left)
    except DynamoDBError as error:
        request.query = {**query, "deleted": str(deleted)}
        return explore_page(request, name, error)
    return redirect(url("/console/tables/" + segment(name) + "/items", **query, deleted=deleted,
                        unprocessed=unprocessed or ""))
