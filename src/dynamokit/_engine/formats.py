"""The data formats of exports and imports: DynamoDB JSON lines, Amazon Ion text lines, CSV.

Ion is written and read as DynamoDB uses it (a subset of Ion text): `$ion_1_0 {Item:{...}}` per line, N as
Ion decimals, B as blobs, sets as lists annotated `$dynamodb_SS`/`$dynamodb_NS`/`$dynamodb_BS`, M as structs.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

_DECODER = json.JSONDecoder()


# -- DynamoDB JSON -------------------------------------------------------------------------------------------

def json_values(text: str) -> Iterator[Any]:
    """The JSON values of one line; a line may hold several values written back to back (as DynamoDB
    accepts). Raises ValueError where the text stops being JSON."""
    try:
        yield orjson.loads(text)
        return
    except orjson.JSONDecodeError:
        pass
    position, end = 0, len(text)
    while position < end:
        while position < end and text[position] in " \t\r\n":
            position += 1
        if position == end:
            return
        value, position = _DECODER.raw_decode(text, position)
        yield value


# -- Ion -----------------------------------------------------------------------------------------------------

def _ion_number(text: str) -> str:
    """A DynamoDB number as an Ion decimal (1.5, 103., 1d+5)."""
    if "e" in text or "E" in text:
        return text.replace("e", "d").replace("E", "d")
    return text if "." in text else text + "."


def _ion_string(text: str) -> str:
    return orjson.dumps(text).decode()


def ion_value(value: dict[str, Any]) -> str:
    """One attribute value in Ion text."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return _ion_string(inner)
    if kind == "N":
        return _ion_number(inner)
    if kind == "B":
        return "{{" + inner + "}}"
    if kind == "BOOL":
        return "true" if inner else "false"
    if kind == "NULL":
        return "null"
    if kind == "SS":
        return "$dynamodb_SS::[" + ",".join(map(_ion_string, inner)) + "]"
    if kind == "NS":
        return "$dynamodb_NS::[" + ",".join(map(_ion_number, inner)) + "]"
    if kind == "BS":
        return "$dynamodb_BS::[" + ",".join("{{" + b + "}}" for b in inner) + "]"
    if kind == "L":
        return "[" + ",".join(map(ion_value, inner)) + "]"
    if kind == "M":
        return ion_item(inner)
    raise ValueError(f"unknown attribute type {kind}")


def ion_item(item: dict[str, Any]) -> str:
    return "{" + ",".join(f"{_ion_string(name)}:{ion_value(value)}" for name, value in item.items()) + "}"


def ion_line(document: dict[str, Any]) -> bytes:
    """An export line ({"Item": item} or an incremental record) as an Ion text line."""
    return ("$ion_1_0 {" + ",".join(f"{name}:{ion_item(value)}" for name, value in document.items())
            + "}\n").encode()


_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<blob>\{\{\s*(?P<b64>[A-Za-z0-9+/=\s]*)\}\})
  | (?P<punct>[{}\[\],:])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<symbol>'(?:[^'\\]|\\.)*')
  | (?P<annotation>(?:[A-Za-z_$][A-Za-z0-9_$]*|'(?:[^'\\]|\\.)*')\s*::)
  | (?P<number>[-+]?(?:\d[\d_]*)(?:\.\d*)?(?:[dDeE][-+]?\d+)?|[-+]?\.\d+(?:[dDeE][-+]?\d+)?)
  | (?P<word>[A-Za-z_$][A-Za-z0-9_$.]*)
