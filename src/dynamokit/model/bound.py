"""An entity bound to its table: resolved keys, item conversion, and typed field coercion."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Generic

from pydantic import TypeAdapter

from .builders import Attr, Condition, attr
from .entity import E
from .errors import ModelError
from .keys import KeyDef, encode_part
from .table import Table
from .values import AttributeValue, Item, from_item

UNIQUE_TYPE = "_unique"


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
            self.indexes[alias] = KeyDef(alias, gsi.name, gsi.pk_attr, gsi.sk_attr, pk, sk)
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
            name: TypeAdapter(info.annotation) for name, info in entity.model_fields.items()
        }
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
        return self.entity.encode(path, self.coerce(path, value))

    def key(self, values: Mapping[str, Any]) -> Item:
        """The primary key item of the entity identified by `values` (its primary key inputs)."""
        missing = [f for f in self.primary.fields if values.get(f) is None]
        if missing:
            raise ModelError(f"{self.name}: the key needs {missing}")
        typed = {f: self.coerce(f, values[f]) for f in self.primary.fields}
        rendered = self.primary.render(typed)
        assert rendered is not None
        return {name: {"S": text} for name, text in rendered.items()}

    def item(self, entity: E) -> Item:
        """The full item of an entity: fields, every derived key it has inputs for, and the type marker."""
        item = entity.attributes()
        values = entity.__dict__
        for key in self.keys:
            rendered = key.render(values)
            if rendered is None:
                if key.index is None:
                    raise ModelError(f"{self.name}: primary key inputs {list(key.fields)} are missing")
                continue
            for name, text in rendered.items():
                item[name] = {"S": text}
        item[self.table.type_attribute] = {"S": self.name}
        return item

    def decode(self, item: Mapping[str, AttributeValue]) -> E:
        return self.entity.from_item(item)

    def plain(self, item: Mapping[str, AttributeValue]) -> dict[str, Any]:
        """An item (e.g. a projection) as plain values, without derived keys and marker."""
        hidden = self.key_attributes | {self.table.type_attribute}
        return {k: v for k, v in from_item(item).items() if k not in hidden}

    def exists(self) -> Condition:
        return attr(self.table.pk).exists()

    def absent(self) -> Condition:
        return attr(self.table.pk).not_exists()

    def equals(self, name: str, value: Any) -> Condition:
        """The attribute holds `value` (absent when None)."""
        path: Attr = attr(name)
        return path.not_exists() if value is None else path == value

    def sentinel(self, name: str, value: Any) -> Item:
        """The key of the item that reserves `value` of unique field `name`."""
        text = f"{UNIQUE_TYPE}#{self.name}#{name}#{encode_part(value)}"
        key = {self.table.pk: {"S": text}}
        if self.table.sk:
            key[self.table.sk] = {"S": text}
        return key
