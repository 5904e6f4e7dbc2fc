"""Per-class codecs, compiled once: item -> model and model -> item without generic dispatch.

`Codec.of(cls)` generates one decode and one encode function for a pydantic model class from its field
annotations. Decoding builds the instance directly (as `model_construct` does) from values converted to
exactly the declared type — `str` from S, `int`/`Decimal`/`float` from N, `datetime` from ISO text (or epoch
seconds for the TTL field), enums by value, sets, lists, dicts and nested models recursively. Anything the fast
path cannot convert exactly — an attribute of an unexpected type, a missing required field, a field with
constraints or validators, a model config that changes validation — makes that item go through pydantic's
full validation instead, so the result is always what `model_validate` would accept, never less checked.
"""

from __future__ import annotations

import binascii
import datetime as dt
import enum
import typing
import uuid
import weakref
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import NoneType, UnionType
from typing import Any, ClassVar

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from ._generated import define
from ._values import AttributeValue, Item, _number, _set, from_av, from_item, to_av

Convert = Callable[[AttributeValue], Any]

# model_config keys that do not change how a valid input is validated (anything else: full validation)
_NEUTRAL_CONFIG = frozenset(
    {
        "title",
        "frozen",
        "extra",
        "populate_by_name",
        "validate_by_name",
        "validate_by_alias",
        "serialize_by_alias",
        "protected_namespaces",
        "json_schema_extra",
        "json_schema_mode_override",
        "json_schema_serialization_defaults_required",
        "json_encoders",
        "ser_json_timedelta",
        "ser_json_temporal",
        "ser_json_bytes",
        "ser_json_inf_nan",
        "use_attribute_docstrings",
        "validate_assignment",
        "revalidate_instances",
        "arbitrary_types_allowed",
        "defer_build",
        "plugin_settings",
        "cache_strings",
        "hide_input_in_errors",
        "alias_generator",
    }
)
_IMMUTABLE = (
    str,
    int,
    float,
    bool,
    bytes,
    Decimal,
    enum.Enum,
    dt.date,
    dt.time,
    uuid.UUID,
    frozenset,
    NoneType,
)
_EPOCH_MS = 2e10  # pydantic reads larger epoch numbers as milliseconds


class _Slow(Exception):
    """The fast path declines this input; pydantic validation decides."""


