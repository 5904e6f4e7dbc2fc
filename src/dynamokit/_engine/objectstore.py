"""Where exports are written and imports read: an S3-compatible endpoint (through boto3's S3 client), or,
with none configured, a local folder per bucket under one directory.

Configuration: `Engine(s3_endpoint_url=..., s3_dir=...)`, `dynamokit serve --s3-endpoint-url URL --s3-dir DIR`,
or the environment variable `DYNAMOKIT_S3_ENDPOINT_URL`. The local directory defaults to `<database>.s3/`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

ENDPOINT_VARIABLE = "DYNAMOKIT_S3_ENDPOINT_URL"


class NoSuchBucket(Exception):
    """The bucket does not exist."""

    def __init__(self, bucket: str) -> None:
        super().__init__(f"The specified bucket does not exist (Service: Amazon S3; Status Code: 404; "
                         f"Error Code: NoSuchBucket; Bucket: {bucket})")


class ObjectStore(Protocol):
    """The few S3 calls exports and imports need."""

    def has_bucket(self, bucket: str) -> bool: ...

    def put(self, bucket: str, key: str, data: bytes) -> str:
        """Store an object; returns its ETag (without quotes)."""

    def get(self, bucket: str, key: str) -> bytes: ...

    def keys(self, bucket: str, prefix: str = "") -> Iterator[tuple[str, int]]:
        """(key, size) of the bucket's objects whose key starts with `prefix`, in key order
        (NoSuchBucket when there is no such bucket)."""


@dataclass(frozen=True)
class Config:
    """Where a store lives: an S3 endpoint URL, else a local directory."""

    endpoint_url: str | None = None
    directory: str | None = None

    def open(self, database: str) -> ObjectStore:
        url = self.endpoint_url or os.environ.get(ENDPOINT_VARIABLE)
        if url:
            return S3Store(url)
        return LocalStore(self.directory or database + ".s3")


class LocalStore:
    """Buckets as folders under `root`; an object key is a path below its bucket's folder."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def _bucket(self, bucket: str) -> str:
        if not bucket or "/" in bucket or bucket in (".", ".."):
            raise NoSuchBucket(bucket)
        return os.path.join(self.root, bucket)

    def _path(self, bucket: str, key: str) -> str:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise ValueError(f"object key not storable in a folder: {key!r}")
        return os.path.join(self._bucket(bucket), *parts)

    def create_bucket(self, bucket: str) -> None:
        os.makedirs(self._bucket(bucket), exist_ok=True)

    def has_bucket(self, bucket: str) -> bool:
        try:
            return os.path.isdir(self._bucket(bucket))
        except NoSuchBucket:
            return False

    def put(self, bucket: str, key: str, data: bytes) -> str:
        if not self.has_bucket(bucket):
            raise NoSuchBucket(bucket)
        path = self._path(bucket, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(temporary, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
        return hashlib.md5(data, usedforsecurity=False).hexdigest()

    def get(self, bucket: str, key: str) -> bytes:
        with open(self._path(bucket, key), "rb") as found:
            return found.read()

    def delete(self, bucket: str, key: str) -> None:
        """Remove an object (and the folders it leaves empty); a missing object is no error."""
        if not self.has_bucket(bucket):
            raise NoSuchBucket(bucket)
        try:
            path = self._path(bucket, key)
            os.remove(path)
        except (FileNotFoundError, IsADirectoryError, ValueError):
            return
        top, folder = self._bucket(bucket), os.path.dirname(path)
        while folder != top and not os.listdir(folder):
            os.rmdir(folder)
            folder = os.path.dirname(folder)

    def delete_bucket(self, bucket: str) -> bool:
        """Remove an empty bucket: False if it holds objects."""
        if not self.has_bucket(bucket):
            raise NoSuchBucket(bucket)
        if next(self.keys(bucket), None) is not None:
            return False
        for folder, _, _ in sorted(os.walk(self._bucket(bucket)), key=lambda entry: -len(entry[0])):
            os.rmdir(folder)
        return True

    def keys(self, bucket: str, prefix: str = "") -> Iterator[tuple[str, int]]:
        if not self.has_bucket(bucket):
            raise NoSuchBucket(bucket)
        top = self._bucket(bucket)
        found = []
        for folder, _, files in os.walk(top):
            for name in files:
                if name.endswith(".tmp"):
                    continue
                path = os.path.join(folder, name)
                key = os.path.relpath(path, top).replace(os.sep, "/")
                if key.startswith(prefix):
                    found.append((key, os.path.getsize(path)))
        yield from sorted(found)


class S3Store:
    """An S3-compatible endpoint, through boto3's S3 client (path-style addressing)."""

    def __init__(self, endpoint_url: str, client: Any = None) -> None:
        self.endpoint_url = endpoint_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config as BotoConfig  # type: ignore[import-untyped]

            session = boto3.session.Session()
            credentials: dict[str, str] = {}
            if session.get_credentials() is None:  # a local endpoint: any key will do
                credentials = {"aws_access_key_id": "dynamokit", "aws_secret_access_key": "dynamokit"}
            self._client = session.client("s3", endpoint_url=self.endpoint_url,
                                          region_name=session.region_name or "us-east-1",
                                          config=BotoConfig(s3={"addressing_style": "path"},
                                                            retries={"max_attempts": 3}), **credentials)
        return self._client

    def _call(self, bucket: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        try:
            return getattr(self.client, method)(Bucket=bucket, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("NoSuchBucket", "404") and method != "get_object":
                raise NoSuchBucket(bucket) from None
            raise

    def has_bucket(self, bucket: str) -> bool:
        try:
            self._call(bucket, "head_bucket")
        except NoSuchBucket:
            return False
        return True

    def put(self, bucket: str, key: str, data: bytes) -> str:
        return str(self._call(bucket, "put_object", Key=key, Body=data)["ETag"]).strip('"')

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self._call(bucket, "get_object", Key=key)["Body"].read())

    def keys(self, bucket: str, prefix: str = "") -> Iterator[tuple[str, int]]:
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call(bucket, "list_objects_v2", Prefix=prefix, **extra)
            for entry in page.get("Contents", []):
                yield entry["Key"], entry["Size"]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return


__all__ = ["ENDPOINT_VARIABLE", "Config", "LocalStore", "NoSuchBucket", "ObjectStore", "S3Store"]
