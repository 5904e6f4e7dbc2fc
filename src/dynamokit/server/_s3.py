"""A minimal S3 REST API over the local bucket folders (`engine.objectstore.LocalStore`), so that a
`dynamokit serve --s3-api` endpoint also answers the S3 calls made around exports and imports by code that
points every AWS service at one URL (`AWS_ENDPOINT_URL`), e.g. moto's AWS-verified import/export tests.

Path-style requests only. Buckets: create, head, delete (empty), tagging (accepted, not kept), object lock
configuration (none), list objects (v1, v2, versions: every object is its only version). Objects: put (plain
or `aws-chunked` bodies), get, head, delete, multi-object delete. Anything else: 501 NotImplemented. No
authentication: `serve` refuses --s3-api with --auth.
"""

from __future__ import annotations

import hashlib
import re
import time
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from .._engine.objectstore import LocalStore, NoSuchBucket

Answer = tuple[int, list[tuple[str, str]], bytes]
_XML = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def is_s3(method: str, path: str) -> bool:
    """Whether a request is for the S3 API: it names a bucket (DynamoDB's requests are POSTs to `/`)."""
    return urlsplit(path).path not in ("", "/")


def _error(status: int, code: str, message: str, **extra: str) -> Answer:
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    body = f"{_XML}<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}</Error>".encode()
    return status, [("Content-Type", "application/xml")], body


def _xml(body: str) -> Answer:
    return 200, [("Content-Type", "application/xml")], (_XML + body).encode()


def _no_bucket(bucket: str) -> Answer:
    return _error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)


def _dechunk(body: bytes) -> bytes:
    """The payload of an `aws-chunked` body: `<hex size>[;signature]\\r\\n<data>\\r\\n ... 0\\r\\n<trailers>`."""
    out, position = bytearray(), 0
    while True:
        end = body.index(b"\r\n", position)
        size = int(body[position:end].split(b";", 1)[0], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2:end + 2 + size]
        position = end + 2 + size + 2


class S3Api:
    """Answers S3 REST requests from a `LocalStore`."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def __call__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        status, fields, payload = self._answer(method, target, headers, body)
        if status != 204 and not any(name == "Content-Length" for name, _ in fields):
            fields.append(("Content-Length", str(len(payload))))
        return status, fields, payload

    def _answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
        try:
            if not key:
                return self._bucket(method, bucket, query, body)
            if "aws-chunked" in headers.get("content-encoding", ""):
                body = _dechunk(body)
            return self._object(method, bucket, key, body)
        except NoSuchBucket:
            return _no_bucket(bucket)

    def _bucket(self, method: str, bucket: str, query: dict[str, str], body: bytes) -> Answer:
        store = self.store
        if method == "PUT" and not query:
            if not _BUCKET.fullmatch(bucket):
                return _error(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=bucket)
            store.create_bucket(bucket)
            return 200, [("Location", f"/{bucket}")], b""
        if not store.has_bucket(bucket):
            return _no_bucket(bucket)
        if method == "HEAD":
            return 200, [], b""
        if method == "PUT" and "tagging" in query:
            return 204, [], b""
        if method == "DELETE" and not query:
            if not store.delete_bucket(bucket):
                return _error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", BucketName=bucket)
            return 204, [], b""
        if method == "GET" and "object-lock" in query:
            return _error(404, "ObjectLockConfigurationNotFoundError",
                          "Object Lock configuration does not exist for this bucket", BucketName=bucket)
        if method == "GET" and not (set(query) - {"list-type", "prefix", "versions", "encoding-type", "max-keys",
                                                  "continuation-token", "marker", "start-after"}):
            return self._list(bucket, query)
        if method == "POST" and "delete" in query:
            keys = [unquote(k) for k in re.findall(r"<Key>(.*?)</Key>", body.decode(), re.DOTALL)]
            for key in keys:
                store.delete(bucket, _unescape(key))
            deleted = "".join(f"<Deleted><Key>{escape(_unescape(k))}</Key></Deleted>" for k in keys)
            return _xml(f"<DeleteResult{_NS}>{deleted}</DeleteResult>")
        return _error(501, "NotImplemented", "This S3 request is not implemented by dynamokit")

    def _list(self, bucket: str, query: dict[str, str]) -> Answer:
        prefix = query.get("prefix", "")
        after = query.get("continuation-token") or query.get("start-after") or query.get("marker") or ""
        limit = max(0, min(1000, int(query.get("max-keys", "1000") or 1000)))
        found = [(k, s) for k, s in self.store.keys(bucket, prefix) if k > after]
        page, truncated = found[:limit], len(found) > limit
        if "versions" in query:
            entries = "".join(f"<Version><Key>{escape(k)}</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>"
                              f"<Size>{s}</Size><StorageClass>STANDARD</StorageClass></Version>" for k, s in page)
            return _xml(f"<ListVersionsResult{_NS}><Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>"
                        f"<MaxKeys>{limit}</MaxKeys><IsTruncated>false</IsTruncated>{entries}</ListVersionsResult>")
        entries = "".join(f"<Contents><Key>{escape(k)}</Key><LastModified>{_iso_now()}</LastModified>"
                          f"<Size>{s}</Size><StorageClass>STANDARD</StorageClass></Contents>" for k, s in page)
        more = f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
        if truncated and query.get("list-type") == "2":
            more += f"<NextContinuationToken>{escape(page[-1][0])}</NextContinuationToken>"
        elif truncated:
            more += f"<NextMarker>{escape(page[-1][0])}</NextMarker>"
        count = f"<KeyCount>{len(page)}</KeyCount>" if query.get("list-type") == "2" else ""
        return _xml(f"<ListBucketResult{_NS}><Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>"
                    f"<MaxKeys>{limit}</MaxKeys>{count}{more}{entries}</ListBucketResult>")

    def _object(self, method: str, bucket: str, key: str, body: bytes) -> Answer:
        store = self.store
        if not store.has_bucket(bucket):
            return _no_bucket(bucket)
        if method == "PUT":
            try:
                etag = store.put(bucket, key, body)
            except ValueError as error:
                return _error(400, "InvalidArgument", str(error))
            return 200, [("ETag", f'"{etag}"')], b""
        if method == "DELETE":
            store.delete(bucket, key)
            return 204, [], b""
        if method in ("GET", "HEAD"):
            try:
                data = store.get(bucket, key)
            except (OSError, ValueError):
                return _error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
            headers = [("ETag", f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'),
                       ("Last-Modified", formatdate(usegmt=True)), ("Content-Type", "binary/octet-stream")]
            if method == "HEAD":
                return 200, [*headers, ("Content-Length", str(len(data)))], b""
            return 200, headers, data
        return _error(501, "NotImplemented", "This S3 request is not implemented by dynamokit")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace(
        "&amp;", "&")


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


__all__ = ["S3Api", "is_s3"]
