"""Table and index definitions: validation of CreateTable input and the in-memory view of a table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import invalid_parameter, validation
from .keys import KeyAttr, KeySchema

_NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")
MAX_GSIS = 20
MAX_LSIS = 5
PROJECTION_TYPES = ("ALL", "KEYS_ONLY", "INCLUDE")


def check_name(value: Any, where: str, low: int = 3, high: int = 255) -> str:
    """DynamoDB's constraint check for table and index names."""
    if not isinstance(value, str):
        raise validation(f"1 validation error detected: Value null at '{where}' failed to satisfy constraint: "
                         "Member must not be null")
    if len(value) < low:
        raise validation(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
                         f"constraint: Member must have length greater than or equal to {low}")
    if len(value) > high:
        raise validation(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
                         f"constraint: Member must have length less than or equal to {high}")
    if not _NAME.match(value):
        raise validation(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
                         "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    return value


@dataclass(frozen=True)
class Index:
    """A secondary index: its key, projection and storage number within the table."""

    name: str
    iid: int
    key: KeySchema
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: frozenset[str]
    is_global: bool
    active: bool = True  # False while a new index is backfilling

    def projected_names(self, table_key: KeySchema) -> frozenset[str] | None:
        """The attribute names an index read returns, or None for ALL."""
        if self.projection == "ALL":
            return None
        return frozenset(table_key.names) | frozenset(self.key.names) | self.include


@dataclass
class Table:
    """What the engine knows of one table; `description` is its stored DescribeTable shape."""

    name: str
    tid: int
    key: KeySchema
    description: dict[str, Any]
    indexes: dict[str, Index] = field(default_factory=dict)
    catalog_version: int = 0  # the catalog state this view was read from

    @classmethod
    def from_description(cls, tid: int, description: dict[str, Any]) -> Table:
        types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
        table = cls(description["TableName"], tid, _key_schema(description["KeySchema"], types), description)
        for kind, is_global in (("GlobalSecondaryIndexes", True), ("LocalSecondaryIndexes", False)):
            for spec in description.get(kind, []):
                projection = spec.get("Projection", {})
                table.indexes[spec["IndexName"]] = Index(
                    name=spec["IndexName"],
                    iid=spec["_iid"],
                    key=_key_schema(spec["KeySchema"], types),
                    projection=projection.get("ProjectionType", "ALL"),
                    include=frozenset(projection.get("NonKeyAttributes", [])),
                    is_global=is_global,
                    active=spec.get("IndexStatus", "ACTIVE") == "ACTIVE",
                )
        return table

    @property
    def stream_view_type(self) -> str | None:
        spec = self.description.get("StreamSpecification")
        return spec["StreamViewType"] if spec and spec.get("StreamEnabled") else None


def _key_schema(elements: list[dict[str, str]], types: dict[str, str]) -> KeySchema:
    attrs = [(KeyAttr(e["AttributeName"], types[e["AttributeName"]]), e["KeyType"]) for e in elements]
    return KeySchema(tuple(a for a, kind in attrs if kind == "HASH"), tuple(a for a, kind in attrs if kind == "RANGE"))


def check_key_schema(elements: Any, where: str, types: dict[str, str], multi: bool = False) -> list[dict[str, str]]:
    """Validate a KeySchema list: HASH first, then RANGE; a GSI (`multi`) may have up to 4 of each."""
    most = 8 if multi else 2
    if not isinstance(elements, list) or not elements:
        raise validation(f"1 validation error detected: Value null at '{where}' failed to satisfy constraint: "
                         "Member must have length greater than or equal to 1")
    if len(elements) > most:
        raise validation(f"1 validation error detected: Value '{elements}' at '{where}' failed to satisfy "
                         f"constraint: Member must have length less than or equal to {most}")
    for n, element in enumerate(elements, 1):
        if not isinstance(element, dict) or not isinstance(element.get("AttributeName"), str):
            raise validation(f"1 validation error detected: Value null at '{where}.{n}.member.attributeName' "
                             "failed to satisfy constraint: Member must not be null")
        if element.get("KeyType") not in ("HASH", "RANGE"):
            raise validation(f"1 validation error detected: Value '{element.get('KeyType')}' at "
                             f"'{where}.{n}.member.keyType' failed to satisfy constraint: Member must satisfy "
                             "enum value set: [HASH, RANGE]")
    kinds = [e["KeyType"] for e in elements]
    if kinds[0] != "HASH":
        raise validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    hashes = kinds.count("HASH")
    if kinds != ["HASH"] * hashes + ["RANGE"] * (len(kinds) - hashes) or (not multi and hashes > 1):
        raise validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
    if hashes > 4 or len(kinds) - hashes > 4:
        raise invalid_parameter("A key schema can have at most 4 HASH and 4 RANGE attributes")
    names = [e["AttributeName"] for e in elements]
    if len(set(names)) != len(names):
        raise invalid_parameter("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    for element in elements:
        if element["AttributeName"] not in types:
            raise validation("Invalid KeySchema: Some index key attribute have no definition")
    return [{"AttributeName": e["AttributeName"], "KeyType": e["KeyType"]} for e in elements]


def check_attribute_definitions(definitions: Any) -> dict[str, str]:
    if not isinstance(definitions, list):
        raise validation("1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy "
                         "constraint: Member must not be null")
    types: dict[str, str] = {}
    for n, d in enumerate(definitions, 1):
        if not isinstance(d, dict) or not isinstance(d.get("AttributeName"), str):
            raise validation(f"1 validation error detected: Value null at 'attributeDefinitions.{n}.member."
                             "attributeName' failed to satisfy constraint: Member must not be null")
        if d.get("AttributeType") not in ("S", "N", "B"):
            raise validation(f"1 validation error detected: Value '{d.get('AttributeType')}' at "
                             f"'attributeDefinitions.{n}.member.attributeType' failed to satisfy constraint: "
                             "Member must satisfy enum value set: [B, N, S]")
        if d["AttributeName"] in types:
            raise invalid_parameter("Cannot have two attributes with the same name")
        types[d["AttributeName"]] = d["AttributeType"]
    return types


def check_projection(projection: Any, where: str) -> dict[str, Any]:
    if not isinstance(projection, dict):
        raise validation(f"1 validation error detected: Value null at '{where}.projection' failed to satisfy "
                         "constraint: Member must not be null")
    kind = projection.get("ProjectionType")
    non_key = projection.get("NonKeyAttributes")
    if kind not in PROJECTION_TYPES:
        raise validation(f"1 validation error detected: Value '{kind}' at '{where}.projection.projectionType' "
                         "failed to satisfy constraint: Member must satisfy enum value set: "
                         "[ALL, INCLUDE, KEYS_ONLY]")
    if kind == "INCLUDE":
        if not non_key:
            raise invalid_parameter("NonKeyAttributes must be specified when ProjectionType is INCLUDE")
        return {"ProjectionType": kind, "NonKeyAttributes": list(non_key)}
    if non_key:
        raise invalid_parameter(f"ProjectionType is {kind}, but NonKeyAttributes is specified")
    return {"ProjectionType": kind}
