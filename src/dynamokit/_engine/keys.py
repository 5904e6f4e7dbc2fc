"""Key attributes: validation against a key schema and the order-preserving byte encoding used for storage."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any, NoReturn

from . import numbers
from .errors import invalid_parameter, validation
from .values import decode_binary, not_unicode, string, utf8

MAX_HASH_KEY = 2048
MAX_RANGE_KEY = 1024


def encode_scalar(kind: str, value: Any) -> bytes:
    """Bytes whose unsigned order is DynamoDB's order for a key value of type `kind` (S, N or B).

    `value` is the wire value inside `{kind: value}`, validated here: the key encoding is where request
    Keys, ExclusiveStartKeys and key conditions meet, and none of them needs to be checked twice."""
    if type(value) is not str:  # B may be bytes (in-process callers); decode_binary judges it
        return decode_binary(value) if kind == "B" else utf8(string(value))
    if kind == "S":
        try:
            return value.encode()
        except UnicodeEncodeError:
            raise not_unicode() from None
    if kind == "N":
        return _encode_number(value)
    return decode_binary(value)


@functools.lru_cache(maxsize=8192)
def _encode_number(text: str) -> bytes:
    """A number key's encoding, cached by its text (key values repeat: sort keys, counters, timestamps)."""
    return numbers.encode(numbers.parse(text))


def partition_hash(hk: bytes) -> int:
    """A 32-bit hash of an encoded partition key: the scan order and the parallel-scan segment space.

    MD5, like the hash prefix other DynamoDB emulators use; with it string keys scan in the same order as in
    AWS-verified tests (partition "A" before "B").
    """
    return int.from_bytes(hashlib.md5(hk, usedforsecurity=False).digest()[:4], "big")


@dataclass(frozen=True)
class KeyAttr:
    name: str
    kind: str  # S | N | B


def compose(parts: list[bytes]) -> bytes:
    """Concatenate encoded key parts so that byte order is the order of the tuple of parts.

    Each part has 0x00 escaped as 0x00 0xFF and ends with 0x00 0x00, which sorts below any continuation.
    """
    return b"".join(part.replace(b"\x00", b"\x00\xff") + b"\x00\x00" for part in parts)


def escape(part: bytes) -> bytes:
    """A part as it appears inside `compose`, without its terminator (for prefix ranges)."""
    return part.replace(b"\x00", b"\x00\xff")


@dataclass(frozen=True)
class KeySchema:
    """The partition and sort key of a table or an index.

    Tables and LSIs have one partition and at most one sort attribute; a GSI may have up to four of each
    (multi-attribute keys), stored as composed encodings.
    """

    hashes: tuple[KeyAttr, ...]
    ranges: tuple[KeyAttr, ...] = ()

    @property
    def hash(self) -> KeyAttr:
        return self.hashes[0]

    @property
    def range(self) -> KeyAttr | None:
        return self.ranges[0] if self.ranges else None

    @functools.cached_property
    def attrs(self) -> tuple[KeyAttr, ...]:
        """The partition attributes, then the sort attributes."""
        return self.hashes + self.ranges

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attrs)

    def encode_attr(self, attr: KeyAttr, value: Any, is_hash: bool, index: str | None = None) -> bytes:
        """Encode one key attribute of an item, enforcing type, emptiness and size rules."""
        kind = attr.kind
        if not (isinstance(value, dict) and len(value) == 1 and kind in value):
            _type_mismatch(attr, value, index)
        encoded = encode_scalar(kind, value[kind])  # for S, the UTF-8 bytes: the limits apply to them
        if not encoded or len(encoded) > (MAX_HASH_KEY if is_hash else MAX_RANGE_KEY):
            _check_encoded(attr, encoded, is_hash, index)
        return encoded

    def of_item(self, item: dict[str, Any], index: str | None = None) -> tuple[bytes, bytes]:
        """(hash, range) encodings of a full item; ValidationException if a key attribute is missing."""
        for attr in self.attrs:
            if attr.name not in item:
                raise invalid_parameter(f"Missing the key {attr.name} in the item")
        return self._encode(self.hashes, item, True, index), self._encode(self.ranges, item, False, index)

    def position(self, item: dict[str, Any], index: str) -> tuple[bytes, bytes] | None:
        """Where `item` sits in an index with this key: None when a key attribute is missing (sparse)."""
        for attr in self.attrs:
            if attr.name not in item:
                return None
        return self._encode(self.hashes, item, True, index), self._encode(self.ranges, item, False, index)

    def _encode(self, attrs: tuple[KeyAttr, ...], item: dict[str, Any], is_hash: bool, index: str | None) -> bytes:
        if not attrs:
            return b""
        if len(attrs) == 1:
            return self.encode_attr(attrs[0], item[attrs[0].name], is_hash, index)
        return compose([self.encode_attr(a, item[a.name], is_hash, index) for a in attrs])

    def of_key(self, key: Any) -> tuple[bytes, bytes]:
        """(hash, range) encodings of a request's Key, which must hold exactly the key attributes."""
        if not isinstance(key, dict) or len(key) != len(self.names) or any(n not in key for n in self.names):
            raise validation("The provided key element does not match the schema")
        try:
            return self.of_item(key)
        except Exception as error:
            if getattr(error, "code", None) == "ValidationException" and "Type mismatch" in str(error):
                raise validation("The provided key element does not match the schema") from None
            raise


def _type_mismatch(attr: KeyAttr, value: Any, index: str | None) -> NoReturn:
    kind = next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None
    actual = kind or "?"
    if index is not None:
        raise invalid_parameter(
            f"Type mismatch for Index Key {attr.name} Expected: {attr.kind} Actual: {actual} IndexName: {index}"
        )
    raise invalid_parameter(f"Type mismatch for key {attr.name} expected: {attr.kind} actual: {actual}")


def _check_encoded(attr: KeyAttr, encoded: bytes, is_hash: bool, index: str | None) -> None:
    """Refuse an empty S or B key value, or one over the size limit of its key."""
    kind = attr.kind
    if not encoded and kind != "N":
        if index is not None:
            raise validation(
                "One or more parameter values are not valid. A value specified for a secondary index"
                " key is not supported. The AttributeValue for a key attribute cannot contain an empty"
                f" {'string' if kind == 'S' else 'binary'} value. IndexName: {index}, IndexKey: {attr.name}"
            )
        raise validation(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot"
            f" contain an empty {'string' if kind == 'S' else 'binary'} value. Key: {attr.name}"
        )
    if is_hash and len(encoded) > MAX_HASH_KEY:
        raise invalid_parameter("Size of hashkey has exceeded the maximum size limit of2048 bytes")
    if not is_hash and len(encoded) > MAX_RANGE_KEY:
        raise invalid_parameter("Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
