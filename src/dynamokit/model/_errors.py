"""The model layer's own errors (DynamoDB's errors stay `dynamokit.DynamoDBError`)."""

from __future__ import annotations

from typing import Any


class ModelError(Exception):
    """The model definition or a call on it is invalid (raised before any request is sent)."""


class MissingKeyInputs(ModelError):
    """An update changes an input of a key template, but other inputs of that key are unknown."""

    def __init__(self, entity: str, key: str, missing: list[str]) -> None:
        self.entity, self.key, self.missing = entity, key, sorted(missing)
        super().__init__(
            f"{entity}: this update changes an input of key '{key}', which also needs "
            f"{', '.join(self.missing)}; pass their current values with .known(...) or allow reads"
        )


class IntegrityError(ModelError):
    """A write or delete would break a declared reference or unique constraint."""


class CascadeTooLarge(IntegrityError):
    """A delete would cascade to more items (or levels) than one atomic transaction can hold."""


class UnknownAttribute(ModelError):
    """A name in an update, condition, filter or projection is not a field of the entity (likely a typo)."""


class InvalidUpdate(ModelError):
    """An update would leave the stored item invalid for its entity (refused before it is sent)."""


class InvalidItems(ModelError):
    """Stored items that no longer validate as their entity (a strict read, or a get)."""

    def __init__(self, invalid: list[Any]) -> None:
        self.invalid = invalid
        shown = "; ".join(str(i) for i in invalid[:3]) + (
            f"; and {len(invalid) - 3} more" if len(invalid) > 3 else ""
        )
        super().__init__(f"{len(invalid)} stored item(s) do not validate: {shown}")
