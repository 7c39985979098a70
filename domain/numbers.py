"""Exact numbers on the wire: areas as plain decimal strings, ratios as ``"a/b"``.

Areas are written with trailing zeros removed and never with an exponent (``89.5``, ``100``, ``0.0001``),
so equal values always have equal text. Ratios are always ``numerator/denominator`` in lowest terms, even
when the denominator is 1 (``"1/1"``). JSON never carries a float.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer


def decimal_str(value: Decimal) -> str:
    """Canonical text of a finite decimal: no exponent, no trailing zeros, ``0`` for zero."""
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def canonical_decimal(value: Decimal) -> Decimal:
    """The same value with the canonical exponent, so ``str()`` gives :func:`decimal_str`."""
    return Decimal(decimal_str(value))


def fraction_str(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("floats are not accepted; write the number as a decimal string")
    return value


def _parse_fraction(value: Any) -> Any:
    value = _no_float(value)
    if isinstance(value, str) and "/" in value:
        numerator, _, denominator = value.partition("/")
        return Fraction(int(numerator), int(denominator))
    return value


Area = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    PlainSerializer(decimal_str, return_type=str, when_used="json"),
]
"""A floor area in m²: exact, serialised as a canonical decimal string."""

Ratio = Annotated[
    Fraction,
    BeforeValidator(_parse_fraction),
    PlainSerializer(fraction_str, return_type=str, when_used="json"),
]
"""An exact ratio, serialised as ``"a/b"``."""
