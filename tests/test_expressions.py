"""Conformance tests for the DynamoDB expression language (parsing, checks, evaluation, update, projection).

Each test names the DynamoDB rule it checks; sources are the AWS developer guide and test suites that were
run against the real service (alternator's test_condition_expression/test_update_expression, moto, dynalite).
"""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dynamokit._engine.expressions as ex
from dynamokit._engine.errors import DynamoDBError

S = lambda x: {"S": x}  # noqa: E731
N = lambda x: {"N": str(x)}  # noqa: E731
B = lambda x: {"B": base64.b64encode(x).decode()}  # noqa: E731


def error(fn, *args) -> str:
    with pytest.raises(DynamoDBError) as info:
        fn(*args)
    assert info.value.code == "ValidationException"
    return info.value.message


def cond(text: str, item: dict, values: dict | None = None, names: dict | None = None) -> bool:
    ast = ex.parse_condition(text, "ConditionExpression")
    ex.check_placeholders({"ConditionExpression": ast}, names, values)
    return ex.evaluate_condition(ast, item, names or {}, values or {})


def check_cond(text: str, values: dict | None = None, names: dict | None = None, kind: str = "ConditionExpression"):
    ex.check_placeholders({kind: ex.parse_condition(text, kind)}, names, values)


def update(text: str, item: dict, values: dict | None = None, names: dict | None = None):
    ast = ex.parse_update(text, "UpdateExpression")
    ex.check_placeholders({"UpdateExpression": ast}, names, values)
    return ex.apply_update(ast, item, names or {}, values or {})


ALL = [N(1), S("hello"), {"BOOL": True}, B(b"xyz"), {"NULL": True}, {"L": [S("a"), N(2)]},
       {"M": {"k": S("v")}}, {"SS": ["a", "b"]}, {"NS": ["1", "2"]}, {"BS": ["eHl6", "aGk="]}]


# ----- syntax and error messages -----

class TestSyntax:
    def test_syntax_error_names_token_and_neighbours(self):
        """Syntax errors: `token: "<t>", near: "<prev> <t> <next>"` (moto tests validated on AWS)."""
        assert error(ex.parse_update, "SET = :v", "UpdateExpression") == \
            'Invalid UpdateExpression: Syntax error; token: "=", near: "SET = :v"'
        assert error(ex.parse_update, "SET MyStr = myNum + 1", "UpdateExpression") == \
            'Invalid UpdateExpression: Syntax error; token: "1", near: "+ 1"'
        assert error(ex.parse_update, "SET MyStr = myNum Mystr2 myNum2", "UpdateExpression") == \
            'Invalid UpdateExpression: Syntax error; token: "Mystr2", near: "myNum Mystr2 myNum2"'

    def test_eof_error_is_near_last_token(self):
        """At end of input DynamoDB shows the last token: `contains(a, :v` -> near ":v"; `SET a = :v,` -> ","."""
        assert error(ex.parse_condition, "foo", "ConditionExpression") == \
            'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "foo"'
        assert error(ex.parse_condition, "contains (themes, :theme", "FilterExpression") == \
            'Invalid FilterExpression: Syntax error; token: "<EOF>", near: ":theme"'
        assert error(ex.parse_update, "SET a = :v,", "UpdateExpression") == \
            'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","'

    @pytest.mark.parametrize("kind", ["ConditionExpression", "FilterExpression", "KeyConditionExpression"])
    def test_message_names_the_request_parameter(self, kind):
        """The message prefix names the parameter that carried the expression."""
        parse = ex.parse_key_condition if kind == "KeyConditionExpression" else ex.parse_condition
        assert error(parse, "a = ", kind).startswith(f"Invalid {kind}: Syntax error")

    def test_projection_syntax(self):
        assert error(ex.parse_projection, "a b", "ProjectionExpression") == \
            'Invalid ProjectionExpression: Syntax error; token: "b", near: "a b"'
        assert error(ex.parse_projection, "!!", "ProjectionExpression") == \
            'Invalid ProjectionExpression: Syntax error; token: "!", near: "!!"'

    @pytest.mark.parametrize("text", ["", "   "])
    def test_empty_expression(self, text):
        """An empty expression: 'The expression can not be empty;'."""
        assert error(ex.parse_condition, text, "ConditionExpression") == \
            "Invalid ConditionExpression: The expression can not be empty;"

    @pytest.mark.parametrize("text", ["SET _123 = :v", "SET 123a = :v", "SET hi-there = :v", "SET a[:x] = :v",
                                      "SET a[#x] = :v", "SET :a = :b", "SET a = :", "SET # = :v",
                                      "SET a = :v1 + :v2 + :v3", "SET c = if_not_exists(c, :a+:b)", "HELLO b = :v"])
    def test_update_syntax_errors(self, text):
        """Names start with a letter; indexes are literal digits; one + per SET value (alternator)."""
        assert "Syntax error" in error(ex.parse_update, text, "UpdateExpression")

    def test_in_requires_operands(self):
        """`a IN ()` is a syntax error, not a failed condition."""
        assert "Syntax error" in error(ex.parse_condition, "a IN ()", "ConditionExpression")

    def test_keywords_and_clauses_are_case_insensitive(self):
        """AND/OR/NOT/BETWEEN/IN and SET/REMOVE/ADD/DELETE ignore case; function names do not."""
        assert cond("a between :x and :y aNd NOT a In (:x)", {"a": N(2)}, {":x": N(1), ":y": N(3)})
        assert update("sEt b = :v", {}, {":v": N(1)})[0] == {"b": N(1)}
        assert "Invalid function name; function: LIST_APPEND" in error(
            ex.parse_update, "SET a = LIST_APPEND(:a, :b)", "UpdateExpression")


