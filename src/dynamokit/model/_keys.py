"""Key templates such as "USER#{org}#{user_id}": rendering with sortable encodings, prefixes and parsing.

A template's delimiters are the characters next to its fields that are not letters or digits (`#` in
`ORDER#{a}#ITEM#{b}`). In a field's text they are escaped (`Escaping`), so a value can never end its slot
early: a="A", b="B#ITEM#C" and a="A#ITEM#B", b="C" render different keys. The escapes keep order and prefixes.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import ModelError
from ._generated import define

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?\}")


def encode_part(value: Any, width: int = 0) -> str:
    """A key component whose text order is its value order: zero-padded ints, UTC ISO datetimes."""
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is dt.datetime and value.year >= 1000:
        return _utc_text(value)
    if isinstance(value, enum.Enum):
        inner = value._value_  # what .value returns, without its descriptor call
        return inner if inner.__class__ is str else encode_part(inner, width)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if width:
            if value < 0:
                raise ModelError(f"zero-padded key components cannot be negative ({value})")
            return str(value).zfill(width)
        return str(value)
    if isinstance(value, dt.datetime):
        moment: dt.datetime = value
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value) if not isinstance(value, dt.date) else value.isoformat()


_CODES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Escaping:
    """Order-preserving escapes of a set of delimiter characters in field text.

    Each run of consecutive delimiter code points [lo..hi] gets a shadow, the character just below lo:
    the shadow becomes shadow + "0", and lo + k becomes shadow + _CODES[k + 1]. Every other character is
    kept. Escaped text therefore holds no delimiter, compares (by code point, and so by UTF-8 bytes) exactly
    as the raw text does, and the escape of a prefix is a prefix of the escape (so begins_with works).
    E.g. with delimiter "#": `B#C` -> `B"1C`, `say "hi"` -> `say "0hi"0`.
    """

    def __init__(self, delimiters: frozenset[str]) -> None:
        self.delimiters = delimiters
        table: dict[int, str] = {}
        back: dict[str, str] = {}
        points = sorted(ord(c) for c in delimiters)
        runs: list[list[int]] = []
        for point in points:
            if runs and runs[-1][-1] == point - 1:
                runs[-1].append(point)
            else:
                runs.append([point])
        for run in runs:
            if run[0] == 0 or len(run) >= len(_CODES):
                raise ModelError(f"key template delimiters {sorted(delimiters)} cannot be escaped")
            shadow = chr(run[0] - 1)
            for code, point in zip(_CODES, [run[0] - 1, *run], strict=False):
                table[point] = shadow + code
                back[shadow + code] = chr(point)
        self.special = tuple(chr(p) for p in sorted(table))  # every character that escapes
        self._table, self._back = table, back
        shadows = "".join(sorted({pair[0] for pair in back}))
        self._pairs = re.compile(f"[{re.escape(shadows)}].", re.DOTALL) if shadows else None

    def escape(self, text: str) -> str:
        return text.translate(self._table) if self._table else text

    def unescape(self, text: str) -> str | None:
        """The raw text of an escaped one; None if it is not the escape of anything."""
        if self._pairs is None:
            return text
        if any(c in self.delimiters for c in text):
            return None
        try:
            raw = self._pairs.sub(lambda m: self._back[m.group()], text)
        except KeyError:
            return None
        return raw if self.escape(raw) == text else None

    def clean(self, var: str) -> str:
        """Source text of a test that str variable `var` needs no escaping."""
        return " and ".join(f"{c!r} not in {var}" for c in self.special) or "True"


def _compile_render(
    text: str, parts: tuple[str | tuple[str, int], ...], escaping: Escaping
) -> Callable[[Mapping[str, Any]], str | None]:
    """`render` for one template as straight-line code: no loop, no dispatch for str inputs."""
    lines = ["def render(values):"]
    pieces = []
    for index, part in enumerate(parts):
        if isinstance(part, str):
            pieces.append(repr(part))
            continue
        name, width = part
        var = f"v{index}"
        lines += [
            f"    {var} = values.get({name!r})",
            f"    if {var} is None: return None",
            f"    if {var}.__class__ is not str: {var} = _text({var}, {width})",
        ]
        pieces.append(f"({var} if {escaping.clean(var)} else _escape({var}))")
    lines.append(f"    return {' + '.join(pieces) or repr('')}")
    namespace: dict[str, Any] = {"_text": encode_part, "_escape": escaping.escape}
    (render,) = define("\n".join(lines), f"<dynamokit template {text!r}>", namespace, "render")
    return render  # type: ignore[no-any-return]


def _utc_text(value: dt.datetime) -> str:
    """`2024-01-02T03:04:05.000006Z`: the UTC moment (naive datetimes taken as UTC), always with microseconds."""
    zone = value.tzinfo
    if zone is None:
        text = value.isoformat()
    else:
        offset = zone.utcoffset(value)
        if offset:
            text = (value - offset).replace(tzinfo=None).isoformat()
        else:
            text = value.isoformat()[:-6]  # drop "+00:00"
    return text + ".000000Z" if value.microsecond == 0 else text + "Z"


@dataclass(frozen=True)
class Template:
    """A parsed key template: literal text and {field} / {field:width} slots."""

    text: str
    parts: tuple[str | tuple[str, int], ...] = field(init=False, compare=False)
    fields: tuple[str, ...] = field(init=False, compare=False)
    head: str = field(init=False, compare=False)  # the literal text before the first field
    escaping: Escaping = field(init=False, compare=False, repr=False)
    _pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        parts: list[str | tuple[str, int]] = []
        at = 0
        for match in _FIELD.finditer(self.text):
            literal = self.text[at : match.start()]
            if literal:
                parts.append(literal)
            parts.append((match.group(1), int(match.group(2) or 0)))
            at = match.end()
        if "{" in self.text[at:] or "}" in self.text[at:]:
            raise ModelError(f"bad key template {self.text!r}")
        if self.text[at:]:
            parts.append(self.text[at:])
        names = tuple(p[0] for p in parts if isinstance(p, tuple))
        if len(set(names)) != len(names):
            raise ModelError(f"key template {self.text!r} repeats a field")
        delimiters = _delimiters(parts)
        escaping = Escaping(delimiters)
        slot = f"[^{re.escape(''.join(sorted(delimiters)))}]*" if delimiters else ".*?"
        regex = ""
        for position, part in enumerate(parts):
            if isinstance(part, str):
                regex += re.escape(part)
                continue
            after = parts[position + 1] if position + 1 < len(parts) else None
            if isinstance(after, tuple) or (
                isinstance(after, str)
                and after[0].isalnum()
                and any(isinstance(p, tuple) for p in parts[position + 1 :])
            ):
                raise ModelError(
                    f"key template {self.text!r}: field {{{part[0]}}} must be followed by a delimiter (not a "
                    f"letter or digit, e.g. '#'), or different values could render the same key"
                )
            regex += f"(?P<{part[0]}>{slot})"
        object.__setattr__(self, "parts", tuple(parts))
        object.__setattr__(self, "fields", names)
        object.__setattr__(self, "escaping", escaping)
        object.__setattr__(self, "_pattern", re.compile(regex + r"\Z", re.DOTALL))
        object.__setattr__(self, "render", _compile_render(self.text, tuple(parts), escaping))
        object.__setattr__(self, "head", parts[0] if parts and isinstance(parts[0], str) else "")

    def render(self, values: Mapping[str, Any]) -> str | None:  # replaced per instance by a compiled one
        """The key text, or None when an input is missing or None (the item leaves a sparse index)."""
        raise NotImplementedError

    def prefix(self, values: Mapping[str, Any]) -> str:
        """The text up to the first missing input, with the literal that follows the last given one."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = values.get(part[0])
            if value is None:
                break
            out.append(self.escaping.escape(encode_part(value, part[1])))
        return "".join(out)

    def partial(self, values: Mapping[str, Any], last: str) -> str:
        """The text up to and including field `last`, whose value may be the start of one (no delimiter after
        it): a str value is taken as text, anything else is encoded as a whole value."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, width = part
            value = values[name]
            out.append(self.escaping.escape(value if isinstance(value, str) else encode_part(value, width)))
            if name == last:
                break
        return "".join(out)

    def leading(self, values: Mapping[str, Any]) -> list[str]:
        """Given inputs must be a leading run of this template's fields; returns their names."""
        given = [name for name in self.fields if values.get(name) is not None]
        if given != list(self.fields[: len(given)]):
            raise ModelError(f"sort key {self.text!r}: give fields in order {list(self.fields)}, got {given}")
        extra = set(values) - set(self.fields)
        if extra:
            raise ModelError(f"sort key {self.text!r} has no field(s) {sorted(extra)}")
        return given

    def parse(self, text: str) -> dict[str, str] | None:
        """The inputs of a rendered key as text, unescaped (the model types them); None if it does not match."""
        match = self._pattern.match(text)
        if match is None:
            return None
        out = {}
        for name, escaped in match.groupdict().items():
            raw = self.escaping.unescape(escaped)
            if raw is None:
                return None
            out[name] = raw
        return out

    def overlaps(self, other: Template) -> bool:
        """Whether some inputs of this template and some of `other` render the same text.

        Each template is a regular language: literal characters, and per field any text without that
        template's delimiters (escaped text never holds one). Two languages meet when a walk through both
        reaches their ends together.
        """
        mine, theirs = _tokens(self), _tokens(other)
        seen, todo = set(), [(0, 0)]
        while todo:
            state = todo.pop()
            if state in seen:
                continue
            seen.add(state)
            i, j = state
            if i == len(mine) and j == len(theirs):
                return True
            a = mine[i] if i < len(mine) else None
            b = theirs[j] if j < len(theirs) else None
            if isinstance(a, frozenset):
                todo.append((i + 1, j))  # the field ends here
            if isinstance(b, frozenset):
                todo.append((i, j + 1))
            if isinstance(a, str) and isinstance(b, str):
                if a == b:
                    todo.append((i + 1, j + 1))
            elif isinstance(a, str) and isinstance(b, frozenset) and a not in b:
                todo.append((i + 1, j))  # their field takes this character
            elif isinstance(b, str) and isinstance(a, frozenset) and b not in a:
                todo.append((i, j + 1))
        return False


