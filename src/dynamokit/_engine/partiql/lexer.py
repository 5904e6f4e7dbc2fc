"""Tokens of DynamoDB's PartiQL: one linear pass, stopping at the first character no rule accepts."""

from __future__ import annotations

import re
from typing import NamedTuple

WORD = "word"  # bare identifier or keyword
QUOTED = "quoted"  # "double-quoted identifier"
STRING = "string"  # 'single-quoted string'
NUMBER = "number"
PARAM = "?"
PUNCT = "punct"
BAD = "bad"
EOF = "<EOF>"

# Possessive repeats keep every alternative linear: an unterminated quote fails without backtracking.
_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]++|--[^\n]*+)
  | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*+)
  | (?P<quoted>"(?:[^"]|"")*+")
  | (?P<string>'(?:[^']|'')*+')
  | (?P<number>(?:[0-9]++(?:\.[0-9]*+)?|\.[0-9]++)(?:[eE][+-]?[0-9]++)?)
  | (?P<param>\?)
  | (?P<punct><<|>>|<=|>=|<>|!=|[=<>()\[\]{},.:*+\-])
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class Token(NamedTuple):
    kind: str
    text: str  # identifiers and strings unquoted; keywords as written
    start: int


def tokenize(text: str) -> list[Token]:
    """The tokens of `text` ending with EOF, or ending with one BAD token at the first unreadable character."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind == "ws":
            continue
        if kind == "quoted":
            tokens.append(Token(QUOTED, value[1:-1].replace('""', '"'), match.start()))
        elif kind == "string":
            tokens.append(Token(STRING, value[1:-1].replace("''", "'"), match.start()))
        elif kind == "bad":
            tokens.append(Token(BAD, value, match.start()))
            return tokens
        else:
            tokens.append(Token({"word": WORD, "number": NUMBER, "param": PARAM}.get(kind or "", PUNCT), value,
                                match.start()))
    tokens.append(Token(EOF, "", len(text)))
    return tokens
