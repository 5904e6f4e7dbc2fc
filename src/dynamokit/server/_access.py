"""IAM-style identity policies on DynamoDB operations: parsing, request context, evaluation, emission.

A policy document is IAM's JSON: `Version`, `Statement` (one or a list) of `Effect` Allow | Deny, `Action` or
`NotAction` (`dynamodb:Get*`, case-insensitive wildcards), `Resource` or `NotResource` (table, index and stream
ARNs, `*` and `?` wildcards) and `Condition`. Evaluation is IAM's: an explicit Deny wins, then any Allow,
otherwise the request is denied by default.

Every operation is evaluated as one or more *accesses* (action, resource, condition context); batch and
transaction calls give one access per item, so each item must be allowed on its own. TransactWriteItems and
TransactGetItems are authorized as their PutItem / UpdateItem / DeleteItem / ConditionCheckItem / GetItem
actions with `dynamodb:EnclosingOperation` set, as in DynamoDB.

Condition operators: String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Null, each
with `...IfExists` and the `ForAllValues:` / `ForAnyValue:` qualifiers. Context keys: `dynamodb:LeadingKeys`
(partition-key values the request touches), `dynamodb:Attributes` (top-level attribute names it reads or
writes), `dynamodb:Select`, `dynamodb:ReturnValues`, `dynamodb:ReturnConsumedCapacity`,
`dynamodb:EnclosingOperation`, and `aws:username`, `aws:PrincipalTag/KEY`, `aws:PrincipalArn`,
`aws:PrincipalAccount`, `aws:PrincipalType`. Policy variables (`${aws:username}`, `${aws:PrincipalTag/KEY}`,
with an optional `, 'default'`, and `${*}` `${?}` `${$}`) are substituted in Resource and Condition values of
"2012-10-17" policies.

One deliberate difference from IAM's set logic: a context value that cannot be known from the request fails
closed: a condition on it is false in an Allow statement and true in a Deny statement. That is
`dynamodb:LeadingKeys` of a Scan (or of a malformed key, or a missing table), so a LeadingKeys-restricted
principal can never Scan; and `dynamodb:Attributes` of a read without projection, which returns whole items.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .._engine import expressions as ex
from .._engine.dynamodbstreams import iterators
from .._engine.errors import DynamoDBError
from .._engine.partiql.parser import parse as partiql_parse
from .._engine.partiql.syntax import Exists as PartiQLExists
from .._engine.partiql.syntax import Select as PartiQLSelect
from .._engine.resources import parse_arn

if TYPE_CHECKING:
    from .._engine import Engine
    from .._engine.schema import Table

CURRENT_VERSION = "2012-10-17"
_VERSIONS = (CURRENT_VERSION, "2008-10-17")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_LITERALS = {"*": "*", "?": "?", "$": "$"}
_STRING_OPERATORS = {  # operator -> (negated, wildcard, ignore case)
    "StringEquals": (False, False, False), "StringNotEquals": (True, False, False),
    "StringEqualsIgnoreCase": (False, False, True), "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False), "StringNotLike": (True, True, False),
    "ArnEquals": (False, True, False), "ArnNotEquals": (True, True, False),
    "ArnLike": (False, True, False), "ArnNotLike": (True, True, False),
}
_UNKNOWN = object()  # a context value the request does not let us know (fails closed)
Values = tuple[str, ...]


class PolicyError(ValueError):
    """A policy document that is not valid IAM."""


# -- principals and compiled policies ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Condition:
    """One condition key test of a statement, with its values already substituted and compiled."""

    operator: str
    key: str  # lower-cased context key
    qualifier: str | None  # "forallvalues" | "foranyvalue" | None
    if_exists: bool
    negated: bool
    patterns: tuple[re.Pattern[str] | None, ...]  # None: a value whose policy variable is undefined
    null_wanted: bool = False  # for Null: true means "the key is absent"

    def holds(self, context: Mapping[str, Any], effect: str) -> bool:
        values = context.get(self.key)
        if values is _UNKNOWN:
            return effect == "Deny"
        if self.operator == "Null":
            return (not values) == self.null_wanted
        if not values:
            if self.if_exists or self.qualifier == "forallvalues":
                return True
            return self.negated and self.qualifier is None
        matched = [any(p is not None and p.fullmatch(v) for p in self.patterns) for v in values]
        if self.qualifier == "forallvalues":
            return all(m != self.negated for m in matched)
        if self.qualifier == "foranyvalue" or not self.negated:
            return any(m != self.negated for m in matched)
        return not any(matched)


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled policy statement."""

    allow: bool
    actions: re.Pattern[str]
    not_action: bool
    resources: tuple[re.Pattern[str] | None, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    def applies(self, action: str, resource: str, context: Mapping[str, Any]) -> bool:
        if (self.actions.fullmatch(action) is None) != self.not_action:
            return False
        if any(p is not None and p.fullmatch(resource) for p in self.resources) == self.not_resource:
            return False
        effect = "Allow" if self.allow else "Deny"
        return all(condition.holds(context, effect) for condition in self.conditions)


@dataclass(frozen=True)
class Principal:
    """An authenticated IAM user: its name, account, tags and compiled identity policies."""

    name: str
    account_id: str
    tags: Mapping[str, str] = field(default_factory=dict)
    statements: tuple[Statement, ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{self.name}"

    @cached_property
    def variables(self) -> dict[str, Values]:
        """The global condition keys of this principal (lower-cased names), also its policy variables."""
        found: dict[str, Values] = {"aws:username": (self.name,), "aws:principalarn": (self.arn,),
                 "aws:principalaccount": (self.account_id,), "aws:principaltype": ("User",)}
        found.update({f"aws:principaltag/{key.lower()}": (value,) for key, value in self.tags.items()})
        return found

    @classmethod
    def with_policies(cls, name: str, account_id: str, tags: Mapping[str, str],
                      documents: Iterable[Any]) -> Principal:
        """A principal whose policy documents (dicts or JSON text) are validated and compiled for it."""
        bare = cls(name, account_id, dict(tags))
        statements = tuple(s for document in documents for s in compile_policy(document, bare.variables))
        return cls(name, account_id, dict(tags), statements)


def compile_policy(document: Any, variables: Mapping[str, Values]) -> list[Statement]:
    """Validate one policy document and compile its statements, substituting `variables` (lower-cased)."""
    if isinstance(document, str):
        import json

        try:
            document = json.loads(document)
        except ValueError:
            raise PolicyError("policy document is not valid JSON") from None
    if not isinstance(document, dict):
        raise PolicyError("policy document must be a JSON object")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise PolicyError(f"policy document has unknown element(s): {', '.join(sorted(unknown))}")
    version = document.get("Version", "2008-10-17")
    if version not in _VERSIONS:
        raise PolicyError(f"policy Version must be one of {', '.join(_VERSIONS)}, not {version!r}")
    substitute = variables if version == CURRENT_VERSION else None
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyError("policy document needs a Statement (an object or a non-empty list)")
    return [_statement(s, substitute) for s in statements]


def _statement(raw: Any, variables: Mapping[str, Values] | None) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError("each Statement must be a JSON object")
    if "Principal" in raw or "NotPrincipal" in raw:
        raise PolicyError("identity-based policy statements cannot have a Principal")
    unknown = set(raw) - {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
    if unknown:
        raise PolicyError(f"statement has unknown element(s): {', '.join(sorted(unknown))}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"statement Effect must be Allow or Deny, not {effect!r}")
    action_key = _exactly_one(raw, "Action", "NotAction")
    resource_key = _exactly_one(raw, "Resource", "NotResource")
    actions = _strings(raw[action_key], action_key)
    actions_re = re.compile("|".join(f"(?:{_wildcard(a)})" for a in actions), re.IGNORECASE)
    resources = tuple(_pattern(r, variables, wildcard=True) for r in _strings(raw[resource_key], resource_key))
    conditions = raw.get("Condition", {})
    if not isinstance(conditions, dict):
        raise PolicyError("statement Condition must be a JSON object")
    compiled = tuple(c for operator, block in conditions.items() for c in _conditions(operator, block, variables))
    return Statement(effect == "Allow", actions_re, action_key == "NotAction", resources,
                     resource_key == "NotResource", compiled)


def _exactly_one(raw: dict[str, Any], name: str, negated: str) -> str:
    if (name in raw) == (negated in raw):
        raise PolicyError(f"statement needs exactly one of {name} and {negated}")
    return name if name in raw else negated


def _strings(value: Any, where: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{where} must be a string or a non-empty list of strings")
    return values


def _conditions(operator: Any, block: Any, variables: Mapping[str, Values] | None) -> list[Condition]:
    if not isinstance(block, dict) or not block:
        raise PolicyError(f"condition {operator!r} must map condition keys to values")
    qualifier, _, base = str(operator).rpartition(":")
    if qualifier.lower() not in ("", "forallvalues", "foranyvalue"):
        raise PolicyError(f"unknown condition qualifier {qualifier!r}")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base != "Null" and base not in _STRING_OPERATORS:
        raise PolicyError(f"unsupported condition operator {operator!r}")
    out = []
    for key, value in block.items():
        values = [value] if isinstance(value, (str, bool, int, float)) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, (str, bool, int, float))
                                                                  for v in values):
            raise PolicyError(f"condition {operator} {key!r} needs a value or a list of values")
        texts = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        if base == "Null":
            out.append(Condition("Null", key.lower(), None, False, False, (), texts[0].lower() == "true"))
            continue
        negated, wildcard, ignore_case = _STRING_OPERATORS[base]
        patterns = tuple(_pattern(t, variables, wildcard, ignore_case) for t in texts)
        out.append(Condition(base, key.lower(), qualifier.lower() or None, if_exists, negated, patterns))
    return out


def _wildcard(text: str) -> str:
    """A regex for an IAM wildcard string: `*` any run of characters, `?` any one character."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


def _pattern(text: str, variables: Mapping[str, Values] | None, wildcard: bool,
             ignore_case: bool = False) -> re.Pattern[str] | None:
    """A compiled matcher for one policy value; None when it names a policy variable without a value."""
    parts: list[str] = []
    at = 0
    for found in _VARIABLE.finditer(text) if variables is not None else ():
        literal = text[at:found.start()]
        parts.append(_wildcard(literal) if wildcard else re.escape(literal))
        name, default = found.group(1).strip(), None
        if (split := _DEFAULT.match(found.group(1))) is not None:
            name, default = split.group(1), split.group(2)
        if name in _LITERALS:
            value: str | None = _LITERALS[name]
        else:
            resolved = variables.get(name.lower())  # type: ignore[union-attr]
            value = resolved[0] if resolved else default
        if value is None:
            return None
        parts.append(re.escape(value))
        at = found.end()
    rest = text[at:]
    parts.append(_wildcard(rest) if wildcard else re.escape(rest))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


# -- what a request accesses ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Access:
    """One authorization question: may the principal perform `action` on `resource` in `context`?"""

    action: str
    resource: str
    context: Mapping[str, Any]


def _scalar(value: Any) -> str | object:
    """A key value as IAM sees it (S and N as written, B in base64), or _UNKNOWN."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, text),) = value.items()
        if kind in ("S", "N", "B") and isinstance(text, str):
            return text
    return _UNKNOWN


def _known(compute: Callable[[], Any]) -> Any:
    """`compute()`, or _UNKNOWN when the request is too malformed to say (the engine will reject it)."""
    try:
        return compute()
    except (DynamoDBError, KeyError, TypeError, ValueError, AttributeError, IndexError):
        return _UNKNOWN


class _Scope:
    """Builds the accesses of one request against one engine (region, account, table schemas)."""

    def __init__(self, engine: Engine, operation: str) -> None:
        self.engine = engine
        self.operation = operation
        self.accesses: list[Access] = []

    @cached_property
    def tables(self) -> dict[str, Table]:
        """The engine's tables, looked up once per request."""
        return self.engine.tables()

    def table(self, name: Any) -> Table | None:
        """The table a `TableName` (a name or an ARN) names, resolved as the engine resolves it."""
        if not isinstance(name, str) or not name:
            return None
        return self.tables.get(self.engine.resource(name).table)

    def table_arn(self, name: Any) -> str:
        """The ARN authorized for a `TableName`: the engine's own resolution of it (`Engine.resource`), so
        policy and engine always mean the same table. A malformed or foreign ARN raises the engine's error."""
        return self.engine.resource(name).arn if isinstance(name, str) and name else "*"

    def add(self, action: str, resource: str, **context: Any) -> None:
        self.accesses.append(Access("dynamodb:" + action, resource,
                                    {"dynamodb:" + k.lower(): v for k, v in context.items() if v is not None}))

    def hash_name(self, table_name: Any, index_name: Any = None) -> str | object:
        table = self.table(table_name)
        if table is None:
            return _UNKNOWN
        if index_name is None:
            return table.key.hash.name
        index = table.indexes.get(index_name) if isinstance(index_name, str) else None
        return index.key.hash.name if index is not None else _UNKNOWN

    def leading(self, table_name: Any, key: Any) -> Values | object:
        name = self.hash_name(table_name)
        if name is _UNKNOWN or not isinstance(key, dict):
            return _UNKNOWN
        value = _scalar(key.get(name))  # type: ignore[call-overload]
        return _UNKNOWN if value is _UNKNOWN else (value,)

    def partiql(self, body: Any) -> None:
        """A PartiQL statement: dynamodb:PartiQLSelect/Insert/Update/Delete on its table (or index). Its
        leading keys are not worked out, so a LeadingKeys condition fails closed for PartiQL."""
        parsed = _known(lambda: partiql_parse(body["Statement"], body.get("Parameters") or []))
        if parsed is _UNKNOWN:
            self.add("PartiQLSelect", "*")
            return
        if isinstance(parsed, PartiQLExists):
            parsed = parsed.select
        if isinstance(parsed, PartiQLSelect):
            resource = self.table_arn(parsed.source.table)
            if parsed.source.index is not None and resource != "*":
                resource += "/index/" + parsed.source.index
            self.add("PartiQLSelect", resource, LeadingKeys=_UNKNOWN)
            return
        self.add("PartiQL" + type(parsed).__name__, self.table_arn(parsed.table), LeadingKeys=_UNKNOWN)

    def item(self, action: str, body: Any, enclosing: str | None = None) -> None:
        """One single-item access: GetItem, PutItem, UpdateItem, DeleteItem, ConditionCheckItem."""
        body = body if isinstance(body, dict) else {}
        name = body.get("TableName")
        key = body.get("Item") if action == "PutItem" else body.get("Key")
        attributes: Any = None
        if action == "PutItem":
            attributes = tuple(key) if isinstance(key, dict) else _UNKNOWN
        elif action == "GetItem":
            attributes = _read_attributes(body)
        elif action in ("UpdateItem", "DeleteItem"):
            attributes = _known(lambda: _written(body, key, action == "UpdateItem"))
        self.add(action, self.table_arn(name), LeadingKeys=self.leading(name, key), Attributes=attributes,
                 ReturnValues=_text(body.get("ReturnValues")),
                 ReturnConsumedCapacity=_text(body.get("ReturnConsumedCapacity")), EnclosingOperation=enclosing)

    def read(self, request: dict[str, Any]) -> None:
        """Query or Scan, on a table or an index."""
        name, index_name = request.get("TableName"), request.get("IndexName")
        resource = self.table_arn(name)
        if index_name is not None and resource != "*":
            resource = f"{resource}/index/{index_name}" if isinstance(index_name, str) else "*"
        projected = _known(lambda: _projected(request))
        select = request.get("Select")
        if select is None:
            select = ("SPECIFIC_ATTRIBUTES" if isinstance(projected, tuple)
                      else "ALL_PROJECTED_ATTRIBUTES" if index_name is not None else "ALL_ATTRIBUTES")
        attributes = projected
        if select == "COUNT":
            attributes = None
        elif projected is None:
            attributes = self.index_attributes(name, index_name)
        leading = self.query_leading(request) if self.operation == "Query" else _UNKNOWN
        self.add(self.operation, resource, LeadingKeys=leading, Attributes=attributes, Select=_text(select),
                 ReturnConsumedCapacity=_text(request.get("ReturnConsumedCapacity")))

    def index_attributes(self, table_name: Any, index_name: Any) -> Values | object:
        """What a read without projection returns: an index's projected names, or whole items (unknown)."""
        table = self.table(table_name)
        index = table.indexes.get(index_name) if table is not None and isinstance(index_name, str) else None
        names = index.projected_names(table.key) if index is not None and table is not None else None
        return tuple(sorted(names)) if names is not None else _UNKNOWN

    def query_leading(self, request: dict[str, Any]) -> Values | object:
        name = self.hash_name(request.get("TableName"), request.get("IndexName"))

        def value() -> Values | object:
            if "KeyConditions" in request:  # legacy form: {name: {ComparisonOperator, AttributeValueList}}
                condition = request["KeyConditions"][name]
                found = _scalar(condition["AttributeValueList"][0]) if condition["ComparisonOperator"] == "EQ" \
                    else _UNKNOWN
                return _UNKNOWN if found is _UNKNOWN else (found,)
            ast = ex.parse_key_condition(request["KeyConditionExpression"])
            pieces = ex.key_conditions(ast, request.get("ExpressionAttributeNames") or {},
                                       request.get("ExpressionAttributeValues") or {})
            for attribute, operator, operands in pieces:
                if attribute == name and operator == "EQ":
                    found = _scalar(operands[0])
                    return _UNKNOWN if found is _UNKNOWN else (found,)
            return _UNKNOWN

        return _UNKNOWN if name is _UNKNOWN else _known(value)


def _text(value: Any) -> Values | None:
    return (value,) if isinstance(value, str) else None


def _read_attributes(body: dict[str, Any]) -> Values | object:
    """The attributes a GetItem-like read returns: its projection, or whole items (not knowable)."""
    projected = _known(lambda: _projected(body))
    return _UNKNOWN if projected is None else projected


def _projected(body: dict[str, Any]) -> Values | None:
    """The top-level attribute names a read projects, None when it reads whole items."""
    if isinstance(body.get("AttributesToGet"), list):
        return tuple(str(name) for name in body["AttributesToGet"])
    text = body.get("ProjectionExpression")
    if text is None:
        return None
    names = body.get("ExpressionAttributeNames") or {}
    return tuple(dict.fromkeys(str(ex.resolve_path(path, names)[0]) for path in ex.parse_projection(text).paths))


def _written(body: dict[str, Any], key: Any, update: bool) -> Values:
    """The top-level attribute names an UpdateItem or DeleteItem names: its key and what it updates."""
    found = dict.fromkeys(key) if isinstance(key, dict) else {}
    if update and isinstance(body.get("AttributeUpdates"), dict):
        found.update(dict.fromkeys(body["AttributeUpdates"]))
    elif update and body.get("UpdateExpression") is not None:
        names = body.get("ExpressionAttributeNames") or {}
        found.update(dict.fromkeys(sorted(ex.top_level_names(ex.parse_update(body["UpdateExpression"]), names))))
    return tuple(str(name) for name in found)


_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}
_BY_RESOURCE_ARN = ("TagResource", "UntagResource", "ListTagsOfResource", "PutResourcePolicy",
                    "GetResourcePolicy", "DeleteResourcePolicy")
_BY_TABLE_NAME = ("CreateTable", "DescribeTable", "UpdateTable", "DeleteTable", "DescribeTimeToLive",
                  "UpdateTimeToLive", "CreateBackup", "DescribeContinuousBackups", "UpdateContinuousBackups")


def accesses(engine: Engine, operation: str, request: dict[str, Any]) -> list[Access]:
    """Every access one request makes; never empty (an unreadable request asks for `*`)."""
    scope = _Scope(engine, operation)
    if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        scope.item(operation, request)
    elif operation in ("Query", "Scan"):
        scope.read(request)
    elif operation == "BatchGetItem":
        for name, spec in _mapping(request.get("RequestItems")):
            spec = spec if isinstance(spec, dict) else {}
            projected = _read_attributes(spec)
            keys = spec.get("Keys")
            for key in keys if isinstance(keys, list) else ():
                scope.add(operation, scope.table_arn(name), LeadingKeys=scope.leading(name, key),
                          Attributes=projected, ReturnConsumedCapacity=_text(request.get("ReturnConsumedCapacity")))
    elif operation == "BatchWriteItem":
        for name, writes in _mapping(request.get("RequestItems")):
            for write in writes if isinstance(writes, list) else ():
                key = _written_key(write)
                scope.add(operation, scope.table_arn(name), LeadingKeys=scope.leading(name, key),
                          Attributes=tuple(key) if isinstance(key, dict) else _UNKNOWN,
                          ReturnConsumedCapacity=_text(request.get("ReturnConsumedCapacity")))
    elif operation in ("TransactWriteItems", "TransactGetItems"):
        kinds = _TRANSACT_WRITE if operation == "TransactWriteItems" else {"Get": "GetItem"}
        items = request.get("TransactItems")
        for entry in items if isinstance(items, list) else ():
            for kind, body in entry.items() if isinstance(entry, dict) else ():
                if kind in kinds:
                    scope.item(kinds[kind], body, enclosing=operation)
    elif operation in ("ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"):
        for statement in _statements(operation, request):
            scope.partiql(statement)
    elif operation in _BY_TABLE_NAME:
        scope.add(operation, scope.table_arn(request.get("TableName")))
    elif operation in ("DescribeBackup", "DeleteBackup"):
        scope.add(operation, parse_arn(request.get("BackupArn"), "BackupArn").arn)
    elif operation == "RestoreTableFromBackup":  # reads the backup, creates the target table
        scope.add(operation, parse_arn(request.get("BackupArn"), "BackupArn").arn)
        scope.add(operation, scope.table_arn(request.get("TargetTableName")))
    elif operation == "RestoreTableToPointInTime":  # reads the source table's history, creates the target
        scope.add(operation, scope.table_arn(request.get("SourceTableName", request.get("SourceTableArn"))))
        scope.add(operation, scope.table_arn(request.get("TargetTableName")))
    elif operation == "ExportTableToPointInTime":  # reads the table's history
        scope.add(operation, scope.table_arn(request.get("TableArn")))
    elif operation == "ImportTable":  # creates the table it fills
        parameters = request.get("TableCreationParameters")
        scope.add(operation, scope.table_arn(parameters.get("TableName") if isinstance(parameters, dict) else None))
    elif operation in ("DescribeExport", "DescribeImport"):  # the engine looks the ARN up exactly as given
        arn = request.get("ExportArn" if operation == "DescribeExport" else "ImportArn")
        scope.add(operation, arn if isinstance(arn, str) and arn else "*")
    elif operation in _BY_RESOURCE_ARN:
        scope.add(operation, parse_arn(request.get("ResourceArn")).arn)
    elif operation in ("DescribeStream", "GetShardIterator"):
        arn = request.get("StreamArn")
        scope.add(operation, arn if isinstance(arn, str) and arn else "*")
    elif operation == "GetRecords":
        iterator = request.get("ShardIterator")
        scope.add(operation, iterators.decode(iterator).arn)  # the engine's own reading of the iterator
    if not scope.accesses:
        scope.add(operation, "*")
    return scope.accesses


def _statements(operation: str, request: dict[str, Any]) -> list[Any]:
    """The statement bodies ({"Statement", "Parameters"}) of a PartiQL request."""
    if operation == "ExecuteStatement":
        return [request]
    listed = request.get("Statements" if operation == "BatchExecuteStatement" else "TransactStatements")
    return [body for body in listed if isinstance(body, dict)] if isinstance(listed, list) else []


def _mapping(value: Any) -> Iterable[tuple[Any, Any]]:
    return value.items() if isinstance(value, dict) else ()


def _written_key(write: Any) -> Any:
    """The item of a PutRequest or the key of a DeleteRequest (None when it is neither)."""
    if not isinstance(write, dict):
        return None
    if isinstance(write.get("PutRequest"), dict):
        return write["PutRequest"].get("Item")
    if isinstance(write.get("DeleteRequest"), dict):
        return write["DeleteRequest"].get("Key")
    return None


# -- decisions ------------------------------------------------------------------------------------------------

def decide(principal: Principal, access: Access) -> str:
    """"Allow", "Deny" (an explicit Deny applies) or "NoAllow" (denied by default)."""
    context = {**principal.variables, **access.context}
    allowed = False
    for statement in principal.statements:
        if statement.applies(access.action, access.resource, context):
            if not statement.allow:
                return "Deny"
            allowed = True
    return "Allow" if allowed else "NoAllow"


def access_denied(principal: Principal, access: Access, decision: str) -> DynamoDBError:
    """DynamoDB's AccessDeniedException for a denied access."""
    reason = ("with an explicit deny in an identity-based policy" if decision == "Deny"
              else f"because no identity-based policy allows the {access.action} action")
    return DynamoDBError("AccessDeniedException", f"User: {principal.arn} is not authorized to perform: "
                                                  f"{access.action} on resource: {access.resource} {reason}")


def authorize(principal: Principal, operation: str, request: dict[str, Any], engine: Engine) -> None:
    """Raise AccessDeniedException unless every access of the request is allowed for `principal`."""
    found = accesses(engine, operation, request)
    seen: set[tuple[str, str, tuple[tuple[str, Any], ...]]] = set()
    for access in found:
        if len(found) > 1:  # batches repeat the same question for every item of one partition
            identity = (access.action, access.resource, tuple(sorted(access.context.items())))
            if identity in seen:
                continue
            seen.add(identity)
        decision = decide(principal, access)
        if decision != "Allow":
            raise access_denied(principal, access, decision)


# -- policies for designs --------------------------------------------------------------------------------------

TENANT_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                  "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                  "dynamodb:ConditionCheckItem")


def tenant_policy(table: str, *, region: str = "*", account_id: str = "*", tenant_tag: str = "tenant",
                  separator: str | None = None, indexes: bool = True,
                  actions: Iterable[str] = TENANT_ACTIONS) -> dict[str, Any]:
    """The identity policy of a multi-tenant table whose partition key is the tenant id.

    A principal tagged `tenant_tag=<id>` may then touch only partitions whose key is `<id>` (or, with a
    `separator`, starts with `<id><separator>`, as in `t1#orders`), on the table and, if `indexes`, on its
    indexes (whose partition key must then also lead with the tenant id). Scan is not granted: it has no
    leading key. Transactions are covered through the item actions they are made of.
    """
    base = f"arn:aws:dynamodb:{region}:{account_id}:table/{table}"
    variable = "${aws:PrincipalTag/" + tenant_tag + "}"
    if separator is None:
        condition = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [variable]}}
    else:
        condition = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [variable + separator + "*"]}}
    return {
        "Version": CURRENT_VERSION,
        "Statement": [{
            "Sid": "TenantPartitionsOnly",
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": [base, base + "/index/*"] if indexes else [base],
            "Condition": condition,
        }],
    }


__all__ = ["TENANT_ACTIONS", "Access", "PolicyError", "Principal", "Statement", "access_denied", "accesses",
           "authorize", "compile_policy", "decide", "tenant_policy"]