def _delimiters(parts: Sequence[str | tuple[str, int]]) -> frozenset[str]:
    """The characters next to a field (the last before it, the first after it) that are not letters or
    digits: the characters that delimit field values, and so are escaped in them."""
    out = set()
    for position, part in enumerate(parts):
        if isinstance(part, str):
            continue
        before = parts[position - 1] if position else None
        after = parts[position + 1] if position + 1 < len(parts) else None
        if isinstance(before, str) and not before[-1].isalnum():
            out.add(before[-1])
        if isinstance(after, str) and not after[0].isalnum():
            out.add(after[0])
    return frozenset(out)


def _tokens(template: Template) -> list[str | frozenset[str]]:
    """A template as characters of literal text and, per field, the characters its text cannot hold."""
    out: list[str | frozenset[str]] = []
    for part in template.parts:
        if isinstance(part, str):
            out += list(part)
        else:
            out.append(template.escaping.delimiters)
    return out


@dataclass(frozen=True)
class Index:
    """An entity's key on a table GSI: `Index("gsi1", pk="AUTHOR#{author}", sk="POST#{created}")`."""

    name: str
    pk: str
    sk: str | None = None

    @property
    def templates(self) -> tuple[Template, Template | None]:
        return Template(self.pk), Template(self.sk) if self.sk is not None else None


