"""The HTTP endpoint: real SDKs and raw sockets against `Server` over a real Engine."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from dynamokit import Engine
from dynamokit.server._http import Server

from .conftest import http_client

TARGET = "DynamoDB_20120810."
KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]


@pytest.fixture
def server(engine: Engine) -> Iterator[Server]:
    with Server(engine, port=0) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Any:
    return http_client(server.url)


def post(server: Server, body: bytes, target: str | None = TARGET + "ListTables",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One POST / with http.client: status, headers (lower-cased names) and body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    sent = {"Content-Type": "application/x-amz-json-1.0", **(headers or {})}
    if target is not None:
        sent["X-Amz-Target"] = target
    connection.request("POST", "/", body=body, headers=sent)
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return answer


def error_code(body: bytes) -> str:
    return orjson.loads(body)["__type"].rsplit("#", 1)[1]


# -- SDK round trips -------------------------------------------------------------------------------------

def test_boto3_round_trip(client: Any) -> None:
    """CreateTable, PutItem, GetItem and Query work through boto3 over HTTP."""
    client.create_table(TableName="tbl", KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES,
                        BillingMode="PAY_PER_REQUEST")
    for n in range(3):
        client.put_item(TableName="tbl", Item={"pk": {"S": "a"}, "sk": {"N": str(n)}, "v": {"S": "é" * n}})
    got = client.get_item(TableName="tbl", Key={"pk": {"S": "a"}, "sk": {"N": "2"}})
    assert got["Item"]["v"] == {"S": "éé"}
    queried = client.query(TableName="tbl", KeyConditionExpression="pk = :p AND sk >= :s",
                           ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"N": "1"}})
    assert [item["sk"]["N"] for item in queried["Items"]] == ["1", "2"]
    assert client.list_tables()["TableNames"] == ["tbl"]


def test_boto3_error_is_dynamodb_error(client: Any) -> None:
    """A client error arrives as HTTP 400 with DynamoDB's code, so botocore raises it without retrying."""
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.get_item(TableName="missing", Key={"pk": {"S": "a"}})
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_aws_cli_list_tables(server: Server, client: Any, tmp_path: Any) -> None:
    """The AWS CLI works against the endpoint with any credentials."""
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    client.create_table(TableName="cli-table", KeySchema=KEY_SCHEMA[:1], AttributeDefinitions=ATTRIBUTES[:1],
                        BillingMode="PAY_PER_REQUEST")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds")}
    done = subprocess.run([aws, "dynamodb", "list-tables", "--endpoint-url", server.url, "--output", "json"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["TableNames"] == ["cli-table"]


def test_aiobotocore_round_trip(server: Server) -> None:
    """Async SDKs work: aiobotocore (the HTTP layer under aioboto3) over aiohttp."""
    aiobotocore_session = pytest.importorskip("aiobotocore.session")

    async def scenario() -> dict[str, Any]:
        session = aiobotocore_session.get_session()
        async with session.create_client("dynamodb", endpoint_url=server.url, region_name="us-east-1",
                                         aws_access_key_id="k", aws_secret_access_key="s") as client:
            await client.create_table(TableName="tbl", KeySchema=KEY_SCHEMA[:1],
                                      AttributeDefinitions=ATTRIBUTES[:1], BillingMode="PAY_PER_REQUEST")
            await client.put_item(TableName="tbl", Item={"pk": {"S": "a"}, "v": {"N": "7"}})
            return await client.get_item(TableName="tbl", Key={"pk": {"S": "a"}})

    assert asyncio.run(scenario())["Item"]["v"] == {"N": "7"}


# -- DynamoDB's JSON 1.0 protocol rules --------------------------------------------------------------------

def test_crc32_header_is_crc_of_body(server: Server, client: Any) -> None:
    """Rule: every response carries x-amz-crc32, the CRC32 of the body bytes (botocore verifies it)."""
    client.list_tables()  # botocore raises CRC32Error on a mismatch
    for body, target in ((b"{}", TARGET + "ListTables"), (b"{}", TARGET + "NoSuchThing")):
        _, headers, payload = post(server, body, target)
        assert int(headers["x-amz-crc32"]) == zlib.crc32(payload)
        assert headers["content-type"] == "application/x-amz-json-1.0"
        assert int(headers["content-length"]) == len(payload)


def test_gzip_request_body_is_accepted(server: Server) -> None:
    """Rule: a request body sent with Content-Encoding: gzip is decompressed before parsing."""
    status, _, body = post(server, gzip.compress(b'{"Limit": 5}'), headers={"Content-Encoding": "gzip"})
    assert (status, orjson.loads(body)) == (200, {"TableNames": []})


def test_unknown_operation(server: Server) -> None:
    """Rule: an X-Amz-Target naming no operation is 400 UnknownOperationException."""
    status, _, body = post(server, b"{}", TARGET + "Frobnicate")
    assert (status, error_code(body)) == (400, "UnknownOperationException")


def test_missing_target(server: Server) -> None:
    """Rule: a POST without X-Amz-Target is a 400 client error (UnknownOperationException), never a 500."""
    status, _, body = post(server, b"{}", target=None)
    assert (status, error_code(body)) == (400, "UnknownOperationException")


def test_garbage_json(server: Server) -> None:
    """Rule: an unparsable body is 400 SerializationException."""
    status, _, body = post(server, b'{"TableName": ', TARGET + "DescribeTable")
    assert (status, error_code(body)) == (400, "SerializationException")


@pytest.mark.parametrize("operation, body", [
    ("PutItem", b"[1, 2]"),
    ("PutItem", b'"just a string"'),
    ("PutItem", b'{"TableName": 5, "Item": []}'),
    ("GetItem", b'{"TableName": "t", "Key": "pk"}'),
    ("Query", b'{"TableName": "t", "KeyConditionExpression": {"S": "x"}}'),
    ("CreateTable", b'{"TableName": "t", "KeySchema": [null], "AttributeDefinitions": {}}'),
    ("PutItem", b'{"TableName": "t", "Item": {"pk": {"N": "1e999999999"}}}'),
    ("PutItem", b'{"TableName": "t", "Item": {"pk": ' + b'{"L": [' * 200 + b']}' * 200 + b'}}'),
    ("ListTables", b'{"Limit": "many"}'),
    ("ListTables", b"\xff\xfe\x00garbage"),
    ("ListTables", b'{"Limit": 5}' + b" " * 1000 + b"trailing"),
])
def test_wrong_content_is_never_500(server: Server, operation: str, body: bytes) -> None:
    """Rule: bad input is a 4xx client error with DynamoDB's error body; a 500 would make SDKs retry."""
    status, headers, payload = post(server, body, TARGET + operation)
    assert 400 <= status < 500
    assert error_code(payload)
    assert int(headers["x-amz-crc32"]) == zlib.crc32(payload)


def test_bad_gzip_body(server: Server) -> None:
    """Rule: a body that claims gzip but is not is a 400 SerializationException."""
    status, _, body = post(server, b"not gzip at all", headers={"Content-Encoding": "gzip"})
    assert (status, error_code(body)) == (400, "SerializationException")


def test_gzip_bomb_is_refused_within_the_body_cap(engine: Engine) -> None:
    """A 200 KB gzip body that inflates to 200 MB took the server to 524 MB and blocked it for 2.45 s: bodies
    are inflated incrementally, refused (413) once past the cap, and the server goes on answering."""
    bomb = gzip.compress(b"{" + b" " * (200 * 1024 * 1024) + b"}", compresslevel=9)
    with Server(engine, port=0, max_body=1024 * 1024) as server:
        status, _, body = post(server, bomb, headers={"Content-Encoding": "gzip"})
        assert (status, error_code(body)) == (413, "RequestEntityTooLarge")
        fine = gzip.compress(b'{"Limit": 5}') + gzip.compress(b"")  # concatenated members are one body
        assert post(server, fine, headers={"Content-Encoding": "gzip"})[0] == 200
        assert post(server, gzip.compress(b'{"Limit": 5}')[:-4], headers={"Content-Encoding": "gzip"})[0] == 400


def test_every_response_carries_a_date(server: Server) -> None:
    """AWS answers carry `Date` (RFC 7231): SDKs (the JavaScript SDK's systemClockOffset) correct skew by it."""
    for body, target in ((b"{}", TARGET + "ListTables"), (b"{", TARGET + "ListTables"), (b"{}", None)):
        _, headers, _ = post(server, body, target)
        sent = email.utils.parsedate_to_datetime(headers["date"]).timestamp()
        assert abs(sent - time.time()) < 5 and headers["date"].endswith(" GMT")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/")
    assert connection.getresponse().getheader("Date")
    connection.close()


def test_health_check(server: Server) -> None:
    """Rule: GET / answers 200 'healthy: <the host addressed>', as the service endpoint does
    ('healthy: dynamodb.us-east-1.amazonaws.com') and DynamoDB-compatible servers ('healthy: localhost:8000')."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/")
    response = connection.getresponse()
    assert response.status == 200
    assert response.read().decode().strip() == f"healthy: 127.0.0.1:{server.port}"
    connection.request("GET", "/", headers={"Host": "localhost:8000"})
    assert connection.getresponse().read().decode().strip() == "healthy: localhost:8000"
    connection.close()


def test_cors_for_browsers(server: Server) -> None:
    """Rule: as AWS endpoints answer browsers, a request with an Origin gets Access-Control-Allow-Origin and
    the SDK's response headers exposed (x-amzn-RequestId, x-amz-crc32, ...); an OPTIONS preflight is answered
    200 with the allowed methods, echoing Access-Control-Request-Headers; without Origin, no CORS headers."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("OPTIONS", "/", headers={"Origin": "http://localhost:3000",
                                                "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type,x-amz-target"})
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b"")
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert "POST" in response.getheader("Access-Control-Allow-Methods")
    assert response.getheader("Access-Control-Allow-Headers") == "content-type,x-amz-target"
    for origin in ({"Origin": "http://localhost:3000"}, {}):
        connection.request("POST", "/", b"{}", {"X-Amz-Target": TARGET + "ListTables", **origin,
                                                "Content-Type": "application/x-amz-json-1.0"})
        response = connection.getresponse()
        assert response.status == 200 and response.read() == b'{"TableNames":[]}'
        exposed = response.getheader("Access-Control-Expose-Headers") or ""
        if origin:
            assert response.getheader("Access-Control-Allow-Origin") == "*"
            assert {"x-amzn-RequestId", "x-amz-crc32", "Date"} <= set(exposed.split(","))
        else:
            assert response.getheader("Access-Control-Allow-Origin") is None and not exposed
    connection.close()