class TestStaticRules:
    def test_reserved_words(self):
        """Reserved words (573 of them, any case) may not be bare attribute names."""
        assert len(ex.RESERVED_WORDS) == 573
        assert error(ex.parse_update, "SET size = :v", "UpdateExpression") == \
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: size"
        assert "reserved keyword: Comment" in error(ex.parse_projection, "Comment", "ProjectionExpression")
        assert "reserved keyword: name" in error(ex.parse_condition, "a.name = :v", "ConditionExpression")
        ex.parse_projection("#c", "ProjectionExpression")

    def test_function_rules(self):
        """Unknown functions, misplaced functions, arity and document-path arguments."""
        c = "ConditionExpression"
        assert error(ex.parse_condition, "foo(a)", c) == "Invalid ConditionExpression: Invalid function name; function: foo"
        assert error(ex.parse_condition, "if_not_exists(a, a) = :v", c).endswith(
            "The function is not allowed in a condition expression; function: if_not_exists")
        assert error(ex.parse_update, "SET a = size(b)", "UpdateExpression").endswith(
            "The function is not allowed in an update expression; function: size")
        assert error(ex.parse_update, "SET a = begins_with(b, :v)", "UpdateExpression").endswith(
            "The function is not allowed in an update expression; function: begins_with")
        assert error(ex.parse_condition, "size(a)", c).endswith(
            "The function is not allowed to be used this way in an expression; function: size")
        assert error(ex.parse_condition, "attribute_exists(a) < :v", c).endswith(
            "The function is not allowed to be used this way in an expression; function: attribute_exists")
        assert error(ex.parse_condition, "attribute_exists(a, b)", c).endswith(
            "Incorrect number of operands for operator or function; operator or function: attribute_exists, "
            "number of operands: 2")
        assert error(ex.parse_condition, "size(a, a) = :v", c).endswith("number of operands: 2")
        assert error(ex.parse_condition, "attribute_exists(:v)", c).endswith(
            "Operator or function requires a document path; operator or function: attribute_exists")
        assert error(ex.parse_update, "SET b = if_not_exists(:v, :w)", "UpdateExpression").endswith(
            "Operator or function requires a document path; operator or function: if_not_exists")
        assert error(ex.parse_update, "SET a = list_append(list_append(:a, :b), :c)", "UpdateExpression").endswith(
            "The function is not allowed to be used this way in an expression; function: list_append")
        assert "attribute_type" in error(ex.parse_condition, "attribute_type(a, b)", c)

    def test_redundant_parentheses(self):
        """Doubled parentheses are rejected: 'The expression has redundant parentheses;'."""
        assert error(ex.parse_condition, "((a = :v))", "ConditionExpression") == \
            "Invalid ConditionExpression: The expression has redundant parentheses;"
        ex.parse_condition("(a = :v) AND ((b = :v) OR c = :v)", "ConditionExpression")

    def test_update_sections_once(self):
        """Each clause appears at most once, in any order."""
        assert error(ex.parse_update, "SET a = :v REMOVE b SET c = :v", "UpdateExpression") == \
            'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'
        ex.parse_update("REMOVE a SET b = :v ADD c :n DELETE d :s", "UpdateExpression")

    def test_key_condition_shape(self):
        """KeyConditionExpression: hash = :v AND one range condition, either order, parentheses allowed."""
        k = ex.parse_key_condition("(begins_with(sk, :s)) AND (:p = pk)", "KeyConditionExpression")
        assert ex.key_conditions(k, {}, {":p": S("a"), ":s": S("b")}) == [
            ("sk", "BEGINS_WITH", [S("b")]), ("pk", "EQ", [S("a")])]
        k = ex.parse_key_condition("#p = :p AND sk BETWEEN :a AND :b", "KeyConditionExpression")
        assert ex.key_conditions(k, {"#p": "pk"}, {":p": N(1), ":a": N(1), ":b": N(2)})[1] == \
            ("sk", "BETWEEN", [N(1), N(2)])
        for text, op in [("pk = :p OR sk = :s", "OR"), ("NOT pk = :p", "NOT"), ("pk IN (:p)", "IN"),
                         ("pk <> :p", "<>"), ("attribute_exists(pk)", "attribute_exists")]:
            assert error(ex.parse_key_condition, text, "KeyConditionExpression") == \
                f"Invalid operator used in KeyConditionExpression: {op}"