def _ttl(av: AttributeValue) -> dt.datetime:
    """A TTL attribute (epoch seconds) as pydantic reads it: an aware UTC datetime."""
    if "S" in av:
        return dt.datetime.fromisoformat(av["S"])
    seconds = int(av["N"])
    if abs(seconds) > _EPOCH_MS:
        raise _Slow
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class _Expressions:
    """Builds Python expressions converting an attribute value to exactly a declared type.

    `expression(annotation, v)` is the text of an expression over the attribute value `v` (an expression
    itself), or None where only pydantic can tell; objects it needs are placed in `namespace`. The
    expression raises (KeyError, ValueError, ...) on any input it cannot convert exactly; the caller then
    lets pydantic validate.
    """

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.count = 0

    def _name(self, value: Any, hint: str) -> str:
        self.count += 1
        name = f"_{hint}{self.count}"
        self.namespace[name] = value
        return name

    def _var(self) -> str:
        self.count += 1
        return f"x{self.count}"

    @staticmethod
    def _number(element: Any) -> str | None:
        return {int: "int", Decimal: "_Decimal", float: "float"}.get(element)

    def _member(self, kind: type[enum.Enum], text: str, tag: str) -> str | None:
        """An enum member by value from S or N text `text` (tag "S" or "N")."""
        by_value = {member.value: member for member in kind}
        kinds = {type(v) for v in by_value}
        if kinds == {str} and tag == "S":
            return f"{self._name(by_value, 'members')}[{text}]"
        if kinds == {int} and tag == "N":
            return f"{self._name(by_value, 'members')}[int({text})]"
        return None

    @staticmethod
    def _enum_tag(kind: type[enum.Enum]) -> str | None:
        kinds = {type(member.value) for member in kind}
        return "S" if kinds == {str} else "N" if kinds == {int} else None

    def expression(self, annotation: Any, v: str) -> str | None:
        simple = {
            str: '{v}["S"]',
            int: 'int({v}["N"])',
            Decimal: '_Decimal({v}["N"])',
            float: 'float({v}["N"])',
            bool: '_bool({v}["BOOL"])',
            bytes: '_b64({v}["B"])',
            dt.datetime: '_fromiso({v}["S"])',
            dt.date: '_date({v}["S"])',
            uuid.UUID: '_UUID({v}["S"])',
            Any: "_from_av({v})",
        }.get(annotation)
        if simple is not None:
            return simple.replace("{v}", v)
        inner = _optional(annotation)
        if inner is not None:
            present = self.expression(inner, v)
            return None if present is None else f'(None if "NULL" in {v} else {present})'
        if isinstance(annotation, type):
            if issubclass(annotation, enum.Enum):
                tag = self._enum_tag(annotation)
                return None if tag is None else self._member(annotation, f'{v}["{tag}"]', tag)
            if issubclass(annotation, BaseModel):
                codec = Codec.of(annotation)
                if not codec.fast:
                    return None
                return f'{self._name(codec.fast_decode, "model")}({v}["M"])'
            return None
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin in (set, frozenset) and len(args) == 1:
            element, x = args[0], self._var()
            # a set display or comprehension (no call of `set`); frozenset(...) of the same
            make = "{{{}}}" if origin is set else "frozenset({})"
            if element is str:
                return make.format(f'*{v}["SS"]' if origin is set else f'{v}["SS"]')
            if element is bytes:
                return make.format(f'_b64({x}) for {x} in {v}["BS"]')
            number = self._number(element)
            if number is not None:
                return make.format(f'{number}({x}) for {x} in {v}["NS"]')
            if isinstance(element, type) and issubclass(element, enum.Enum):
                tag = self._enum_tag(element)
                member = None if tag is None else self._member(element, x, tag)
                return None if member is None else make.format(f'{member} for {x} in {v}["{tag}S"]')
            return None
        if origin is list and len(args) == 1:
            x = self._var()
            each = self.expression(args[0], x)
            return None if each is None else f'[{each} for {x} in {v}["L"]]'
        if origin is dict and len(args) == 2 and args[0] is str:
            k, x = self._var(), self._var()
            each = self.expression(args[1], x)
            return None if each is None else f'{{{k}: {each} for {k}, {x} in {v}["M"].items()}}'
        return None


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Slow
    return value


def _optional(annotation: Any) -> Any | None:
    """X for `X | None` / `Optional[X]`, else None."""
    if typing.get_origin(annotation) in (UnionType, typing.Union):
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not NoneType]
        if len(rest) == 1 and len(args) == 2:
            return rest[0]
    return None


def _encode_ttl(value: Any) -> AttributeValue:
    if isinstance(value, dt.datetime):
        return {"N": str(int(value.timestamp()))}
    return to_av(value)


def _put_value(item: Item, name: str, value: Any) -> None:
    """Store one field by the generic rules: None and empty sets are left out."""
    if value is None or (isinstance(value, (set, frozenset)) and not value):
        return
    item[name] = to_av(value)


