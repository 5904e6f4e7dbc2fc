"""PartiQL for DynamoDB (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction) on a real engine.

Each conformance test names the DynamoDB rule it checks. Statements run natively and through the
in-process boto3 client; the operations are registered on the engine here until core.py wires them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dynamokit
from dynamokit import DynamoDBError, Engine
from dynamokit._engine import partiql

from .conftest import Caller, create

MALFORMED = "Statement wasn't well formed, can't be processed: "


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine() as made:
        made.operations.update(partiql.OPERATIONS)
        yield made


@pytest.fixture(params=["native", "boto3"])
def ddb(request: pytest.FixtureRequest, engine: Engine) -> Caller:
    if request.param == "native":
        return Caller("native", engine)
    return Caller("boto3", engine, dynamokit.client(engine))


@pytest.fixture
def calls(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    """Every engine read the statements make: (operation, response)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    for name in ("GetItem", "Query", "Scan"):
        inner = engine.operations[name]

        def spy(eng: Engine, request: dict[str, Any], name: str = name, inner: Any = inner) -> dict[str, Any]:
            out = inner(eng, request)
            seen.append((name, out))
            return out

        engine.operations[name] = spy
    return seen


def run(ddb: Caller, statement: str, *parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"Statement": statement, **extra}
    if parameters:
        request["Parameters"] = list(parameters)
    return ddb("ExecuteStatement", **request)


def fails(ddb: Caller, code: str, message: str | None, statement: str, *parameters: dict[str, Any],
          **extra: Any) -> DynamoDBError:
    with pytest.raises(DynamoDBError) as caught:
        run(ddb, statement, *parameters, **extra)
    assert caught.value.code == code
    if message is not None:
        assert caught.value.message == message
    return caught.value