class TestBounds:
    def test_expression_size(self):
        """Expressions are limited to 4096 bytes (4096 accepted, 4097 rejected)."""
        ok = "a = :v" + " " * (4096 - 6)
        ex.parse_condition(ok, "ConditionExpression")
        assert error(ex.parse_condition, ok + " ", "ConditionExpression") == \
            "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097"

    def test_operator_count(self):
        """At most 300 operators: 'The expression contains too many operators; operator count: 301'."""
        ex.parse_condition(" AND ".join(["a = :v"] * 150), "FilterExpression")
        assert error(ex.parse_condition, " AND ".join(["a = :v"] * 151), "FilterExpression") == \
            "Invalid FilterExpression: The expression contains too many operators; operator count: 301"
        assert "too many operators" in error(ex.parse_condition, "NOT " * 301 + "a = :v", "FilterExpression")

    def test_in_operand_limit(self):
        """IN accepts up to 100 operands including the left one (alternator: 99 listed values work)."""
        ex.parse_condition("a IN (" + ",".join(f":v{i}" for i in range(99)) + ")", "FilterExpression")
        assert "The IN operator is provided with too many operands; number of operands: 101" in error(
            ex.parse_condition, "a IN (" + ",".join(f":v{i}" for i in range(100)) + ")", "FilterExpression")

    @pytest.mark.parametrize("text", [
        "(" * 10000 + "a = :v" + ")" * 10000,
        "(" * 2000 + "a = :v" + ")" * 2000,
        "(" * 4000,
        "a = size(" * 800,
        "(a = :v AND " * 400 + "a = :v" + ")" * 400,
        "NOT (" * 800 + "a = :v" + ")" * 800,
    ])
    def test_deep_nesting_is_a_validation_error(self, text):
        """Deep nesting never recurses unboundedly: ValidationException, quickly."""
        start = time.perf_counter()
        error(ex.parse_condition, text, "ConditionExpression")
        assert time.perf_counter() - start < 0.5

    def test_deep_update_nesting(self):
        text = "SET a = " + "if_not_exists(a, " * 1000 + ":v" + ")" * 1000
        error(ex.parse_update, text[:4096], "UpdateExpression")

    def test_large_flat_inputs_are_linear(self):
        """A 4 KB expression of many paths parses and checks fast (no quadratic path checks)."""
        text = ",".join(f"a{i}" for i in range(700))[:4096].rstrip(",")
        start = time.perf_counter()
        ast = ex.parse_projection(text, "ProjectionExpression")
        ex.check_placeholders({"ProjectionExpression": ast}, None, None)
        assert time.perf_counter() - start < 0.5


# ----- placeholders -----

class TestPlaceholders:
    def test_undefined_name_and_value(self):
        assert error(check_cond, "#n = :v", {":v": N(1)}) == (
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; "
            "attribute name: #n")
        assert error(check_cond, "a = :v", {":w": N(1)}) == (
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; "
            "attribute value: :v")

    def test_unused_entries(self):
        """Every name and value must be used by some expression of the request."""
        assert error(check_cond, "a = :v", {":v": N(1), ":u": N(2)}) == \
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}"
        assert error(check_cond, "a = :v", {":v": N(1)}, {"#a": "x"}) == \
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a}"

    def test_use_anywhere_in_request_counts(self):
        """Short-circuit evaluation doesn't matter: a placeholder used by any expression counts as used."""
        c = ex.parse_condition("#a = :v OR #b = :w", "ConditionExpression")
        u = ex.parse_update("SET #a = :x", "UpdateExpression")
        ex.check_placeholders({"ConditionExpression": c, "UpdateExpression": u},
                              {"#a": "a", "#b": "b"}, {":v": N(1), ":w": N(1), ":x": N(1)})

    def test_empty_maps(self):
        assert error(check_cond, "a = b", {}) == "ExpressionAttributeValues must not be empty"
        assert error(check_cond, "a = b", None, {}) == "ExpressionAttributeNames must not be empty"

    def test_ast_exposes_placeholders(self):
        ast = ex.parse_condition("#a.#b = :v AND size(#a) > :w", "ConditionExpression")
        assert ast.names == {"#a", "#b"} and ast.values == {":v", ":w"}


# ----- condition evaluation -----