def test_tag_resource_answers_an_empty_body(server: Server, client: Any) -> None:
    """Rule: TagResource and UntagResource answer HTTP 200 with an empty body (DynamoDB API reference)."""
    client.create_table(TableName="tagged", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/tagged"
    for operation, request in (("TagResource", {"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]}),
                               ("UntagResource", {"ResourceArn": arn, "TagKeys": ["k"]})):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("POST", "/", orjson.dumps(request), {"X-Amz-Target": TARGET + operation,
                                                                "Content-Type": "application/x-amz-json-1.0"})
        response = connection.getresponse()
        assert (response.status, response.read(), response.getheader("Content-Length")) == (200, b"", "0")
        connection.close()
    assert client.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


# -- HTTP/1.1 over raw sockets ---------------------------------------------------------------------------

class Raw:
    """A raw client socket that reads whole responses (Content-Length framed)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", 0))
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split(" ")[1]), headers, body

    def closed(self) -> bool:
        """True when the server has closed the connection (after any pending bytes)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buffer += data

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(server: Server) -> Iterator[Raw]:
    made = Raw(server.port)
    yield made
    made.close()


def request(body: bytes, operation: str = "ListTables", extra: str = "") -> bytes:
    head = (f"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {TARGET}{operation}\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode() + body


def test_keep_alive_two_requests_one_connection(raw: Raw) -> None:
    """HTTP/1.1 connections stay open: two requests, sent back to back, get two answers in order."""
    raw.send(request(b"{}") + request(b"{}", "Frobnicate"))
    first, second = raw.response(), raw.response()
    assert first[0] == 200 and orjson.loads(first[2]) == {"TableNames": []}
    assert second[0] == 400 and error_code(second[2]) == "UnknownOperationException"
    raw.send(request(b'{"Limit": 1}'))
    assert raw.response()[0] == 200


def test_connection_close_is_honoured(raw: Raw) -> None:
    """`Connection: close` gets its answer, marked close, and then the server closes."""
    raw.send(request(b"{}", extra="Connection: close\r\n"))
    status, headers, _ = raw.response()
    assert (status, headers["connection"]) == (200, "close")
    assert raw.closed()


def test_chunked_request_body(raw: Raw) -> None:
    """A Transfer-Encoding: chunked body (with a chunk extension and a trailer) is reassembled."""
    head = (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}ListTables\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    raw.send(head + b"5;ext=1\r\n{\"Lim\r\n7\r\nit\": 3}\r\n0\r\nX-Trailer: y\r\n\r\n")
    status, _, body = raw.response()
    assert (status, orjson.loads(body)) == (200, {"TableNames": []})
    raw.send(request(b"{}"))  # the connection is still usable
    assert raw.response()[0] == 200


def test_expect_100_continue(raw: Raw) -> None:
    """`Expect: 100-continue` gets an interim 100 before the body is sent, then the real answer."""
    body = b'{"Limit": 2}'
    raw.send(request(body, extra="Expect: 100-continue\r\n")[:-len(body)])
    assert raw.response()[0] == 100
    raw.send(body)
    assert raw.response()[0] == 200


def test_oversized_body_is_413(engine: Engine) -> None:
    """A Content-Length over the body cap is refused with 413 before the body is read, then closed."""
    with Server(engine, port=0, max_body=1024) as small:
        client = Raw(small.port)
        client.send(request(b"").replace(b"Content-Length: 0", b"Content-Length: 5000"))
        assert client.response()[0] == 413
        assert client.closed()
        client.close()
        chunked = Raw(small.port)
        chunked.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + b"400\r\n" + b"x" * 1024 + b"\r\n1\r\nx\r\n")
        assert chunked.response()[0] == 413
        chunked.close()


def test_default_body_cap_admits_16_mb(server: Server) -> None:
    """The default cap leaves room for a 16 MB BatchWriteItem request plus JSON overhead."""
    assert server.max_body > 16 * 1024 * 1024


@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"POST /\r\n\r\n",
    b"POST / HTTP/2.0\r\n\r\n",
    b"POST / HTTP/1.1\r\nNo colon here\r\n\r\n",
    b"POST / HTTP/1.1\r\n folded: header\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x10\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
])
def test_malformed_request_is_400_and_closed(raw: Raw, data: bytes) -> None:
    """Malformed HTTP gets a 400 and the connection is closed, never a traceback or a hang."""
    raw.send(data)
    status, headers, _ = raw.response()
    assert (status, headers["connection"]) == (400, "close")
    assert raw.closed()


def test_oversized_header_is_431(raw: Raw) -> None:
    """A request head over the header cap is refused with 431."""
    raw.send(b"POST / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert raw.response()[0] == 431


def test_unknown_transfer_coding_is_501(raw: Raw) -> None:
    """A transfer coding other than chunked is not implemented (RFC 9112 6.1)."""
    raw.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
    assert raw.response()[0] == 501


@pytest.mark.parametrize("line, status", [
    ("DELETE / HTTP/1.1", 405), ("PUT / HTTP/1.1", 405), ("GET /tables HTTP/1.1", 404), ("POST /x HTTP/1.1", 404),
    ("GET http://localhost:8000/ HTTP/1.1", 200), ("GET /?probe=1 HTTP/1.1", 200),
])
def test_other_methods_and_paths(raw: Raw, line: str, status: int) -> None:
    """Only POST / (and the GET / health check) exist; others are 4xx and the connection stays usable."""
    raw.send(f"{line}\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    assert raw.response()[0] == status
    raw.send(request(b"{}"))
    assert raw.response()[0] == 200


def test_http_1_0_closes_after_answer(raw: Raw) -> None:
    """An HTTP/1.0 request without keep-alive is answered and closed."""
    raw.send(b"GET / HTTP/1.0\r\n\r\n")
    assert raw.response()[0] == 200
    assert raw.closed()


def test_idle_and_slow_connections_time_out(engine: Engine) -> None:
    """A silent connection, or one stuck mid-request, is closed after the idle timeout."""
    with Server(engine, port=0, idle_timeout=0.3) as quick:
        idle, stuck = Raw(quick.port), Raw(quick.port)
        stuck.send(b"POST / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert idle.closed() and stuck.closed()
        assert time.monotonic() - started < 5
        idle.close()
        stuck.close()


def test_stop_closes_open_connections(engine: Engine) -> None:
    """stop() closes kept-alive connections and returns promptly; the port is then free."""
    running = Server(engine, port=0)
    running.start()
    clients = [Raw(running.port) for _ in range(3)]
    clients[0].send(request(b"{}"))
    assert clients[0].response()[0] == 200
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 5
    assert all(client.closed() for client in clients)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=2)
    for client in clients:
        client.close()


def test_one_thread_serves_every_connection(server: Server) -> None:
    """Connections, sequential or open at once, are all served by the server's one loop thread."""
    threads = threading.active_count()
    clients = [Raw(server.port) for _ in range(5)]
    for _ in range(20):
        client = Raw(server.port)
        client.send(request(b"{}", extra="Connection: close\r\n"))
        assert client.response()[0] == 200
        assert client.closed()
        client.close()
    for client in clients:
        client.send(request(b"{}"))
    assert all(client.response()[0] == 200 for client in clients)
    assert threading.active_count() == threads  # no thread per connection or per request
    for client in clients:
        client.close()


def test_saturated_server_closes_longest_idle_connection(engine: Engine) -> None:
    """At the connection cap, a new client is served at once and the kept-alive connection idle longest
    is closed (servers may close idle connections at any time, RFC 9112 9.5)."""
    with Server(engine, port=0, max_connections=2) as small:
        first, second = Raw(small.port), Raw(small.port)
        for client in (first, second):
            client.send(request(b"{}"))
            assert client.response()[0] == 200
        third = Raw(small.port)
        started = time.monotonic()
        third.send(request(b"{}"))
        assert third.response()[0] == 200
        assert time.monotonic() - started < 5
        assert first.closed()
        second.send(request(b"{}"))
        assert second.response()[0] == 200
        for client in (first, second, third):
            client.close()


def test_sts_caller_identity(server: Server) -> None:
    """An SDK pointed at the endpoint for every service can ask STS who it is (the engine's account)."""
    import boto3

    sts = boto3.client("sts", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="k",
                       aws_secret_access_key="s")
    assert sts.get_caller_identity()["Account"] == "123456789012"
