"""A result in words, for notices: the ballots-cast tally, the deemed tally (silent-owner deeming), and which one
decides (pure; zh and en, as the deeming report itself).

With deeming on and applied the deemed tally decides (``TallyResult.effective_outcome``); when it does not apply
(the majorities by headcount and by area differ, or ``deem_over_half``'s condition fails) the ballots cast decide,
and the deeming report says why.
"""

from __future__ import annotations

from domain.errors import Lang
from domain.numbers import decimal_str
from domain.tally_result import Count, TallyResult

OUTCOMES = {
    "approved": ("通过", "approved"),
    "rejected": ("未通过", "rejected"),
    "no_quorum": ("参与表决未达法定比例，表决无效", "no quorum (the vote is void)"),
}


def outcome_label(outcome: str, lang: Lang) -> str:
    zh, en = OUTCOMES.get(outcome, (outcome, outcome))
    return en if lang == "en" else zh


def _count(count: Count, lang: Lang) -> str:
    area = decimal_str(count.area)
    return f"{count.owners} owners, {area} m²" if lang == "en" else f"{count.owners} 户、{area} ㎡"


def counts(result: TallyResult, lang: Lang) -> str:
    """Participation of all owners, then for / against / abstain."""
    p, e = result.participating, result.eligible
    if lang == "en":
        return (f"{p.owners} of {e.owners} owners, {decimal_str(p.area)} of {decimal_str(e.area)} m² took part; "
                f"for {_count(result.in_favour, lang)}; against {_count(result.against, lang)}; "
                f"abstain {_count(result.abstain, lang)}")
    return (f"参与 {p.owners}/{e.owners} 户、{decimal_str(p.area)}/{decimal_str(e.area)} ㎡；"
            f"同意 {_count(result.in_favour, lang)}，反对 {_count(result.against, lang)}，"
            f"弃权 {_count(result.abstain, lang)}")


def describe(result: TallyResult, lang: Lang) -> str:
    """The ballots-cast tally, and with deeming on the deemed tally, and the outcome that decides."""
    en = lang == "en"
    cast = (f"ballots cast: {counts(result, lang)} → {outcome_label(result.outcome, lang)}" if en
            else f"实际投票：{counts(result, lang)}，结果：{outcome_label(result.outcome, lang)}")
    deeming = result.deeming
    if deeming is None:
        return cast
    parts = [cast, deeming.en if en else deeming.zh]
    if result.deemed:
        deemed = result.decided()
        parts.append(f"with silent owners deemed: {counts(deemed, lang)} → {outcome_label(deemed.outcome, lang)}"
                     if en else f"视为随多数后：{counts(deemed, lang)}，结果：{outcome_label(deemed.outcome, lang)}")
        basis = ("the deemed tally decides (silent-owner rule)" if en
                 else "以视为随多数后的计票为准（沉默业主规则）")
    else:
        basis = ("deeming does not apply: the ballots cast decide" if en
                 else "沉默业主规则不适用：以实际投票为准")
    final = outcome_label(result.effective_outcome, lang)
    parts.append(f"{basis}; result: {final}" if en else f"{basis}，最终结果：{final}")
    return ("; " if en else "；").join(parts)
