"""SigV4 authentication of the HTTP endpoint: real botocore signing against `Authenticator`, and real boto3
clients over HTTP against `AuthorizingBackend` (every failure answers DynamoDB's error and writes nothing)."""

from __future__ import annotations

import calendar
import hashlib
import http.client
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import orjson
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from dynamokit import DynamoDBError, Engine
from dynamokit.server._auth import Authenticator, AuthorizingBackend, load_credentials, parse_credentials
from dynamokit.server._http import Server

REGION = "us-east-1"
TARGET = "DynamoDB_20120810."
FULL_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}
READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["dynamodb:Get*", "dynamodb:Query", "dynamodb:Describe*"],
     "Resource": "arn:aws:dynamodb:*:*:table/*"}]}
PRINCIPALS = {"principals": [
    {"name": "alice", "access_key_id": "AKIDALICE", "secret_access_key": "alice-secret", "policies": [FULL_ACCESS]},
    {"name": "bob", "access_key_id": "AKIDBOB", "secret_access_key": "bob-secret", "tags": {"team": "ro"},
     "policies": [READ_ONLY]},
]}
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                 "Secret Access Key and signing method. Consult the service documentation for details.")


class Clock:
    """A server clock the test sets: fixed at `at`, or real time plus `offset` seconds."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.offset = 0.0

    def __call__(self) -> float:
        return self.at if self.at is not None else time.time() + self.offset


def make_table(engine: Engine, name: str = "tbl", range_key: bool = False) -> None:
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "S"})
    engine.call("CreateTable", {"TableName": name, "KeySchema": keys, "AttributeDefinitions": attrs,
                                "BillingMode": "PAY_PER_REQUEST"})


def items_of(engine: Engine, table: str = "tbl") -> list[dict[str, Any]]:
    return sorted(engine.call("Scan", {"TableName": table})["Items"], key=lambda item: orjson.dumps(item, option=orjson.OPT_SORT_KEYS))


def client(url: str, key: str | None, secret: str | None, region: str = REGION) -> Any:
    config = Config(retries={"total_max_attempts": 1}, signature_version=UNSIGNED if key is None else None)
    return boto3.client("dynamodb", endpoint_url=url, region_name=region, aws_access_key_id=key or "x",
                        aws_secret_access_key=secret or "x", config=config)


def signed(body: bytes, key: str = "AKIDALICE", secret: str = "alice-secret", region: str = REGION,
           service: str = "dynamodb", operation: str = "PutItem", host: str = "localhost:8000") -> dict[str, str]:
    """Headers (lower-cased names) botocore's SigV4Auth signs for a POST / with `body`."""
    request = AWSRequest(method="POST", url=f"http://{host}/", data=body,
                         headers={"X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = host
    return headers


def presigned(body: bytes, expires: int = 300, key: str = "AKIDALICE", secret: str = "alice-secret",
              host: str = "localhost:8000", operation: str = "PutItem") -> tuple[str, dict[str, str]]:
    """The request-target and headers of a presigned (query-string) POST / carrying `body`."""
    request = AWSRequest(method="POST", url=f"http://{host}/", data=b"",
                         headers={"X-Amz-Target": TARGET + operation,
                                  "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    SigV4QueryAuth(Credentials(key, secret), "dynamodb", REGION, expires=expires).add_auth(request)
    url = urlsplit(request.url)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = host
    return f"{url.path}?{url.query}", headers


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def authenticator(clock: Clock) -> Authenticator:
    return Authenticator(parse_credentials(PRINCIPALS), REGION, clock=clock)


@pytest.fixture
def served(engine: Engine, authenticator: Authenticator) -> Iterator[str]:
    make_table(engine)
    with Server(AuthorizingBackend(engine, authenticator), port=0) as server:
        yield server.url


def code_of(method: Any, **request: Any) -> tuple[str, str, int]:
    """Code, message and HTTP status of the error a boto3 client method answers for `request`."""
    with pytest.raises(ClientError) as caught:
        method(**request)
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


PUT = {"TableName": "tbl", "Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}
BODY = orjson.dumps(PUT)


# -- the Authenticator with botocore-signed requests ----------------------------------------------------------

def test_header_signature_identifies_the_principal(authenticator: Authenticator) -> None:
    principal = authenticator.authenticate("POST", "/", signed(BODY), BODY)
    assert principal.name == "alice" and principal.arn == "arn:aws:iam::123456789012:user/alice"
    assert authenticator.authenticate("POST", "/", signed(BODY, "AKIDBOB", "bob-secret"), BODY).tags == {"team": "ro"}


def test_absolute_request_target_is_verified_on_its_path(authenticator: Authenticator) -> None:
    assert authenticator.authenticate("POST", "http://localhost:8000/", signed(BODY), BODY).name == "alice"


@pytest.mark.parametrize("change, code, message", [
    (lambda h, b: (dict(h), b + b" "), "InvalidSignatureException", BAD_SIGNATURE),
    (lambda h, b: (dict(h), b.replace(b'"a"', b'"z"')), "InvalidSignatureException", BAD_SIGNATURE),
    (lambda h, b: ({**h, "x-amz-target": TARGET + "DeleteTable"}, b), "InvalidSignatureException", BAD_SIGNATURE),
    (lambda h, b: ({**h, "host": "evil:1"}, b), "InvalidSignatureException", BAD_SIGNATURE),
    (lambda h, b: ({k: v for k, v in h.items() if k != "authorization"}, b),
     "MissingAuthenticationTokenException", "Request is missing Authentication Token"),
    (lambda h, b: ({**h, "authorization": "AWS AKIDALICE:abc"}, b),
     "IncompleteSignatureException", "Unsupported AWS 'algorithm': 'AWS'"),
    (lambda h, b: ({**h, "authorization": ("AWS4-HMAC-SHA256 Credential=AKIDALICE/20240101/us-east-1/dynamodb/"
                                            "aws4_request")}, b),
     "IncompleteSignatureException", ("Authorization header requires 'Signature' parameter. Authorization "
                                      "header requires 'SignedHeaders' parameter.")),
    (lambda h, b: ({**h, "authorization": h["authorization"].replace("aws4_request", "aws5_request")}, b),
     "InvalidSignatureException", ("Credential should be scoped with a valid terminator: 'aws4_request', "
                                   "not 'aws5_request'. ")),
])
def test_tampered_or_incomplete_requests_are_refused(authenticator: Authenticator, change: Any, code: str,
                                                     message: str) -> None:
    headers, body = change(signed(BODY), BODY)
    with pytest.raises(DynamoDBError) as caught:
        authenticator.authenticate("POST", "/", headers, body)
    assert (caught.value.code, caught.value.message, caught.value.status) == (code, message, 400)


def test_wrong_secret_unknown_key_other_region_and_service(authenticator: Authenticator) -> None:
    cases = [
        (signed(BODY, secret="not-alice-secret"), "InvalidSignatureException", BAD_SIGNATURE),
        (signed(BODY, key="AKIDNOBODY"), "UnrecognizedClientException",
         "The security token included in the request is invalid."),
        (signed(BODY, region="eu-west-1"), "InvalidSignatureException",
         "Credential should be scoped to a valid region, not 'eu-west-1'. "),
        (signed(BODY, service="s3"), "InvalidSignatureException",
         "Credential should be scoped to correct service: 'dynamodb'. "),
    ]
    for headers, code, message in cases:
        with pytest.raises(DynamoDBError) as caught:
            authenticator.authenticate("POST", "/", headers, BODY)
        assert (caught.value.code, caught.value.message) == (code, message)
        assert "alice-secret" not in caught.value.message and "SignedHeaders" not in caught.value.message


def test_clock_skew_limit_is_fifteen_minutes(authenticator: Authenticator, clock: Clock) -> None:
    headers = signed(BODY)
    stamp = headers["x-amz-date"]
    signed_at = float(calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")))
    for offset in (15 * 60, -15 * 60):  # exactly at the limit, either way: accepted
        clock.at = signed_at + offset
        assert authenticator.authenticate("POST", "/", headers, BODY).name == "alice"
    clock.at = signed_at + 15 * 60 + 1
    with pytest.raises(DynamoDBError) as caught:
        authenticator.authenticate("POST", "/", headers, BODY)
    now = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed_at + 15 * 60 + 1))
    earliest = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed_at + 1))
    assert caught.value.code == "InvalidSignatureException"
    assert caught.value.message == f"Signature expired: {stamp} is now earlier than {earliest} ({now} - 15 min.)"
    clock.at = signed_at - 15 * 60 - 1
    with pytest.raises(DynamoDBError) as caught:
        authenticator.authenticate("POST", "/", headers, BODY)
    assert caught.value.message.startswith(f"Signature not yet current: {stamp} is still later than ")
    assert caught.value.message.endswith(" + 15 min.)")


def test_presigned_query_form(authenticator: Authenticator, clock: Clock) -> None:
    target, headers = presigned(BODY, expires=60)
    assert authenticator.authenticate("POST", target, headers, BODY).name == "alice"
    with pytest.raises(DynamoDBError) as caught:  # the payload hash is signed
        authenticator.authenticate("POST", target, headers, BODY + b" ")
    assert caught.value.message == BAD_SIGNATURE
    with pytest.raises(DynamoDBError) as caught:  # so is every query parameter
        authenticator.authenticate("POST", target.replace("X-Amz-Expires=60", "X-Amz-Expires=600"), headers, BODY)
    assert caught.value.message == BAD_SIGNATURE
    clock.offset = 61
    with pytest.raises(DynamoDBError) as caught:
        authenticator.authenticate("POST", target, headers, BODY)
    assert caught.value.code == "InvalidSignatureException"
    assert caught.value.message.startswith("Signature expired: ") and caught.value.message.endswith(" - 1 min.)")
    bad_target, headers = presigned(BODY, secret="wrong")
    clock.offset = 0
    with pytest.raises(DynamoDBError) as caught:
        authenticator.authenticate("POST", bad_target, headers, BODY)
    assert caught.value.message == BAD_SIGNATURE


# -- credentials file ----------------------------------------------------------------------------------------

def test_credentials_file_round_trip(tmp_path: Any) -> None:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(PRINCIPALS))
    credentials = load_credentials(path, account_id="111122223333")
    assert sorted(credentials) == ["AKIDALICE", "AKIDBOB"]
    assert credentials["AKIDBOB"].principal.arn == "arn:aws:iam::111122223333:user/bob"
    assert "bob-secret" not in repr(credentials["AKIDBOB"])


@pytest.mark.parametrize("data, fragment", [
    ({}, '"principals" list'),
    ({"principals": [{"name": "a", "access_key_id": "K"}]}, "secret_access_key must be a non-empty string"),
    ({"principals": [{"name": "a", "access_key_id": "K", "secret_access_key": "s", "extra": 1}]}, "unknown field"),
    ({"principals": [{"name": "a", "access_key_id": "K", "secret_access_key": "s"},
                     {"name": "b", "access_key_id": "K", "secret_access_key": "t"}]}, "duplicate"),
    ({"principals": [{"name": "a", "access_key_id": "K", "secret_access_key": "s", "tags": {"t": 1}}]},
     "tags must map strings to strings"),
    ({"principals": [{"name": "a", "access_key_id": "K", "secret_access_key": "s",
                      "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "*",
                                                                            "Resource": "*"}]}]}]},
     "Effect must be Allow or Deny"),
])
def test_malformed_credentials_are_rejected_with_a_reason(data: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_credentials(data)


def test_unreadable_credentials_file(tmp_path: Any) -> None:
    path = tmp_path / "auth.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read credentials file"):
        load_credentials(path)