class Codec:
    """The compiled decode/encode pair of one pydantic model class (see the module docstring)."""

    _cache: ClassVar[weakref.WeakKeyDictionary[type[BaseModel], Codec]] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, model: type[BaseModel], ttl: str | None = None) -> Codec:
        codec = cls._cache.get(model)
        if codec is None or codec.ttl != ttl:
            codec = cls(model, ttl)
            cls._cache[model] = codec
        return codec

    def __init__(self, model: type[BaseModel], ttl: str | None = None) -> None:
        self.model, self.ttl = model, ttl
        self.fields: dict[str, FieldInfo] = dict(model.__pydantic_fields__)
        self.names = frozenset(self.fields)
        self.source = ""
        # decode(item): the instance stored as `item`, built directly or, at any doubt, by pydantic validation
        self.decode: Callable[[Mapping[str, AttributeValue]], Any] = self._slow_decode
        # fast_decode(item): the compiled path alone (raises where it declines); nested models use it
        self.fast_decode: Callable[[Mapping[str, AttributeValue]], Any] = self._slow_decode
        self.fast = self._eligible()
        if self.fast:
            try:
                self.fast_decode = self._compile_decode()
            except Exception:  # noqa: BLE001 - no per-field validator could be built: validate whole items
                self.fast = False
                self.decode = self.fast_decode = self._slow_decode
        self.encode: Callable[[Mapping[str, Any]], Item] = self._compile_encode()

    # -- eligibility -------------------------------------------------------------------------------------
    def _eligible(self) -> bool:
        """Whether instances may be built without pydantic validation when every field converts exactly."""
        model = self.model
        if not model.__pydantic_complete__:
            return False
        decorators = model.__pydantic_decorators__
        if (
            decorators.validators
            or decorators.field_validators
            or decorators.root_validators
            or decorators.model_validators
        ):
            return False
        if model.__pydantic_post_init__ or model.__private_attributes__ or model.__pydantic_root_model__:
            return False
        config = model.model_config
        if set(config) - _NEUTRAL_CONFIG or config.get("extra") == "allow":
            return False
        if config.get("alias_generator") is not None:
            return False
        for info in self.fields.values():
            if info.alias is not None or info.validation_alias is not None or info.validate_default:
                return False
            if info.default_factory is not None and info.default_factory_takes_validated_data:
                return False
        return True

    # -- decode -------------------------------------------------------------------------------------------
    def _compile_decode(self) -> Callable[[Mapping[str, AttributeValue]], Any]:
        """decode(item) -> instance: one dict literal of per-field conversions, then the instance's slots."""
        slots = BaseModel.__dict__
        namespace: dict[str, Any] = {
            "_Decimal": Decimal,
            "_fromiso": dt.datetime.fromisoformat,
            "_b64": binascii.a2b_base64,
            "_ttl": _ttl,
            "_bool": _bool,
            "_date": dt.date.fromisoformat,
            "_UUID": uuid.UUID,
            "_from_av": from_av,
            "_new": self.model.__new__,
            "_cls": self.model,
            "_set_dict": slots["__dict__"].__set__,
            "_set_fields": slots["__pydantic_fields_set__"].__set__,
            "_set_extra": slots["__pydantic_extra__"].__set__,
            "_set_private": slots["__pydantic_private__"].__set__,
        }
        expressions = _Expressions(namespace)
        statements: list[str] = []
        entries: list[str] = []
        optional: list[str] = []
        for index, (name, info) in enumerate(self.fields.items()):
            expression = None if info.metadata else expressions.expression(info.annotation, "@V@")
            if name == self.ttl:
                expression = "_ttl(@V@)"
            elif expression is None:  # constraints or a type only pydantic converts: this field validated
                namespace[f"_c{index}"] = _validated(field_adapter(info))
                expression = f"_c{index}(@V@)"
            entries.append(f"{name!r}: f{index}")
            if info.is_required():  # absent: KeyError, so pydantic reports the missing field
                statements.append(f"f{index} = {expression.replace('@V@', f'item[{name!r}]')}")
                continue
            if info.default_factory is not None:
                namespace[f"_d{index}"] = info.default_factory
                default = f"_d{index}()"
            elif isinstance(info.default, _IMMUTABLE):
                namespace[f"_d{index}"] = info.default
                default = f"_d{index}"
            else:  # a mutable default: a fresh copy each time, as pydantic does
                namespace[f"_d{index}"] = info
                default = f"_d{index}.get_default(call_default_factory=True)"
            statements += [  # present: converted, and its bit set in `k`, the mask of fields set
                f"if (v := item.get({name!r})) is None:",
                f"    f{index} = {default}",
                "else:",
                f"    f{index} = {expression.replace('@V@', 'v')}",
                f"    k |= {1 << len(optional)}",
            ]
            optional.append(name)
        required = [name for name in self.fields if name not in optional]
        namespace["_sets"] = _FieldSets(required, optional)
        if optional:
            statements.insert(0, "k = 0")
        values = "values = {" + ", ".join(entries) + "}"
        build = [
            "    m = _new(_cls)",
            "    _set_dict(m, values)",
            f"    _set_fields(m, {{*_sets[{'k' if optional else 0}]}})",  # a fresh set per instance
            "    _set_extra(m, None)",
            "    _set_private(m, None)",
            "    return m",
        ]
        lines = [
            "def decode(item):",  # the checked entry point: any doubt goes to pydantic validation
            "    try:",
            *(f"        {line}" for line in [*statements, values]),
            "    except Exception:",
            "        return _slow(item)",
            *build,
            "",
            "def decode_or_raise(item):",  # for nested models: the outermost decode() falls back
            *(f"    {line}" for line in [*statements, values]),
            *build,
        ]
        namespace["_slow"] = self._slow_decode
        self.source = "\n".join(lines)
        filename = f"<dynamokit codec {self.model.__qualname__}>"
        self.decode, decode = define(self.source, filename, namespace, "decode", "decode_or_raise")
        return decode  # type: ignore[no-any-return]

    def _slow_decode(self, item: Mapping[str, AttributeValue]) -> Any:
        return self.model.model_validate(from_item(item, self.names))

    # -- encode -------------------------------------------------------------------------------------------
    def _compile_encode(self) -> Callable[[Mapping[str, Any]], Item]:
        """encode(values) -> item: a type-specialised line per field, the generic rules for anything else."""
        namespace: dict[str, Any] = {
            "_put": _put_value,
            "_ttl": _encode_ttl,
            "_number": _number,
            "_set": _set,
            "_b64e": _b64encode,
            "_Decimal": Decimal,
            "_datetime": dt.datetime,
            "_date": dt.date,
        }
        lines = ["def encode(values):", "    item = {}"]
        for index, (name, info) in enumerate(self.fields.items()):
            lines.append(f"    v = values[{name!r}]")
            if name == self.ttl:
                lines.append(f"    if v is not None: item[{name!r}] = _ttl(v)")
                continue
            annotation = _optional(info.annotation) or info.annotation
            store = f"item[{name!r}] = "
            branches = [
                ("k is str", store + "{'S': v}"),
                ("k is int", store + "{'N': str(v)}"),
                ("k is bool", store + "{'BOOL': v}"),
            ]
            if annotation is Decimal:
                branches.insert(0, ("k is _Decimal", store + "{'N': str(v)}"))
            elif annotation is float:
                branches.insert(0, ("k is float", store + "{'N': _number(v)}"))
            elif annotation is dt.datetime:
                branches.insert(0, ("k is _datetime", store + "{'S': v.isoformat()}"))
            elif annotation is dt.date:
                branches.insert(0, ("k is _date", store + "{'S': v.isoformat()}"))
            elif annotation is bytes:
                branches.insert(0, ("k is bytes", store + "{'B': _b64e(v)}"))
            elif typing.get_origin(annotation) in (set, frozenset):
                branches.insert(0, ("k is set or k is frozenset", f"if v: {store}_set(v)"))
            elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
                kinds = {type(member.value) for member in annotation}
                if kinds == {str}:
                    namespace[f"_e{index}"] = annotation
                    branches.insert(0, (f"k is _e{index}", store + "{'S': v._value_}"))
                elif kinds == {int}:
                    namespace[f"_e{index}"] = annotation
                    branches.insert(0, (f"k is _e{index}", store + "{'N': str(v._value_)}"))
            lines.append("    k = v.__class__")
            for position, (test, statement) in enumerate(branches):
                lines += [f"    {'if' if position == 0 else 'elif'} {test}:", f"        {statement}"]
            lines.append(f"    elif v is not None: _put(item, {name!r}, v)")
        lines.append("    return item")
        source = "\n".join(lines)
        self.encode_source = source
        (encode,) = define(source, f"<dynamokit encoder {self.model.__qualname__}>", namespace, "encode")
        return encode  # type: ignore[no-any-return]


class _FieldSets(dict[int, frozenset[str]]):
    """The names of the fields set, by the mask of optional fields present (bit i: optional[i])."""

    _LIMIT = 4096  # masks remembered (the combinations seen in practice are few)

    def __init__(self, required: list[str], optional: list[str]) -> None:
        super().__init__()
        self.required, self.optional = required, optional

    def __missing__(self, mask: int) -> frozenset[str]:
        names = frozenset(self.required).union(n for i, n in enumerate(self.optional) if mask >> i & 1)
        if len(self) < self._LIMIT:
            self[mask] = names
        return names


def _b64encode(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode()


def field_adapter(info: FieldInfo) -> TypeAdapter[Any]:
    annotation: Any = info.annotation
    if info.metadata:
        annotation = typing.Annotated[(annotation, *info.metadata)]
    return TypeAdapter(annotation)


def _validated(adapter: TypeAdapter[Any]) -> Convert:
    validate = adapter.validate_python
    return lambda av: validate(from_av(av))
