"""The boto3 floors: do-nothing endpoints answering canned DynamoDB bodies shaped like the workload's answers.

    python -m bench.stubs --items N     # the HTTP stub as its own process; prints its URL

No engine, parsing or storage: no endpoint can answer a boto3 user faster, in-process or over loopback HTTP.
A Scan is answered in ~1 MB pages (by ExclusiveStartKey), so a full Scan costs boto3 the same bytes to parse.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import zlib
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from .rawsqlite import SCAN_PAGE
from .workload import Workload

CONDITION_FAILED = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                               "message": "The conditional request failed"}).encode()


class Canned:
    """Answers (status, body) for a request: the workload's result shapes, computed once."""

    def __init__(self, items: int) -> None:
        work = Workload(items)
        one = [work.item(n) for n in range(50)]
        self.fixed = {
            "GetItem": json.dumps({"Item": one[0]}).encode(),
            "Query": json.dumps({"Items": one, "Count": 50, "ScannedCount": 50}).encode(),
            "BatchWriteItem": b'{"UnprocessedItems":{}}',
        }
        self.pages = []
        for start in range(0, items, SCAN_PAGE):
            page: dict[str, Any] = {"Items": [work.item(n) for n in range(start, min(items, start + SCAN_PAGE))]}
            page["Count"] = page["ScannedCount"] = len(page["Items"])
            if start + SCAN_PAGE < items:
                page["LastEvaluatedKey"] = {"pk": {"S": "p0"}, "sk": {"N": str(len(self.pages) + 1)}}
            self.pages.append(json.dumps(page).encode())

    def answer(self, target: str, body: bytes) -> tuple[int, bytes]:
        operation = target.rsplit(".", 1)[-1]
        if operation == "PutItem" and b"ConditionExpression" in body:
            return 400, CONDITION_FAILED
        if operation == "Scan":
            start = json.loads(body).get("ExclusiveStartKey")
            return 200, self.pages[int(start["sk"]["N"]) if start else 0]
        if operation == "DescribeTable":
            return 200, b'{"Table":{"TableStatus":"ACTIVE","GlobalSecondaryIndexes":[{"IndexStatus":"ACTIVE"}]}}'
        return 200, self.fixed.get(operation, b"{}")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def inprocess_stub_client(canned: Canned) -> Any:
    """A boto3 client whose sending step a do-nothing hook answers with canned bodies: the in-process floor."""
    made = boto3.client("dynamodb", endpoint_url="http://stub.invalid", region_name="us-east-1",
                        aws_access_key_id="k", aws_secret_access_key="s",
                        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))

    def send(request: Any, **_: Any) -> AWSResponse:
        target = request.headers["X-Amz-Target"]
        status, body = canned.answer(target.decode() if isinstance(target, bytes) else target, request.body or b"")
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amz-crc32": str(zlib.crc32(body))}
        return AWSResponse(request.url, status, headers, _Raw(body))

    made.meta.events.register_first("before-send", send)
    return made


class HttpStub:
    """A minimal keep-alive HTTP server (thread per connection) answering canned bodies: the HTTP floor."""

    def __init__(self, canned: Canned, port: int = 0) -> None:
        self.canned = canned
        self.sock = socket.create_server(("127.0.0.1", port))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]

    def serve_forever(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while reader.readline():
                length, target = 0, ""
                while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    lowered = name.strip().lower()
                    if lowered == "content-length":
                        length = int(value)
                    elif lowered == "x-amz-target":
                        target = value.strip()
                status, body = self.canned.answer(target, reader.read(length))
                conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/x-amz-json-1.0\r\nx-amz-crc32: %d\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (status, b"OK" if status == 200 else b"Bad Request",
                                                                zlib.crc32(body), len(body), body))
        except OSError:
            return
        finally:
            conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    stub = HttpStub(Canned(args.items), args.port)
    print(stub.url, flush=True)
    sys.stdout.close()
    stub.serve_forever()


if __name__ == "__main__":
    main()
