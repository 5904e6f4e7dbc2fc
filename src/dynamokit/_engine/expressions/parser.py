"""Recursive-descent parser for condition, update, projection and key-condition expressions.

Every parse is linear in the text: parentheses are matched once up front so no alternative is ever
re-parsed, and nesting is bounded so deep input fails with a ValidationException, not RecursionError.
"""

from __future__ import annotations

from ..errors import DynamoDBError, validation
from .lexer import EOF, NAME, NAME_REF, NUMBER, PUNCT, VALUE_REF, Token, tokenize
from .nodes import Action, And, Arith, Between, Call, Compare, In, Node, Not, Or, Path, ValueRef
from .reserved import is_reserved

MAX_BYTES = 4096
MAX_OPERATORS = 300
MAX_IN_OPERANDS = 100
MAX_PATH_DEPTH = 32  # a document path names at most 32 levels (documents nest at most 32 deep)
# Parentheses and function calls. Not a DynamoDB limit: without redundant parentheses every level holds an
# operator, or is a group around a function call, so a valid expression nests at most 2 levels per operator
# (DynamoDB accepts 149 levels within 300 operators). Deeper input is refused for its operator count,
# its redundant parentheses or its syntax, so it never reaches this bound; the parser recurses one frame
# per level, far below Python's recursion limit.
MAX_DEPTH = 2 * MAX_OPERATORS + 2

COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
CONDITION_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
_ARITY = {**CONDITION_FUNCTIONS, **UPDATE_FUNCTIONS, "size": 1}
_PATH_FIRST = frozenset({"attribute_exists", "attribute_not_exists", "if_not_exists"})
_CONDITION_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN"})
CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
_KEYWORDS = {"condition": _CONDITION_KEYWORDS, "update": frozenset(CLAUSES), "projection": frozenset()}
_ANY_TYPE = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"

# Errors found after a successful parse, reported in DynamoDB's order of precedence.
_CONDITION_ORDER = ("parens", "function", "misuse", "reserved", "operands", "path", "type")
_UPDATE_ORDER = ("reserved", "function", "misuse", "section", "operands", "path", "type")


def fail(kind: str, message: str) -> DynamoDBError:
    """A ValidationException about the expression carried by request parameter `kind`."""
    return validation(f"Invalid {kind}: {message}")


