"""DynamoDB numbers: parsing, limits, canonical text, exact arithmetic and an order-preserving key encoding."""

from __future__ import annotations

import decimal
import re
from decimal import Decimal

from .errors import validation

# Enough precision for any exact sum of two in-range numbers; traps make inexact results visible.
_CONTEXT = decimal.Context(prec=200, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.Inexact])
_MAX_DIGITS = 38
_MAX_ADJUSTED = 125  # magnitudes below 1e126
_MIN_ADJUSTED = -130  # magnitudes at or above 1e-130
_ZERO = Decimal(0)
# Texts that are already canonical and within every limit (at most 38 digits): no Decimal needed.
_CANONICAL = re.compile(r"0|-?(?:[1-9][0-9]*(?:\.[0-9]*[1-9])?|0\.[0-9]*[1-9])")
_SMALL_INTEGER = re.compile(r"-?[0-9]{1,18}")  # sums of two fit in 38 digits
_SYNTAX = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # what a wire number may look like


def parse(text: object) -> Decimal:
    """The Decimal a wire number stands for, within DynamoDB's limits; ValidationException otherwise."""
    if not isinstance(text, str) or not _SYNTAX.fullmatch(text):  # Decimal alone takes "١", "1_0", " 1"
        raise validation("A value provided cannot be converted into a number")
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise validation("A value provided cannot be converted into a number") from None
    check(value)
    return value


def check(value: Decimal) -> Decimal:
    """Apply DynamoDB's precision and range limits to a computed number."""
    if not value:
        return value
    try:
        value = value.normalize(_CONTEXT)
    except decimal.Inexact:  # more digits than the context holds: far more than 38
        raise validation("Attempting to store more than 38 significant digits in a Number") from None
    if len(value.as_tuple().digits) > _MAX_DIGITS:
        raise validation("Attempting to store more than 38 significant digits in a Number")
    adjusted = value.adjusted()
    if adjusted > _MAX_ADJUSTED:
        raise validation(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if adjusted < _MIN_ADJUSTED:
        raise validation(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    return value


def canonical(text: object) -> str:
    """The text DynamoDB answers for a wire number (`001.500` -> `1.5`); ValidationException if invalid."""
    if type(text) is str and len(text) <= _MAX_DIGITS and _CANONICAL.fullmatch(text):
        return text
    return render(parse(text))


def render(value: Decimal) -> str:
    if not value:
        return "0"
    return format(value.normalize(_CONTEXT), "f")


def add(a: str, b: str, subtract: bool = False) -> str:
    """Exact `a + b` (or `a - b`) of two wire numbers, checked against the limits."""
    if type(a) is str and type(b) is str and _SMALL_INTEGER.fullmatch(a) and _SMALL_INTEGER.fullmatch(b):
        return str(int(a) - int(b) if subtract else int(a) + int(b))
    return add_decimal(a, b, subtract)


def add_decimal(a: str, b: str, subtract: bool = False) -> str:
    """`add` computed with Decimal (any numbers)."""
    x, y = parse(a), parse(b)
    if x and y and abs(x.adjusted() - y.adjusted()) > _MAX_DIGITS + 2:
        # The exact result needs more than 38 digits; don't compute a giant Decimal to find out.
        raise validation("Attempting to store more than 38 significant digits in a Number")
    try:
        result = _CONTEXT.subtract(x, y) if subtract else _CONTEXT.add(x, y)
    except decimal.Inexact:
        raise validation("Attempting to store more than 38 significant digits in a Number") from None
    return render(check(result))


def encode(value: Decimal) -> bytes:
    """Bytes whose unsigned order equals numeric order: sign, biased exponent, digits (complemented if < 0)."""
    if not value:
        return b"\x80"
    sign, digits, _ = value.normalize(_CONTEXT).as_tuple()
    exponent = value.adjusted() + 1000  # 870..1125, two bytes
    body = bytes(48 + d for d in digits)
    if sign:
        return (
            b"\x40"
            + (0xFFFF - exponent).to_bytes(2, "big")
            + bytes(0xFF - c for c in body)
            + b"\xff"
        )
    return b"\xc0" + exponent.to_bytes(2, "big") + body
