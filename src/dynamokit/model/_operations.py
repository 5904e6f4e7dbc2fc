"""Single-entity write operations: each can show its request (`params()`) or run it (`run()`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Self

from .._errors import DynamoDBError
from ._bound import Bound
from ._builders import Condition, Update, attr
from ._entity import E
from ._errors import IntegrityError, MissingKeyInputs, ModelError
from ._reads import decode_checked
from ._references import MAX_CASCADE_DEPTH, guard, plan_delete, restricted
from ._steps import Steps, call
from ._validation import check_condition, check_update
from ._values import from_item
from ._writes import (
    Action,
    delete_actions,
    execute,
    put_actions,
    request_of,
    update_actions,
    with_condition,
)

if TYPE_CHECKING:
    from ._app import App

_CONFLICTS = ("ConditionalCheckFailedException", "TransactionCanceledException")


def current(bound: Bound[Any], key: Mapping[str, Any], missing_ok: bool = False) -> Steps[dict[str, Any]]:
    """The stored field values of one entity (strongly consistent); fails if it does not exist
    (or, with `missing_ok`, returns {})."""
    response = yield from call(
        "GetItem", {"TableName": bound.table.name, "Key": bound.key(key), "ConsistentRead": True}
    )
    item = response.get("Item")
    if item is None:
        if missing_ok:
            return {}
        raise DynamoDBError("ConditionalCheckFailedException", f"{bound.name} {dict(key)} does not exist")
    values = from_item(item)
    return {name: values.get(name) for name in bound.entity.model_fields}


class Put(Generic[E]):
    """PutItem of an entity: `create=True` refuses to overwrite; otherwise an upsert (version-guarded)."""

    def __init__(
        self,
        app: App,
        bound: Bound[E],
        entity: E,
        *,
        create: bool = False,
        condition: Condition | None = None,
    ) -> None:
        self.app, self.bound, self.entity, self.create, self.condition = app, bound, entity, create, condition

    def _actions(self, now_current: Mapping[str, Any] | None = None) -> tuple[list[Action], E]:
        return put_actions(
            self.bound,
            self.app.bounds,
            self.entity,
            create=self.create,
            clock=self.app.clock,
            condition=self.condition,
            current=now_current,
        )

    def params(self) -> dict[str, Any]:
        return request_of(self._actions()[0])[1]

    def run(self, retries: int = 4) -> E:
        """Write it; returns the entity as stored (timestamps and version set)."""
        if self.create or not (self.bound.entity.options.unique or self.bound.counted):  # the hot path
            actions, stored = self._actions(None)
            self.app.transport.call(*request_of(actions))
            return stored
        return self.app.drive(self.steps(retries))

    async def arun(self, retries: int = 4) -> E:
        """`run()` over the App's async transport."""
        return await self.app.adrive(self.steps(retries))

    def steps(self, retries: int = 4) -> Steps[E]:
        """The requests of `run()`, as a generator (see `model/_steps.py`).

        An upsert of an entity with unique fields or counted references first tries to create it; if the
        item exists it reads what it replaces and writes on the condition that it is unchanged (re-reading
        and retrying if it changed meanwhile).
        """
        if self.create or not (self.bound.entity.options.unique or self.bound.counted):
            actions, stored = self._actions(None)
            (yield from execute(actions))
            return stored
        try:  # optimistic: most upserts create; only one that replaces something needs to read it
            actions, stored = put_actions(
                self.bound,
                self.app.bounds,
                self.entity,
                create=True,
                clock=self.app.clock,
                condition=self.condition,
            )
            (yield from execute(actions))
            return stored
        except DynamoDBError as error:
            if error.code not in _CONFLICTS:
                raise
        key = {f: getattr(self.entity, f) for f in self.bound.primary.fields}
        existing = yield from current(self.bound, key, missing_ok=True)
        for attempt in range(retries):
            actions, stored = self._actions(existing)
            try:
                (yield from execute(actions))
                return stored
            except DynamoDBError as error:
                if error.code not in _CONFLICTS or attempt == retries - 1:
                    raise
                fresh = yield from current(self.bound, key, missing_ok=True)
                if fresh == existing:
                    raise
                existing = fresh
        raise AssertionError("unreachable")


