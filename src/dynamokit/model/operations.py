"""Single-entity write operations: each can show its request (`params()`) or run it (`run()`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic

from ..engine.errors import DynamoDBError
from .batches import batch_write
from .bound import Bound
from .builders import Condition, Update, attr
from .entity import E
from .errors import IntegrityError, MissingKeyInputs, ModelError
from .references import cascade, check_restrict
from .values import from_item
from .writes import Action, delete_actions, execute, put_actions, request_of, update_actions

if TYPE_CHECKING:
    from .app import App

_CONFLICTS = ("ConditionalCheckFailedException", "TransactionCanceledException")


def current(app: App, bound: Bound[Any], key: Mapping[str, Any]) -> dict[str, Any]:
    """The stored field values of one entity (strongly consistent); fails if it does not exist."""
    item = app.transport.call(
        "GetItem", {"TableName": bound.table.name, "Key": bound.key(key), "ConsistentRead": True}
    ).get("Item")
    if item is None:
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
            now=self.app.clock(),
            condition=self.condition,
            current=now_current,
        )

    def params(self) -> dict[str, Any]:
        return request_of(self._actions()[0])[1]

    def run(self) -> E:
        """Write it; returns the entity as stored (timestamps and version set)."""
        existing = None
        if self.bound.entity.options.unique and not self.create:
            key = {f: getattr(self.entity, f) for f in self.bound.primary.fields}
            try:
                existing = current(self.app, self.bound, key)
            except DynamoDBError:
                existing = {}
        actions, stored = self._actions(existing)
        execute(self.app.transport, actions)
        return stored


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

    def condition(self, condition: Condition) -> UpdateOp[E]:
        self._condition = condition if self._condition is None else self._condition & condition
        return self

    def expect_version(self, version: int) -> UpdateOp[E]:
        """Optimistic locking: apply only if the stored version is `version`."""
        name = self.bound.entity.options.version
        if name is None:
            raise ModelError(f"{self.bound.name} has no version field")
        return self.condition(attr(name) == version)

    def known(self, **values: Any) -> UpdateOp[E]:
        """Current values of key inputs this update does not change (checked by a condition)."""
        self._known.update(values)
        return self

    def _actions(self, known: Mapping[str, Any]) -> list[Action]:
        return update_actions(
            self.bound,
            self.app.bounds,
            self.key,
            self,
            now=self.app.clock(),
            condition=self._condition,
            known=known,
        )

    def params(self) -> dict[str, Any]:
        return request_of(self._actions(self._known), ReturnValues="ALL_NEW")[1]

    def run(self) -> E:
        """Apply it; returns the entity as stored afterwards."""
        read: dict[str, Any] | None = None
        for _ in range(self.retries):
            try:
                actions = self._actions({**(read or {}), **self._known})
            except MissingKeyInputs:
                if read is not None or not self.reads:
                    raise
                read = current(self.app, self.bound, self.key)
                continue
            try:
                response = execute(self.app.transport, actions, ReturnValues="ALL_NEW")
            except DynamoDBError as error:
                if read is None or error.code not in _CONFLICTS:
                    raise
                fresh = current(self.app, self.bound, self.key)
                if fresh == read:
                    raise
                read = fresh
                continue
            if "Attributes" in response:
                return self.bound.decode(response["Attributes"])
            got = self.app.get(self.bound.entity, **self.key).consistent().run()
            assert got is not None
            return got
        raise IntegrityError(
            f"{self.bound.name} {self.key}: key inputs kept changing; gave up after {self.retries} attempts"
        )


class Delete(Generic[E]):
    """DeleteItem of one entity, applying declared on_delete rules and releasing unique values."""

    def __init__(
        self, app: App, bound: Bound[E], key: Mapping[str, Any], *, condition: Condition | None = None
    ) -> None:
        self.app, self.bound, self.key, self.condition = app, bound, dict(key), condition

    def params(self) -> dict[str, Any]:
        return request_of(delete_actions(self.bound, self.key, condition=self.condition))[1]

    def run(self) -> None:
        value = self.key.get(self.bound.primary.fields[0])
        if self.app.referrers.get(self.bound.entity):
            check_restrict(self.app, self.bound, value)
        doomed = cascade(self.app, self.bound, value) if self.app.referrers.get(self.bound.entity) else []
        mine = current(self.app, self.bound, self.key) if self.bound.entity.options.unique else None
        actions = delete_actions(self.bound, self.key, condition=self.condition, current=mine)
        children: list[Action] = []
        for child_bound, child in doomed:
            key = {f: getattr(child, f) for f in child_bound.primary.fields}
            children += delete_actions(child_bound, key, current=child.__dict__)
        if len(actions) + len(children) <= 100:
            execute(self.app.transport, actions + children)
            return
        left = batch_write(
            self.app.transport,
            [(a.request["TableName"], {"DeleteRequest": {"Key": a.request["Key"]}}) for a in children],
            self.app.backoff,
        )
        if left:
            raise IntegrityError(f"cascade left {len(left)} items undeleted; {self.bound.name} kept")
        execute(self.app.transport, actions)
