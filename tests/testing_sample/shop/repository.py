"""Customers and orders in DynamoDB: a sync repository on boto3 (resource and client) and an async one on
aiobotocore. Clients are made by the repository itself, as application code does."""

from __future__ import annotations

import functools
import os
import uuid
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

CUSTOMERS = os.environ.get("SHOP_CUSTOMERS_TABLE", "shop-customers")
ORDERS = os.environ.get("SHOP_ORDERS_TABLE", "shop-orders")
REGION = os.environ.get("SHOP_REGION", "eu-west-1")


class AlreadyExists(Exception):
    """A customer with this email exists."""


@functools.cache
def _dynamodb() -> Any:
    """The process's DynamoDB resource, made once (and reused across requests, as in a Lambda)."""
    return boto3.resource("dynamodb", region_name=REGION)


class Shop:
    def __init__(self) -> None:
        self.customers = _dynamodb().Table(CUSTOMERS)
        self.orders = _dynamodb().Table(ORDERS)
        self.client = boto3.client("dynamodb", region_name=REGION)

    def register(self, email: str, name: str) -> str:
        customer_id = uuid.uuid4().hex
        try:
            self.customers.put_item(Item={"email": email, "customer_id": customer_id, "name": name},
                                    ConditionExpression="attribute_not_exists(email)")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise AlreadyExists(email) from None
            raise
        return customer_id

    def customer(self, email: str) -> dict[str, Any] | None:
        return self.customers.get_item(Key={"email": email}).get("Item")

    def place_order(self, email: str, order_id: str, total: Decimal, status: str = "NEW") -> None:
        """The order and the customer's running total, in one transaction."""
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": ORDERS, "ConditionExpression": "attribute_not_exists(order_id)",
                     "Item": {"email": {"S": email}, "order_id": {"S": order_id}, "total": {"N": str(total)},
                              "status": {"S": status}}}},
            {"Update": {"TableName": CUSTOMERS, "Key": {"email": {"S": email}},
                        "ConditionExpression": "attribute_exists(email)",
                        "UpdateExpression": "ADD spent :total, orders :one",
                        "ExpressionAttributeValues": {":total": {"N": str(total)}, ":one": {"N": "1"}}}},
        ])

    def orders_of(self, email: str) -> list[dict[str, Any]]:
        return list(self.orders.query(KeyConditionExpression=Key("email").eq(email))["Items"])

    def orders_by_status(self, status: str) -> list[dict[str, Any]]:
        pages = self.client.get_paginator("query").paginate(
            TableName=ORDERS, IndexName="by-status", KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": status}})
        return [item for page in pages for item in page["Items"]]


class AsyncShop:
    """Reads for an async web handler, on aiobotocore."""

    def __init__(self) -> None:
        from aiobotocore.session import get_session

        self.session = get_session()

    async def spent(self, email: str) -> Decimal:
        async with self.session.create_client("dynamodb", region_name=REGION) as client:
            found = await client.get_item(TableName=CUSTOMERS, Key={"email": {"S": email}},
                                          ProjectionExpression="spent")
        return Decimal(found.get("Item", {}).get("spent", {}).get("N", "0"))

    async def mark_shipped(self, email: str, order_id: str) -> None:
        async with self.session.create_client("dynamodb", region_name=REGION) as client:
            await client.update_item(TableName=ORDERS, Key={"email": {"S": email}, "order_id": {"S": order_id}},
                                     UpdateExpression="SET #s = :s", ConditionExpression="attribute_exists(order_id)",
                                     ExpressionAttributeNames={"#s": "status"},
                                     ExpressionAttributeValues={":s": {"S": "SHIPPED"}})