@pytest.fixture
def music(ddb: Caller) -> Caller:
    """Table `music` (artist S, song N) with a GSI `by_genre` (genre) and 6 items."""
    create(ddb, "music", "artist", "song", range_type="N", GlobalSecondaryIndexes=[{
        "IndexName": "by_genre", "KeySchema": [{"AttributeName": "genre", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}])
    for artist, songs, genre in (("acme", 4, "rock"), ("zed", 2, "jazz")):
        for song in range(songs):
            ddb("PutItem", TableName="music", Item={
                "artist": {"S": artist}, "song": {"N": str(song)}, "genre": {"S": genre},
                "plays": {"N": str(song * 10)}, "tags": {"SS": ["a", f"t{song}"]},
                "info": {"M": {"year": {"N": str(2000 + song)}, "list": {"L": [{"S": "x"}, {"S": "y"}]}}}})
    return ddb


# -- SELECT -----------------------------------------------------------------------------------------------
def test_select_star_returns_every_item(music: Caller) -> None:
    """SELECT * without WHERE reads the whole table."""
    items = run(music, 'SELECT * FROM "music"')["Items"]
    assert len(items) == 6
    assert {"artist", "song", "genre", "plays", "tags", "info"} == set(items[0])


def test_select_columns_are_named_by_their_last_step(music: Caller) -> None:
    """A projected document path is returned under its last name; a list element as `_N`."""
    items = run(music, "SELECT song, info.year, info.list[1], nope FROM music WHERE artist = 'zed' AND song = 1")
    assert items["Items"] == [{"song": {"N": "1"}, "year": {"N": "2001"}, "_3": {"S": "y"}}]


def test_full_key_equality_is_a_get_item(music: Caller, calls: list[Any]) -> None:
    """Equality on every key attribute reads one item (GetItem)."""
    items = run(music, "SELECT * FROM music WHERE artist = ? AND song = ?", {"S": "acme"}, {"N": "2"})["Items"]
    assert [i["plays"] for i in items] == [{"N": "20"}]
    assert [name for name, _ in calls] == ["GetItem"]


def test_partition_key_equality_queries_without_scanning(music: Caller, calls: list[Any]) -> None:
    """An equality on the partition key becomes a Query: only that partition is read (ScannedCount)."""
    items = run(music, "SELECT song FROM music WHERE artist = 'zed' AND plays >= 0")["Items"]
    assert items == [{"song": {"N": "0"}}, {"song": {"N": "1"}}]
    assert [(name, out["ScannedCount"]) for name, out in calls] == [("Query", 2)]


def test_sort_key_range_is_a_key_condition(music: Caller, calls: list[Any]) -> None:
    """A sort-key comparison, BETWEEN or begins_with beside the partition key narrows the Query itself."""
    assert len(run(music, "SELECT * FROM music WHERE 1 < song AND artist = 'acme'")["Items"]) == 2
    assert len(run(music, "SELECT * FROM music WHERE artist = 'acme' AND song BETWEEN 1 AND 2")["Items"]) == 2
    assert [out["ScannedCount"] for _, out in calls] == [2, 2]


def test_other_conditions_scan_with_a_filter(music: Caller, calls: list[Any]) -> None:
    """Without partition-key equality (or with it under OR) the statement is a Scan with a filter."""
    statement = "SELECT * FROM music WHERE artist = 'zed' OR (genre = 'rock' AND song IN [0, 3])"
    assert len(run(music, statement)["Items"]) == 4
    assert [(name, out["ScannedCount"]) for name, out in calls] == [("Scan", 6)]


@pytest.mark.parametrize(("where", "expected"), [
    ("begins_with(genre, 'ro')", 4),
    ("contains(tags, 't1')", 2),
    ("attribute_type(plays, 'N') AND NOT plays = 0", 4),
    ("size(tags) = 2 AND plays <> 10", 4),
    ("nope IS MISSING AND info IS NOT MISSING", 6),
    ("info.year > 2002", 1),
    ("info.list[0] = 'x' AND plays < 20", 4),
    ("NOT (genre = 'rock' OR genre = 'jazz')", 0),
    ("plays IS NULL", 0),
    ("plays IS NOT NULL", 6),
])
def test_where_functions_and_operators(music: Caller, where: str, expected: int) -> None:
    """WHERE supports comparisons, BETWEEN, IN, AND/OR/NOT, IS [NOT] MISSING and the condition functions."""
    assert len(run(music, f"SELECT * FROM music WHERE {where}")["Items"]) == expected


def test_order_by_sort_key_descending(music: Caller) -> None:
    """ORDER BY the sort key of a partition-key read orders the Query (DESC runs it backwards)."""
    items = run(music, "SELECT song FROM music WHERE artist = 'acme' ORDER BY song DESC")["Items"]
    assert [i["song"]["N"] for i in items] == ["3", "2", "1", "0"]


@pytest.mark.parametrize(("statement", "message"), [
    ("SELECT * FROM music ORDER BY song", "Must have WHERE clause in the statement when using ORDER BY clause."),
    ("SELECT * FROM music WHERE song = 1 ORDER BY song",
     "Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause."),
    ("SELECT * FROM music WHERE artist = 'a' ORDER BY plays",
     "Attribute plays in ORDER BY clause must be part of the primary key"),
])
def test_order_by_rules(music: Caller, statement: str, message: str) -> None:
    """ORDER BY needs a WHERE with partition-key equality and may only name key attributes."""
    fails(music, "ValidationException", message, statement)


def test_select_from_an_index(music: Caller, calls: list[Any]) -> None:
    """`"table"."index"` reads the index; equality on the index partition key queries it."""
    items = run(music, "SELECT artist FROM \"music\".\"by_genre\" WHERE genre = 'jazz'")["Items"]
    assert items == [{"artist": {"S": "zed"}}] * 2
    assert [name for name, _ in calls] == ["Query"]
    assert len(run(music, 'SELECT * FROM "music"."by_genre"')["Items"]) == 6


def test_unknown_index_and_table(music: Caller) -> None:
    """An unknown index is a ValidationException; an unknown table ResourceNotFoundException."""
    fails(music, "ValidationException", "The table does not have the specified index",
          'SELECT * FROM "music"."nope"')
    fails(music, "ResourceNotFoundException", "Requested resource not found", 'SELECT * FROM "nope"."by_genre"')
    fails(music, "ResourceNotFoundException", "Requested resource not found", "DELETE FROM nope WHERE a = 1")


def test_consistent_read_on_a_gsi_is_refused(music: Caller) -> None:
    """GSIs are eventually consistent: ConsistentRead on one is a ValidationException."""
    fails(music, "ValidationException", None, 'SELECT * FROM "music"."by_genre"', ConsistentRead=True)
    assert len(run(music, "SELECT * FROM music", ConsistentRead=True)["Items"]) == 6


def test_paging_with_limit_and_next_token(music: Caller) -> None:
    """Limit bounds the items evaluated per page; NextToken resumes until every item was read once."""
    seen, token, pages = [], None, 0
    while True:
        extra = {"NextToken": token} if token else {}
        page = run(music, "SELECT * FROM music WHERE plays > 0", Limit=2, **extra)
        seen += [(i["artist"]["S"], i["song"]["N"]) for i in page["Items"]]
        pages += 1
        token = page.get("NextToken")
        if token is None:
            break
    assert sorted(seen) == [("acme", "1"), ("acme", "2"), ("acme", "3"), ("zed", "1")]
    assert pages == 4  # 6 items evaluated 2 at a time, the last page ends the read


def test_next_token_is_bound_to_statement_and_parameters(music: Caller) -> None:
    """A NextToken only continues the statement (and parameters) that issued it; Limit may change."""
    token = run(music, "SELECT * FROM music WHERE artist = ?", {"S": "acme"}, Limit=1)["NextToken"]
    assert len(run(music, "SELECT * FROM music WHERE artist = ?", {"S": "acme"}, Limit=3,
                   NextToken=token)["Items"]) == 3
    for statement, parameter in (("SELECT * FROM music WHERE artist = ?", {"S": "zed"}),
                                 ("SELECT * FROM music WHERE ? = artist", {"S": "acme"})):
        fails(music, "ValidationException", "NextToken does not match request", statement, parameter,
              NextToken=token)
    fails(music, "ValidationException", "NextToken does not match request", "SELECT * FROM music",
          NextToken="garbage!")


def test_consumed_capacity_is_returned(music: Caller) -> None:
    """ReturnConsumedCapacity reports the units of the underlying read or write."""
    out = run(music, "SELECT * FROM music WHERE artist = 'zed' AND song = 0", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": "music", "CapacityUnits": 0.5}
    out = run(music, "DELETE FROM music WHERE artist = 'zed' AND song = 0", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 2.0  # the table and its GSI


# -- parameters and syntax --------------------------------------------------------------------------------
def test_parameters_bind_in_order(music: Caller) -> None:
    """`?` placeholders take the Parameters in order, anywhere a value may stand."""
    items = run(music, "SELECT song FROM music WHERE artist = ? AND song IN [?, ?] AND tags = ?",
                {"S": "acme"}, {"N": "1"}, {"N": "3"}, {"SS": ["t3", "a"]})["Items"]
    assert items == [{"song": {"N": "3"}}]


@pytest.mark.parametrize("count", [0, 2])
def test_parameter_count_must_match(music: Caller, count: int) -> None:
    """Number of parameters in request and statement don't match: a ValidationException."""
    parameters = [{"S": "acme"}] * count
    fails(music, "ValidationException", "Number of parameters in request and statement don't match.",
          "SELECT * FROM music WHERE artist = ?", *parameters)


def test_empty_parameters_list_is_refused(music: Caller, engine: Engine) -> None:
    """Parameters, when given, must hold at least one value."""
    with pytest.raises(DynamoDBError, match="at 'parameters' failed to satisfy constraint"):
        engine.call("ExecuteStatement", {"Statement": "SELECT * FROM music", "Parameters": []})


@pytest.mark.parametrize("statement", [
    "SLECT * FROM music", "SELECT * FROM", "SELECT * FROM music WHERE", "SELECT * FROM music WHERE a = 'x",
    "SELECT * FROM music WHERE a = 1 extra", "INSERT INTO music VALUE [1]", "UPDATE music WHERE a = 1",
    "SELECT * FROM music WHERE a = #", "DELETE FROM music", "SELECT * FROM music WHERE (a = 1",
])
def test_syntax_errors_are_validation_errors(music: Caller, statement: str) -> None:
    """A malformed statement: ValidationException "Statement wasn't well formed, can't be processed: ..."."""
    error = fails(music, "ValidationException", None, statement)
    assert error.message.startswith(MALFORMED)


def test_statement_length_limit(music: Caller) -> None:
    """Statement is at most 8192 characters."""
    padding = " " * (8192 - len("SELECT * FROM music"))
    assert len(run(music, "SELECT * FROM music" + padding)["Items"]) == 6
    with pytest.raises(DynamoDBError, match="Member must have length less than or equal to 8192"):
        run(music, "SELECT * FROM music " + padding)


def test_deep_nesting_fails_cleanly(music: Caller) -> None:
    """Hostile nesting is a ValidationException, never a RecursionError."""
    for statement in ("SELECT * FROM music WHERE " + "(" * 3000 + "a = 1" + ")" * 3000,
                      "INSERT INTO music VALUE " + "[" * 3000 + "]" * 3000):
        with pytest.raises(DynamoDBError, match="^Statement wasn't well formed"):
            run(music, statement)


def test_a_run_of_nots_is_not_nesting(music: Caller) -> None:
    """NOT NOT ... x is read without recursion: an odd number of NOTs negates once."""
    assert len(run(music, "SELECT * FROM music WHERE " + "NOT " * 1501 + "artist = 'x'")["Items"]) == 6


# -- INSERT / UPDATE / DELETE -----------------------------------------------------------------------------
def test_insert_every_literal(music: Caller) -> None:
    """INSERT ... VALUE takes strings, numbers, booleans, null, lists, maps and sets."""
    out = run(music, "INSERT INTO music VALUE {'artist': 'it''s', 'song': -1.50, 'b': true, 'z': null, "
                     "'l': [1, 'x', [false]], 'm': {'k': {'n': 2e3}}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>, "
                     "\"q\": ?}", {"B": "AAE="} if music.way == "native" else {"B": b"\x00\x01"})
    assert out == {"Items": []}
    item = music("GetItem", TableName="music", Key={"artist": {"S": "it's"}, "song": {"N": "-1.5"}})["Item"]
    assert item == {"artist": {"S": "it's"}, "song": {"N": "-1.5"}, "b": {"BOOL": True}, "z": {"NULL": True},
                    "l": {"L": [{"N": "1"}, {"S": "x"}, {"L": [{"BOOL": False}]}]},
                    "m": {"M": {"k": {"M": {"n": {"N": "2000"}}}}}, "ss": {"SS": ["a", "b"]},
                    "ns": {"NS": ["1", "2"]}, "q": item["q"]}


def test_insert_of_an_existing_key_is_a_duplicate(music: Caller) -> None:
    """INSERT never overwrites: DuplicateItemException "Duplicate primary key exists in table"."""
    fails(music, "DuplicateItemException", "Duplicate primary key exists in table",
          "INSERT INTO music VALUE {'artist': 'zed', 'song': 1}")


def test_insert_is_validated_like_put_item(music: Caller) -> None:
    """The item follows PutItem's rules: key present and typed as the schema says."""
    fails(music, "ValidationException", None, "INSERT INTO music VALUE {'artist': 'x'}")
    fails(music, "ValidationException", None, "INSERT INTO music VALUE {'artist': 'x', 'song': 'one'}")


def test_update_set_remove_and_functions(music: Caller) -> None:
    """UPDATE applies SET (values, arithmetic, list_append, set_add, set_delete) and REMOVE to one item."""
    out = run(music, "UPDATE music SET plays = plays + 5, info.year = ?, info.list = list_append(info.list, "
                     "['z']) REMOVE genre SET tags = set_add(tags, <<'new'>>) WHERE artist = 'acme' AND song = 1 RETURNING ALL NEW *", {"N": "1999"})
    (item,) = out["Items"]
    assert item["plays"] == {"N": "15"} and "genre" not in item
    assert item["info"] == {"M": {"year": {"N": "1999"}, "list": {"L": [{"S": "x"}, {"S": "y"}, {"S": "z"}]}}}
    assert sorted(item["tags"]["SS"]) == ["a", "new", "t1"]
    (item,) = run(music, "UPDATE music SET tags = set_delete(tags, <<'a', 'new'>>) WHERE artist = 'acme' AND "
                         "song = 1 RETURNING MODIFIED NEW *")["Items"]
    assert item == {"tags": {"SS": ["t1"]}}


@pytest.mark.parametrize(("returning", "expected"), [
    ("ALL OLD *", {"plays": {"N": "10"}}),
    ("MODIFIED OLD *", {"plays": {"N": "10"}}),
    ("MODIFIED NEW *", {"plays": {"N": "11"}}),
    ("ALL NEW *", {"plays": {"N": "11"}}),
])
def test_update_returning(music: Caller, returning: str, expected: dict[str, Any]) -> None:
    """RETURNING ALL|MODIFIED OLD|NEW * returns the item as UpdateItem's ReturnValues would."""
    (item,) = run(music, f"UPDATE music SET plays = 11 WHERE artist = 'acme' AND song = 1 RETURNING {returning}"
                  )["Items"]
    assert {k: item[k] for k in expected} == expected
    assert ("artist" in item) == returning.startswith("ALL")


def test_update_needs_the_full_key_and_an_existing_item(music: Caller) -> None:
    """UPDATE names one existing item by its full key; extra WHERE terms are its condition."""
    needs_key = "Where clause does not contain a mandatory equality on all key attributes"
    fails(music, "ValidationException", needs_key, "UPDATE music SET a = 1 WHERE artist = 'acme'")
    fails(music, "ValidationException", needs_key, "UPDATE music SET a = 1 WHERE artist = 'acme' OR song = 1")
    fails(music, "ConditionalCheckFailedException", "The conditional request failed",
          "UPDATE music SET a = 1 WHERE artist = 'nobody' AND song = 1")
    fails(music, "ConditionalCheckFailedException", None,
          "UPDATE music SET a = 1 WHERE artist = 'acme' AND song = 1 AND plays > 100")
    error = fails(music, "ConditionalCheckFailedException", None,
                  "UPDATE music SET a = 1 WHERE artist = 'acme' AND song = 1 AND plays > 100",
                  ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert error.extra["Item"]["plays"] == {"N": "10"}
    fails(music, "ValidationException", "One or more parameter values were invalid: Cannot update attribute "
          "song. This attribute is part of the key", "UPDATE music SET song = 9 WHERE artist = 'acme' AND song = 1")
    assert "a" not in music("GetItem", TableName="music", Key={"artist": {"S": "acme"}, "song": {"N": "1"}})["Item"]


def test_delete(music: Caller) -> None:
    """DELETE removes one item by its full key; RETURNING ALL OLD * returns it; a false condition fails."""
    fails(music, "ConditionalCheckFailedException", None,
          "DELETE FROM music WHERE artist = 'acme' AND song = 0 AND plays = 99")
    (old,) = run(music, "DELETE FROM music WHERE song = 0 AND artist = 'acme' RETURNING ALL OLD *")["Items"]
    assert old["plays"] == {"N": "0"}
    assert run(music, "DELETE FROM music WHERE artist = 'acme' AND song = 0") == {"Items": []}
    assert len(run(music, "SELECT * FROM music WHERE artist = 'acme'")["Items"]) == 3
    fails(music, "ValidationException", "Invalid returning clause: ALL NEW *. Only RETURNING ALL OLD * is allowed "
          "in DELETE statements.", "DELETE FROM music WHERE artist = 'a' AND song = 1 RETURNING ALL NEW *")


def test_writes_feed_streams(engine: Engine, music: Caller) -> None:
    """Statements write through the engine's commit path, so streams see them."""
    music("UpdateTable", TableName="music", StreamSpecification={"StreamEnabled": True,
                                                                  "StreamViewType": "NEW_AND_OLD_IMAGES"})
    run(music, "INSERT INTO music VALUE {'artist': 'new', 'song': 1}")
    run(music, "DELETE FROM music WHERE artist = 'new' AND song = 1")
    arn = music("DescribeTable", TableName="music")["Table"]["LatestStreamArn"]
    streams = dynamokit.client(engine, "dynamodbstreams")
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator is not None:
            page = streams.get_records(ShardIterator=iterator)
            records += page["Records"]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]


# -- BatchExecuteStatement --------------------------------------------------------------------------------
def test_batch_reads_answer_per_statement(music: Caller) -> None:
    """Batch reads each name one item by full key; failures are per-statement Error entries, not the batch."""
    out = music("BatchExecuteStatement", Statements=[
        {"Statement": "SELECT song FROM music WHERE artist = ? AND song = 1", "Parameters": [{"S": "zed"}]},
        {"Statement": "SELECT * FROM music WHERE artist = 'zed' AND song = 7", "ConsistentRead": True},
        {"Statement": "SELECT * FROM music WHERE artist = 'zed'"},
        {"Statement": "SELECT * FROM nope WHERE artist = 'zed' AND song = 1"},
        {"Statement": "SELECT * FROM music WHERE artist = ?"},
        {"Statement": "SELECT * FROM music WHERE artist = 'zed' AND song = 1 AND plays = 1"},
    ])
    need_key = {"Code": "ValidationError",
                "Message": "Select statements within BatchExecuteStatement must specify the primary key in the "
                           "where clause."}
    assert out["Responses"] == [
        {"TableName": "music", "Item": {"song": {"N": "1"}}},
        {"TableName": "music"},
        {"TableName": "music", "Error": need_key},
        {"Error": {"Code": "ResourceNotFound", "Message": "Requested resource not found"}},
        {"Error": {"Code": "ValidationError",
                   "Message": "Number of parameters in request and statement don't match."}},
        {"TableName": "music", "Error": need_key},
    ]


def test_batch_writes_apply_independently(music: Caller) -> None:
    """Batch writes are not atomic: one failure leaves the others applied."""
    out = music("BatchExecuteStatement", Statements=[
        {"Statement": "INSERT INTO music VALUE {'artist': 'zed', 'song': 0}"},
        {"Statement": "UPDATE music SET plays = 1 WHERE artist = 'zed' AND song = 0"},
        {"Statement": "UPDATE music SET plays = 1 WHERE artist = 'zed' AND song = 5"},
        {"Statement": "DELETE FROM music WHERE artist = 'zed' AND song = 1"},
    ], ReturnConsumedCapacity="TOTAL")
    assert out["Responses"] == [
        {"TableName": "music", "Error": {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}},
        {"TableName": "music"},
        {"TableName": "music", "Error": {"Code": "ConditionalCheckFailed",
                                         "Message": "The conditional request failed"}},
        {"TableName": "music"},
    ]
    assert out["ConsumedCapacity"][0]["TableName"] == "music"
    assert run(music, "SELECT plays FROM music WHERE artist = 'zed'")["Items"] == [{"plays": {"N": "1"}}]


def test_batch_must_be_all_reads_or_all_writes(music: Caller) -> None:
    """The entire batch consists of read statements or of write statements, never both."""
    with pytest.raises(DynamoDBError) as caught:
        music("BatchExecuteStatement", Statements=[
            {"Statement": "SELECT * FROM music WHERE artist = 'zed' AND song = 1"},
            {"Statement": "DELETE FROM music WHERE artist = 'zed' AND song = 1"}])
    assert caught.value.code == "ValidationException"


def test_batch_size_limit(music: Caller) -> None:
    """BatchExecuteStatement takes at most 25 statements."""
    statements = [{"Statement": f"SELECT * FROM music WHERE artist = 'a' AND song = {n}"} for n in range(26)]
    with pytest.raises(DynamoDBError, match="less than or equal to 25"):
        music("BatchExecuteStatement", Statements=statements)
    assert len(music("BatchExecuteStatement", Statements=statements[:25])["Responses"]) == 25


# -- ExecuteTransaction -----------------------------------------------------------------------------------
def _transact(ddb: Caller, *statements: str, **extra: Any) -> dict[str, Any]:
    return ddb("ExecuteTransaction", TransactStatements=[{"Statement": s} for s in statements], **extra)


def test_transaction_writes_are_all_or_nothing(music: Caller) -> None:
    """A failed statement cancels the transaction: TransactionCanceledException, one reason per statement."""
    with pytest.raises(DynamoDBError) as caught:
        _transact(music, "UPDATE music SET plays = 99 WHERE artist = 'zed' AND song = 0",
                  "INSERT INTO music VALUE {'artist': 'zed', 'song': 1}",
                  "EXISTS(SELECT * FROM music WHERE artist = 'acme' AND song = 0 AND plays = 5)")
    error = caught.value
    assert error.code == "TransactionCanceledException"
    assert error.message == ("Transaction cancelled, please refer cancellation reasons for specific reasons "
                             "[None, DuplicateItem, ConditionalCheckFailed]")
    assert [r["Code"] for r in error.extra["CancellationReasons"]] == ["None", "DuplicateItem",
                                                                      "ConditionalCheckFailed"]
    assert run(music, "SELECT plays FROM music WHERE artist = 'zed' AND song = 0")["Items"] == [{"plays": {"N": "0"}}]
    _transact(music, "UPDATE music SET plays = 99 WHERE artist = 'zed' AND song = 0",
              "INSERT INTO music VALUE {'artist': 'zed', 'song': 5}",
              "DELETE FROM music WHERE artist = 'zed' AND song = 1",
              "EXISTS(SELECT * FROM music WHERE artist = 'acme' AND song = 0 AND plays = 0)")
    songs = run(music, "SELECT song, plays FROM music WHERE artist = 'zed'")["Items"]
    assert songs == [{"song": {"N": "0"}, "plays": {"N": "99"}}, {"song": {"N": "5"}}]


def test_transaction_client_request_token_is_idempotent(music: Caller) -> None:
    """ClientRequestToken passes through: a repeat succeeds without applying the writes again."""
    statement = "UPDATE music SET plays = plays + 1 WHERE artist = 'zed' AND song = 0"
    for _ in range(2):
        _transact(music, statement, ClientRequestToken="token-1")
    assert run(music, "SELECT plays FROM music WHERE artist = 'zed' AND song = 0")["Items"] == [{"plays": {"N": "1"}}]


def test_transaction_reads(music: Caller) -> None:
    """A read transaction gets each named item (or nothing) from one snapshot."""
    out = _transact(music, "SELECT plays FROM music WHERE artist = 'acme' AND song = 2",
                    "SELECT * FROM music WHERE artist = 'acme' AND song = 9", ReturnConsumedCapacity="TOTAL")
    assert out["Responses"] == [{"Item": {"plays": {"N": "20"}}}, {}]
    assert out["ConsumedCapacity"][0]["TableName"] == "music"


@pytest.mark.parametrize(("statements", "message"), [
    (["SELECT * FROM music WHERE artist = 'zed'"],
     "Select statements within ExecuteTransaction must specify the primary key in the where clause."),
    (["SELECT * FROM \"music\".\"by_genre\" WHERE genre = 'x'"],
     "Reads on indices are not supported within transactions."),
    (["SELECT * FROM music WHERE artist = 'zed' AND song = 1", "DELETE FROM music WHERE artist = 'zed' AND song = 1"],
     None),
    (["UPDATE music SET a = 1 WHERE artist = 'zed' AND song = 1",
      "DELETE FROM music WHERE artist = 'zed' AND song = 1"],
     "Transaction request cannot include multiple operations on one item"),
])
def test_transaction_validation(music: Caller, statements: list[str], message: str | None) -> None:
    """Transactions read single items by full key, never indexes; reads and writes don't mix; one op per item."""
    with pytest.raises(DynamoDBError) as caught:
        _transact(music, *statements)
    assert caught.value.code == "ValidationException"
    if message is not None:
        assert caught.value.message == message


def test_transaction_size_limit(music: Caller) -> None:
    """ExecuteTransaction takes at most 100 statements."""
    statements = [f"SELECT * FROM music WHERE artist = 'a' AND song = {n}" for n in range(101)]
    with pytest.raises(DynamoDBError, match="less than or equal to 100"):
        _transact(music, *statements)


# -- robustness ---------------------------------------------------------------------------------------------
_WORDS = ["SELECT", "*", "FROM", "music", '"music"', ".", "WHERE", "artist", "song", "=", "<>", "<", ">=", "AND",
          "OR", "NOT", "IN", "[", "]", "(", ")", "{", "}", "<<", ">>", ",", ":", "'x'", "1", "-2.5e3", "?", "IS",
          "MISSING", "NULL", "BETWEEN", "INSERT", "INTO", "VALUE", "UPDATE", "SET", "REMOVE", "DELETE",
          "RETURNING", "ALL", "OLD", "NEW", "ORDER", "BY", "DESC", "size", "begins_with", "contains", "+",
          "EXISTS", "'", '"', "true", "by_genre", "list_append"]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.text(max_size=80), st.lists(st.sampled_from(_WORDS), max_size=25).map(" ".join)),
       st.lists(st.sampled_from([{"S": "acme"}, {"N": "1"}, {"L": []}, {"SS": ["a"]}]), max_size=3))
def test_random_statements_only_raise_dynamodb_errors(music: Caller, statement: str,
                                                       parameters: list[dict[str, Any]]) -> None:
    """Whatever the statement text, the answer is a result or a DynamoDBError, never a crash."""
    entry: dict[str, Any] = {"Statement": statement, **({"Parameters": parameters} if parameters else {})}
    for operation, request in (("ExecuteStatement", entry), ("BatchExecuteStatement", {"Statements": [entry]}),
                               ("ExecuteTransaction", {"TransactStatements": [entry]})):
        try:
            music.engine.call(operation, request)
        except DynamoDBError:
            pass
