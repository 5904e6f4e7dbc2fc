"""The model layer's own errors (DynamoDB's errors stay `dynamokit.DynamoDBError`)."""

from __future__ import annotations


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
