"""The self-explaining result of a tally, and how a rule is evaluated on the counts.

Ratios are exact fractions, ``None`` when the denominator is zero (such a condition is not met). The
outcome is ``no_quorum`` when a quorum condition fails, else ``approved`` when every approval condition
holds, else ``rejected``; rules without a quorum have ``quorum_met = None`` and never ``no_quorum``.

Silent-owner deeming (a setting, off by default): non-voters are deemed to follow the participants'
majority, i.e. to vote ``for`` when more participants vote for than against by headcount *and* by area,
``against`` in the opposite case. When the two majorities point different ways (or tie) deeming does
not apply and the report says so. The main figures are always the votes actually cast; the deemed
tally is reported beside them in ``deeming`` and decides ``effective_outcome`` when it applies.

With ``deem_over_half`` (a refinement of deeming, after Zhejiang's rule of 2009, 第10条) deeming also needs
the ballots actually cast for the majority side to be strictly more than half of all owners in scope by
headcount *and* by area; otherwise it does not apply, ``direction`` still names the majority, and the report
gives both figures.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.ballots import IgnoredBallot
from domain.numbers import Area, Ratio, decimal_str
from domain.rules import Condition, Rule, Threshold

Outcome = Literal["approved", "rejected", "no_quorum"]


class Count(BaseModel):
    model_config = ConfigDict(frozen=True)

    owners: int
    area: Area

    def __add__(self, other: Count) -> Count:
        return Count(owners=self.owners + other.owners, area=self.area + other.area)

    def __sub__(self, other: Count) -> Count:
        return Count(owners=self.owners - other.owners, area=self.area - other.area)


ZERO = Count(owners=0, area=Decimal(0))


class Ratios(BaseModel):
    """Participation (of all owners in scope) and support (of participants), by area and headcount."""

    model_config = ConfigDict(frozen=True)

    participation_area: Ratio | None
    participation_owners: Ratio | None
    in_favour_area: Ratio | None
    in_favour_owners: Ratio | None


class ConditionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    stage: Literal["quorum", "approval"]
    name_zh: str
    name_en: str
    ratio: Ratio | None
    threshold: Threshold
    met: bool


class FailedCondition(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    zh: str
    en: str


class DeemingReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    applied: bool
    direction: Literal["for", "against"] | None
    silent: Count
    zh: str
    en: str
    result: TallyResult | None = None


class TallyResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    rule_name_zh: str
    rule_name_en: str
    eligible: Count
    participating: Count
    in_favour: Count
    against: Count
    abstain: Count
    ratios: Ratios
    thresholds: dict[str, Threshold]
    conditions: tuple[ConditionResult, ...]
    quorum_met: bool | None
    approved: bool
    outcome: Outcome
    failed_conditions: tuple[FailedCondition, ...]
    ignored: tuple[IgnoredBallot, ...] = ()
    deeming: DeemingReport | None = None
    effective_outcome: Outcome

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: areas as canonical decimal strings, ratios as ``"a/b"``, no floats."""
        return self.model_dump(mode="json")

    @property
    def deemed(self) -> bool:
        """Whether silent-owner deeming applied, so that the deemed tally decides (``effective_outcome``)."""
        return self.deeming is not None and self.deeming.applied and self.deeming.result is not None

    def decided(self) -> TallyResult:
        """The tally that decides under the rules: the deemed one when deeming applied, else this one (the
        ballots cast). Its ``outcome`` is ``effective_outcome``; a procedure branches on it."""
        return self.deeming.result if self.deemed else self  # type: ignore[union-attr,return-value]


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Fraction | None:
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)


def _condition_result(cond: Condition, stage: str, counts: dict[str, Count]) -> ConditionResult:
    num = counts[cond.measure]
    den = counts[cond.base]
    value = ratio(num.area, den.area) if cond.basis == "area" else ratio(num.owners, den.owners)
    return ConditionResult(
        id=cond.id,
        stage=stage,  # type: ignore[arg-type]
        name_zh=cond.name_zh,
        name_en=cond.name_en,
        ratio=value,
        threshold=cond.threshold,
        met=cond.threshold.met(value),
    )


def _failed(result: ConditionResult) -> FailedCondition:
    actual = "—" if result.ratio is None else f"{result.ratio.numerator}/{result.ratio.denominator}"
    return FailedCondition(
        id=result.id,
        zh=f"未达到：{result.name_zh}（实际 {actual}）",
        en=f"not met: {result.name_en} (actual {actual})",
    )


def _ratios(eligible: Count, participating: Count, in_favour: Count) -> Ratios:
    return Ratios(
        participation_area=ratio(participating.area, eligible.area),
        participation_owners=ratio(participating.owners, eligible.owners),
        in_favour_area=ratio(in_favour.area, participating.area),
        in_favour_owners=ratio(in_favour.owners, participating.owners),
    )


