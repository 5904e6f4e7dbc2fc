"""The shop's tests, written as for moto's `@mock_aws` (tables made with boto3 in setUp, the app's own
clients), running on `@dynamokit.mock`. With `@mock_aws` instead, all pass but `test_async_handlers`:
moto 5.2.5's responses are not awaitable by aiobotocore (TypeError in aiobotocore's endpoint)."""

from __future__ import annotations

import asyncio
import unittest
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

import dynamokit

from .shop import repository
from .shop.repository import AlreadyExists, AsyncShop, Shop


def create_tables() -> None:
    ddb = boto3.client("dynamodb", region_name=repository.REGION)
    ddb.create_table(TableName=repository.CUSTOMERS, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "email", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "email", "AttributeType": "S"}])
    ddb.create_table(TableName=repository.ORDERS, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "email", "KeyType": "HASH"},
                                {"AttributeName": "order_id", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "email", "AttributeType": "S"},
                                           {"AttributeName": "order_id", "AttributeType": "S"},
                                           {"AttributeName": "status", "AttributeType": "S"}],
                     GlobalSecondaryIndexes=[{"IndexName": "by-status", "Projection": {"ProjectionType": "ALL"},
                                              "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}]}])


@dynamokit.mock  # was: @mock_aws
class TestShop(unittest.TestCase):
    def setUp(self) -> None:
        create_tables()
        self.shop = Shop()

    def test_register_and_read(self) -> None:
        self.shop.register("ada@example.com", "Ada")
        self.assertEqual(self.shop.customer("ada@example.com")["name"], "Ada")
        self.assertIsNone(self.shop.customer("bob@example.com"))

    def test_register_twice(self) -> None:
        self.shop.register("ada@example.com", "Ada")
        with self.assertRaises(AlreadyExists):
            self.shop.register("ada@example.com", "Ada again")

    def test_orders_update_the_customer_in_one_transaction(self) -> None:
        self.shop.register("ada@example.com", "Ada")
        self.shop.place_order("ada@example.com", "o-1", Decimal("19.99"))
        self.shop.place_order("ada@example.com", "o-2", Decimal("5.01"))
        customer = self.shop.customer("ada@example.com")
        self.assertEqual((customer["spent"], customer["orders"]), (Decimal(25), Decimal(2)))
        self.assertEqual([order["order_id"] for order in self.shop.orders_of("ada@example.com")], ["o-1", "o-2"])

    def test_an_order_for_an_unknown_customer_writes_nothing(self) -> None:
        with self.assertRaises(ClientError) as raised:
            self.shop.place_order("nobody@example.com", "o-1", Decimal(1))
        self.assertEqual(raised.exception.response["Error"]["Code"], "TransactionCanceledException")
        self.assertEqual(self.shop.orders_of("nobody@example.com"), [])

    def test_each_test_starts_empty(self) -> None:
        self.assertEqual(self.shop.customers.scan()["Items"], [])

    def test_async_handlers(self) -> None:
        self.shop.register("ada@example.com", "Ada")
        self.shop.place_order("ada@example.com", "o-1", Decimal("7.5"))
        shop = AsyncShop()
        self.assertEqual(asyncio.run(shop.spent("ada@example.com")), Decimal("7.5"))
        asyncio.run(shop.mark_shipped("ada@example.com", "o-1"))
        self.assertEqual([o["order_id"]["S"] for o in self.shop.orders_by_status("SHIPPED")], ["o-1"])
        self.assertEqual(self.shop.orders_by_status("NEW"), [])


@dynamokit.mock
def test_a_function_under_the_mock() -> None:
    create_tables()
    shop = Shop()
    shop.register("grace@example.com", "Grace")
    assert shop.customer("grace@example.com")["name"] == "Grace"