def check_text(text: str, kind: str) -> list[Token]:
    """Apply the size and emptiness rules, then tokenize."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise fail(kind, f"Expression size has exceeded the maximum allowed size; expression size: {size}")
    tokens = tokenize(text)
    if len(tokens) == 1:
        raise fail(kind, "The expression can not be empty;")
    return tokens


def _matching_parens(tokens: list[Token]) -> list[int]:
    """For each `(` the index of its `)`, -1 when unbalanced (other entries unused)."""
    match = [-1] * len(tokens)
    stack: list[int] = []
    for i, token in enumerate(tokens):
        if token.kind == PUNCT:
            if token.text == "(":
                stack.append(i)
            elif token.text == ")" and stack:
                match[stack.pop()] = i
    return match


class Parser:
    """One parse of one expression text; `kind` names the request parameter for error messages."""

    def __init__(self, text: str, kind: str, mode: str = "condition") -> None:
        self.text = text
        self.kind = kind
        self.is_update = mode == "update"
        self.tokens = check_text(text, kind)
        self.match = _matching_parens(self.tokens)
        self.pos = 0
        self.depth = 0
        self.operators = 0
        self.notes: dict[str, str] = {}
        self.keywords = _KEYWORDS[mode]

    # ----- token helpers -----

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, text: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == PUNCT and token.text == text

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == NAME and token.text.upper() == word

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise self.syntax_error()
        self.pos += 1

    def syntax_error(self) -> DynamoDBError:
        """DynamoDB's syntax error: the offending token, near its neighbours."""
        i = min(self.pos, len(self.tokens) - 1)
        token = self.tokens[i]
        start = self.tokens[i - 1].start if i > 0 else token.start
        end = self.tokens[i + 1].end if i + 1 < len(self.tokens) - 1 else token.end
        if token.kind == EOF and i > 0:
            end = self.tokens[i - 1].end
        return fail(self.kind, f'Syntax error; token: "{token.text}", near: "{self.text[start:end]}"')

    def note(self, category: str, message: str) -> None:
        """Remember the first semantic error of a category; raised once the whole text parsed."""
        self.notes.setdefault(category, message)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.depth_error()

    def depth_error(self) -> DynamoDBError:
        """The error for input nested deeper than MAX_DEPTH: too many operators, redundant parentheses or bad
        syntax (one of them holds for any such input)."""
        tokens = self.tokens
        operators = sum(1 for i, t in enumerate(tokens)
                        if t.kind == PUNCT and (t.text in COMPARATORS or t.text in "+-")
                        or t.kind == NAME and (t.text.upper() in _CONDITION_KEYWORDS or tokens[i + 1].text == "("))
        if operators > MAX_OPERATORS:
            return fail(self.kind, f"The expression contains too many operators; operator count: {operators}")
        if any(self.match[i] > 0 and self.match[i + 1] == self.match[i] - 1 for i in range(len(self.tokens) - 1)):
            return fail(self.kind, "The expression has redundant parentheses;")
        return self.syntax_error()

    def finish(self) -> None:
        """Check the end of input, the operator limit and the semantic notes, in that order."""
        if self.peek().kind != EOF:
            raise self.syntax_error()
        if self.operators > MAX_OPERATORS:
            raise fail(self.kind, f"The expression contains too many operators; operator count: {self.operators}")
        for category in _UPDATE_ORDER if self.is_update else _CONDITION_ORDER:
            if category in self.notes:
                raise fail(self.kind, self.notes[category])

    # ----- conditions -----

    def condition(self) -> Node:
        node = self.disjunction()
        self.finish()
        return node

    def disjunction(self) -> Node:
        """ORs of ANDs of NOT-prefixed primaries, in one loop: only a parenthesised group recurses."""
        ors: list[Node] = []
        ands: list[Node] = []
        while True:
            count = 0
            while self.at_keyword("NOT"):
                self.pos += 1
                count += 1
            self.operators += count
            if self.at("(") and not self.starts_comparison(self.match[self.pos] + 1):
                self.open_group()
                node = self.disjunction()
                self.close_group()
            else:
                node = self.comparison()
            ands.append(Not(node) if count % 2 else node)
            if self.at_keyword("AND"):
                self.pos += 1
                self.operators += 1
                continue
            ors.append(ands[0] if len(ands) == 1 else And(tuple(ands)))
            ands = []
            if not self.at_keyword("OR"):
                return ors[0] if len(ors) == 1 else Or(tuple(ors))
            self.pos += 1
            self.operators += 1

    def starts_comparison(self, i: int) -> bool:
        if i <= 0:
            return False
        token = self.tokens[i]
        if token.kind == PUNCT:
            return token.text in COMPARATORS
        return token.kind == NAME and token.text.upper() in ("BETWEEN", "IN")

    def open_group(self) -> None:
        close = self.match[self.pos]
        if close > 0 and self.at("(", 1) and self.match[self.pos + 1] == close - 1:
            self.note("parens", "The expression has redundant parentheses;")
        self.pos += 1
        self.enter()

    def close_group(self) -> None:
        self.expect(")")
        self.depth -= 1

    def comparison(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token.kind == PUNCT and token.text in COMPARATORS:
            self.pos += 1
            self.operators += 1
            right = self.operand()
            self.check_operands((left, right))
            return Compare(token.text, left, right)
        if self.at_keyword("BETWEEN"):
            self.pos += 1
            self.operators += 1
            low = self.operand()
            if not self.at_keyword("AND"):
                raise self.syntax_error()
            self.pos += 1
            high = self.operand()
            self.check_operands((left, low, high))
            return Between(left, low, high)
        if self.at_keyword("IN"):
            return self.membership(left)
        if isinstance(left, Call):
            self.check_call(left, as_condition=True)
            return left
        raise self.syntax_error()

    def membership(self, subject: Node) -> Node:
        self.pos += 1
        self.operators += 1
        self.expect("(")
        options = [self.operand()]
        while self.at(","):
            self.pos += 1
            options.append(self.operand())
        self.expect(")")
        if len(options) + 1 > MAX_IN_OPERANDS:
            self.note("operands", "The IN operator is provided with too many operands; "
                                  f"number of operands: {len(options) + 1}")
        self.check_operands((subject, *options))
        return In(subject, tuple(options))

    # ----- operands, functions and paths -----

    def operand(self) -> Node:
        """A value, path, function call or parenthesised operand: one frame per nesting level."""
        token = self.peek()
        if token.kind == PUNCT and token.text == "(":
            self.open_group()
            node = self.operand()
            self.close_group()
            return node
        if token.kind == VALUE_REF:
            self.pos += 1
            return ValueRef(token.text)
        if not (token.kind == NAME and self.at("(", 1) and token.text.upper() not in self.keywords):
            return self.path()
        self.pos += 2
        self.enter()
        self.operators += 1
        args = [self.operand()]
        while self.at(","):
            self.pos += 1
            args.append(self.operand())
        self.close_group()
        for arg in args:
            if isinstance(arg, Call):
                self.check_call(arg, as_condition=False, nested=True)
        return Call(token.text, tuple(args))

    def check_operands(self, operands: tuple[Node, ...]) -> None:
        for node in operands:
            if isinstance(node, Call):
                self.check_call(node, as_condition=False)

    def check_call(self, call: Call, as_condition: bool, nested: bool = False) -> None:
        """Static rules for a function: known, allowed here, arity, document-path arguments."""
        name = call.name
        if name not in _ARITY:
            self.note("function", f"Invalid function name; function: {name}")
            return
        if self.is_update and name not in UPDATE_FUNCTIONS:
            self.note("function", f"The function is not allowed in an update expression; function: {name}")
            return
        if not self.is_update and name in UPDATE_FUNCTIONS:
            self.note("function", f"The function is not allowed in a condition expression; function: {name}")
            return
        misused = (name == "list_append" and nested) if self.is_update else (name == "size") == as_condition
        if name == "size" and call.args and isinstance(call.args[0], Call):
            misused = True  # size(size(a)): size takes a document path
        if misused:
            self.note("misuse", f"The function is not allowed to be used this way in an expression; function: {name}")
            return
        if len(call.args) != _ARITY[name]:
            self.note("operands", "Incorrect number of operands for operator or function; "
                                  f"operator or function: {name}, number of operands: {len(call.args)}")
            return
        if name in _PATH_FIRST and not isinstance(call.args[0], Path):
            self.note("path", f"Operator or function requires a document path; operator or function: {name}")
        if name == "attribute_type" and not isinstance(call.args[1], ValueRef):
            self.note("type", "Incorrect operand type for operator or function; "
                              f"operator or function: attribute_type, operand type: {_ANY_TYPE}")

    def path(self) -> Path:
        parts: list[str | int] = [self.path_name(first=True)]
        while True:
            if self.at("."):
                self.pos += 1
                parts.append(self.path_name(first=False))
            elif self.at("["):
                self.pos += 1
                token = self.peek()
                if token.kind != NUMBER:
                    raise self.syntax_error()
                self.pos += 1
                parts.append(int(token.text))
                self.expect("]")
            else:
                if len(parts) > MAX_PATH_DEPTH:
                    self.note("path", "The document path has too many nesting levels; nesting levels: "
                                      f"{len(parts)}")
                return Path(tuple(parts))

    def path_name(self, first: bool) -> str:
        token = self.peek()
        if token.kind == NAME_REF:
            self.pos += 1
            return token.text
        if token.kind != NAME or (first and token.text.upper() in self.keywords):
            raise self.syntax_error()
        if is_reserved(token.text):
            self.note("reserved", f"Attribute name is a reserved keyword; reserved keyword: {token.text}")
        self.pos += 1
        return token.text

    # ----- update and projection -----

    def update(self) -> tuple[Action, ...]:
        actions: list[Action] = []
        seen: set[str] = set()
        while self.peek().kind != EOF:
            token = self.peek()
            clause = token.text.upper()
            if token.kind != NAME or clause not in CLAUSES:
                raise self.syntax_error()
            if clause in seen:
                self.note("section", f'The "{clause}" section can only be used once in an update expression;')
            seen.add(clause)
            self.pos += 1
            actions.append(self.action(clause))
            while self.at(","):
                self.pos += 1
                actions.append(self.action(clause))
        self.finish()
        return tuple(actions)

    def action(self, clause: str) -> Action:
        path = self.path()
        if clause == "REMOVE":
            return Action(clause, path, None)
        if clause == "SET":
            self.expect("=")
            return Action(clause, path, self.set_value())
        token = self.peek()
        if token.kind != VALUE_REF:
            raise self.syntax_error()
        self.pos += 1
        return Action(clause, path, ValueRef(token.text))

    def set_value(self) -> Node:
        close = self.match[self.pos] if self.at("(") else -1
        if close > 0 and not (self.tokens[close + 1].kind == PUNCT and self.tokens[close + 1].text in "+-"):
            self.open_group()
            node = self.arithmetic()
            self.close_group()
            return node
        return self.arithmetic()

    def arithmetic(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token.kind == PUNCT and token.text in ("+", "-"):
            self.pos += 1
            self.operators += 1
            right = self.operand()
            self.check_operands((left, right))
            return Arith(token.text, left, right)
        self.check_operands((left,))
        return left

    def projection(self) -> tuple[Path, ...]:
        paths = [self.path()]
        while self.at(","):
            self.pos += 1
            paths.append(self.path())
        self.finish()
        return tuple(paths)
