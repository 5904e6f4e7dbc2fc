"""Overhead of auth: authenticate+authorize per request in µs, and boto3 GetItem over HTTP with auth on vs off.

    python bench/auth_bench.py
"""
import os
import statistics
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(_REPO, "src"), _REPO]

import boto3  # noqa: E402
import orjson  # noqa: E402
from botocore.config import Config

from dynamokit import Engine
from dynamokit.server._access import authorize, tenant_policy
from dynamokit.server._auth import Authenticator, AuthorizingBackend, parse_credentials
from dynamokit.server._http import Server
from tests.test_auth import signed

FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}
creds = parse_credentials({"principals": [
    {"name": "full", "access_key_id": "AKFULL", "secret_access_key": "s1", "policies": [FULL]},
    {"name": "t1", "access_key_id": "AKT1", "secret_access_key": "s2", "tags": {"tenant": "t1"}, "policies": [tenant_policy("bench")]}]})
engine = Engine()
engine.call("CreateTable", {"TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
engine.call("PutItem", {"TableName": "bench", "Item": {"pk": {"S": "t1"}, "v": {"N": "1"}}})
auth = Authenticator(creds, "us-east-1")
req = {"TableName": "bench", "Key": {"pk": {"S": "t1"}}}
body = orjson.dumps(req)
q = {"TableName": "bench", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "t1"}}}

def per_call(fn, n=20000):
    for _ in range(1000): fn()
    best = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n): fn()
        best.append((time.perf_counter() - t) / n * 1e6)
    return min(best)

h = signed(body, "AKT1", "s2", operation="GetItem")
p = auth.authenticate("POST", "/", h, body)
print(f"authenticate (SigV4 verify)         {per_call(lambda: auth.authenticate('POST', '/', h, body)):6.1f} µs")
print(f"authorize GetItem, tenant policy    {per_call(lambda: authorize(p, 'GetItem', req, engine)):6.1f} µs")
print(f"authorize Query, tenant policy      {per_call(lambda: authorize(p, 'Query', q, engine)):6.1f} µs")
bw = {"RequestItems": {"bench": [{"PutRequest": {"Item": {"pk": {"S": "t1"}, "n": {"N": str(i)}}}} for i in range(25)]}}
print(f"authorize BatchWriteItem x25        {per_call(lambda: authorize(p, 'BatchWriteItem', bw, engine), 2000):6.1f} µs")
print(f"engine.call GetItem (reference)     {per_call(lambda: engine.call('GetItem', req)):6.1f} µs")

def http_rate(backend, key, secret, calls=600):
    with Server(backend, port=0) as server:
        c = boto3.client("dynamodb", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=key,
                         aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))
        for _ in range(200): c.get_item(**req)
        t = time.perf_counter()
        for _ in range(calls): c.get_item(**req)
        return calls / (time.perf_counter() - t)

rounds = {"off": [], "on (full access)": [], "on (tenant policy)": []}
for _ in range(9):
    rounds["off"].append(http_rate(engine, "x", "y"))
    rounds["on (full access)"].append(http_rate(AuthorizingBackend(engine, auth), "AKFULL", "s1"))
    rounds["on (tenant policy)"].append(http_rate(AuthorizingBackend(engine, auth), "AKT1", "s2"))
base = statistics.median(rounds["off"])
for name, rates in rounds.items():
    m = statistics.median(rates)
    print(f"HTTP GetItem auth {name:20s} {m:7.0f} req/s  ({(1 - m / base) * 100:+.1f}% slower)")

# Server-side cost of one request, in process (no sockets, no client): Server._answer auth on vs off.
from dynamokit.server._http import Request


def answer_cost(backend, headers):
    server = Server(backend, port=0)
    r = Request("POST", "/", headers, body, True)
    assert server._answer(r)[0] == 200
    return per_call(lambda: server._answer(r), 5000)
plain = {"x-amz-target": "DynamoDB_20120810.GetItem", "content-type": "application/x-amz-json-1.0"}
off = answer_cost(engine, plain)
on_t = answer_cost(AuthorizingBackend(engine, auth), h)
on_f = answer_cost(AuthorizingBackend(engine, auth), signed(body, "AKFULL", "s1", operation="GetItem"))
print(f"server-side GetItem: off {off:.1f} µs, on (tenant) {on_t:.1f} µs (+{on_t-off:.1f}), on (full) {on_f:.1f} µs (+{on_f-off:.1f})")