# -- over HTTP with real boto3 clients -----------------------------------------------------------------------

def test_good_keys_work_end_to_end(served: str) -> None:
    alice = client(served, "AKIDALICE", "alice-secret")
    alice.put_item(**PUT)
    assert alice.get_item(TableName="tbl", Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "1"}
    assert client(served, "AKIDBOB", "bob-secret").get_item(TableName="tbl", Key={"pk": {"S": "a"}})["Item"]


def test_every_bad_credential_answers_400_and_writes_nothing(served: str, engine: Engine, clock: Clock) -> None:
    cases = [
        (client(served, "AKIDALICE", "wrong-secret"), "InvalidSignatureException", BAD_SIGNATURE),
        (client(served, "AKIDNOBODY", "secret"), "UnrecognizedClientException",
         "The security token included in the request is invalid."),
        (client(served, "AKIDALICE", "alice-secret", region="eu-west-1"), "InvalidSignatureException",
         "Credential should be scoped to a valid region, not 'eu-west-1'. "),
        (client(served, None, None), "MissingAuthenticationTokenException", "Request is missing Authentication Token"),
    ]
    for made, code, message in cases:
        assert code_of(made.put_item, **PUT) == (code, message, 400)
    clock.offset = 16 * 60
    code, message, status = code_of(client(served, "AKIDALICE", "alice-secret").put_item, **PUT)
    assert (code, status) == ("InvalidSignatureException", 400) and message.startswith("Signature expired: ")
    assert items_of(engine) == []