""", re.VERBOSE | re.DOTALL)


def _ion_tokens(text: str) -> Iterator[tuple[str, str, str | None]]:
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"not Ion text at {position}: {text[position:position + 20]!r}")
        position = match.end()
        kind = match.lastgroup
        if kind == "space":
            continue
        if kind == "blob":
            yield "blob", "".join((match.group("b64") or "").split()), None
        elif kind == "annotation":
            yield "annotation", match.group(0)[:-2].strip().strip("'"), None
        else:
            yield kind or "", match.group(0), None


def _unquote(token: str) -> str:
    body = token[1:-1]
    if "\\" not in body:
        return body
    if token[0] == "'":
        body = body.replace('"', '\\"').replace("\\'", "'")
    return str(json.loads('"' + body + '"'))


def _ion_decimal(text: str) -> str:
    text = text.replace("_", "").replace("d", "E").replace("D", "E").lstrip("+")
    mantissa, _, exponent = text.partition("E")
    mantissa = mantissa.removesuffix(".")
    return mantissa + ("E" + exponent if exponent else "")


class _IonReader:
    def __init__(self, text: str) -> None:
        self.tokens = list(_ion_tokens(text))
        self.at = 0

    def next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise ValueError("unexpected end of Ion text")
        kind, text, _ = self.tokens[self.at]
        self.at += 1
        return kind, text

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def value(self) -> dict[str, Any]:
        """The next Ion value as a DynamoDB attribute value."""
        annotations = []
        kind, text = self.next()
        while kind == "annotation":
            annotations.append(text)
            kind, text = self.next()
        if text == "{" and kind == "punct":
            return {"M": self.struct()}
        if text == "[" and kind == "punct":
            members = []
            while self.peek() != "]":
                members.append(self.value())
                if self.peek() == ",":
                    self.next()
            self.next()
            for annotation, set_kind, inner in (("$dynamodb_SS", "SS", "S"), ("$dynamodb_NS", "NS", "N"),
                                                ("$dynamodb_BS", "BS", "B")):
                if annotation in annotations:
                    return {set_kind: [m[inner] for m in members]}
            return {"L": members}
        if kind == "string":
            return {"S": _unquote(text)}
        if kind == "symbol":
            return {"S": _unquote(text)}
        if kind == "number":
            return {"N": _ion_decimal(text)}
        if kind == "blob":
            base64.b64decode(text, validate=True)
            return {"B": text}
        if kind == "word":
            if text in ("true", "false"):
                return {"BOOL": text == "true"}
            if text == "null" or text.startswith("null."):
                return {"NULL": True}
            return {"S": text}
        raise ValueError(f"unexpected Ion token {text!r}")

    def struct(self) -> dict[str, Any]:
        """The fields of a struct whose `{` was read."""
        out: dict[str, Any] = {}
        while self.peek() != "}":
            kind, name = self.next()
            if kind in ("string", "symbol"):
                name = _unquote(name)
            elif kind != "word":
                raise ValueError(f"unexpected Ion field name {name!r}")
            colon = self.next()
            if colon[1] != ":":
                raise ValueError("expected ':' in an Ion struct")
            out[name] = self.value()
            if self.peek() == ",":
                self.next()
        self.next()
        return out


def ion_documents(text: str) -> Iterator[dict[str, Any]]:
    """The top-level structs of Ion text (version markers skipped), fields as DynamoDB attribute values."""
    reader = _IonReader(text)
    while reader.at < len(reader.tokens):
        kind, token = reader.next()
        if kind == "word" and token == "$ion_1_0":
            continue
        if token != "{":
            raise ValueError(f"expected an Ion struct, found {token!r}")
        yield {name: value.get("M", value) for name, value in reader.struct().items()}


# -- CSV ------------------------------------------------------------------------------------------------------

CSV_DELIMITERS = (",", "\t", ":", ";", "|", " ")


def csv_rows(text: str, delimiter: str, header: list[str] | None) -> Iterator[dict[str, str] | None]:
    """Each row as {column: text} (None for a row whose field count does not match the header)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for row in reader:
        if not row:
            continue
        if header is None:
            header = row
            continue
        yield dict(zip(header, row, strict=True)) if len(row) == len(header) else None


__all__ = ["CSV_DELIMITERS", "csv_rows", "ion_documents", "ion_item", "ion_line", "ion_value", "json_values"]