class TestComparisons:
    @pytest.mark.parametrize("value", ALL)
    def test_equality_every_type(self, value):
        """`=` holds for equal values of every type, including sets, lists and maps."""
        assert cond("a = :v", {"a": value}, {":v": value})
        assert cond("a = b", {"a": value, "b": value})
        assert not cond("a <> :v", {"a": value}, {":v": value})

    @pytest.mark.parametrize("left", ALL)
    @pytest.mark.parametrize("right", ALL)
    def test_different_types_are_unequal_not_errors(self, left, right):
        """Comparing different types is false for `=` and true for `<>`, never an error."""
        if left is right:
            return
        assert not cond("a = :v", {"a": left}, {":v": right})
        assert cond("a <> :v", {"a": left}, {":v": right})

    def test_set_equality_is_unordered(self):
        assert cond("a = :v", {"a": {"SS": ["dog", "cat"]}}, {":v": {"SS": ["cat", "dog"]}})
        assert cond("a = :v", {"a": {"NS": ["1", "2"]}}, {":v": {"NS": ["2.0", "1"]}})
        assert not cond("a = :v", {"a": {"L": [N(1), N(2)]}}, {":v": {"L": [N(2), N(1)]}})

    @pytest.mark.parametrize("op,small_big,equal", [("<", True, False), ("<=", True, True),
                                                     (">", False, False), (">=", False, True)])
    @pytest.mark.parametrize("small,big", [(N(-5), N("2.5")), (S("cat"), S("dog")), (B(b"\x7f"), B(b"\x80")),
                                           (S("z"), S("é")), (N(9), N(10))])
    def test_ordering(self, op, small_big, equal, small, big):
        """< <= > >= on N (numeric), S (code points = UTF-8 bytes), B (unsigned bytes)."""
        assert cond(f"a {op} :v", {"a": small}, {":v": big}) == small_big
        assert cond(f"a {op} :v", {"a": small}, {":v": small}) == equal

    def test_missing_attribute(self):
        """A missing attribute makes =, <, BETWEEN, IN false but <> true, even two missing ones."""
        assert not cond("q = :v", {}, {":v": N(1)})
        assert cond("q <> :v", {}, {":v": N(1)})
        assert not cond("q = z", {})
        assert cond("q <> z", {})
        for op in ("<", "<=", ">", ">="):
            assert not cond(f"q {op} :v", {}, {":v": N(1)}) and not cond(f":v {op} q", {}, {":v": N(1)})
        assert not cond("q BETWEEN :v AND :v", {}, {":v": N(1)})
        assert not cond("q IN (:v)", {}, {":v": N(1)})

    def test_ordering_other_types_is_false_from_item(self):
        """A list in the item is simply not < anything; a list in :values is a ValidationException."""
        assert not cond("x < :v", {"x": {"L": [N(1)]}}, {":v": N(1)})
        assert error(cond, "a < :v", {"a": N(1)}, {":v": {"L": [N(1)]}}).endswith(
            "Incorrect operand type for operator or function; operator or function: <, operand type: L")

    def test_between(self):
        assert cond("a BETWEEN :lo AND :hi", {"a": N(1)}, {":lo": N(0), ":hi": N(2)})
        assert cond("a BETWEEN :lo AND :hi", {"a": S("cat")}, {":lo": S("cat"), ":hi": S("cat")})
        assert not cond("a BETWEEN :lo AND :hi", {"a": N(1)}, {":lo": S("0"), ":hi": S("2")})
        assert cond("a BETWEEN x AND y", {"a": N(1), "x": N(0), "y": N(2)})
        assert not cond("a BETWEEN two AND :v", {"a": N(1), "two": N(2)}, {":v": N(1)})

    def test_between_bounds_errors(self):
        """Value bounds out of order or of different types are ValidationExceptions."""
        assert error(check_cond, "a BETWEEN :x AND :y", {":x": N(2), ":y": N(1)}) == (
            "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to "
            "lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}")
        assert "requires same data type for lower and upper bounds" in error(
            check_cond, "a BETWEEN :x AND :y", {":x": N(2), ":y": S("dog")})

    def test_in(self):
        assert cond("a IN (:x, :y)", {"a": N(174)}, {":x": S("dog"), ":y": N(174)})
        assert cond("a IN (b)", {"a": {"SS": ["x"]}, "b": {"SS": ["x"]}})
        assert not cond("a IN (:x)", {"a": N(1)}, {":x": N(2)})

    def test_distinct_operands(self):
        """`a = a` is rejected: the first operand must be distinct from the others."""
        assert error(check_cond, "a = #a", None, {"#a": "a"}).endswith(
            "The first operand must be distinct from the remaining operands for this operator or function; "
            "operator: =, first operand: [a]")
        assert "operator: contains" in error(check_cond, "contains(a.b[1], a.b[1])")