def test_tampered_body_over_http_writes_nothing(served: str, engine: Engine) -> None:
    host = urlsplit(served).netloc
    headers = signed(BODY, host=host)
    tampered = BODY.replace(b'"N":"1"', b'"N":"9"')
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.request("POST", "/", body=tampered, headers=headers)
    response = connection.getresponse()
    answer = orjson.loads(response.read())
    connection.close()
    assert response.status == 400
    assert answer == {"__type": "com.amazon.coral.service#InvalidSignatureException", "message": BAD_SIGNATURE}
    assert items_of(engine) == []


def test_presigned_request_over_http(served: str, engine: Engine) -> None:
    host = urlsplit(served).netloc
    target, headers = presigned(BODY, host=host)
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.request("POST", target, body=BODY, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    assert items_of(engine) == [PUT["Item"]]


def test_policy_denial_over_http(served: str, engine: Engine) -> None:
    bob = client(served, "AKIDBOB", "bob-secret")
    message = ("User: arn:aws:iam::123456789012:user/bob is not authorized to perform: dynamodb:PutItem on "
               "resource: arn:aws:dynamodb:us-east-1:123456789012:table/tbl because no identity-based policy allows "
               "the dynamodb:PutItem action")
    assert code_of(bob.put_item, **PUT) == ("AccessDeniedException", message, 400)
    assert code_of(bob.list_tables)[0] == "AccessDeniedException"  # ListTables needs Resource "*"
    assert items_of(engine) == []


def test_unbound_backend_serves_nothing(engine: Engine, authenticator: Authenticator) -> None:
    with pytest.raises(DynamoDBError) as caught:
        AuthorizingBackend(engine, authenticator).call("ListTables", {})
    assert caught.value.code == "MissingAuthenticationTokenException"


def test_health_check_needs_no_signature(served: str) -> None:
    connection = http.client.HTTPConnection(urlsplit(served).netloc, timeout=10)
    connection.request("GET", "/")
    response = connection.getresponse()
    assert response.status == 200 and response.read().startswith(b"healthy: ")
    connection.close()


# -- hardening: what must be signed, hostile signature fields, session tokens ----------------------------------

def _signed_without_target(body: bytes, operation: str, host: str) -> dict[str, str]:
    """A request botocore signed over `host;x-amz-date` only, with X-Amz-Target added after signing."""
    request = AWSRequest(method="POST", url=f"http://{host}/", data=body)
    SigV4Auth(Credentials("AKIDALICE", "alice-secret"), "dynamodb", REGION).add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers.update({"host": host, "x-amz-target": TARGET + operation})
    return headers


def _post(url: str, body: bytes, headers: dict[str, str], target: str = "/") -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        connection.close()


def test_the_operation_is_bound_to_the_signature(served: str, engine: Engine) -> None:
    """A signature that does not cover X-Amz-Target could be replayed as another operation (GetItem signed,
    DeleteItem sent): every AWS SDK signs `host` and `x-amz-target`, so both are required."""
    alice = client(served, "AKIDALICE", "alice-secret")
    alice.put_item(**PUT)
    body = orjson.dumps({"TableName": "tbl", "Key": {"pk": {"S": "a"}}})
    status, answer = _post(served, body, _signed_without_target(body, "DeleteItem", urlsplit(served).netloc))
    assert status == 400
    assert answer == {"__type": "com.amazon.coral.service#IncompleteSignatureException",
                      "message": "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."}
    assert items_of(engine) == [PUT["Item"]]


def test_host_must_be_signed(authenticator: Authenticator) -> None:
    headers = signed(BODY)
    headers["authorization"] = headers["authorization"].replace("SignedHeaders=", "SignedHeaders=x;").replace(
        "host;", "")
    with pytest.raises(DynamoDBError) as caught:
        authenticator.authenticate("POST", "/", headers, BODY)
    assert caught.value.code == "IncompleteSignatureException" and "'Host'" in caught.value.message


@pytest.mark.parametrize("signature", ["é" * 64, "\u0000" * 64, "ab", "z" * 64, "0" * 65])
def test_malformed_signature_is_an_invalid_signature(served: str, signature: str) -> None:
    """A non-ASCII byte in Signature= made hmac.compare_digest raise and the connection drop unanswered."""
    headers = signed(BODY, host=urlsplit(served).netloc)
    start = headers["authorization"].index("Signature=") + len("Signature=")
    headers["authorization"] = headers["authorization"][:start] + signature
    connection = http.client.HTTPConnection(urlsplit(served).netloc, timeout=10)
    connection.putrequest("POST", "/", skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value.encode("utf-8"))
    connection.putheader("content-length", str(len(BODY)))
    connection.endheaders(BODY)
    response = connection.getresponse()
    answer = orjson.loads(response.read())
    connection.close()
    assert response.status == 400 and answer["__type"].endswith("#InvalidSignatureException")


TEMPORARY = {"AccessKeyId": "ASIACAROL", "SecretAccessKey": "carol-secret", "SessionToken": "carol-token",
             "Expiration": "2100-01-01T00:00:00Z"}


def _with_carol(**sts: str) -> Authenticator:
    principals = {"principals": PRINCIPALS["principals"] + [
        {"name": "carol", "policies": [FULL_ACCESS], "temporary_credentials": [{**TEMPORARY, **sts}]}]}
    return Authenticator(parse_credentials(principals), REGION)


def _token_client(url: str, key: str, secret: str, token: str | None) -> Any:
    return boto3.client("dynamodb", endpoint_url=url, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"total_max_attempts": 1}))