def evaluate(
    rule: Rule,
    eligible: Count,
    votes: dict[str, Count],
    ignored: tuple[IgnoredBallot, ...] = (),
    deem_silent: bool = False,
    deem_over_half: bool = False,
) -> TallyResult:
    """Apply ``rule`` to the counts; ``votes`` maps ``for``/``against``/``abstain`` to counts."""
    participating = votes["for"] + votes["against"] + votes["abstain"]
    counts = {"eligible": eligible, "participating": participating, "in_favour": votes["for"]}
    quorum = [_condition_result(c, "quorum", counts) for c in rule.quorum]
    approval = [_condition_result(c, "approval", counts) for c in rule.approval]
    quorum_met = all(c.met for c in quorum) if rule.has_quorum else None
    approved = quorum_met is not False and all(c.met for c in approval)
    outcome: Outcome = "no_quorum" if quorum_met is False else ("approved" if approved else "rejected")
    checked = quorum if quorum_met is False else quorum + approval
    deeming = _deem(rule, eligible, votes, participating, deem_over_half) if deem_silent else None
    applied = deeming is not None and deeming.applied and deeming.result is not None
    return TallyResult(
        rule=rule.id,
        rule_name_zh=rule.name_zh,
        rule_name_en=rule.name_en,
        eligible=eligible,
        participating=participating,
        in_favour=votes["for"],
        against=votes["against"],
        abstain=votes["abstain"],
        ratios=_ratios(eligible, participating, votes["for"]),
        thresholds={c.id: c.threshold for c in (*rule.quorum, *rule.approval)},
        conditions=tuple(quorum + approval),
        quorum_met=quorum_met,
        approved=approved,
        outcome=outcome,
        failed_conditions=tuple(_failed(c) for c in checked if not c.met),
        ignored=ignored,
        deeming=deeming,
        effective_outcome=deeming.result.outcome if applied else outcome,  # type: ignore[union-attr]
    )


def _deem(
    rule: Rule, eligible: Count, votes: dict[str, Count], participating: Count, over_half: bool = False
) -> DeemingReport:
    silent = eligible - participating
    yes, no = votes["for"], votes["against"]
    if yes.owners > no.owners and yes.area > no.area:
        direction: Literal["for", "against"] = "for"
    elif no.owners > yes.owners and no.area > yes.area:
        direction = "against"
    else:
        return DeemingReport(
            applied=False,
            direction=None,
            silent=silent,
            zh="按人数和按面积的多数意见不一致（或持平），未参与表决的业主不视为随多数，仅计实际投票",
            en="the majority by headcount and the majority by area differ (or tie), so silent owners "
            "are not deemed to follow the majority; only ballots cast count",
        )
    label_zh = "同意" if direction == "for" else "反对"
    side = votes[direction]
    if over_half and not (2 * side.owners > eligible.owners and 2 * side.area > eligible.area):
        return _short_of_half(direction, label_zh, side, eligible, silent)
    deemed_votes = dict(votes)
    deemed_votes[direction] = votes[direction] + silent
    return DeemingReport(
        applied=True,
        direction=direction,
        silent=silent,
        zh=f"未参与表决的 {silent.owners} 户视为随多数意见（{label_zh}）",
        en=f"{silent.owners} silent owners deemed to follow the majority ({direction})",
        result=evaluate(rule, eligible, deemed_votes),
    )


def _short_of_half(
    direction: Literal["for", "against"], label_zh: str, side: Count, eligible: Count, silent: Count
) -> DeemingReport:
    """The report when the majority's own ballots are not more than half of all owners (``deem_over_half``)."""
    owners_short = not 2 * side.owners > eligible.owners
    area_short = not 2 * side.area > eligible.area
    if owners_short and area_short:
        short_zh, short_en = "户数和面积均未超过总数的一半", "neither is"
    elif owners_short:
        short_zh, short_en = "户数未超过总户数的一半", "the headcount is not"
    else:
        short_zh, short_en = "面积未超过总面积的一半", "the area is not"
    owners = f"{side.owners}/{eligible.owners}"
    area = f"{decimal_str(side.area)}/{decimal_str(eligible.area)}"
    return DeemingReport(
        applied=False,
        direction=direction,
        silent=silent,
        zh=f"多数意见（{label_zh}）实际票数为 {owners} 户、{area} ㎡，{short_zh}（须户数和面积都过半），"
        "未参与表决的业主不视为随多数，仅计实际投票",
        en=f"the majority ({direction}) cast ballots of {side.owners} of {eligible.owners} owners and "
        f"{decimal_str(side.area)} of {decimal_str(eligible.area)} m²; {short_en} more than half of the total "
        "(both must be), so silent owners are not deemed to follow the majority; only ballots cast count",
    )


DeemingReport.model_rebuild()
