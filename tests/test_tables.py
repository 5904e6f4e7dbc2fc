"""Control plane conformance: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable."""

from __future__ import annotations

import pytest

from .conftest import Caller, create, expect_error


def test_create_describe_list_delete(ddb: Caller) -> None:
    """A created table is ACTIVE, described with its key schema and ARN, listed, and gone after delete."""
    out = create(ddb, "users", range_key="sk")["TableDescription"]
    assert out["TableStatus"] == "ACTIVE"
    assert out["TableArn"].endswith(":table/users")
    table = ddb("DescribeTable", TableName="users")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["ItemCount"] == 0
    assert ddb("ListTables")["TableNames"] == ["users"]
    assert ddb("DeleteTable", TableName="users")["TableDescription"]["TableStatus"] == "DELETING"
    assert ddb("ListTables")["TableNames"] == []


def test_existing_table_name_is_resource_in_use(ddb: Caller) -> None:
    """Rule: creating an existing table answers ResourceInUseException 'Table already exists: T'."""
    create(ddb, "dup")
    error = expect_error(ddb, "CreateTable", TableName="dup", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")
    assert error.code == "ResourceInUseException"
    assert error.message == "Table already exists: dup"


def test_missing_table_is_resource_not_found(ddb: Caller) -> None:
    """Rule: DescribeTable of a missing table: 'Requested resource not found: Table: T not found'."""
    error = expect_error(ddb, "DescribeTable", TableName="nope")
    assert error.code == "ResourceNotFoundException"
    assert error.message == "Requested resource not found: Table: nope not found"
    assert expect_error(ddb, "GetItem", TableName="nope", Key={"pk": {"S": "a"}}).message == \
        "Requested resource not found"


def test_pay_per_request_rejects_throughput(ddb: Caller) -> None:
    """Rule: PAY_PER_REQUEST with ProvisionedThroughput is a ValidationException."""
    error = expect_error(ddb, "CreateTable", TableName="ppr", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST",
                   ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    assert error.message == ("One or more parameter values were invalid: Neither ReadCapacityUnits nor "
                             "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")


def test_provisioned_requires_throughput(ddb: Caller) -> None:
    """Rule: PROVISIONED billing needs both capacity values."""
    error = expect_error(ddb, "CreateTable", TableName="prov", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    assert error.message == ("One or more parameter values were invalid: ReadCapacityUnits and "
                             "WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")


@pytest.mark.parametrize("name", ["ab", "has space", "x" * 256, "bad/char"])
def test_table_name_constraints(ddb: Caller, name: str) -> None:
    """Rule: table names are 3-255 characters of [a-zA-Z0-9_.-]."""
    if ddb.way != "native" and len(name) < 3:
        pytest.skip("boto3 checks the minimum length itself")
    error = expect_error(ddb, "CreateTable", TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")
    assert error.code == "ValidationException"
    assert "tableName" in error.message


def test_attribute_definitions_must_match_keys(ddb: Caller) -> None:
    """Rule: every key attribute is defined, and every definition is used by a key."""
    error = expect_error(ddb, "CreateTable", TableName="defs", KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")
    assert error.message == ("One or more parameter values were invalid: Some index key attributes are not "
                             "defined in AttributeDefinitions. Keys: [user], AttributeDefinitions: [id]")
    error = expect_error(ddb, "CreateTable", TableName="defs", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                         {"AttributeName": "x", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")
    assert error.message == ("One or more parameter values were invalid: Number of attributes in KeySchema "
                             "does not exactly match number of attributes defined in AttributeDefinitions")


def test_key_type_enum(ddb: Caller) -> None:
    """Rule: KeyType must be HASH or RANGE, reported with the member path."""
    error = expect_error(ddb, "CreateTable", TableName="ktab", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                                  {"AttributeName": "sk", "KeyType": "SORT"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                         {"AttributeName": "sk", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")
    assert error.message == ("1 validation error detected: Value 'SORT' at 'keySchema.2.member.keyType' failed "
                             "to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]")


def test_list_tables_pages(ddb: Caller) -> None:
    """Rule: ListTables returns names in order, Limit per page, LastEvaluatedTableName to continue."""
    for n in range(5):
        create(ddb, f"tab{n}")
    first = ddb("ListTables", Limit=2)
    assert first["TableNames"] == ["tab0", "tab1"]
    assert first["LastEvaluatedTableName"] == "tab1"
    rest = ddb("ListTables", ExclusiveStartTableName="tab1")
    assert rest["TableNames"] == ["tab2", "tab3", "tab4"]
    assert "LastEvaluatedTableName" not in rest


def test_update_table_billing_and_throughput(ddb: Caller) -> None:
    """Rule: UpdateTable switches billing mode and keeps and reports provisioned throughput."""
    create(ddb, "bill")
    out = ddb("UpdateTable", TableName="bill", BillingMode="PROVISIONED",
              ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3})["TableDescription"]
    assert out["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert out["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    assert "BillingModeSummary" not in out or out["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    out = ddb("UpdateTable", TableName="bill", BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert out["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_describe_counts_items(ddb: Caller) -> None:
    """DescribeTable reports ItemCount and TableSizeBytes of the stored items."""
    create(ddb, "cnt")
    for n in range(3):
        ddb("PutItem", TableName="cnt", Item={"pk": {"S": f"k{n}"}, "v": {"S": "xx"}})
    table = ddb("DescribeTable", TableName="cnt")["Table"]
    assert table["ItemCount"] == 3
    assert table["TableSizeBytes"] == 3 * (2 + 2 + 1 + 2)


def test_delete_table_description_leaves_out_schema(ddb: Caller) -> None:
    """Rule: DeleteTable's TableDescription (TableStatus DELETING) leaves out KeySchema, AttributeDefinitions,
    CreationDateTime and the indexes, as AWS's delete-table examples show; name, ARN, id, counts stay."""
    create(ddb, "gone", range_key="sk", GlobalSecondaryIndexes=[{
        "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}])
    out = ddb("DeleteTable", TableName="gone")["TableDescription"]
    assert not {"KeySchema", "AttributeDefinitions", "CreationDateTime", "GlobalSecondaryIndexes"} & set(out)
    assert out["TableStatus"] == "DELETING" and out["TableName"] == "gone" and out["ItemCount"] == 0
    assert out["TableArn"].endswith(":table/gone") and "TableId" in out


def test_on_demand_since_creation(ddb: Caller) -> None:
    """Rule: a table created on-demand has LastUpdateToPayPerRequestDateTime equal to its CreationDateTime."""
    out = create(ddb, "ondemand")["TableDescription"]
    assert out["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] == out["CreationDateTime"]
