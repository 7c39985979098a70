"""The one percentage formatter (domain/numbers.py): a shown percentage never contradicts the exact comparison
with its threshold, nor with 0 and 100 %; otherwise it is the value rounded half up to one decimal."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.numbers import percent, percent_digits, shown_percent, threshold_str
from domain.rules import RULES, Threshold

FAST = settings(max_examples=400, deadline=None)
RULE_THRESHOLDS = sorted({(c.threshold.fraction, c.threshold.inclusive) for rule in RULES.values()
                          for c in (*rule.quorum, *rule.approval)})


def parse(text: str) -> Fraction:
    """What a reader takes from the text: the written figure, exactly."""
    assert text.endswith("%") and text.count(".") == 1, text
    return Fraction(text[:-1]) / 100


@st.composite
def near_thresholds(draw) -> tuple[Fraction, Threshold]:  # type: ignore[no-untyped-def]
    """A threshold (the rules' own, or any) and a value at it or a hair either side of it."""
    if draw(st.booleans()):
        fraction, inclusive = draw(st.sampled_from(RULE_THRESHOLDS))
    else:
        fraction = draw(st.fractions(min_value=0, max_value=1, max_denominator=10_000))
        inclusive = draw(st.booleans())
    offset = draw(st.one_of(st.just(Fraction(0)),
                            st.fractions(min_value=Fraction(-1, 100), max_value=Fraction(1, 100),
                                         max_denominator=10**9)))
    return min(max(fraction + offset, Fraction(0)), Fraction(1)), Threshold(fraction=fraction, inclusive=inclusive)


@FAST
@given(near_thresholds())
def test_a_shown_percentage_never_contradicts_the_exact_comparison(case: tuple[Fraction, Threshold]) -> None:
    value, threshold = case
    shown = parse(percent(value, threshold))
    assert threshold.met(shown) == threshold.met(value), (value, threshold, percent(value, threshold))
    assert (shown == 0) == (value == 0) and (shown == 1) == (value == 1)


@FAST
@given(st.fractions(min_value=0, max_value=1, max_denominator=10**6))
def test_without_a_threshold_it_is_the_nearest_tenth_unless_that_says_0_or_100(value: Fraction) -> None:
    text = percent(value)
    shown = parse(text)
    assert (shown == 0) == (value == 0) and (shown == 1) == (value == 1)
    if Fraction(1, 2000) <= value <= Fraction(1999, 2000):
        assert len(text.split(".")[1]) == 2, "one decimal, then the sign"
        nearest = Fraction(int(value * 1000 + Fraction(1, 2)), 1000)
        assert shown == nearest, (value, text)


@FAST
@given(near_thresholds())
def test_the_figure_is_within_one_step_of_the_value(case: tuple[Fraction, Threshold]) -> None:
    value, threshold = case
    shown = shown_percent(value, threshold) / 100
    assert abs(shown - value) < Fraction(1, 1000)


@pytest.mark.parametrize(("value", "threshold", "text"), [
    (Fraction(2, 3), (Fraction(2, 3), True), "66.7%"),  # exactly 2/3 is met, and reads at or above it
    (Fraction(1333, 2000), (Fraction(2, 3), True), "66.6%"),  # 66.65 %: short of 2/3, never "66.7%"
    (Fraction(6666, 10000), (Fraction(2, 3), True), "66.6%"),
    (Fraction(1, 2), (Fraction(1, 2), False), "50.0%"),  # exactly half is not "过半数", and 50.0 is not > 50
    (Fraction(1001, 2000), (Fraction(1, 2), False), "50.1%"),
    (Fraction(999, 2000), (Fraction(1, 2), True), "49.9%"),  # 49.95 %: short of "≥ 1/2", never "50.0%"
    (Fraction(1499, 2000), (Fraction(3, 4), True), "74.9%"),
    (Fraction(3, 4), (Fraction(3, 4), True), "75.0%"),
    (Fraction(1999, 2000), (Fraction(1), True), "99.9%"),  # unanimity missed by one in 2000
    (Fraction(1, 3), None, "33.3%"),
    (Fraction(1, 2000), None, "0.1%"),  # not nobody
    (Fraction(4, 10000), (Fraction(5, 10000), True), "0.04%"),  # more than 0, less than 0.05 %: a finer figure
    (None, None, "—"),
])
def test_worked_examples(value: Fraction | None, threshold: tuple[Fraction, bool] | None, text: str) -> None:
    bound = None if threshold is None else Threshold(fraction=threshold[0], inclusive=threshold[1])
    assert percent(value, bound) == text


def test_digits_and_thresholds_as_fractions() -> None:
    assert percent_digits(Fraction(5, 7)) == "71.4" and percent_digits(Fraction(1)) == "100.0"
    assert percent_digits(Fraction(0)) == "0.0" and percent_digits(Fraction(1, 8), places=2) == "12.50"
    assert threshold_str(Fraction(2, 3), True) == "≥ 2/3" and threshold_str(Fraction(1, 2), False) == "> 1/2"
    assert Threshold(fraction=Fraction(3, 4), inclusive=True).symbol() == "≥ 3/4"
