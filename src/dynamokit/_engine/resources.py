"""Resource identity: what a request names (a table by name or ARN, an index, a stream) as one `Resource`.

The engine finds tables through `table_name` and the access-control layer builds the ARNs it authorizes
through `Resource.arn` of the same parse, so the two can never disagree about which table a request reaches.
ARNs are parsed strictly: `arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME[/index/NAME|/stream/LABEL|/backup/ID]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import resource_not_found, validation

_NAME = r"[a-zA-Z0-9_.-]{3,255}"
_ARN = re.compile(
    r"arn:(aws[a-z-]{0,16}):dynamodb:([a-z0-9-]{1,32}):(\d{12}):"
    rf"table/({_NAME})(?:/index/({_NAME})|/stream/([0-9A-Za-z:._-]{{1,64}})|/backup/([0-9a-z-]{{1,64}}))?")


@dataclass(frozen=True, slots=True)
class Resource:
    """A DynamoDB resource: a table, or one of its indexes or streams."""

    partition: str
    region: str
    account: str
    table: str
    index: str | None = None
    stream: str | None = None
    backup: str | None = None

    @property
    def table_arn(self) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{self.table}"

    @property
    def arn(self) -> str:
        if self.index is not None:
            return f"{self.table_arn}/index/{self.index}"
        if self.stream is not None:
            return f"{self.table_arn}/stream/{self.stream}"
        if self.backup is not None:
            return f"{self.table_arn}/backup/{self.backup}"
        return self.table_arn


def parse_arn(arn: object, parameter: str = "ResourceArn") -> Resource:
    """The resource a well-formed DynamoDB ARN names; anything else is a ValidationException."""
    match = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        prefix = "" if parameter == "ResourceArn" else f"Invalid {parameter}: "
        raise validation(f"{prefix}Invalid ResourceArn provided as input {arn}")
    return Resource(*match.groups())


def table_name(name: object, region: str, account: str) -> str:
    """The table a `TableName` parameter names: a table name, or the ARN of a table of this region and
    account (the ARN of an index or stream, or a malformed ARN, is a ValidationException; another region's or
    account's table is not found here)."""
    if not isinstance(name, str):
        raise validation("1 validation error detected: Value null at 'tableName' failed to satisfy "
                         "constraint: Member must not be null")
    if not name.startswith("arn:"):
        return name
    resource = parse_arn(name, "TableName")
    if resource.index is not None or resource.stream is not None or resource.backup is not None:
        raise validation(f"Invalid TableName: Invalid ResourceArn provided as input {name}: "
                         "the ARN must name a table")
    if resource.region != region or resource.account != account:
        raise resource_not_found(f"Requested resource not found: Table: {name} not found")
    return resource.table


__all__ = ["Resource", "parse_arn", "table_name"]