@pytest.mark.parametrize("sts, key, secret, token, code", [
    ({}, "ASIACAROL", "carol-secret", "carol-token", None),
    ({}, "ASIACAROL", "carol-secret", "stale-token", "UnrecognizedClientException"),
    ({}, "ASIACAROL", "carol-secret", None, "UnrecognizedClientException"),
    ({"Expiration": "2020-01-01T00:00:00Z"}, "ASIACAROL", "carol-secret", "carol-token", "ExpiredTokenException"),
    ({}, "AKIDALICE", "alice-secret", "bogus-token", "UnrecognizedClientException"),  # long-term keys + a token
])
def test_session_tokens_are_verified(engine: Engine, sts: dict[str, str], key: str, secret: str,
                                     token: str | None, code: str | None) -> None:
    make_table(engine)
    with Server(AuthorizingBackend(engine, _with_carol(**sts)), port=0) as server:
        made = _token_client(server.url, key, secret, token)
        if code is None:
            made.put_item(**PUT)
            assert items_of(engine) == [PUT["Item"]]
        else:
            assert code_of(made.put_item, **PUT)[0] == code
            assert items_of(engine) == []


def test_temporary_credentials_must_have_sts_shape() -> None:
    with pytest.raises(ValueError, match="Expiration"):
        parse_credentials({"principals": [{"name": "c", "temporary_credentials": [{**TEMPORARY,
                                                                                     "Expiration": "soon"}]}]})
    with pytest.raises(ValueError, match="exactly AccessKeyId"):
        parse_credentials({"principals": [{"name": "c", "temporary_credentials": [{"AccessKeyId": "A"}]}]})


def test_cors_preflight_needs_no_signature_but_requests_do(served: str) -> None:
    """Rule: a browser's CORS preflight (OPTIONS) is answered 200 without a signature; the request that
    follows is still authenticated, and its answer (error or not) carries Access-Control-Allow-Origin."""
    host = urlsplit(served).netloc
    origin = {"Origin": "http://app.example"}
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.request("OPTIONS", "/", headers={**origin, "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "authorization,x-amz-target"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200 and response.getheader("Access-Control-Allow-Origin") == "*"
    assert response.getheader("Access-Control-Allow-Headers") == "authorization,x-amz-target"
    body = json.dumps({"TableName": "tbl"}).encode()
    connection.request("POST", "/", body, {**origin, "X-Amz-Target": TARGET + "DescribeTable",
                                           "Content-Type": "application/x-amz-json-1.0"})
    response = connection.getresponse()
    assert response.status == 400 and b"MissingAuthenticationToken" in response.read()
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    headers = signed(body, operation="DescribeTable", host=host)
    connection.request("POST", "/", body, {**headers, **origin})
    response = connection.getresponse()
    assert response.status == 200 and b'"TableName":"tbl"' in response.read()
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    connection.close()
