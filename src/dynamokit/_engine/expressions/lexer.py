"""Tokens of the DynamoDB expression language."""

from __future__ import annotations

import re
from typing import NamedTuple

# Token kinds.
NAME = "name"  # bare identifier: attribute name, keyword or function name
NAME_REF = "#"  # expression attribute name placeholder
VALUE_REF = ":"  # expression attribute value placeholder
NUMBER = "number"  # list index digits
PUNCT = "punct"  # ( ) [ ] , . + - and the comparators
BAD = "bad"  # a character no rule accepts
EOF = "<EOF>"

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<name>[A-Za-z][A-Za-z0-9_]*)
  | (?P<ref>[\#:][A-Za-z0-9_]+)
  | (?P<number>[0-9]+)
  | (?P<punct><>|<=|>=|[()\[\],.+\-=<>])
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class Token(NamedTuple):
    kind: str
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """All tokens of `text`, ending with an EOF token; never fails (bad characters become BAD tokens)."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        group = match.lastgroup
        if group == "ws":
            continue
        value = match.group()
        if group == "ref":
            kind = value[0]
        elif group == "name":
            kind = NAME
        elif group == "number":
            kind = NUMBER
        elif group == "punct":
            kind = PUNCT
        else:
            kind = BAD
        tokens.append(Token(kind, value, match.start(), match.end()))
    end = tokens[-1].end if tokens else 0
    tokens.append(Token(EOF, EOF, end, end))
    return tokens
