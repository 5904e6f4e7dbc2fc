"""Table definitions from the model: CreateTable requests, create_tables(), CloudFormation and Terraform."""

from __future__ import annotations

import json
from typing import Any

from ._app import App
from ._steps import Steps, call
from ._table import Table


def _attributes(table: Table) -> dict[str, str]:
    """Key attribute names and their types (S, or N for numeric GSI sort keys)."""
    types = {table.pk: "S"} | ({table.sk: "S"} if table.sk else {})
    for gsi in table.indexes.values():
        for name, kind in ((gsi.pk_attr, "S"), (gsi.sk_attr, gsi.sk_type)):
            if name is None:
                continue
            if types.setdefault(name, kind) != kind:
                raise ValueError(f"table '{table.name}': key attribute '{name}' is both S and N")
    return types


def _key_schema(pk: str, sk: str | None) -> list[dict[str, str]]:
    return [{"AttributeName": pk, "KeyType": "HASH"}] + (
        [{"AttributeName": sk, "KeyType": "RANGE"}] if sk else []
    )


def create_table_request(table: Table) -> dict[str, Any]:
    """The CreateTable input of one table (on-demand; key attributes are strings, numeric GSI sort keys N)."""
    request: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": _key_schema(table.pk, table.sk),
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": kind} for a, kind in _attributes(table).items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": g.name,
                "KeySchema": _key_schema(g.pk_attr, g.sk_attr),
                "Projection": {"ProjectionType": g.projection},
            }
            for g in table.indexes.values()
        ]
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    return request


def create_table_requests(app: App) -> list[dict[str, Any]]:
    return [create_table_request(t) for t in app.tables.values()]


def create_tables(app: App) -> None:
    """Create every table of the app (and enable TTL where an entity declares it); for tests and demos."""
    app.drive(_create_tables(app))


async def acreate_tables(app: App) -> None:
    """`create_tables` over the App's async transport."""
    await app.adrive(_create_tables(app))


def _create_tables(app: App) -> Steps[None]:
    for table in app.tables.values():
        yield from call("CreateTable", create_table_request(table))
        if table.ttl_attribute:
            yield from call(
                "UpdateTimeToLive",
                {
                    "TableName": table.name,
                    "TimeToLiveSpecification": {"Enabled": True, "AttributeName": table.ttl_attribute},
                },
            )
    if app.migrations is not None:  # fresh tables hold the App's model version already
        from .migrations._state import STATE_TABLE, ensure_table, write_state
        from .migrations._survey import templates

        yield from ensure_table(STATE_TABLE)
        for table in app.tables.values():
            yield from write_state(STATE_TABLE, table.name, app.migrations.version, templates(app, table))


def _logical_id(name: str) -> str:
    return (
        "".join(part.capitalize() for part in name.replace("-", "_").replace(".", "_").split("_")) + "Table"
    )


def cloudformation(app: App) -> dict[str, Any]:
    """A CloudFormation / SAM template with one AWS::DynamoDB::Table per table."""
    resources: dict[str, Any] = {}
    for table in app.tables.values():
        request = create_table_request(table)
        properties = dict(request)
        if table.ttl_attribute:
            properties["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
        if table.stream:
            properties["StreamSpecification"] = {"StreamViewType": table.stream}
        resources[_logical_id(table.name)] = {"Type": "AWS::DynamoDB::Table", "Properties": properties}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def cloudformation_json(app: App) -> str:
    return json.dumps(cloudformation(app), indent=2)


def terraform(app: App) -> str:
    """Terraform HCL: one aws_dynamodb_table resource per table."""
    blocks = []
    for table in app.tables.values():
        lines = [
            f'resource "aws_dynamodb_table" "{table.name.replace("-", "_")}" {{',
            f'  name         = "{table.name}"',
            '  billing_mode = "PAY_PER_REQUEST"',
            f'  hash_key     = "{table.pk}"',
        ]
        if table.sk:
            lines.append(f'  range_key    = "{table.sk}"')
        for name, kind in _attributes(table).items():
            lines += ["", "  attribute {", f'    name = "{name}"', f'    type = "{kind}"', "  }"]
        for gsi in table.indexes.values():
            lines += [
                "",
                "  global_secondary_index {",
                f'    name            = "{gsi.name}"',
                f'    hash_key        = "{gsi.pk_attr}"',
            ]
            if gsi.sk_attr:
                lines.append(f'    range_key       = "{gsi.sk_attr}"')
            lines += [f'    projection_type = "{gsi.projection}"', "  }"]
        if table.ttl_attribute:
            lines += [
                "",
                "  ttl {",
                f'    attribute_name = "{table.ttl_attribute}"',
                "    enabled        = true",
                "  }",
            ]
        if table.stream:
            lines += ["", "  stream_enabled   = true", f'  stream_view_type = "{table.stream}"']
        lines.append("}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
