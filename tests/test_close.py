"""Closing an Engine while other threads use it: running operations finish, later ones get EngineClosed,
background work stops, and no thread is left on a closed SQLite connection (which could crash the process)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dynamokit import DynamoDBError, Engine, EngineClosed

KEY = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
       "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


@pytest.mark.parametrize("path", [":memory:", "file"])
def test_closing_while_threads_read_and_write(tmp_path: Path, path: str) -> None:
    for round_ in range(20):
        engine = Engine(str(tmp_path / f"e{round_}.db") if path == "file" else ":memory:")
        engine.call("CreateTable", {"TableName": "tbl", **KEY})
        engine.call("BatchWriteItem", {"RequestItems": {"tbl": [
            {"PutRequest": {"Item": {"pk": {"S": f"seed-{k}"}, "pad": {"S": "x" * 500}}}} for k in range(25)]}})
        outcomes: list[str] = []
        started = threading.Barrier(5)

        def work(n: int) -> None:
            started.wait()
            i = 0
            while True:
                i += 1
                try:
                    engine.call("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": f"{n}-{i}"}, "v": {"N": str(i)}}})
                    engine.call("Scan", {"TableName": "tbl", "Limit": 50})
                except EngineClosed:
                    outcomes.append("closed")
                    return
                except Exception as error:  # anything else is a failure of close()
                    outcomes.append(f"{type(error).__name__}: {error}")
                    return

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        started.wait()
        time.sleep(0.005 * (round_ % 6))  # close at varied points of the threads' work
        engine.close()
        for thread in threads:
            thread.join(10)
        assert outcomes == ["closed"] * 4


def test_a_closed_engine_refuses_operations_and_closes_once() -> None:
    engine = Engine()
    engine.call("CreateTable", {"TableName": "tbl", **KEY})
    engine.close()
    engine.close()
    with pytest.raises(EngineClosed, match="closed"):
        engine.call("ListTables", {})
    assert not issubclass(EngineClosed, DynamoDBError)  # a programming error, not an answer of DynamoDB's


def test_in_process_boto3_caller_gets_engine_closed() -> None:
    """After close(), the in-process boto3 client raised InternalServerError (HTTP 500); README promises
    EngineClosed."""
    from dynamokit import client

    engine = Engine()
    made = client(engine)
    made.create_table(TableName="tbl", **KEY)
    engine.close()
    with pytest.raises(EngineClosed):
        made.get_item(TableName="tbl", Key={"pk": {"S": "a"}})
    with pytest.raises(EngineClosed):
        made.list_tables()


def test_http_endpoint_of_a_closed_engine_answers_service_unavailable() -> None:
    import http.client

    from dynamokit.server._http import Server

    engine = Engine()
    with Server(engine, port=0) as server:
        engine.close()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"})
        response = connection.getresponse()
        assert response.status == 503 and b"ServiceUnavailable" in response.read()
        connection.close()
