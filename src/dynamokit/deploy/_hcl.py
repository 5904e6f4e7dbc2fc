"""A small HCL writer: blocks, attributes, strings, numbers, lists, objects and raw expressions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class Expr(str):
    """An HCL expression written as is (a reference, a function call, a template string)."""


@dataclass
class Block:
    """`type "label" ... { body }`; the body is (name, value) pairs, a Block value being a nested block."""

    type: str
    labels: tuple[str, ...] = ()
    body: list[tuple[str, Any]] = field(default_factory=list)

    def add(self, name: str, value: Any) -> Block:
        if value is not None:
            self.body.append((name, value))
        return self


def render(blocks: list[Block]) -> str:
    return "\n".join(_block(b, 0) for b in blocks)


def _block(block: Block, depth: int) -> str:
    pad = "  " * depth
    head = " ".join([block.type, *(json.dumps(label) for label in block.labels)])
    lines = [f"{pad}{head} {{"]
    for name, value in block.body:
        if isinstance(value, Block):
            lines.append(_block(value, depth + 1))
        else:
            lines.append(f"{pad}  {name} = {_value(value, depth + 1)}")
    lines.append(f"{pad}}}")
    return "\n".join(lines) + ("\n" if depth == 0 else "")


def string(text: str) -> str:
    """An HCL string literal (no interpolation)."""
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def _value(value: Any, depth: int) -> str:
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return string(value)
    pad = "  " * depth
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"{pad}  {_value(v, depth + 1)},\n" for v in value) + f"{pad}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{\n" + "".join(f"{pad}  {string(k)} = {_value(v, depth + 1)}\n" for k, v in value.items()) + f"{pad}}}"
    raise TypeError(f"no HCL for {value!r}")