class TestFunctions:
    def test_attribute_exists(self):
        assert cond("attribute_exists(a.b[1])", {"a": {"M": {"b": {"L": [N(0), N(1)]}}}})
        assert not cond("attribute_exists(a.b[2])", {"a": {"M": {"b": {"L": [N(0), N(1)]}}}})
        assert cond("attribute_not_exists(z)", {}) and not cond("attribute_not_exists(a)", {"a": {"NULL": True}})

    @pytest.mark.parametrize("value", ALL)
    def test_attribute_type(self, value):
        tag = next(iter(value))
        assert cond("attribute_type(a, :t)", {"a": value}, {":t": S(tag)})
        other = "N" if tag != "N" else "S"
        assert not cond("attribute_type(a, :t)", {"a": value}, {":t": S(other)})

    def test_attribute_type_errors(self):
        assert error(check_cond, "attribute_type(a, :t)", {":t": S("DOG")}) == (
            "Invalid ConditionExpression: Invalid attribute type name found; type: DOG, valid types: "
            "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
        assert error(check_cond, "attribute_type(a, :t)", {":t": N(1)}).endswith(
            "operator or function: attribute_type, operand type: N")

    def test_begins_with(self):
        assert cond("begins_with(a, :p)", {"a": S("hello")}, {":p": S("hell")})
        assert cond("begins_with(b, :p)", {"b": B(b"hi there")}, {":p": B(b"hi")})
        assert not cond("begins_with(a, :p)", {"a": S("hello")}, {":p": S("dog")})
        assert not cond("begins_with(c, :p)", {"c": N(1)}, {":p": S("1")})
        assert cond("begins_with(:s, a)", {"a": S("he")}, {":s": S("hellohi")})
        assert error(check_cond, "begins_with(a, :p)", {":p": N(2)}).endswith(
            "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")

    def test_contains(self):
        """contains(): substring of S or B, member of SS/NS/BS, element of L (any type)."""
        item = {"a": S("hello"), "b": {"NS": ["2", "4", "7"]}, "c": {"L": [N(2), N(4)]}, "d": B(b"hi there"),
                "e": {"L": [S("hi"), {"NS": ["1", "2"]}, {"L": [N(3), N(4)]}]}, "f": {"SS": ["x"]}}
        assert cond("contains(a, :v)", item, {":v": S("ell")})
        assert cond("contains(b, :v)", item, {":v": N(4)})
        assert cond("contains(c, :v)", item, {":v": N(4)})
        assert cond("contains(d, :v)", item, {":v": B(b"here")})
        assert not cond("contains(d, :v)", item, {":v": B(b"dog")})
        assert cond("contains(e, :v)", item, {":v": {"NS": ["2", "1"]}})
        assert cond("contains(e, :v)", item, {":v": {"L": [N(3), N(4)]}})
        assert cond("contains(f, :v)", item, {":v": S("x")})
        assert not cond("contains(f, :v)", item, {":v": {"SS": ["x"]}})
        assert not cond("contains(q, :v)", item, {":v": S("x")})

    def test_size(self):
        """size(): characters of S, bytes of B, elements of sets/L/M; other types make comparisons false."""
        item = {"a": S("hello"), "b": {"NS": ["2", "4", "7"]}, "c": {"L": [N(2), S("dog"), N(7)]},
                "d": B(b"hi there"), "e": {"M": {"x": N(2), "y": {"M": {}}}}, "f": N(5), "g": {"BOOL": True}}
        for attr, length in [("a", 5), ("b", 3), ("c", 3), ("d", 8), ("e", 2)]:
            assert cond(f"size({attr}) = :n", item, {":n": N(length)})
        assert not cond("size(f) = :n", item, {":n": N(1)})
        assert not cond("size(g) = :n", item, {":n": N(1)})
        assert not cond("size(a) = :n", item, {":n": S("dog")})
        assert cond("size(a) = f", item)
        assert cond("size(a) < :n AND size(a) >= :m", item, {":n": N(7), ":m": N(5)})
        assert error(check_cond, "size(:v) > :w", {":v": N(1), ":w": N(1)}).endswith(
            "operator or function: size, operand type: N")


class TestLogic:
    def test_precedence(self):
        """NOT binds tighter than AND, AND tighter than OR; comparisons tighter than all."""
        item = {"a": N(1), "b": N(2), "c": N(3)}
        assert cond("a < b OR c < b AND b < c", item)
        assert not cond("NOT a < b AND c < b", item)
        assert cond("NOT NOT NOT NOT a < b", item)
        assert cond("b BETWEEN a AND c AND a < b", item)
        assert cond("(a < b OR b < a) AND (b < c AND (a < b OR b < c))", item)
        assert not cond("(a < b OR c < b) AND b > c", item)

    def test_nested_paths_and_names(self):
        item = {"b": {"M": {"x": N(1), "y": {"L": [N(-1), N(2), N(0)]}}}, "and": {"M": {"or": N(2)}}}
        assert cond("b.x < b.y[1]", item)
        assert not cond("b.x < b.y[0]", item)
        assert not cond("b.z < b.y[100]", item)
        assert cond("#n1.#n2 = :two", item, {":two": N(2)}, {"#n1": "and", "#n2": "or"})
        assert cond("#d = :v", {"a.b": N(1)}, {":v": N(1)}, {"#d": "a.b"})


# ----- updates -----

class TestUpdate:
    def test_set_reads_original_item(self):
        """All right-hand sides read the item as it was before the update."""
        new, paths = update("SET a = b, b = a", {"a": N(1), "b": N(2)})
        assert new == {"a": N(2), "b": N(1)} and paths == [("a",), ("b",)]
        assert error(update, "SET x = :v, y = x", {}, {":v": N(4)}) == \
            "The provided expression refers to an attribute that does not exist in the item"
        assert update("REMOVE a SET b = a", {"a": S("hello")})[0] == {"b": S("hello")}

    def test_input_is_not_mutated(self):
        item = {"a": {"M": {"b": {"L": [N(1)]}}}, "s": {"SS": ["x"]}}
        snapshot = repr(item)
        update("SET a.b[1] = :v, a.c = :v ADD s :s REMOVE a.b[0]", item, {":v": N(2), ":s": {"SS": ["y"]}})
        assert repr(item) == snapshot

    def test_arithmetic(self):
        """+ and - on numbers only, exact decimal arithmetic."""
        assert update("SET a = a + :v", {"a": N("5.3")}, {":v": N("0.05")})[0]["a"] == N("5.35")
        assert update("SET b = :v - a", {"a": N(2)}, {":v": N(7)})[0]["b"] == N(5)
        assert update("SET b = if_not_exists(b, :z) + :one", {}, {":z": N(0), ":one": N(1)})[0]["b"] == N(1)
        assert error(update, "SET s = s + s", {"s": S("x")}) == \
            "An operand in the update expression has an incorrect data type"
        assert error(update, "SET b = :a + :b", {}, {":a": S("dog"), ":b": N(3)}) == (
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, "
            "operand type: S")
        assert "more than 38 significant digits" in error(update, "SET a = a + :v", {"a": N("1e30")}, {":v": N("1e-30")})

    def test_if_not_exists_and_list_append(self):
        assert update("SET a = if_not_exists(a, :v)", {}, {":v": N(2)})[0] == {"a": N(2)}
        assert update("SET a = if_not_exists(a, :v)", {"a": N(1)}, {":v": N(2)})[0] == {"a": N(1)}
        lst = {"L": [S("hi")]}
        assert update("SET a = list_append(a, :v)", {"a": lst}, {":v": {"L": [N(4)]}})[0]["a"] == \
            {"L": [S("hi"), N(4)]}
        assert update("SET a = list_append(:v, a)", {"a": lst}, {":v": {"L": [N(4)]}})[0]["a"] == \
            {"L": [N(4), S("hi")]}
        assert "operator or function: list_append, operand type: S" in error(
            update, "SET a = list_append(:a, :b)", {}, {":a": {"L": []}, ":b": S("x")})
        assert error(update, "SET a = list_append(b, :v)", {"b": N(7)}, {":v": {"L": []}}) == \
            "An operand in the update expression has an incorrect data type"
        assert error(update, "SET a = list_append(b, :v)", {}, {":v": {"L": []}}) == \
            "The provided expression refers to an attribute that does not exist in the item"

    def test_nested_set(self):
        item = {"a": {"M": {"b": N(3), "c": {"L": [S("hi"), {"M": {"x": {"M": {"y": {"L": [N(3), N(5)]}}}}}]}}}}
        new, _ = update("SET a.c[1].#n.y[1] = :v, a.d = :v", item, {":v": N(9)}, {"#n": "x"})
        assert new["a"]["M"]["c"]["L"][1]["M"]["x"]["M"]["y"]["L"] == [N(3), N(9)]
        assert new["a"]["M"]["d"] == N(9)

    def test_list_index_past_end_appends_in_index_order(self):
        """SET a[7] on a 3-element list appends; several appends go in index order."""
        item = {"a": {"L": [S("one"), S("two"), S("three")]}}
        new, _ = update("SET a[84] = :a1, a[37] = :a2, a[17] = :a3, a[50] = :a4", item,
                        {":a1": S("a1"), ":a2": S("a2"), ":a3": S("a3"), ":a4": S("a4")})
        assert [v["S"] for v in new["a"]["L"]] == ["one", "two", "three", "a3", "a2", "a4", "a1"]

    def test_invalid_document_paths(self):
        """Writing below a missing or non-container attribute: 'The document path ... is invalid for update'."""
        message = "The document path provided in the update expression is invalid for update"
        item = {"a": S("hello"), "b": {"L": [S("hi")]}}
        for text in ["SET a.c = :v", "SET b.c = :v", "SET c.c = :v", "SET a[0] = :v", "SET z[0] = :v",
                     "REMOVE a.c", "REMOVE b.c", "REMOVE c.c", "REMOVE a[0]", "SET b[5].x = :v"]:
            assert error(update, text, item, {":v": N(1)} if ":v" in text else None) == message

    def test_remove(self):
        """REMOVE drops attributes, nested keys and list elements; missing targets are no-ops."""
        item = {"a": {"M": {"b": N(3), "c": {"L": [S("hi"), {"M": {"x": {"M": {"y": {"L": [N(3), N(5), N(7)]}}},
                                                                     "q": N(2)}}]}}}, "z": N(1)}
        new, _ = update("REMOVE a.c[1].x.y[1], a.c[1].q, z, nothere", item)
        assert new == {"a": {"M": {"b": N(3), "c": {"L": [S("hi"), {"M": {"x": {"M": {"y": {"L": [N(3), N(7)]}}}}}]}}}}
        assert update("REMOVE a[17], m.y", {"a": {"L": [N(4)]}, "m": {"M": {"x": N(3)}}})[0] == \
            {"a": {"L": [N(4)]}, "m": {"M": {"x": N(3)}}}
        assert update("REMOVE a.b", {"a": {"M": {"b": N(1)}}})[0] == {"a": {"M": {}}}
        assert update("REMOVE a[0]", {"a": {"L": [N(1)]}})[0] == {"a": {"L": []}}

    def test_list_indexes_refer_to_the_original_list(self):
        """`REMOVE a[1] SET a[3] = :v` uses pre-update positions, in either order."""
        item = {"a": {"L": [N(i) for i in (2, 3, 4, 5, 6, 7)]}}
        for text in ("REMOVE a[1] SET a[3] = :v", "SET a[3] = :v REMOVE a[1]"):
            assert update(text, item, {":v": N(17)})[0]["a"]["L"] == [N(2), N(4), N(17), N(6), N(7)]
        assert update("REMOVE a[0], a[2]", item)[0]["a"]["L"] == [N(3), N(5), N(6), N(7)]

    def test_add(self):
        """ADD: numbers (missing counts as 0) and set union of the same type; other types are errors."""
        assert update("ADD a :v", {"a": N(3)}, {":v": N(4)})[0]["a"] == N(7)
        assert update("ADD n :v, f :w", {}, {":v": N("1.2"), ":w": N("-0.5")})[0] == {"n": N("1.2"), "f": N("-0.5")}
        new = update("ADD a :v", {"a": {"SS": ["beaver", "lynx"]}}, {":v": {"SS": ["lynx", "badger"]}})[0]
        assert sorted(new["a"]["SS"]) == ["badger", "beaver", "lynx"]
        assert update("ADD s :v", {}, {":v": {"NS": ["3"]}})[0] == {"s": {"NS": ["3"]}}
        assert error(update, "ADD a :v", {}, {":v": S("hello")}) == (
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
            "operand type: STRING")
        assert "operand type: LIST" in error(update, "ADD a :v", {}, {":v": {"L": [N(1)]}})
        wrong = "An operand in the update expression has an incorrect data type"
        assert error(update, "ADD b :v", {"b": S("hi")}, {":v": N(1)}) == wrong
        assert error(update, "ADD a :v", {"a": {"L": [N(1)]}}, {":v": {"NS": ["3"]}}) == wrong
        assert error(update, "ADD a :v", {"a": {"SS": ["x"]}}, {":v": {"NS": ["3"]}}) == wrong

    def test_delete(self):
        """DELETE removes set elements; removing the last one removes the attribute; missing is a no-op."""
        item = {"a": {"SS": ["dog", "cat", "mouse"]}, "b": S("hi")}
        assert update("DELETE a :v", item, {":v": {"SS": ["cat", "mouse"]}})[0]["a"] == {"SS": ["dog"]}
        assert update("DELETE a :v", item, {":v": {"SS": ["pig"]}})[0]["a"] == item["a"]
        assert update("DELETE a :v", item, {":v": {"SS": ["dog", "cat", "mouse"]}})[0] == {"b": S("hi")}
        assert update("DELETE z :v", item, {":v": {"SS": ["dog"]}})[0] == item
        assert update("DELETE n :v", {"n": {"NS": ["1", "2"]}}, {":v": {"NS": ["1.0"]}})[0] == {"n": {"NS": ["2"]}}
        assert "operator: DELETE, operand type: STRING" in error(update, "DELETE a :v", item, {":v": S("x")})
        assert error(update, "DELETE b :v", item, {":v": {"SS": ["x"]}}) == \
            "An operand in the update expression has an incorrect data type"

    @pytest.mark.parametrize("text", ["SET a = :v1, a.b = :v2", "SET a.b = :v1, a = :v2", "SET a.b = :v1, a.b = :v2",
                                      "SET a[1][1] = :v1, a[1] = :v2", "SET a = :v1 REMOVE a",
                                      "SET #a1 = :v1, #a2 = :v2"])
    def test_overlapping_paths(self, text):
        """Two actions may not touch overlapping paths (compared after name substitution)."""
        names = {"#a1": "a", "#a2": "a"} if "#" in text else None
        assert "Two document paths overlap with each other" in error(
            update, text, {}, {":v1": N(1), ":v2": N(2)} if ":v2" in text else {":v1": N(1)}, names)

    def test_overlap_message(self):
        assert error(update, "SET a = :v, a.b = :w", {}, {":v": N(1), ":w": N(1)}) == (
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of "
            "these paths; path one: [a], path two: [a, b]")

    @pytest.mark.parametrize("text", ["SET a.b = :v1, a[1] = :v2", "SET a.b.c = :v1, a.b[2] = :v2"])
    def test_conflicting_paths(self, text):
        assert "Two document paths conflict with each other" in error(update, text, {}, {":v1": N(1), ":v2": N(2)})

    def test_non_overlapping_nested_updates(self):
        item = {"a": {"M": {"x": N(3), "y": N(4), "c": {"M": {"y": N(3)}}}}, "b": {"M": {"x": N(1), "y": N(2)}}}
        new, _ = update("SET a.b = :v1, a.c.d = :v2, b.x = :v3 REMOVE a.x, b.y", item,
                        {":v1": N(10), ":v2": S("dog"), ":v3": N(17)})
        assert new == {"a": {"M": {"y": N(4), "b": N(10), "c": {"M": {"y": N(3), "d": S("dog")}}}},
                       "b": {"M": {"x": N(17)}}}

    def test_top_level_names(self):
        ast = ex.parse_update("SET #k = :v, a.b = :v REMOVE c[1]", "UpdateExpression")
        assert ex.top_level_names(ast, {"#k": "pk"}) == {"pk", "a", "c"}


# ----- projection -----

class TestProjection:
    ITEM = {"a": {"M": {"b": {"L": [{"M": {"c": S("1"), "d": S("2")}}, S("x"), S("y")]}, "e": N(1)}},
            "z": N(5), "q": S("q")}

    def test_nested_paths_and_compaction(self):
        """Selected list elements come back compacted in index order; missing paths are absent."""
        ast = ex.parse_projection("a.b[2], a.b[0].c, z, nope, a.b[9], z.x", "ProjectionExpression")
        assert ex.project(ast, self.ITEM, {}) == {"a": {"M": {"b": {"L": [{"M": {"c": S("1")}}, S("y")]}}}, "z": N(5)}

    def test_names_and_resolved_paths(self):
        ast = ex.parse_projection("#a.e", "ProjectionExpression")
        assert ex.project(ast, self.ITEM, {"#a": "a"}) == {"a": {"M": {"e": N(1)}}}
        assert ex.resolve_path(ast.paths[0], {"#a": "a"}) == ("a", "e")
        assert ex.project_paths(self.ITEM, [("q",), ("a", "e")]) == {"q": S("q"), "a": {"M": {"e": N(1)}}}

    def test_projection_overlap(self):
        ast = ex.parse_projection("a, a.b", "ProjectionExpression")
        assert error(ex.check_placeholders, {"ProjectionExpression": ast}, None, None).startswith(
            "Invalid ProjectionExpression: Two document paths overlap with each other")


# ----- robustness -----

_TOKENS = st.sampled_from(["a", "b", "#n", ":v", "(", ")", "[", "]", "1", ",", ".", "=", "<>", "<", "<=", ">",
                           ">=", "+", "-", "AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE",
                           "size", "contains", "begins_with", "attribute_exists", "attribute_type",
                           "if_not_exists", "list_append", "foo", "x_1", "!", "_", "#", ":"])
_PARSERS = [(ex.parse_condition, "ConditionExpression"), (ex.parse_update, "UpdateExpression"),
            (ex.parse_projection, "ProjectionExpression"), (ex.parse_key_condition, "KeyConditionExpression")]


def _only_validation_errors(text: str) -> None:
    for parse, kind in _PARSERS:
        try:
            ast = parse(text, kind)
        except DynamoDBError as err:
            assert err.code == "ValidationException"
            continue
        names = {ref: "x" for ref in ast.names} or None
        values = {ref: N(1) for ref in ast.values} or None
        try:
            ex.check_placeholders({kind: ast}, names, values)
        except DynamoDBError as err:
            assert err.code == "ValidationException"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
def test_random_printable_text_is_ast_or_validation_error(text):
    """Any text: an AST or a ValidationException, never another exception."""
    _only_validation_errors(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TOKENS, max_size=25))
def test_token_soup_is_ast_or_validation_error(tokens):
    _only_validation_errors(" ".join(tokens))


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=25))
def test_token_soup_evaluates_without_crashing(tokens):
    """Whatever parses also evaluates (or raises a ValidationException) against an arbitrary item."""
    text = " ".join(tokens)
    item = {"a": N(1), "b": {"L": [S("x")]}, "x": {"M": {"a": S("y")}}}
    try:
        ast = ex.parse_condition(text, "ConditionExpression")
        ex.evaluate_condition(ast, item, {r: "a" for r in ast.names}, {r: S("v") for r in ast.values})
    except DynamoDBError as err:
        assert err.code == "ValidationException"
    try:
        ast = ex.parse_update(text, "UpdateExpression")
        ex.apply_update(ast, item, {r: "a" for r in ast.names}, {r: N(1) for r in ast.values})
    except DynamoDBError as err:
        assert err.code == "ValidationException"
