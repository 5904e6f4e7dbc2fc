"""The catalogs of long-running jobs (exports, imports): a row per job (arn, table_arn, started,
description), looked up by ARN, listed in start order with paging, and run under a lease (see `leadership`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import orjson

from .errors import DynamoDBError, validation

if TYPE_CHECKING:
    from .core import Engine
    from .leadership import Job

Catalog = Literal["exports", "imports"]
_STATUS = {"exports": "ExportStatus", "imports": "ImportStatus"}


def stored(engine: Engine, catalog: Catalog, request: dict[str, Any], parameter: str,
           missing: str) -> dict[str, Any]:
    """The stored description of the job whose ARN is `request[parameter]` (`missing`: the error code)."""
    arn = request.get(parameter)
    if not isinstance(arn, str) or not 37 <= len(arn) <= 1024:
        where = parameter[0].lower() + parameter[1:]
        raise validation(f"1 validation error detected: Value '{arn}' at '{where}' failed to satisfy "
                         "constraint: Member must have length between 37 and 1024")
    with engine.storage.snapshot() as conn:
        row = conn.execute(f"SELECT description FROM {catalog} WHERE arn = ?", (arn,)).fetchone()
    if row is None:
        raise DynamoDBError(missing, f"{catalog[:-1].capitalize()} not found: {arn}")
    return orjson.loads(row[0])  # type: ignore[no-any-return]


def listed(engine: Engine, catalog: Catalog, request: dict[str, Any],
           parameter: str) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the jobs (optionally of request["TableArn"]), at most `request[parameter]` (1-25): their
    stored descriptions, and the NextToken of the next page (None on the last)."""
    limit = request.get(parameter, 25)
    if type(limit) is not int or not 1 <= limit <= 25:
        where = parameter[0].lower() + parameter[1:]
        raise validation(f"1 validation error detected: Value '{limit}' at '{where}' failed to satisfy "
                         "constraint: Member must have value between 1 and 25")
    sql, args = f"SELECT arn, description FROM {catalog} WHERE 1", []
    if request.get("TableArn") is not None:
        sql += " AND table_arn = ?"
        args.append(engine.resource(request["TableArn"]).table_arn)
    token = request.get("NextToken")
    with engine.storage.snapshot() as conn:
        if token is not None:
            start = conn.execute(f"SELECT started, arn FROM {catalog} WHERE arn = ?", (token,)).fetchone()
            if start is None:
                raise validation("Invalid NextToken")
            sql += " AND (started, arn) > (?, ?)"
            args += list(start)
        rows = conn.execute(sql + " ORDER BY started, arn LIMIT ?", (*args, limit + 1)).fetchall()
    found = [orjson.loads(raw) for _, raw in rows[:limit]]
    return found, rows[limit - 1][0] if len(rows) > limit else None


def job(engine: Engine, catalog: Catalog, arn: str, run: Callable[[Engine, str], None]) -> Job:
    """The job `arn` of `catalog`, run by `run(engine, arn)`, as a job of `leadership`."""
    return f"{catalog[:-1]}:{arn}", partial(run, engine, arn)


def pending(engine: Engine, catalog: Catalog, run: Callable[[Engine, str], None]) -> list[Job]:
    """The jobs of `catalog` still IN_PROGRESS (a job that starts over writes its result again)."""
    with engine.storage.snapshot() as conn:
        arns = [row[0] for row in conn.execute(
            f"SELECT arn FROM {catalog} WHERE json_extract(CAST(description AS TEXT), '$.{_STATUS[catalog]}') "
            "= 'IN_PROGRESS'")]
    return [job(engine, catalog, arn, run) for arn in arns]


__all__ = ["job", "listed", "pending", "stored"]
