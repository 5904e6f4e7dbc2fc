"""An entity bound to its table: resolved keys, item conversion, and typed field coercion."""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cached_property
from types import NoneType, UnionType
from typing import Any, Generic, cast

from pydantic import TypeAdapter

from ._builders import Attr, Condition, attr
from ._entity import E, Entity
from ._errors import ModelError
from ._generated import define
from ._keys import KeyDef, encode_part
from ._table import Table
from ._values import AttributeValue, Item, from_item, to_av

UNIQUE_TYPE = "_unique"


def _number_type(annotation: Any) -> type | None:
    """int or Decimal for `int`, `Decimal` and their `X | None`; else None."""
    if typing.get_origin(annotation) in (UnionType, typing.Union):
        rest = [a for a in typing.get_args(annotation) if a is not NoneType]
        annotation = rest[0] if len(rest) == 1 else None
    return annotation if annotation in (int, Decimal) else None


COUNTER_TYPE = "_refs"
RESERVED = (f"{UNIQUE_TYPE}#", f"{COUNTER_TYPE}#")  # key prefixes of the model's own items


class Bound(Generic[E]):
    """Everything the model needs to read and write one entity type in its table."""

    def __init__(self, entity: type[E], table: Table) -> None:
        self.entity, self.table, self.name = entity, table, entity.entity_name()
        keys = getattr(entity, "keys", None)
        if keys is None:
            raise ModelError(f"{entity.__name__} has no `keys = Keys(...)`")
        if (keys.sk is None) != (table.sk is None):
            raise ModelError(
                f"{self.name}: table '{table.name}' {'has' if table.sk else 'has no'} a sort key; "
                f"Keys(sk=...) must {'be' if table.sk else 'not be'} given"
            )
        self.primary = KeyDef("primary", None, table.pk, table.sk, keys.pk, keys.sk)
        self.indexes: dict[str, KeyDef] = {}
        for alias, index in keys.indexes.items():
            gsi = table.indexes.get(index.name)
            if gsi is None:
                raise ModelError(
                    f"{self.name}.{alias}: table '{table.name}' has no GSI '{index.name}' "
                    f"(it has {sorted(table.indexes) or 'none'})"
                )
            if (index.sk is None) != (gsi.sk_attr is None):
                raise ModelError(f"{self.name}.{alias}: GSI '{gsi.name}' sort key and Index(sk=...) disagree")
            if any(k.index == gsi.name for k in self.indexes.values()):
                raise ModelError(f"{self.name}: two keys on GSI '{gsi.name}'")
            pk, sk = index.templates
            if gsi.sk_type not in ("S", "N"):
                raise ModelError(f"GSI '{gsi.name}': sk_type must be 'S' or 'N', not {gsi.sk_type!r}")
            if gsi.sk_type == "N":
                numeric = sk is not None and len(sk.parts) == 1 and not isinstance(sk.parts[0], str)
                info = entity.model_fields.get(sk.fields[0]) if numeric and sk else None
                kind = info.annotation if info is not None else None
                if not numeric or sk is None or sk.parts[0][1] or _number_type(kind) is None:
                    raise ModelError(
                        f"{self.name}.{alias}: GSI '{gsi.name}' has a numeric sort key; its template must be "
                        f"exactly '{{field}}' naming an int or Decimal field, not {sk.text if sk else None!r}"
                    )
            self.indexes[alias] = KeyDef(alias, gsi.name, gsi.pk_attr, gsi.sk_attr, pk, sk, gsi.sk_type)
        fields = set(entity.model_fields)
        for key in self.keys:
            for template, attr_name in ((key.pk, key.pk_attr), (key.sk, key.sk_attr)):
                if template is None:
                    continue
                unknown = set(template.fields) - fields
                if unknown:
                    raise ModelError(
                        f"{self.name}.{key.alias}: template {template.text!r} uses unknown "
                        f"field(s) {sorted(unknown)}"
                    )
                if attr_name in fields and template.text != "{" + attr_name + "}":
                    raise ModelError(
                        f"{self.name}: field '{attr_name}' is also a key attribute of "
                        f"'{table.name}'; its template must be exactly '{{{attr_name}}}'"
                    )
        if table.type_attribute in fields:
            raise ModelError(f"{self.name}: field '{table.type_attribute}' clashes with the type marker")
        self.adapters: dict[str, TypeAdapter[Any]] = {
            name: TypeAdapter(cast(Any, info.annotation)) for name, info in entity.model_fields.items()
        }
        self.open_ended = not self.primary.pk.head  # its partition key text starts with a field value
        self.targets: dict[type[Entity], Bound[Any]] = {}  # referenced entity types (set by the App)
        self.codec = entity.codec()
        self.decode: Callable[[Mapping[str, AttributeValue]], E] = self.codec.decode
        self.version: int | None = (
            None  # the App's model version, written as `_v` once it declares migrations
        )
        self.plain_types = {
            name: info.annotation
            for name, info in entity.model_fields.items()
            if info.annotation in (str, int, bool)
        }

    @property
    def keys(self) -> list[KeyDef]:
        return [self.primary, *self.indexes.values()]

    @cached_property
    def key_attributes(self) -> frozenset[str]:
        """Every attribute the model derives from templates (never a field of its own)."""
        return frozenset(a for k in self.keys for a in (k.pk_attr, k.sk_attr) if a) - set(
            self.entity.model_fields
        )

    @cached_property
    def stamped(self) -> bool:
        """Whether writes set timestamps or a version (see `writes.stamp`)."""
        options = self.entity.options
        return bool(options.created or options.updated or options.version)

    @cached_property
    def index_inputs(self) -> frozenset[str]:
        """Every field a GSI key template of this entity uses."""
        return frozenset(f for key in self.indexes.values() for f in key.fields)

    def find_key(self, name: str | None) -> KeyDef:
        """A key by alias or GSI name (None: the primary key)."""
        for key in self.keys:
            if name in (key.alias, key.index):
                return key
        raise ModelError(f"{self.name} has no key '{name}' (keys: {[k.alias for k in self.keys]})")

    def coerce(self, name: str, value: Any) -> Any:
        """A top-level field value validated to its declared type (so keys render as on put)."""
        if value is None or type(value) is self.plain_types.get(name):
            return value
        adapter = self.adapters.get(name)
        return value if adapter is None else adapter.validate_python(value)

    def encode(self, path: str, value: Any) -> AttributeValue:
        """A field value as the attribute value a write stores (typed as on put; TTL as epoch seconds)."""
        if value.__class__ is self.plain_types.get(path):  # str, int or bool, exactly: nothing to convert
            return to_av(value)
        return self.entity.encode(path, self.coerce(path, value))

    @cached_property
    def key(self) -> Callable[[Mapping[str, Any]], Item]:
        """key(values): the primary key item of the entity identified by `values` (its primary key inputs),
        compiled: str inputs of str fields go straight into the templates; anything else via `_typed_key`."""
        fields = tuple(dict.fromkeys(self.primary.fields))
        if not fields or any(self.plain_types.get(f) is not str for f in fields):
            return self._guarded(self._typed_key)
        namespace: dict[str, Any] = {"_typed": self._typed_key}
        lines = ["def key(values):"]
        for index, name in enumerate(fields):
            lines += [
                f"    v{index} = values.get({name!r})",
                f"    if v{index}.__class__ is not str: return _typed(values)",
            ]
        pieces = []
        for number, (attribute, template) in enumerate(
            ((self.primary.pk_attr, self.primary.pk), (self.primary.sk_attr, self.primary.sk))
        ):
            if attribute is None or template is None:
                continue
            escaping = template.escaping
            namespace[f"_esc{number}"] = escaping.escape
            parts = []
            for p in template.parts:
                if isinstance(p, str):
                    parts.append(repr(p))
                    continue
                var = f"v{fields.index(p[0])}"
                parts.append(f"({var} if {escaping.clean(var)} else _esc{number}({var}))")
            pieces.append(f"{attribute!r}: {{'S': {' + '.join(parts) or repr('')}}}")
        lines.append(f"    return {{{', '.join(pieces)}}}")
        (build,) = define("\n".join(lines), f"<dynamokit key {self.name}>", namespace, "key")
        return self._guarded(build)

    def key_values(self, key: Mapping[str, AttributeValue]) -> dict[str, Any] | None:
        """The typed primary key inputs of a stored key (escapes undone); None if it is not this entity's."""
        out: dict[str, Any] = {}
        for attribute, template in (
            (self.primary.pk_attr, self.primary.pk),
            (self.primary.sk_attr, self.primary.sk),
        ):
            if attribute is None or template is None:
                continue
            text = key.get(attribute, {}).get("S")
            parsed = None if text is None else template.parse(text)
            if parsed is None:
                return None
            for name, value in parsed.items():
                typed = self.coerce(name, value)
                if out.setdefault(name, typed) != typed:
                    return None
        return out

    def _typed_key(self, values: Mapping[str, Any]) -> Item:
        missing = [f for f in dict.fromkeys(self.primary.fields) if values.get(f) is None]
        if missing:
            raise ModelError(f"{self.name}: the key needs {missing}")
        typed = {f: self.coerce(f, values[f]) for f in self.primary.fields}
        rendered = self.primary.render(typed)
        assert rendered is not None
        return {name: {"S": text} for name, text in rendered.items()}

    def item(self, entity: E) -> Item:
        """The full item of an entity: fields, every derived key it has inputs for, and the type marker."""
        return self._item(entity.__dict__)

    def _guarded(self, build: Callable[[Mapping[str, Any]], Item]) -> Callable[[Mapping[str, Any]], Item]:
        """`build`, refusing keys of the model's own items (unique values, reference counters), which a
        partition key starting with a field could otherwise name; other entities pay nothing."""
        if not self.open_ended:
            return build
        attribute = self.table.pk

        def guarded(values: Mapping[str, Any]) -> Item:
            item = build(values)
            text = item[attribute].get("S", "")
            if text.startswith(RESERVED):
                raise ModelError(f"{self.name}: key {text!r} is reserved for the model's own items")
            return item

        return guarded

    @cached_property
    def _item(self) -> Callable[[Mapping[str, Any]], Item]:
        """item(values) compiled for this entity: its fields, then each key's templates, then the marker."""
        namespace: dict[str, Any] = {"_encode": self.codec.encode, "_missing": self._missing_primary}
        lines = ["def item(values):", "    item = _encode(values)"]
        for number, key in enumerate(self.keys):
            templates = [(key.pk_attr, key.pk)] + ([(key.sk_attr, key.sk)] if key.sk and key.sk_attr else [])
            indent = "    "
            for part, (attribute, template) in enumerate(templates):
                namespace[f"_t{number}_{part}"] = template.render
                lines.append(f"{indent}k{part} = _t{number}_{part}(values)")
                if key.index is None:
                    lines.append(f"{indent}if k{part} is None: _missing()")
                else:
                    lines.append(f"{indent}if k{part} is not None:")
                    indent += "    "
            for part, (attribute, _) in enumerate(templates):
                tag = key.sk_type if part == 1 else "S"
                lines.append(f"{indent}item[{attribute!r}] = {{{tag!r}: k{part}}}")
        lines.append(f"    item[{self.table.type_attribute!r}] = {{'S': {self.name!r}}}")
        if self.version is not None:
            lines.append(f"    item['_v'] = {{'N': {str(self.version)!r}}}")
        lines.append("    return item")
        (build,) = define("\n".join(lines), f"<dynamokit item {self.name}>", namespace, "item")
        return self._guarded(build)

    def _missing_primary(self) -> None:
        raise ModelError(f"{self.name}: primary key inputs {list(self.primary.fields)} are missing")

    def plain(self, item: Mapping[str, AttributeValue]) -> dict[str, Any]:
        """An item (e.g. a projection) as plain values, without derived keys and marker."""
        hidden = self.key_attributes | {self.table.type_attribute, "_v"}
        return {k: v for k, v in from_item(item).items() if k not in hidden}

    def exists(self) -> Condition:
        return self._exists

    def absent(self) -> Condition:
        return self._absent

    @cached_property
    def _exists(self) -> Condition:
        return attr(self.table.pk).exists()

    @cached_property
    def _absent(self) -> Condition:
        return attr(self.table.pk).not_exists()

    def equals(self, name: str, value: Any) -> Condition:
        """The attribute holds `value` (absent when None)."""
        path: Attr = attr(name)
        return path.not_exists() if value is None else path == value

    @cached_property
    def counted(self) -> dict[str, Any]:
        """References whose targets keep a count of referrers (restrict and cascade; not ignore)."""
        return {n: r for n, r in self.entity.references.items() if r.on_delete != "ignore"}

    def counter_key(self, value: Any) -> Item:
        """The key of the item counting what references this entity's item `value` (its primary input)."""
        text = f"{COUNTER_TYPE}#{self.name}#{encode_part(value)}"
        key = {self.table.pk: {"S": text}}
        if self.table.sk:
            key[self.table.sk] = {"S": text}
        return key

    def sentinel(self, name: str, value: Any) -> Item:
        """The key of the item that reserves `value` of unique field `name`."""
        text = f"{UNIQUE_TYPE}#{self.name}#{name}#{encode_part(value)}"
        key = {self.table.pk: {"S": text}}
        if self.table.sk:
            key[self.table.sk] = {"S": text}
        return key
