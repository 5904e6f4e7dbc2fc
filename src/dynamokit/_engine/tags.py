"""Resource tags: TagResource, UntagResource, ListTagsOfResource.

Tags are stored per table id in `tags`; a trigger drops them with their table. Validation follows the
service: the whole request is checked before anything changes, and every error is a ValidationException.
"""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING, Any

from .errors import DynamoDBError, resource_not_found, validation
from .resources import parse_arn

if TYPE_CHECKING:
    from .core import Engine, Operation
    from .schema import Table

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
PAGE_SIZE = 10

SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
  tid INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (tid, key)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS tags_table_dropped AFTER DELETE ON catalog
BEGIN
  DELETE FROM tags WHERE tid = OLD.tid;
END;
"""

_TAG_TEXT = re.compile(r"^[\w\s+\-=.:/@]*$")  # letters of any script, digits, spaces and + - = . _ : / @
_TOO_MANY = "Number of Tags exceed the current limit for the provided ResourceArn"


def _name_of(arn: Any) -> str:
    """The table name of a well-formed table ARN."""
    if arn is None:
        raise validation("Invalid TableArn")
    resource = parse_arn(arn, "TableArn")
    if resource.index is not None or resource.stream is not None or resource.backup is not None:
        raise validation(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    return resource.table


def _table(engine: Engine, arn: str) -> Table:
    """The table an ARN names, in this engine's region and account."""
    name = _name_of(arn)
    missing = f"Requested resource not found: ResourcArn: {arn} not found"
    if arn != engine.table_arn(name):
        raise resource_not_found(missing)
    return engine.table(name, missing=missing)


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY or not _TAG_TEXT.match(key):
        raise validation(f"The Tag Key provided is invalid, Key: {'null' if key is None else key}")
    if key.startswith("aws:"):
        raise validation(f"Tag Key cannot be prefixed with aws:, Key: {key}")
    return key


def _check_value(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_VALUE or not _TAG_TEXT.match(value):
        raise validation(f"The Tag Value provided is invalid, Value: {'null' if value is None else value}")
    return value


def _check_tags(tags: list[Any]) -> dict[str, str]:
    """Tags as a key -> value map; every tag valid and no key given twice."""
    checked: dict[str, str] = {}
    for tag in tags:
        tag = tag if isinstance(tag, dict) else {}
        key = _check_key(tag.get("Key"))
        value = _check_value(tag.get("Value"))
        if key in checked:
            raise validation(f"Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}")
        checked[key] = value
    return checked


def _put(conn: sqlite3.Connection, tid: int, tags: dict[str, str]) -> None:
    conn.executemany("INSERT INTO tags(tid, key, value) VALUES (?, ?, ?) "
                     "ON CONFLICT(tid, key) DO UPDATE SET value = excluded.value",
                     [(tid, k, v) for k, v in tags.items()])
    (count,) = conn.execute("SELECT COUNT(*) FROM tags WHERE tid = ?", (tid,)).fetchone()
    if count > MAX_TAGS:
        raise validation(_TOO_MANY)


def store(conn: sqlite3.Connection, arn: str, tags: list[dict[str, Any]]) -> None:
    """Store the tags given to CreateTable (inside its write transaction, after the catalog row)."""
    checked = _check_tags(tags)
    (tid,) = conn.execute("SELECT tid FROM catalog WHERE name = ?", (_name_of(arn),)).fetchone()
    _put(conn, tid, checked)


def _arn_and_list(request: dict[str, Any], parameter: str, empty: str) -> tuple[str, list[Any]]:
    """The ResourceArn (well formed) and the non-empty list parameter, checked in the service's order."""
    arn, values = request.get("ResourceArn"), request.get(parameter)
    if arn is not None and not isinstance(values, list):
        where = parameter[0].lower() + parameter[1:]
        raise validation(f"1 validation error detected: Value null at '{where}' failed to satisfy "
                         "constraint: Member must not be null")
    _name_of(arn)
    if not values:
        raise validation(empty)
    return arn, values


def tag_resource(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    arn = request.get("ResourceArn")
    if isinstance(arn, str) and not arn.startswith("arn:"):  # IAM cannot even name the resource
        raise DynamoDBError("AccessDeniedException", f"User is not authorized to perform: dynamodb:TagResource "
                                                     f"on resource: {arn}")
    arn, tags = _arn_and_list(request, "Tags", "Atleast one Tag needs to be provided as Input.")
    checked = _check_tags(tags)
    table = _table(engine, arn)
    with engine.storage.write() as conn:
        _put(conn, table.tid, checked)
    return {}


def untag_resource(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    arn, keys = _arn_and_list(request, "TagKeys", "Atleast one Tag Key needs to be provided as Input.")
    if len(keys) > MAX_TAGS:
        raise validation(_TOO_MANY)
    for key in keys:
        _check_key(key)
    table = _table(engine, arn)
    with engine.storage.write() as conn:
        conn.executemany("DELETE FROM tags WHERE tid = ? AND key = ?", [(table.tid, k) for k in keys])
    return {}


def list_tags_of_resource(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    table = _table(engine, request.get("ResourceArn"))
    after = request.get("NextToken") or ""
    rows = engine.storage.connection().execute(
        "SELECT key, value FROM tags WHERE tid = ? AND key > ? ORDER BY key LIMIT ?",
        (table.tid, after, PAGE_SIZE + 1)).fetchall()
    out: dict[str, Any] = {"Tags": [{"Key": k, "Value": v} for k, v in rows[:PAGE_SIZE]]}
    if len(rows) > PAGE_SIZE:
        out["NextToken"] = rows[PAGE_SIZE - 1][0]
    return out


OPERATIONS: dict[str, Operation] = {
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsOfResource": list_tags_of_resource,
}