class UpdateOp(Update, Generic[E]):
    """UpdateItem of an existing entity; keys derived from changed fields are rewritten in the same write.

    When a changed key needs inputs the update does not carry, `run()` reads them (consistently) and
    writes on the condition that they are unchanged, retrying on a concurrent change.
    """

    def __init__(
        self, app: App, bound: Bound[E], key: Mapping[str, Any], *, reads: bool = True, retries: int = 4
    ) -> None:
        super().__init__()
        self.app, self.bound, self.key, self.reads, self.retries = app, bound, dict(key), reads, retries
        self._condition: Condition | None = None
        self._known: dict[str, Any] = {}

    def _add(self, kind: str, values: Mapping[str, Any] | None, kw: Mapping[str, Any]) -> Self:
        """Each action is checked as it is added: a typo or an invalid value fails at this line."""
        start = len(self.actions)
        super()._add(kind, values, kw)
        self._check(start)
        return self

    def remove(self, *paths: str) -> Self:
        start = len(self.actions)
        super().remove(*paths)
        self._check(start)
        return self

    def _check(self, start: int) -> None:
        added = Update(self.actions[start:])
        try:
            check_update(self.bound, added)
        except ModelError:
            del self.actions[start:]
            raise

    def condition(self, condition: Condition) -> Self:
        check_condition([self.bound], condition)
        self._condition = condition if self._condition is None else self._condition & condition
        return self

    def expect_version(self, version: int) -> Self:
        """Optimistic locking: apply only if the stored version is `version`."""
        name = self.bound.entity.options.version
        if name is None:
            raise ModelError(f"{self.bound.name} has no version field")
        return self.condition(attr(name) == version)

    def known(self, **values: Any) -> Self:
        """Current values of key inputs this update does not change (checked by a condition)."""
        self._known.update(values)
        return self

    def _actions(self, known: Mapping[str, Any]) -> list[Action]:
        return update_actions(
            self.bound,
            self.app.bounds,
            self.key,
            self,
            clock=self.app.clock,
            condition=self._condition,
            known=known,
            checked=True,
        )

    def params(self) -> dict[str, Any]:
        return request_of(self._actions(self._known), ReturnValues="ALL_NEW")[1]

    def run(self) -> E:
        """Apply it; returns the entity as stored afterwards."""
        return self.app.drive(self.steps())

    async def arun(self) -> E:
        return await self.app.adrive(self.steps())

    def steps(self) -> Steps[E]:
        """The requests of `run()`."""
        read: dict[str, Any] | None = None
        for _ in range(self.retries):
            try:
                actions = self._actions({**(read or {}), **self._known})
            except MissingKeyInputs:
                if read is not None or not self.reads:
                    raise
                read = yield from current(self.bound, self.key)
                continue
            try:
                response = yield from execute(actions, ReturnValues="ALL_NEW")
            except DynamoDBError as error:
                if read is None or error.code not in _CONFLICTS:
                    raise
                fresh = yield from current(self.bound, self.key)
                if fresh == read:
                    raise
                read = fresh
                continue
            if "Attributes" in response:
                return decode_checked(self.bound, response["Attributes"])
            got = yield from self.app.get(self.bound.entity, **self.key).consistent().steps()
            assert got is not None
            return got
        raise IntegrityError(
            f"{self.bound.name} {self.key}: key inputs kept changing; gave up after {self.retries} attempts"
        )


class Delete(Generic[E]):
    """DeleteItem of one entity, applying declared on_delete rules and releasing unique values.

    Atomic: the item, everything its cascade rules delete (up to `max_depth` levels), the unique values and
    reference counts they release, and the guards of restrict/cascade rules go in one TransactWriteItems.
    """

    def __init__(
        self,
        app: App,
        bound: Bound[E],
        key: Mapping[str, Any],
        *,
        condition: Condition | None = None,
        max_depth: int = MAX_CASCADE_DEPTH,
    ) -> None:
        self.app, self.bound, self.key, self.condition = app, bound, dict(key), condition
        self.max_depth = max_depth
        self._known: dict[str, Any] | None = None

    def known(self, **values: Any) -> Self:
        """The current values of its unique fields and references (so `params()` needs no read)."""
        self._known = {**(self._known or {}), **values}
        return self

    def params(self) -> dict[str, Any]:
        """The request when nothing cascades (no I/O: cascades are found when it runs)."""
        value = self.key.get(self.bound.primary.fields[0])
        actions = delete_actions(self.bound, self.key, condition=self.condition, current=self._known)
        guarding = guard(self.app, self.bound, value, {})
        return request_of(actions + ([guarding] if guarding else []))[1]

    def run(self, retries: int = 4) -> None:
        self.app.drive(self.steps(retries))

    async def arun(self, retries: int = 4) -> None:
        await self.app.adrive(self.steps(retries))

    def steps(self, retries: int = 4) -> Steps[None]:
        """The requests of `run()`: reads, cascade queries, then one transaction (re-planned on conflict)."""
        bound = self.bound
        reads = bool(bound.entity.options.unique or bound.counted) and self._known is None
        referenced = bool(self.app.referrers.get(bound.entity))
        for attempt in range(retries):
            mine = self._known
            if reads:
                mine = yield from current(bound, self.key, missing_ok=not bound.entity.options.unique)
                if not mine:  # nothing stored: nothing to release or cascade; DeleteItem as DynamoDB does it
                    request = {"TableName": bound.table.name, "Key": bound.key(self.key)}
                    conditions = [self.condition] if self.condition is not None else []
                    yield from execute([Action("Delete", with_condition(request, bound, conditions))])
                    return
            doomed: list[tuple[Bound[Any], Any]] = []
            actions = yield from plan_delete(
                self.app,
                bound,
                self.key,
                mine,
                condition=self.condition,
                max_depth=self.max_depth,
                doomed=doomed,
            )
            try:
                (yield from execute(actions))
                return
            except DynamoDBError as error:
                if error.code not in _CONFLICTS or len(actions) == 1:
                    raise
                blocked = (yield from restricted(self.app, doomed)) if referenced else None
                if blocked is not None:
                    raise blocked from None
                if attempt == retries - 1:
                    raise
                # the item, its referrers or a stale index changed meanwhile: plan again
