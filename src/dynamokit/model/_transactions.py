"""Transactions over several entities: TransactWriteItems and TransactGetItems."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ._builders import Condition, Update
from ._entity import Entity
from ._references import guard
from ._steps import Steps, call
from ._validation import check_condition
from ._writes import Action, check, delete_actions, put_actions, update_actions

if TYPE_CHECKING:
    from ._app import App


class Transaction:
    """Collects writes of any entities and commits them atomically (also as a `with` block)."""

    def __init__(self, app: App, token: str | None = None) -> None:
        self.app, self.token = app, token
        self.actions: list[Action] = []
        self.entities: list[Entity] = []

    def put(
        self,
        entity: Entity,
        *,
        create: bool = False,
        condition: Condition | None = None,
        current: Mapping[str, Any] | None = None,
    ) -> Transaction:
        """A put; an upsert of an entity with unique fields or counted references needs `current`: the
        values it replaces ({} if none), checked by a condition (no reads in a transaction)."""
        actions, stored = put_actions(
            self.app.bound(type(entity)),
            self.app.bounds,
            entity,
            create=create,
            clock=self.app.clock,
            condition=condition,
            current=current,
        )
        self.actions += actions
        self.entities.append(stored)
        return self

    def update(
        self,
        entity: type[Entity],
        update: Update,
        *,
        condition: Condition | None = None,
        known: Mapping[str, Any] | None = None,
        **key: Any,
    ) -> Transaction:
        """An update; key inputs it cannot compute must be given in `known` (no reads in a transaction)."""
        self.actions += update_actions(
            self.app.bound(entity),
            self.app.bounds,
            key,
            update,
            clock=self.app.clock,
            condition=condition,
            known=known,
        )
        return self

    def delete(
        self,
        entity: type[Entity],
        *,
        condition: Condition | None = None,
        current: Mapping[str, Any] | None = None,
        **key: Any,
    ) -> Transaction:
        """A delete (no cascade inside a transaction: a referenced item may only go once nothing references
        it, which its counter item's condition checks); `current` gives its unique fields and references."""
        bound = self.app.bound(entity)
        self.actions += delete_actions(bound, key, condition=condition, current=current)
        guarding = guard(self.app, bound, key.get(bound.primary.fields[0]), {})
        if guarding is not None:
            self.actions.append(guarding)
        return self

    def check(self, entity: type[Entity], condition: Condition, **key: Any) -> Transaction:
        bound = self.app.bound(entity)
        check_condition([bound], condition)
        self.actions.append(check(bound, bound.key(key), condition))
        return self

    def params(self) -> dict[str, Any]:
        request: dict[str, Any] = {"TransactItems": [{a.kind: a.request} for a in self.actions]}
        if self.token:
            request["ClientRequestToken"] = self.token
        return request

    def steps(self) -> Steps[list[Entity]]:
        if self.actions:
            yield from call("TransactWriteItems", self.params())
        return self.entities

    def commit(self) -> list[Entity]:
        """Run it; returns the entities put, as stored."""
        return self.app.drive(self.steps())

    async def acommit(self) -> list[Entity]:
        return await self.app.adrive(self.steps())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            await self.acommit()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()


def transact_get(
    app: App, gets: Sequence[tuple[type[Entity], Mapping[str, Any]]]
) -> Steps[list[Entity | None]]:
    """Read up to 100 entities of any types in one consistent snapshot."""
    request = {
        "TransactItems": [
            {"Get": {"TableName": app.bound(e).table.name, "Key": app.bound(e).key(k)}} for e, k in gets
        ]
    }
    responses = (yield from call("TransactGetItems", request))["Responses"]
    return [app.bound(e).decode(r["Item"]) if r.get("Item") else None for (e, _), r in zip(gets, responses)]
