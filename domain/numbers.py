"""Exact numbers on the wire: areas as plain decimal strings, ratios as ``"a/b"``; and percentages for reading.

Areas are written with trailing zeros removed and never with an exponent (``89.5``, ``100``, ``0.0001``),
so equal values always have equal text. Ratios are always ``numerator/denominator`` in lowest terms, even
when the denominator is 1 (``"1/1"``). JSON never carries a float.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Protocol

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


# ---- percentages for reading -------------------------------------------------------------------------------
#
# Counting stays exact; a percentage is only ever shown beside its exact fraction or threshold. The one rule for
# every surface (console, CLI, JSON "percent" fields): round half up to ``places`` decimals, except that the shown
# figure never lands on the other side of a bound than the exact value does. The bounds are the threshold the
# value is compared with (when there is one), and 0 and 100 %: an exact 2/3 reads "66.7%" beside "≥ 2/3",
# 1333/2000 (66.65 %, short of 2/3) reads "66.6%", 1999/2000 reads "99.9%", never "100.0%".


class Bound(Protocol):
    """What a threshold looks like to the formatter (``domain.rules.Threshold`` is one)."""

    @property
    def fraction(self) -> Fraction: ...

    @property
    def inclusive(self) -> bool: ...


NO_VALUE = "—"
"""Shown for an undefined ratio (0/0): never 0 % or 100 %."""


def threshold_str(fraction: Fraction, inclusive: bool) -> str:
    """``"≥ 2/3"`` ("以上", inclusive) or ``"> 1/2"`` ("过半数")."""
    return ("≥ " if inclusive else "> ") + fraction_str(fraction)


def _meets(value: Fraction, bound: Fraction, inclusive: bool) -> bool:
    return value >= bound if inclusive else value > bound


def shown_percent(value: Fraction, threshold: Bound | None = None, places: int = 1) -> Fraction:
    """``value`` × 100 as it is displayed: a multiple of 10**-places (more places only when no figure with
    ``places`` decimals lies on the right side of every bound), on the same side of each bound as ``value``."""
    bounds = [(Fraction(0), False), (Fraction(1), True)]  # "> 0" and "≥ 100 %": only 0 shows 0, only 1 shows 100
    if threshold is not None:
        bounds.append((Fraction(threshold.fraction), threshold.inclusive))
    exact = Fraction(value) * 100
    while True:
        scale = 10**places
        scaled = exact * scale
        for candidate in (math.floor(scaled + Fraction(1, 2)), math.floor(scaled), math.ceil(scaled)):
            shown = Fraction(candidate, scale)
            if all(_meets(shown, b * 100, inc) == _meets(exact, b * 100, inc) for b, inc in bounds):
                return shown
        places += 1  # two bounds closer than one step: a finer figure exists, since the exact value is one


def percent_digits(value: Fraction, threshold: Bound | None = None, places: int = 1) -> str:
    """The figure of :func:`shown_percent` as text without the sign: ``"66.7"``, ``"100.0"``, ``"66.65"``."""
    shown = shown_percent(value, threshold, places)
    digits = places
    while (shown * 10**digits).denominator != 1:
        digits += 1
    sign = "-" if shown < 0 else ""
    units, rest = divmod(abs(shown.numerator) * 10**digits // shown.denominator, 10**digits)
    return f"{sign}{units}.{rest:0{digits}d}" if digits else f"{sign}{units}"


def percent(value: Fraction | None, threshold: Bound | None = None, places: int = 1) -> str:
    """``"66.7%"``; ``"—"`` for an undefined ratio. See :func:`shown_percent` for the rounding."""
    return NO_VALUE if value is None else percent_digits(value, threshold, places) + "%"