@dataclass(frozen=True)
class KeyDef:
    """One resolved key of an entity: the table's key attribute names and the entity's templates."""

    alias: str  # "primary" or the entity's index alias
    index: str | None  # GSI name, None for the table's primary key
    pk_attr: str
    sk_attr: str | None
    pk: Template
    sk: Template | None
    sk_type: str = "S"  # "N": the sort key attribute is a number (its text is the number)

    @property
    def fields(self) -> tuple[str, ...]:
        return self.pk.fields + (self.sk.fields if self.sk else ())

    def render(self, values: Mapping[str, Any]) -> dict[str, str] | None:
        """The key attributes as text, or None if any input is missing (a sparse index leaves it out)."""
        pk = self.pk.render(values)
        if pk is None:
            return None
        if self.sk is None or self.sk_attr is None:
            return {self.pk_attr: pk}
        sk = self.sk.render(values)
        return None if sk is None else {self.pk_attr: pk, self.sk_attr: sk}

    def overlaps(self, other: KeyDef) -> bool:
        """Whether this key and `other` (on the same attributes) can render the same key for some inputs."""
        if not self.pk.overlaps(other.pk):
            return False
        if self.sk is None or other.sk is None:
            return self.sk is None and other.sk is None
        return self.sk.overlaps(other.sk)


class Keys:
    """Primary key templates and GSI keys by alias: `Keys(pk=..., sk=..., by_x=Index(...))`."""

    def __init__(self, pk: str, sk: str | None = None, **indexes: Index) -> None:
        self.pk, self.sk = Template(pk), Template(sk) if sk is not None else None
        self.indexes = indexes

    @property
    def fields(self) -> tuple[str, ...]:
        """The inputs of the primary key."""
        return self.pk.fields + (self.sk.fields if self.sk else ())
