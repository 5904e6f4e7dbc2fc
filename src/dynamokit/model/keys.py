"""Key templates such as "USER#{org}#{user_id}": rendering with sortable encodings, prefixes and parsing."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ModelError
from .generated import define

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?\}")


def encode_part(value: Any, width: int = 0) -> str:
    """A key component whose text order is its value order: zero-padded ints, UTC ISO datetimes."""
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is dt.datetime and value.year >= 1000:
        return _utc_text(value)
    if isinstance(value, enum.Enum):
        return encode_part(value.value, width)
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


def _compile_render(
    text: str, parts: tuple[str | tuple[str, int], ...]
) -> Callable[[Mapping[str, Any]], str | None]:
    """`render` for one template as straight-line code: no loop, no dispatch for str inputs."""
    lines = ["def render(values):"]
    pieces = []
    for index, part in enumerate(parts):
        if isinstance(part, str):
            pieces.append(repr(part))
            continue
        name, width = part
        lines += [f"    v{index} = values.get({name!r})", f"    if v{index} is None: return None"]
        pieces.append(f"(v{index} if v{index}.__class__ is str else _encode(v{index}, {width}))")
    lines.append(f"    return {' + '.join(pieces) or repr('')}")
    namespace: dict[str, Any] = {"_encode": encode_part}
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
    _pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        parts: list[str | tuple[str, int]] = []
        regex, at = "", 0
        for match in _FIELD.finditer(self.text):
            literal = self.text[at : match.start()]
            if literal:
                parts.append(literal)
                regex += re.escape(literal)
            name = match.group(1)
            parts.append((name, int(match.group(2) or 0)))
            regex += f"(?P<{name}>.*?)"
            at = match.end()
        if "{" in self.text[at:] or "}" in self.text[at:]:
            raise ModelError(f"bad key template {self.text!r}")
        if self.text[at:]:
            parts.append(self.text[at:])
            regex += re.escape(self.text[at:])
        names = tuple(p[0] for p in parts if isinstance(p, tuple))
        if len(set(names)) != len(names):
            raise ModelError(f"key template {self.text!r} repeats a field")
        object.__setattr__(self, "parts", tuple(parts))
        object.__setattr__(self, "fields", names)
        object.__setattr__(self, "_pattern", re.compile(regex + r"\Z", re.DOTALL))
        object.__setattr__(self, "render", _compile_render(self.text, tuple(parts)))
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
            out.append(encode_part(value, part[1]))
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
        """The inputs of a rendered key as text (the model types them); None if it does not match."""
        match = self._pattern.match(text)
        return match.groupdict() if match else None


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


class Keys:
    """Primary key templates and GSI keys by alias: `Keys(pk=..., sk=..., by_x=Index(...))`."""

    def __init__(self, pk: str, sk: str | None = None, **indexes: Index) -> None:
        self.pk, self.sk = Template(pk), Template(sk) if sk is not None else None
        self.indexes = indexes

    @property
    def fields(self) -> tuple[str, ...]:
        """The inputs of the primary key."""
        return self.pk.fields + (self.sk.fields if self.sk else ())
