"""Sort-key spans of item collections: which key range holds a collection's members, and nothing else.

Each member's items on the collection's key start with the literal text of its sort-key template before the
first field (its head; `POST#` for `POST#{post_id}`), so a collection reads one range from its lowest head to
just past its highest. Members share the leading fields of their templates (`ISSUE#{number}` in
`ISSUE#{number}` and `ISSUE#{number}#COMMENT#{id}`): values for these narrow the range further. Another
entity of the table whose partition template can meet the collection's and whose head falls inside the
range is a stray: a query must read (and pay for) its items, then drop them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._bound import Bound
from ._errors import ModelError
from ._keys import KeyDef, Template

TOP = "\U0010ffff"  # sorts after every other character: closes a prefix range


@dataclass(frozen=True)
class Span:
    """An inclusive range of sort-key text; None: unbounded on that side."""

    low: str | None
    high: str | None

    def meets(self, other: Span) -> bool:
        return not (
            (self.high is not None and other.low is not None and self.high < other.low)
            or (self.low is not None and other.high is not None and self.low > other.high)
        )

    def within(self, other: Span) -> Span:
        """This span cut to `other`."""
        low = self.low if other.low is None else other.low if self.low is None else max(self.low, other.low)
        high = (
            self.high
            if other.high is None
            else other.high
            if self.high is None
            else min(self.high, other.high)
        )
        return Span(low, high)

    @property
    def empty(self) -> bool:
        return self.low is not None and self.high is not None and self.low > self.high

    def condition(self) -> tuple[str, tuple[str, ...]] | None:
        """The sort-key condition selecting this span: (operator, operands), or None for everything."""
        if self.low is None and self.high is None:
            return None
        if self.low is None:
            return "<=", (self.high or "",)
        if self.high is None:
            return ">=", (self.low,)
        if self.low == self.high:
            return "=", (self.low,)
        if self.high == self.low + TOP:
            return "begins_with", (self.low,)
        return "BETWEEN", (self.low, self.high)


def subtree(template: Template, values: Mapping[str, Any]) -> Span:
    """The sort keys a template can render once `values` (leading fields) are fixed."""
    text = template.prefix(values)
    complete = all(values.get(f) is not None for f in template.fields)
    if not text and not complete:
        return Span(None, None)
    return Span(text, text if complete else text + TOP)


def below(text: str) -> str | None:
    """The greatest practical key text below `text` (None: nothing is below it)."""
    if not text:
        return None
    last = ord(text[-1])
    return text[:-1] if last == 0 else text[:-1] + chr(last - 1) + TOP


def shared_fields(templates: Sequence[Template]) -> tuple[str, ...]:
    """The leading fields every template has at the same place, after the same literal text."""
    out: list[str] = []
    for parts in zip(*(t.parts for t in templates), strict=False):
        if any(p != parts[0] for p in parts):
            break
        if isinstance(parts[0], tuple):
            out.append(parts[0][0])
    return tuple(out) if len(templates) > 0 and all(t.parts for t in templates) else ()


@dataclass(frozen=True)
class Plan:
    """How a collection is read: its members' sort templates, shared fields, base span and strays."""

    key: KeyDef
    templates: tuple[Template, ...]  # the members' sort-key templates on the collection's key
    shared: tuple[str, ...]  # sort-key fields every member template starts with
    base: Span  # the span of every member item of a partition
    strays: tuple[str, ...]  # other entities whose items the base span can hold

    def span(self, values: Mapping[str, Any]) -> Span:
        """The span of member items whose leading shared fields have these values."""
        spans = [subtree(t, values) for t in self.templates]
        lows = [s.low for s in spans]
        highs = [s.high for s in spans]
        low = None if None in lows else min(x for x in lows if x is not None)
        high = None if None in highs else max(x for x in highs if x is not None)
        return Span(low, high).within(self.base)

    def check(self, collection: str, values: Mapping[str, Any]) -> list[str]:
        """Given sort-key values must be a leading run of the shared fields; returns their names."""
        if self.key.sk is None or self.key.sk_type == "N" or not self.templates:
            if values:
                raise ModelError(f"collection '{collection}': its key has no text sort key to narrow")
            return []
        given = [f for f in self.shared if values.get(f) is not None]
        extra = set(values) - set(self.shared)
        if extra or given != list(self.shared[: len(given)]):
            raise ModelError(
                f"collection '{collection}': sort-key values must be leading fields its members share "
                f"{list(self.shared)}, got {sorted(values)}"
            )
        return given

    @property
    def note(self) -> str:
        """What a read of the collection costs beyond its members (for `model show`)."""
        if not self.strays:
            return "members only"
        return f"also reads {', '.join(self.strays)} (dropped, billed)"


def plan(key: KeyDef, members: Sequence[Bound[Any]], others: Sequence[Bound[Any]]) -> Plan:
    """The plan of a collection on `key` with these member entities; `others` are the table's other entities."""
    keys = [_key_on(b, key.index) for b in members]
    textual = key.sk is not None and key.sk_attr is not None and key.sk_type != "N"
    templates = tuple(k.sk for k in keys if k is not None and k.sk is not None) if textual else ()
    base = Span(None, None)
    if textual and len(templates) == len(keys):
        spans = [subtree(t, {}) for t in templates]
        if all(s.low is not None for s in spans):
            base = Span(min(s.low or "" for s in spans), max(s.high or "" for s in spans))
    strays = []
    for other in others:
        theirs = _key_on(other, key.index)
        if theirs is None or not theirs.pk.overlaps(key.pk):
            continue
        if theirs.sk is None or not textual or subtree(theirs.sk, {}).meets(base):
            strays.append(other.name)
    shared = shared_fields(templates) if templates else ()
    return Plan(key, templates, shared, base, tuple(strays))


def _key_on(bound: Bound[Any], index: str | None) -> KeyDef | None:
    return next((k for k in bound.keys if k.index == index), None)
