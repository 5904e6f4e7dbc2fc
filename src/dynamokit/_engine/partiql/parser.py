"""Recursive-descent parser for DynamoDB's PartiQL subset.

Linear in the statement: one token of lookahead, no backtracking. Nesting (parentheses, function calls,
collection literals) is bounded, so hostile input fails with a ValidationException, never RecursionError.
`?` parameters are bound while parsing, in order.
"""

from __future__ import annotations

from typing import Any

from ..errors import DynamoDBError, validation
from ..numbers import parse as parse_number
from ..numbers import render as render_number
from .lexer import BAD, EOF, NUMBER, PARAM, PUNCT, QUOTED, STRING, WORD, Token, tokenize
from .syntax import (
    And,
    Arith,
    Between,
    Call,
    Compare,
    Delete,
    Exists,
    In,
    Insert,
    Is,
    Node,
    Not,
    Or,
    Path,
    Select,
    Source,
    Statement,
    Update,
    Value,
)

MAX_STATEMENT = 8192
MAX_DEPTH = 32
COMPARATORS = {"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
RETURNS = {("ALL", "OLD"): "ALL_OLD", ("ALL", "NEW"): "ALL_NEW", ("MODIFIED", "OLD"): "UPDATED_OLD",
           ("MODIFIED", "NEW"): "UPDATED_NEW"}
_RESERVED = frozenset(["ALL", "AND", "ASC", "BETWEEN", "BY", "DELETE", "DESC", "EXISTS", "FALSE", "FROM", "IN", "INSERT", "INTO", "IS", "MISSING", "MODIFIED", "NOT", "NULL", "OR", "ORDER", "REMOVE", "RETURNING", "SELECT", "SET", "TRUE", "UPDATE", "VALUE", "WHERE"])
PARAMETER_MISMATCH = "Number of parameters in request and statement don't match."


def malformed(detail: str) -> DynamoDBError:
    return validation(f"Statement wasn't well formed, can't be processed: {detail}")


def parse(text: str, parameters: list[dict[str, Any]]) -> Statement:
    """The statement `text` with its `?` placeholders bound to `parameters`."""
    parser = _Parser(tokenize(text), parameters)
    statement = parser.statement()
    parser.end()
    return statement


class _Parser:
    def __init__(self, tokens: list[Token], parameters: list[dict[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.parameters = parameters
        self.bound = 0
        self.depth = 0

    # -- tokens -------------------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind == BAD:
            raise malformed(f"Unexpected character: {token.text}")
        if token.kind != EOF:
            self.pos += 1
        return token

    def at(self, *words: str) -> bool:
        """Whether the current token is one of `words` (keywords, any case) or punctuation."""
        token = self.token
        if token.kind == WORD:
            return token.text.upper() in words
        return token.kind == PUNCT and token.text in words

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.advance()
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise self.unexpected(f"expected {word}")

    def unexpected(self, detail: str) -> DynamoDBError:
        token = self.token
        if token.kind == BAD:
            return malformed(f"Unexpected character: {token.text}")
        if token.kind == EOF:
            return malformed(f"Unexpected end of statement, {detail}")
        return malformed(f"Unexpected token: {token.text}, {detail}")

    def end(self) -> None:
        if self.token.kind != EOF:
            raise self.unexpected("expected end of statement")
        if self.bound != len(self.parameters):
            raise validation(PARAMETER_MISMATCH)

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise malformed("Nesting too deep")

    # -- statements ---------------------------------------------------------------------------------
    def statement(self) -> Statement:
        for word, rule in (("SELECT", self.select), ("INSERT", self.insert), ("UPDATE", self.update),
                           ("DELETE", self.delete), ("EXISTS", self.exists)):
            if self.accept(word):
                return rule()
        raise malformed("Expected data manipulation")

    def select(self) -> Select:
        columns = None if self.accept("*") else self.paths()
        self.expect("FROM")
        source = self.source()
        where = self.condition() if self.accept("WHERE") else None
        order: list[tuple[Path, bool]] = []
        if self.accept("ORDER"):
            self.expect("BY")
            while True:
                key = self.path()
                descending = self.accept("DESC")
                if not descending:
                    self.accept("ASC")
                order.append((key, descending))
                if not self.accept(","):
                    break
        return Select(source, columns, where, tuple(order))

    def exists(self) -> Exists:
        self.expect("(")
        self.expect("SELECT")
        select = self.select()
        self.expect(")")
        return Exists(select)

    def insert(self) -> Insert:
        self.expect("INTO")
        table = self.identifier()
        self.expect("VALUE")
        item = self.value()
        if set(item) != {"M"}:
            raise malformed("Expected a tuple in VALUE")
        return Insert(table, item["M"])

    def update(self) -> Update:
        table = self.identifier()
        actions: list[tuple[str, Path, Node | None]] = []
        while self.at("SET", "REMOVE"):
            clause = self.advance().text.upper()
            while True:
                path = self.path()
                if clause == "SET":
                    self.expect("=")
                    actions.append((clause, path, self.operand()))
                else:
                    actions.append((clause, path, None))
                if not self.accept(","):
                    break
        if not actions:
            raise self.unexpected("expected SET or REMOVE")
        self.expect("WHERE")
        where = self.condition()
        return Update(table, tuple(actions), where, self.returning())

    def delete(self) -> Delete:
        self.expect("FROM")
        table = self.identifier()
        self.expect("WHERE")
        where = self.condition()
        return Delete(table, where, self.returning())

    def returning(self) -> str | None:
        if not self.accept("RETURNING"):
            return None
        which = self.advance().text.upper()
        image = self.advance().text.upper()
        self.expect("*")
        returns = RETURNS.get((which, image))
        if returns is None:
            raise malformed(f"Invalid returning clause: {which} {image} *")
        return returns

    # -- names ----------------------------------------------------------------------------------------
    def identifier(self) -> str:
        token = self.token
        if token.kind == QUOTED or (token.kind == WORD and token.text.upper() not in _RESERVED):
            self.advance()
            return token.text
        raise self.unexpected("expected an identifier")

    def source(self) -> Source:
        table = self.identifier()
        return Source(table, self.identifier() if self.accept(".") else None)

    def path(self) -> Path:
        parts: list[str | int] = [self.identifier()]
        while self.at(".", "["):
            if self.advance().text == ".":
                parts.append(self.identifier())
                continue
            token = self.advance()
            if token.kind != NUMBER or not token.text.isdigit():
                raise malformed("Expected a list index")
            parts.append(int(token.text))
            self.expect("]")
        return Path(tuple(parts))

    def paths(self) -> tuple[Path, ...]:
        paths = [self.path()]
        while self.accept(","):
            paths.append(self.path())
        return tuple(paths)

    # -- conditions -----------------------------------------------------------------------------------
    def condition(self) -> Node:
        items = [self.conjunction()]
        while self.accept("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Node:
        items: list[Node] = []
        while True:
            item = self.negation()
            items.extend(item.items if isinstance(item, And) else (item,))
            if not self.accept("AND"):
                break
        return items[0] if len(items) == 1 else And(tuple(items))

    def negation(self) -> Node:
        negations = 0
        while self.accept("NOT"):
            negations += 1
        node = self.predicate()
        return Not(node) if negations % 2 else node

    def predicate(self) -> Node:
        left = self.operand()
        if self.token.kind == PUNCT and self.token.text in COMPARATORS:
            op = COMPARATORS[self.advance().text]
            return Compare(op, left, self.operand())
        negated = self.at("NOT")
        if negated:
            self.advance()
            if not self.at("BETWEEN", "IN"):
                raise self.unexpected("expected BETWEEN or IN")
        if self.accept("BETWEEN"):
            low = self.operand()
            self.expect("AND")
            node: Node = Between(left, low, self.operand())
        elif self.accept("IN"):
            node = In(left, self.options())
        elif self.accept("IS"):
            is_not = self.accept("NOT")
            if not self.at("MISSING", "NULL"):
                raise self.unexpected("expected MISSING or NULL")
            return Is(left, self.advance().text.upper(), is_not)
        else:
            return left
        return Not(node) if negated else node

    def options(self) -> tuple[Node, ...]:
        if not self.at("[", "("):
            raise self.unexpected("expected a list")
        close = "]" if self.advance().text == "[" else ")"
        options = [self.operand()]
        while self.accept(","):
            options.append(self.operand())
        self.expect(close)
        return tuple(options)

    def operand(self) -> Node:
        left = self.primary()
        if self.at("+", "-"):
            op = self.advance().text
            return Arith(op, left, self.primary())
        return left

    def primary(self) -> Node:
        token = self.token
        if self.accept("("):
            self.nested()
            node = self.condition()
            self.expect(")")
            self.depth -= 1
            return node
        if token.kind == WORD and self.tokens[self.pos + 1].text == "(" and self.tokens[self.pos + 1].kind == PUNCT:
            return self.call()
        if token.kind in (QUOTED, WORD) and not (token.kind == WORD and token.text.upper() in _RESERVED):
            return self.path()
        return Value(self.value())

    def call(self) -> Call:
        name = self.advance().text.lower()
        self.expect("(")
        self.nested()
        args = [self.operand()]
        while self.accept(","):
            args.append(self.operand())
        self.expect(")")
        self.depth -= 1
        return Call(name, tuple(args))

    # -- values ---------------------------------------------------------------------------------------
    def value(self) -> dict[str, Any]:
        token = self.token
        kind, text = token.kind, token.text
        if kind == STRING:
            self.advance()
            return {"S": text}
        if kind == NUMBER:
            self.advance()
            return {"N": render_number(parse_number(text))}
        if kind == PARAM:
            self.advance()
            return self.parameter()
        if kind == WORD and text.upper() in ("TRUE", "FALSE", "NULL"):
            self.advance()
            return {"NULL": True} if text.upper() == "NULL" else {"BOOL": text.upper() == "TRUE"}
        if kind == PUNCT and text == "-" and self.tokens[self.pos + 1].kind == NUMBER:
            self.advance()
            return {"N": render_number(-parse_number(self.advance().text))}
        if kind == PUNCT and text in ("[", "{", "<<"):
            self.advance()
            self.nested()
            made = {"[": self.list_value, "{": self.map_value, "<<": self.set_value}[text]()
            self.depth -= 1
            return made
        raise self.unexpected("expected a value")

    def parameter(self) -> dict[str, Any]:
        if self.bound >= len(self.parameters):
            raise validation(PARAMETER_MISMATCH)
        self.bound += 1
        return self.parameters[self.bound - 1]

    def elements(self, close: str) -> list[dict[str, Any]]:
        elements: list[dict[str, Any]] = []
        while not self.accept(close):
            if elements:
                self.expect(",")
            elements.append(self.value())
        return elements

    def list_value(self) -> dict[str, Any]:
        return {"L": self.elements("]")}

    def map_value(self) -> dict[str, Any]:
        members: dict[str, Any] = {}
        while not self.accept("}"):
            if members:
                self.expect(",")
            key = self.token
            if key.kind not in (STRING, QUOTED):
                raise self.unexpected("expected a string key")
            self.advance()
            self.expect(":")
            members[key.text] = self.value()
        return {"M": members}

    def set_value(self) -> dict[str, Any]:
        elements = self.elements(">>")
        kinds = {next(iter(e)) for e in elements}
        if len(kinds) != 1 or not kinds <= {"S", "N", "B"}:
            raise validation("Unsupported set element: a set holds strings, numbers or binaries of one type")
        kind = kinds.pop()
        return {kind + "S": [e[kind] for e in elements]}
