"""Decision rules as data (民法典 第278条, 第1259条).

A rule is a list of quorum conditions and a list of approval conditions. Each condition compares one
ratio with a threshold: the ratio's numerator is the participating owners or those voting for, its
denominator all owners of the scope ("eligible") or the participants, counted by area or by headcount.
"以上" includes the bound (``inclusive=True``: ≥); "过半数" is strictly more than half
(``inclusive=False``: >).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.errors import N_, RuleNotFoundError
from domain.numbers import Ratio, threshold_str

Basis = Literal["area", "owners"]
Measure = Literal["participating", "in_favour"]
Base = Literal["eligible", "participating"]


class Threshold(BaseModel):
    model_config = ConfigDict(frozen=True)

    fraction: Ratio
    inclusive: bool

    def met(self, ratio: Fraction | None) -> bool:
        """Whether ``ratio`` reaches the threshold; an undefined ratio (0/0) never does."""
        if ratio is None:
            return False
        return ratio >= self.fraction if self.inclusive else ratio > self.fraction

    def symbol(self) -> str:
        return threshold_str(self.fraction, self.inclusive)


class Condition(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    basis: Basis
    measure: Measure
    base: Base
    threshold: Threshold
    name_zh: str
    name_en: str


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    source_zh: str
    """Where the rule comes from (a statute, a local regulation, or "no statute"); tools/verify_export.py
    carries the same text beside its own copy of the thresholds."""
    source_en: str
    quorum: tuple[Condition, ...] = ()
    approval: tuple[Condition, ...]

    @property
    def has_quorum(self) -> bool:
        return bool(self.quorum)


_WHO = {
    ("participating", "eligible"): ("参与表决业主{x}占全体业主{x}", "participants' share of the scope's {x}"),
    ("in_favour", "participating"): ("同意业主{x}占参与表决业主{x}", "share of participants' {x} voting for"),
    ("in_favour", "eligible"): ("同意业主{x}占全体业主{x}", "share of the scope's {x} voting for"),
}
_BASIS = {"area": ("专有部分面积", "area"), "owners": ("人数", "headcount")}


def _condition(cid: str, basis: Basis, measure: Measure, base: Base, fraction: Fraction, inclusive: bool) -> Condition:
    threshold = Threshold(fraction=fraction, inclusive=inclusive)
    zh_tpl, en_tpl = _WHO[(measure, base)]
    zh_basis, en_basis = _BASIS[basis]
    return Condition(
        id=cid,
        basis=basis,
        measure=measure,
        base=base,
        threshold=threshold,
        name_zh=f"{zh_tpl.format(x=zh_basis)} {threshold.symbol()}",
        name_en=f"{en_tpl.format(x=en_basis)} {threshold.symbol()}",
    )


TWO_THIRDS = Fraction(2, 3)
THREE_QUARTERS = Fraction(3, 4)
HALF = Fraction(1, 2)

_QUORUM_278 = (
    _condition("quorum-area", "area", "participating", "eligible", TWO_THIRDS, True),
    _condition("quorum-owners", "owners", "participating", "eligible", TWO_THIRDS, True),
)


def _approval(fraction: Fraction, inclusive: bool, base: Base = "participating") -> tuple[Condition, ...]:
    return (
        _condition("approval-area", "area", "in_favour", base, fraction, inclusive),
        _condition("approval-owners", "owners", "in_favour", base, fraction, inclusive),
    )


_ALL_RULES = (
    Rule(
        id="cc278-special",
        name_zh="民法典第278条 特别多数（筹集维修资金、改建重建、改变共有部分用途）",
        name_en="Civil Code art. 278, special majority (raising funds, rebuilding, change of common parts)",
        description_zh="参与表决：面积和人数均达三分之二以上；同意：参与表决面积和人数均达四分之三以上。",
        description_en="Quorum: participants hold ≥2/3 of area and are ≥2/3 of owners; "
        "approval: ≥3/4 of participating area and ≥3/4 of participating owners vote for.",
        source_zh="民法典第278条第二款（第一款第六项至第八项）、第1259条",
        source_en="Civil Code art. 278 para. 2 (matters 6-8 of para. 1); art. 1259 ('以上' includes the bound)",
        quorum=_QUORUM_278,
        approval=_approval(THREE_QUARTERS, True),
    ),
    Rule(
        id="cc278-ordinary",
        name_zh="民法典第278条 普通多数（选聘解聘物业、使用维修资金等）",
        name_en="Civil Code art. 278, ordinary majority (property company, use of funds, …)",
        description_zh="参与表决：面积和人数均达三分之二以上；同意：参与表决面积和人数均过半数。",
        description_en="Quorum: participants hold ≥2/3 of area and are ≥2/3 of owners; "
        "approval: more than 1/2 of participating area and of participating owners vote for.",
        source_zh="民法典第278条第二款（第一款其他事项）、第1259条",
        source_en="Civil Code art. 278 para. 2 (the other matters of para. 1); art. 1259 ('过半数' is more than half)",
        quorum=_QUORUM_278,
        approval=_approval(HALF, False),
    ),
    Rule(
        id="consent-2of3",
        name_zh="三分之二书面同意（如加装电梯，按单元）",
        name_en="Written consent of two thirds (e.g. elevator installation, by entrance)",
        description_zh="同意业主的面积和人数均占范围内全体业主三分之二以上；不另设参与门槛。",
        description_en="Owners voting for hold ≥2/3 of the scope's area and are ≥2/3 of its owners; "
        "no separate quorum.",
        source_zh="地方既有住宅加装电梯规定（如济南2019年：本单元面积和人数均三分之二以上书面同意）",
        source_en="local elevator-installation rules (e.g. Jinan 2019: written consent of >=2/3 of the entrance's "
        "area and owners)",
        approval=_approval(TWO_THIRDS, True, base="eligible"),
    ),
    Rule(
        id="unanimous",
        name_zh="全体一致同意",
        name_en="Unanimous",
        description_zh="范围内每一位业主都投同意票。",
        description_en="Every owner of the scope votes for.",
        source_zh="无法定依据：全体业主一致同意",
        source_en="no statute: agreement of every owner of the scope",
        approval=(_condition("approval-owners", "owners", "in_favour", "eligible", Fraction(1), True),),
    ),
    Rule(
        id="headcount-majority",
        name_zh="参与人数过半数（协商议事）",
        name_en="Headcount majority of participants (consultation)",
        description_zh="同意人数超过参与表决人数的一半；不设参与门槛，不计面积。",
        description_en="More than half of the participating owners by headcount vote for; no quorum, area not counted.",
        source_zh="无法定依据：协商议事的默认规则",
        source_en="no statute: Yishi's default for consultations (议事会)",
        approval=(_condition("approval-owners", "owners", "in_favour", "participating", HALF, False),),
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _ALL_RULES}


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; :class:`RuleNotFoundError` lists the valid ids otherwise."""
    try:
        return RULES[rule_id]
    except KeyError:
        valid = ", ".join(RULES)
        raise RuleNotFoundError(
            N_("no rule '%(rule_id)s'; valid rules are: %(valid)s"), rule_id=rule_id, valid=valid,
        ) from None
